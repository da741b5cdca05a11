-- tpch-lineitem.sql - builds the database of the TPC-H-like recording (scripts/workloads/README.md):
-- TPC-H's lineitem table (the columns of TPC-H 2.x, section 1.4.1) with values drawn from a fixed
-- arithmetic sequence, so the same file results everywhere. Each row's l_comment is padded to
-- 3,800 characters, one row to a 4 KiB database page: the table of 18,000 rows is 72 MiB, a query
-- that reads every row touches 72 MiB, and its per-row work is TPC-H's.
-- Usage: sqlite3 tpch.db < tpch-lineitem.sql   (the row count is the LIMIT below)
PRAGMA page_size = 4096;
PRAGMA journal_mode = OFF;
CREATE TABLE lineitem (
  l_orderkey INTEGER NOT NULL, l_partkey INTEGER NOT NULL, l_suppkey INTEGER NOT NULL,
  l_linenumber INTEGER NOT NULL, l_quantity REAL NOT NULL, l_extendedprice REAL NOT NULL,
  l_discount REAL NOT NULL, l_tax REAL NOT NULL, l_returnflag TEXT NOT NULL,
  l_linestatus TEXT NOT NULL, l_shipdate TEXT NOT NULL, l_commitdate TEXT NOT NULL,
  l_receiptdate TEXT NOT NULL, l_shipinstruct TEXT NOT NULL, l_shipmode TEXT NOT NULL,
  l_comment TEXT NOT NULL);
-- h is a multiplicative hash of the row number n (Knuth's 2654435761), the source of every value.
INSERT INTO lineitem
WITH RECURSIVE rows(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM rows LIMIT 18000),
hashed(n, h) AS (SELECT n, (n * 2654435761) % 4294967296 FROM rows)
SELECT n / 4 + 1, h % 200000 + 1, h % 10000 + 1, n % 4 + 1,
       h % 50 + 1, (h % 50 + 1) * (900 + h % 1100) / 10.0, (h / 50 % 11) / 100.0,
       (h / 550 % 9) / 100.0,
       CASE WHEN h / 4950 % 2 = 0 THEN 'N' WHEN h / 4950 % 4 = 1 THEN 'R' ELSE 'A' END,
       CASE WHEN h / 4950 % 2 = 0 THEN 'O' ELSE 'F' END,
       date('1992-01-02', '+' || (h / 9900 % 2526) || ' days'),
       date('1992-01-31', '+' || (h / 9900 % 2526 + h % 61) || ' days'),
       date('1992-01-03', '+' || (h / 9900 % 2526 + h % 30) || ' days'),
       CASE h % 4 WHEN 0 THEN 'DELIVER IN PERSON' WHEN 1 THEN 'COLLECT COD' WHEN 2 THEN 'NONE'
                  ELSE 'TAKE BACK RETURN' END,
       CASE h % 7 WHEN 0 THEN 'REG AIR' WHEN 1 THEN 'AIR' WHEN 2 THEN 'RAIL' WHEN 3 THEN 'SHIP'
                  WHEN 4 THEN 'TRUCK' WHEN 5 THEN 'MAIL' ELSE 'FOB' END,
       printf('%08x %.3790c', h, 'x')
FROM hashed;
