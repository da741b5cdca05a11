-- tpch-q6.sql - TPC-H query 6, the forecasting revenue change query (TPC-H 2.x, section 2.4.6, with
-- the validation values DATE = 1994-01-01, DISCOUNT = 0.06, QUANTITY = 24; the date arithmetic
-- written out, as SQLite has no interval type). Over the table of tpch-lineitem.sql it reads every
-- row: a scan of lineitem, as query 1 (the query seed 002 ran) is, at a fifth of query 1's
-- per-row work under SQLite (query 1 also sorts every row for its GROUP BY).
SELECT sum(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= '1994-01-01' AND l_shipdate < '1995-01-01'
  AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 AND l_quantity < 24;
