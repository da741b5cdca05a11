// cli_test.cpp - the `vmmu trace` and `vmmu record` commands as users run them: exit status and
// the one-line error for bad options and bad traces, and the tools chained end to end.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "trace_test_support.h"

namespace vmmu::trace {
namespace {

#ifdef VMMU_CLI_PATH
using testing::readFile;
using testing::scratchPath;

struct CliRun {
  int status;
  std::string out, err;
  std::string firstErrLine() const { return err.substr(0, err.find('\n')); }
};

CliRun vmmu(const std::string &args) {
  const std::string out = scratchPath("stdout"), err = scratchPath("stderr");
  const std::string command = std::string(VMMU_CLI_PATH) + " " + args + " >" + out + " 2>" + err;
  const int raw = std::system(command.c_str());
  return CliRun{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, readFile(out), readFile(err)};
}

void expectUsageError(const std::string &args, const std::string &message) {
  SCOPED_TRACE(args);
  const CliRun r = vmmu(args);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.firstErrLine().find(message), std::string::npos) << r.err;
  EXPECT_EQ(r.firstErrLine().rfind("vmmu: ", 0), 0u) << r.err;
}

TEST(TraceCli, BadOptionsAreOneLineUsageErrors) {
  const std::string out = scratchPath("x.vmt");
  const CliRun bare = vmmu("");
  EXPECT_EQ(bare.status, 2);
  EXPECT_NE(bare.err.find("Usage: vmmu"), std::string::npos) << bare.err;
  expectUsageError("trace", "trace: missing command (expected info, dump, import, mix or gen)");
  expectUsageError("trace frobnicate", "trace: unknown command 'frobnicate'");
  expectUsageError("trace gen", "KIND is required");
  expectUsageError("trace gen nosuch -o " + out, "KIND: expected worst, random, stream, scan, build, boot or phased, got 'nosuch'");
  expectUsageError("trace gen random", "--output is required");
  expectUsageError("trace gen random --accesses 0 -o " + out, "--accesses: expected a whole number from 1");
  expectUsageError("trace gen random --procs -3 -o " + out, "--procs: expected a whole number from 1 to 100000, got '-3'");
  expectUsageError("trace gen random --seed", "--seed: 1 required");
  expectUsageError("trace gen random --bogus 1 -o " + out, "trace gen: unexpected argument '--bogus'");
  expectUsageError("trace mix -o " + out + " a.vmt", "--quantum is required");
  expectUsageError("trace mix --quantum 10 -o " + out, "TRACES is required");
  expectUsageError("trace mix --quantum 10 -o " + out + " " + out, "is also the input");
  expectUsageError("trace info", "TRACE is required");
  expectUsageError("trace info a.vmt b.vmt", "trace info: unexpected argument 'b.vmt'");
  expectUsageError("trace dump --fast a.vmt", "trace dump: unexpected argument '--fast'");
  expectUsageError("trace import in.txt", "--output is required");
  expectUsageError("record -o " + out, "missing the command to record");
  expectUsageError("record --max-accesses x -o " + out + " -- true", "--max-accesses: expected a whole number");
  expectUsageError("record --skip x -o " + out + " -- true", "--skip: expected a whole number");
}

// The output of import, mix and gen replaces a file only when it is complete, never overwrites
// an input (also through another name), and `-` is standard output.
TEST(TraceCli, OutputsAreAtomicAndNeverAnInput) {
  const std::string a = scratchPath("atomic-a.vmt"), text = scratchPath("atomic.txt");
  ASSERT_EQ(vmmu("trace gen scan --accesses 300 --footprint-mib 1 -o " + a).status, 0);
  ASSERT_EQ(vmmu("trace dump " + a + " -o " + text).status, 0);
  const std::string before = readFile(text);
  // The same file, by its name and through a hard link.
  expectUsageError("trace import " + text + " -o " + text, "-o: the output '" + text + "' is also the input");
  const std::string link = scratchPath("atomic-link.txt");
  std::remove(link.c_str());
  ASSERT_EQ(::link(text.c_str(), link.c_str()), 0);
  expectUsageError("trace import " + text + " -o " + link, "is also the input");
  expectUsageError("trace dump " + a + " -o " + a, "is also the input");
  EXPECT_EQ(readFile(text), before);
  // A failing import keeps the previous output and leaves no temporary file.
  const std::string kept = scratchPath("atomic-kept.vmt"), bad = scratchPath("atomic-bad.txt");
  testing::writeFile(kept, "previous");
  testing::writeFile(bad, before + "switch cpu=0 pid=x\n");
  EXPECT_EQ(vmmu("trace import " + bad + " -o " + kept).status, 1);
  EXPECT_EQ(readFile(kept), "previous");
  EXPECT_EQ(vmmu("trace mix --quantum 10 -o " + kept + " " + a + " " + bad).status, 1);
  EXPECT_EQ(readFile(kept), "previous");
  // `-`: the trace on standard output.
  const CliRun dumped = vmmu("trace dump " + a + " -o -");
  EXPECT_EQ(dumped.out, before);
  const CliRun piped = vmmu("trace gen scan --accesses 300 --footprint-mib 1 -o -");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.out.substr(0, 4), readFile(a).substr(0, 4));
}

// `sh -c 'cd DIR && umask MASK && vmmu ARGS'`: status and standard error.
CliRun vmmuIn(const std::string &dir, const std::string &mask, const std::string &args) {
  return vmmu("--version >/dev/null && cd " + dir + " && umask " + mask + " && " + VMMU_CLI_PATH + " " + args);
}

// An output gets the permissions a file created in place would get (0666 less the umask), or
// keeps the ones of the file it replaces; where it cannot be written, the message names why.
TEST(TraceCli, OutputsGetThePermissionsOfAFileCreatedInPlace) {
  const std::filesystem::path dir = scratchPath("perm-dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string gen = "trace gen scan --accesses 10 --footprint-mib 1 -o ";
  const auto mode = [&](const std::string &name) {
    return std::filesystem::status(dir / name).permissions() & std::filesystem::perms::mask;
  };
  using std::filesystem::perms;
  ASSERT_EQ(vmmuIn(dir, "027", gen + "a.vmt").status, 0);
  EXPECT_EQ(mode("a.vmt"), perms::owner_read | perms::owner_write | perms::group_read);
  ASSERT_EQ(vmmuIn(dir, "0", gen + "b.vmt").status, 0);
  EXPECT_EQ(mode("b.vmt"), perms::owner_read | perms::owner_write | perms::group_read | perms::group_write |
                               perms::others_read | perms::others_write);
  // A replaced file keeps its mode, whatever the umask.
  std::filesystem::permissions(dir / "a.vmt", perms::owner_read | perms::owner_write | perms::others_read);
  ASSERT_EQ(vmmuIn(dir, "077", gen + "a.vmt").status, 0);
  EXPECT_EQ(mode("a.vmt"), perms::owner_read | perms::owner_write | perms::others_read);
  // Nothing but the outputs is left in the directory.
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a.vmt", "b.vmt"}));

  // A directory in the way, a file where the directory should be, a missing (relative) directory.
  std::filesystem::create_directories(dir / "sub");
  const CliRun onto_dir = vmmuIn(dir, "022", gen + "sub");
  EXPECT_EQ(onto_dir.status, 1);
  EXPECT_EQ(onto_dir.err, "vmmu: error: sub: cannot write: it is a directory\n");
  const CliRun under_file = vmmuIn(dir, "022", gen + "a.vmt/x.vmt");
  EXPECT_EQ(under_file.status, 1);
  EXPECT_EQ(under_file.err, "vmmu: error: a.vmt/x.vmt: cannot write: 'a.vmt' is not a directory\n");
  const CliRun missing = vmmuIn(dir, "022", gen + "q/x.vmt");
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err, "vmmu: error: q/x.vmt: cannot write: directory 'q' does not exist\n");
  EXPECT_EQ(vmmuIn(dir, "022", gen + "sub/c.vmt").status, 0);
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "sub/c.vmt"));
}

// A signal that ends `trace gen` half way removes its temporary file: nothing is left.
TEST(TraceCli, ASignalLeavesNoPartialOutput) {
  const std::filesystem::path dir = scratchPath("signal-dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string command = "timeout -s TERM 1 " + std::string(VMMU_CLI_PATH) +
                              " trace gen random --accesses 10000000000 -o " + (dir / "big.vmt").string();
  const int raw = std::system(command.c_str());
  ASSERT_EQ(WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, 124) << "timeout(1) stopped it";
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << std::filesystem::directory_iterator(dir)->path();
}

TEST(TraceCli, LostStandardOutputIsAnError) {
  const std::string a = scratchPath("full.vmt");
  ASSERT_EQ(vmmu("trace gen scan --accesses 300 --footprint-mib 1 -o " + a).status, 0);
  const int raw = std::system((std::string(VMMU_CLI_PATH) + " trace info " + a + " > /dev/full 2>" +
                               scratchPath("full.err")).c_str());
  EXPECT_EQ(WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, 1);
  EXPECT_EQ(readFile(scratchPath("full.err")), "vmmu: error: standard output: write failed: No space left on device\n");
}

TEST(TraceCli, BadTracesAreOneLineErrorsWithTheOffset) {
  const std::string good = scratchPath("good.vmt");
  ASSERT_EQ(vmmu("trace gen random --accesses 5000 -o " + good).status, 0);
  const std::string bytes = readFile(good);
  const std::string cut = scratchPath("cut.vmt");
  testing::writeFile(cut, bytes.substr(0, bytes.size() / 2));
  const CliRun r = vmmu("trace info " + cut);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "vmmu: error: " + cut + ": truncated trace: compressed file ends at byte " +
                       std::to_string(bytes.size() / 2) + " inside a zstd frame\n");

  const std::string text = scratchPath("text.vmt");
  testing::writeFile(text, "not a trace\n");
  const CliRun t = vmmu("trace dump " + text);
  EXPECT_EQ(t.status, 1);
  EXPECT_NE(t.err.find("not a vmmu trace"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("compressed byte offset 0"), std::string::npos) << t.err;

  const CliRun missing = vmmu("trace info " + scratchPath("missing.vmt"));
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;

  const std::string bad_text = scratchPath("bad.txt");
  testing::writeFile(bad_text, "switch cpu=0 pid=x\n");
  const CliRun imp = vmmu("trace import " + bad_text + " -o " + scratchPath("o.vmt"));
  EXPECT_EQ(imp.status, 1);
  EXPECT_NE(imp.err.find("bad.txt:1: pid:"), std::string::npos) << imp.err;
}

TEST(TraceCli, GenInfoDumpImportMixChain) {
  const std::string a = scratchPath("a.vmt"), b = scratchPath("b.vmt"), mixed = scratchPath("mixed.vmt");
  ASSERT_EQ(vmmu("trace gen scan --accesses 3000 --footprint-mib 2 -o " + a).status, 0);
  ASSERT_EQ(vmmu("trace gen stream --accesses 2000 --footprint-mib 2 --seed 3 -o " + b).status, 0);
  ASSERT_EQ(vmmu("trace mix --quantum 500 -o " + mixed + " " + a + " " + b).status, 0);
  const CliRun info = vmmu("trace info " + mixed);
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("  access         5000\n"), std::string::npos) << info.out;
  // a: 6 turns, b: 4 turns; they alternate for 4 rounds (8 switches), b ends in its 4th turn,
  // then one switch back to a, which runs its last 2 turns alone.
  EXPECT_NE(info.out.find("  switch         9\n"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("processes   2 seen, 2 created, 2 exited"), std::string::npos) << info.out;

  const std::string text = scratchPath("mixed.txt"), back = scratchPath("back.vmt");
  ASSERT_EQ(vmmu("trace dump " + mixed + " -o " + text).status, 0);
  const CliRun imp = vmmu("trace import " + text + " -o " + back);
  ASSERT_EQ(imp.status, 0) << imp.err;
  EXPECT_EQ(decompressTraceFile(back), decompressTraceFile(mixed));
  // Import also reads standard input.
  const std::string piped = scratchPath("piped.vmt");
  ASSERT_EQ(vmmu("trace import -o " + piped + " < " + text).status, 0);
  EXPECT_EQ(decompressTraceFile(piped), decompressTraceFile(mixed));
}

TEST(TraceCli, DemoStillWorks) {
  const CliRun r = vmmu("demo --accesses 2000 --footprint-mib 1");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("workload: random"), std::string::npos);
  EXPECT_NE(r.out.find("NESTED"), std::string::npos) << r.out;
}

bool haveValgrind() { return std::system("valgrind --version >/dev/null 2>&1") == 0; }

TEST(TraceCli, RecordARealProgram) {
  if (!haveValgrind())
    GTEST_SKIP() << "valgrind is not installed";
  const std::string out = scratchPath("sort.vmt");
  const std::string input = scratchPath("numbers.txt");
  testing::writeFile(input, "3\n1\n2\n");
  // ld.so runs ~45000 accesses before its first mmap under valgrind: 60000 includes a few.
  const CliRun r = vmmu("record --max-accesses 60000 -o " + out + " -- sort " + input);
  ASSERT_EQ(r.status, 0) << r.err;
  const CliRun info = vmmu("trace info " + out);
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("  access         60000\n"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("command     sort " + input), std::string::npos) << info.out;
  // The region changes of the dynamic loader are captured.
  TraceReader reader(out);
  uint64_t mmaps = 0, fetches = 0;
  while (auto e = reader.next()) {
    mmaps += e->kind == EventKind::Mmap;
    fetches += e->kind == EventKind::Access && e->op == AccessOp::Fetch;
  }
  EXPECT_GT(mmaps, 0u);
  EXPECT_GT(fetches, 0u);
}

// The last line of `text` (without its newline).
std::string lastLine(const std::string &text) {
  const std::string trimmed = text.substr(0, text.find_last_not_of('\n') + 1);
  return trimmed.substr(trimmed.rfind('\n') + 1);
}

// `--skip N` drops the first N accesses of what the same recording keeps without it, and keeps its
// region changes (ld.so maps the C library within the first 60,000 of `true`); the header says so.
// Before the accesses kept come one access to each page the skipped ones touched (distinct, page
// aligned, in first-touch order), then the start-up marker with their count.
TEST(TraceCli, RecordSkipDropsAStartUpPrefixAndKeepsItsRegionChanges) {
  if (!haveValgrind())
    GTEST_SKIP() << "valgrind is not installed";
  const std::string whole_path = scratchPath("whole.vmt"), skipped_path = scratchPath("skipped.vmt");
  const CliRun whole = vmmu("record --max-accesses 0 -o " + whole_path + " -- true");
  ASSERT_EQ(whole.status, 0) << whole.err;
  const CliRun skipped = vmmu("record --skip 60000 --max-accesses 1000 -o " + skipped_path + " -- true");
  ASSERT_EQ(skipped.status, 0) << skipped.err;
  EXPECT_EQ(lastLine(skipped.err).rfind("vmmu record: 1000 accesses (60000 skipped, their ", 0), 0u) << skipped.err;
  // Accesses before and after the start-up marker, and the region changes before the first access.
  struct Split {
    std::vector<Event> resident, accesses;
    size_t regions_before_first = 0;
    std::string marker;
  };
  const auto split = [](const std::string &path) {
    Split out;
    TraceReader reader(path);
    for (const Event &e : testing::readAll(reader)) {
      if (e.kind == EventKind::Marker && out.marker.empty())
        out.marker = e.text;
      else if (e.kind == EventKind::Access)
        (out.marker.empty() && path.find("skipped") != std::string::npos ? out.resident : out.accesses).push_back(e);
      else if (out.resident.empty() && out.accesses.empty() &&
               (e.kind == EventKind::Mmap || e.kind == EventKind::Mprotect || e.kind == EventKind::Munmap ||
                e.kind == EventKind::Brk))
        ++out.regions_before_first;
    }
    return out;
  };
  const Split all = split(whole_path), kept = split(skipped_path);
  ASSERT_GT(all.accesses.size(), 61000u);
  ASSERT_EQ(kept.accesses.size(), 1000u);
  EXPECT_EQ(std::vector<Event>(all.accesses.begin() + 60000, all.accesses.begin() + 61000), kept.accesses);
  EXPECT_GT(kept.regions_before_first, 0u) << "the skipped prefix's region changes come before the first access kept";
  EXPECT_EQ(TraceReader(skipped_path).header().get("skip"), std::optional<std::string_view>("60000"));

  // The resident pages: each a page the first 60,000 accesses touched, once, in first-touch order.
  ASSERT_FALSE(kept.resident.empty());
  EXPECT_EQ(kept.marker, "start-up resident pages: " + std::to_string(kept.resident.size()));
  std::vector<uint64_t> first_touches;
  std::set<uint64_t> seen;
  for (size_t i = 0; i < 60000; ++i)
    for (uint64_t page = all.accesses[i].address >> 12; page <= (all.accesses[i].address + all.accesses[i].size - 1) >> 12; ++page)
      if (seen.insert(page).second)
        first_touches.push_back(page);
  std::vector<uint64_t> resident_pages;
  for (const Event &e : kept.resident) {
    EXPECT_EQ(e.address & 0xfff, 0u);
    EXPECT_EQ(e.size, 1u);
    resident_pages.push_back(e.address >> 12);
  }
  // Pages unmapped within the prefix are left out; the rest keep their order.
  std::vector<uint64_t> expected_order;
  const std::set<uint64_t> resident_set(resident_pages.begin(), resident_pages.end());
  EXPECT_EQ(resident_set.size(), resident_pages.size()) << "a page is listed once";
  for (const uint64_t page : first_touches)
    if (resident_set.count(page) != 0)
      expected_order.push_back(page);
  EXPECT_EQ(resident_pages, expected_order);
  EXPECT_GT(resident_pages.size(), first_touches.size() / 2) << "most start-up pages stay mapped";
  const CliRun info = vmmu("trace info " + skipped_path);
  EXPECT_NE(info.out.find("start-up    " + std::to_string(resident_pages.size()) + " accesses first"), std::string::npos)
      << info.out;
}

// What `vmmu record` says and keeps when the limit stops the program, when there is no limit, and
// when the program fails or is killed (the trace is kept, the status is 1).
TEST(TraceCli, RecordReportsHowTheProgramEnded) {
  if (!haveValgrind())
    GTEST_SKIP() << "valgrind is not installed";
  const std::string limited = scratchPath("limited.vmt");
  const CliRun stopped = vmmu("record --max-accesses 1000 -o " + limited + " -- true");
  ASSERT_EQ(stopped.status, 0) << stopped.err;
  // ld.so makes no region change in its first 1000 accesses.
  EXPECT_EQ(lastLine(stopped.err), "vmmu record: 1000 accesses (0 skipped, 0 rep-string accesses folded), 0 region "
                                   "changes (stopped at --max-accesses) -> " +
                                       limited);
  {
    TraceReader reader(limited);
    EXPECT_EQ(reader.header().get("max-accesses"), std::optional<std::string_view>("1000"));
    const auto events = testing::readAll(reader);
    ASSERT_EQ(events.size(), 1003u);
    EXPECT_EQ(events.front(), Event::processCreate(1, 0, "true"));
    EXPECT_EQ(events[1], Event::contextSwitch(0, 1));
    EXPECT_EQ(events.back(), Event::processExit(1));
  }

  const std::string unlimited = scratchPath("unlimited.vmt");
  const CliRun whole = vmmu("record --max-accesses 0 -o " + unlimited + " -- /bin/true");
  ASSERT_EQ(whole.status, 0) << whole.err;
  EXPECT_EQ(lastLine(whole.err).find("(stopped"), std::string::npos) << whole.err;
  EXPECT_EQ(lastLine(whole.err).rfind("vmmu record: ", 0), 0u) << whole.err;
  {
    TraceReader reader(unlimited);
    EXPECT_EQ(reader.header().get("max-accesses"), std::optional<std::string_view>("unlimited"));
    const auto events = testing::readAll(reader);
    EXPECT_EQ(events.front(), Event::processCreate(1, 0, "true"));  // the program's base name
    EXPECT_GT(events.size(), 1003u);
  }

  const std::string failed = scratchPath("failed.vmt");
  const CliRun f = vmmu("record -o " + failed + " -- false");
  EXPECT_EQ(f.status, 1);
  EXPECT_EQ(lastLine(f.err), "vmmu: error: record: the recorded command exited with status 1 (trace written to " +
                                 failed + ")");
  EXPECT_NE(f.err.find(" region changes -> " + failed + "\n"), std::string::npos) << f.err;
  {
    TraceReader reader(failed);
    EXPECT_EQ(reader.header().get("max-accesses"), std::optional<std::string_view>("50000000"));  // the default
    EXPECT_GT(testing::readAll(reader).size(), 3u);
  }

  const std::string killed = scratchPath("killed.vmt");
  const CliRun k = vmmu("record -o " + killed + " -- sh -c 'kill -9 $$'");
  EXPECT_EQ(k.status, 1);
  EXPECT_EQ(lastLine(k.err), "vmmu: error: record: the recorded command was killed by signal 9 (trace written to " +
                                 killed + ")");
  EXPECT_TRUE(std::ifstream(killed).good());

  const CliRun to_stdout = vmmu("record -o - -- true");
  EXPECT_EQ(to_stdout.status, 2);
  EXPECT_EQ(to_stdout.firstErrLine(),
            "vmmu: -o: record cannot write the trace to standard output: the recorded command writes there");
}

// How `vmmu record` finds the program and valgrind on PATH: an empty entry (leading, inner or
// trailing) is the working directory, later entries are searched too, a name with a slash is
// taken as it is, and no PATH at all means /usr/local/bin:/usr/bin:/bin.
TEST(TraceCli, RecordSearchesPathAsTheShellDoes) {
  const std::filesystem::path dir = scratchPath("path-dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "bin");
  testing::writeFile((dir / "prog").string(), "#!/bin/sh\n");
  testing::writeFile((dir / "bin/other").string(), "#!/bin/sh\n");
  testing::writeFile((dir / "plain").string(), "not a program\n");
  for (const char *name : {"prog", "bin/other"})
    std::filesystem::permissions(dir / name, std::filesystem::perms::owner_all);
  const auto recordWithPath = [&](const std::string &path, const std::string &program) {
    return vmmu("--version >/dev/null && cd " + dir.string() + " && PATH='" + path + "' " + VMMU_CLI_PATH +
                " record -o out.vmt -- " + program);
  };
  // Found (the error is then the missing valgrind, which none of these PATHs holds).
  const std::string no_valgrind =
      "vmmu: error: record: valgrind is not installed or not on PATH (Debian package 'valgrind')\n";
  for (const std::string path : {"/nonexistent:", ":/nonexistent", "/nonexistent::/also-not", ""}) {
    const CliRun r = recordWithPath(path, "prog");
    EXPECT_EQ(r.status, 1) << "PATH=" << path;
    EXPECT_EQ(r.err, no_valgrind) << "PATH=" << path;
  }
  const CliRun later = recordWithPath("/nonexistent:" + (dir / "bin").string(), "other");
  EXPECT_EQ(later.err, no_valgrind);
  // Not found.
  const CliRun missing = recordWithPath("/nonexistent:/also-not", "prog");
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err, "vmmu: error: record: cannot run 'prog': no such program on PATH\n");
  const CliRun not_executable = recordWithPath(":", "plain");
  EXPECT_EQ(not_executable.err, "vmmu: error: record: cannot run 'plain': no such program on PATH\n");
  const CliRun slash = recordWithPath("/nonexistent", "./plain");
  EXPECT_EQ(slash.err, "vmmu: error: record: cannot run './plain': no such program\n");
  const CliRun slash_found = recordWithPath("/nonexistent", "./prog");
  EXPECT_EQ(slash_found.err, no_valgrind);
  if (!haveValgrind())
    return;
  // No PATH: vmmu finds `true` and valgrind in the default directories, but valgrind itself then
  // finds no `true` to run, and nothing is recorded.
  const CliRun unset = vmmu("--version >/dev/null && cd " + dir.string() + " && env -u PATH " + VMMU_CLI_PATH +
                            " record -o out.vmt -- true");
  EXPECT_EQ(unset.status, 1);
  EXPECT_EQ(lastLine(unset.err), "vmmu: error: record: valgrind recorded no accesses; is 'true' a program on PATH?");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.vmt"));
}

// Checked before valgrind runs: no valgrind needed.
TEST(TraceCli, RecordAMissingProgramFails) {
  const std::string none = scratchPath("none.vmt");
  std::remove(none.c_str());
  const CliRun r = vmmu("record -o " + none + " -- /nonexistent/program");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "vmmu: error: record: cannot run '/nonexistent/program': no such program\n");
  const CliRun on_path = vmmu("record -o " + none + " -- no-such-program-vmmu");
  EXPECT_EQ(on_path.status, 1);
  EXPECT_EQ(on_path.err, "vmmu: error: record: cannot run 'no-such-program-vmmu': no such program on PATH\n");
  EXPECT_FALSE(std::ifstream(none).good()) << "no trace file";
}
#endif

}  // namespace
}  // namespace vmmu::trace
