# tests/hostile/cli_cases.cmake: the `vmmu` command's options and outputs (sw/cli): usage errors
# are one line with status 2; a report never becomes gnuplot or shell commands; hostile JSON is
# refused in one line; every output is written under a temporary name and renamed when complete,
# so a failure keeps the previous file (EXISTING) and leaves nothing partial (ABSENT, NO_STRAYS);
# lost standard output is an error. Inputs: inputs/cli-*.
set(_vmmu $<TARGET_FILE:vmmu>)
set(_in ${VMMU_HOSTILE_INPUTS})
set(_gzip ${PROJECT_SOURCE_DIR}/traces/gzip.vmt)

# --- usage errors: one line naming the option and the value, status 2 ---------------------------
vmmu_hostile(cli-bad-number COMMAND ${_vmmu} demo --accesses 0 EXIT 2
             MESSAGE "^vmmu: --accesses: expected a whole number from 1 to 1000000000, got '0'$")
vmmu_hostile(cli-negative-number COMMAND ${_vmmu} trace gen random --procs -3 -o t.vmt EXIT 2
             MESSAGE "^vmmu: --procs: expected a whole number from 1 to 100000, got '-3'$" ABSENT t.vmt NO_STRAYS)
vmmu_hostile(cli-bad-choice COMMAND ${_vmmu} run ${_gzip} --backend fpga EXIT 2
             MESSAGE "^vmmu: --backend: expected model or rtl, got 'fpga'$")
vmmu_hostile(cli-unknown-option COMMAND ${_vmmu} run --bogus EXIT 2
             MESSAGE "^vmmu: run: unexpected argument '--bogus' \\(see vmmu run --help\\)$")
vmmu_hostile(cli-unknown-command COMMAND ${_vmmu} trace frobnicate EXIT 2
             MESSAGE "^vmmu: trace: unknown command 'frobnicate' \\(expected info, dump, import, mix or gen\\)$")
# --policy-modes (docs/architecture.md §16): names the modes the adaptive policy may also switch
# into; a bad name or an empty one is a usage error.
vmmu_hostile(cli-run-policy-modes-bad COMMAND ${_vmmu} run ${_gzip} --policy-modes agile,nested EXIT 2
             MESSAGE "^vmmu: --policy-modes: expected guest-direct, dual-direct or agile, comma-separated, got 'nested'$")
vmmu_hostile(cli-run-policy-modes-empty COMMAND ${_vmmu} run ${_gzip} --policy-modes agile,,dual-direct EXIT 2
             MESSAGE "^vmmu: --policy-modes: expected guest-direct, dual-direct or agile, comma-separated, got ''$")
vmmu_hostile(cli-run-policy-modes-case COMMAND ${_vmmu} run ${_gzip} --policy-modes AGILE EXIT 2
             MESSAGE "^vmmu: --policy-modes: expected guest-direct, dual-direct or agile, comma-separated, got 'AGILE'$")
vmmu_hostile(cli-run-policy-modes-agile-static COMMAND ${_vmmu} run ${_gzip} --mode agile --policy-modes agile EXIT 2
             MESSAGE "^vmmu: --policy-modes: needs the adaptive policy \\(--mode adaptive or all, not --policy none\\)$")
vmmu_hostile(cli-run-ept-format-bad COMMAND ${_vmmu} run ${_gzip} --ept-format 3level EXIT 2
             MESSAGE "^vmmu: --ept-format: expected 4level, 2level or 1level, got '3level'$")
vmmu_hostile(cli-run-help-ept-format COMMAND ${_vmmu} run --help EXIT 0 STDOUT "--ept-format TEXT:4level\\|2level\\|1level=4level")
vmmu_hostile(cli-run-ept-format-2level COMMAND ${_vmmu} run ${_gzip} --mode nested --ept-format 2level --max-events 20000
             EXIT 0 STDOUT "EPT format 2level \\(docs/architecture.md §21\\):")
vmmu_hostile(cli-help-exits-0 COMMAND ${_vmmu} trace gen --help EXIT 0 STDOUT "--footprint-mib UINT:1..1048576=64")

# --- vmmu plot -----------------------------------------------------------------------------------
# Labels, title and file names made of shell and gnuplot syntax (quotes, `...`, $(...), system(),
# newlines, `set output`, `!cmd`) are drawn as text; nothing runs, nothing else is written. (A
# CMake argument cannot hold a ';': the JSON inputs carry those.)
vmmu_hostile(cli-plot-injection COMMAND ${_vmmu} plot cli-plot-injection.json -o p.png EXIT 0
             COPY ${_in}/cli-plot-injection.json STDOUT "^wrote p.png$" ABSENT pwned ALLOW p.png NO_STRAYS)
vmmu_hostile(cli-plot-injection-svg COMMAND ${_vmmu} plot cli-plot-injection.json -o p.svg EXIT 0
             COPY ${_in}/cli-plot-injection.json ABSENT pwned ALLOW p.svg NO_STRAYS)
vmmu_hostile(cli-plot-injected-output-name
             COMMAND ${_vmmu} plot cli-report.json -o "x' . system('touch pwned') . `touch pwned` $(touch pwned).png" EXIT 0
             COPY ${_in}/cli-report.json ABSENT pwned)
# 30,000 levels of nesting: refused while parsing, no stack overflow.
vmmu_hostile(cli-plot-deep-json
             COMMAND sh -c "head -c 30000 /dev/zero | tr '\\\\0' '[' > deep.json && exec ${_vmmu} plot deep.json -o p.png"
             EXIT 1 MESSAGE "^vmmu: error: deep.json: not a vmmu run JSON report: JSON nested deeper than 64 levels$"
             ALLOW deep.json ABSENT p.png NO_STRAYS)
vmmu_hostile(cli-plot-malformed-json COMMAND ${_vmmu} plot cli-malformed.json -o p.png EXIT 1
             COPY ${_in}/cli-malformed.json
             MESSAGE "^vmmu: error: cli-malformed.json: not a vmmu run JSON report: parse error at line 2, column 0: syntax error while parsing value - invalid literal"
             ABSENT p.png NO_STRAYS)
vmmu_hostile(cli-plot-schema-version COMMAND ${_vmmu} plot cli-report-v2.json -o p.png EXIT 1
             COPY ${_in}/cli-report-v2.json MESSAGE "schema_version 2 is not 1, the version this vmmu reads$"
             ABSENT p.png NO_STRAYS)
vmmu_hostile(cli-plot-missing-directory COMMAND ${_vmmu} plot cli-report.json -o /nonexistent/x.png EXIT 1
             COPY ${_in}/cli-report.json
             MESSAGE "^vmmu: error: /nonexistent/x.png: cannot write: directory '/nonexistent' does not exist$"
             NO_STRAYS)
vmmu_hostile(cli-plot-wrong-extension COMMAND ${_vmmu} plot cli-report.json -o x.gif EXIT 2
             COPY ${_in}/cli-report.json MESSAGE "^vmmu: -o: expected a file name ending in .png, .svg or .pdf"
             ABSENT x.gif NO_STRAYS)
vmmu_hostile(cli-plot-keeps-previous-image COMMAND ${_vmmu} plot cli-report-v2.json -o p.png EXIT 1
             COPY ${_in}/cli-report-v2.json EXISTING p.png MESSAGE "schema_version" NO_STRAYS)

# --- vmmu run: outputs ---------------------------------------------------------------------------
vmmu_hostile(cli-run-failure-keeps-json COMMAND ${_vmmu} run cli-not-a-trace.vmt --json r.json EXIT 1
             COPY ${_in}/cli-not-a-trace.vmt EXISTING r.json MESSAGE "^vmmu: error: cli-not-a-trace.vmt: .*not a vmmu trace"
             NO_STRAYS)
vmmu_hostile(cli-run-json-missing-directory COMMAND ${_vmmu} run ${_gzip} --json /nonexistent/r.json EXIT 1
             MESSAGE "^vmmu: error: /nonexistent/r.json: cannot write: directory '/nonexistent' does not exist$")
vmmu_hostile(cli-run-wave-missing-directory
             COMMAND ${_vmmu} run ${_gzip} --mode native --backend rtl --wave /nonexistent/x.fst EXIT 1
             MESSAGE "^vmmu: error: /nonexistent/x.fst: cannot write: directory '/nonexistent' does not exist$")
# --rtl-params picks a verilated parameter set of the RTL backend (sw/rtl_backend); only a vmmu
# built with the RTL has any. The default set replays a short prefix with no mismatch; a set that
# does not exist is a usage error naming the ones there are; "alt" (5-level guest paging, other
# array shapes) replays every approach, the shadow variants' 5-level shadow tables included, with
# every translation checked against the model configured as the set (a mismatch exits 1).
if(TARGET vmmu_rtl_backend)
  vmmu_hostile(cli-run-rtl-params-unknown COMMAND ${_vmmu} run ${_gzip} --backend rtl --rtl-params fast EXIT 2
               MESSAGE "^vmmu: --rtl-params: expected default( or [a-z0-9_]+|(, [a-z0-9_]+)+ or [a-z0-9_]+)?, got 'fast'$"
               LABELS run NO_STRAYS)
  vmmu_hostile(cli-run-rtl-params-needs-rtl COMMAND ${_vmmu} run ${_gzip} --rtl-params default EXIT 2
               MESSAGE "^vmmu: --rtl-params: needs --backend rtl \\(it picks the verilated RTL's parameter set\\)$"
               LABELS run NO_STRAYS)
  vmmu_hostile(cli-run-rtl-params-default
               COMMAND ${_vmmu} run ${_gzip} --backend rtl --rtl-params default --mode nested --max-events 3000
               EXIT 0 STDOUT "best approach" LABELS run NO_STRAYS)
  if(TARGET vmmu_rtl_alt)
    vmmu_hostile(cli-run-rtl-params-alt
                 COMMAND ${_vmmu} run ${_gzip} --backend rtl --rtl-params alt --mode all --max-events 20000 EXIT 0
                 STDOUT "best approach" LABELS run NO_STRAYS)
  endif()
endif()
vmmu_hostile(cli-run-json-dash COMMAND ${_vmmu} run ${_gzip} --mode nested --max-events 2000 --json - EXIT 0
             STDOUT "\"schema_version\": 1," ABSENT - NO_STRAYS)
vmmu_hostile(cli-run-json-written COMMAND ${_vmmu} run ${_gzip} --mode nested --max-events 2000 --json r.json
             EXIT 0 STDOUT "best approach" ALLOW r.json NO_STRAYS)
vmmu_hostile(cli-run-full-device
             COMMAND sh -c "exec ${_vmmu} run ${_gzip} --mode nested --max-events 2000 > /dev/full" EXIT 1
             MESSAGE "^vmmu: error: standard output: write failed: No space left on device$")

# --- vmmu trace / record: outputs ----------------------------------------------------------------
vmmu_hostile(cli-info-full-device COMMAND sh -c "exec ${_vmmu} trace info ${_gzip} > /dev/full" EXIT 1
             MESSAGE "^vmmu: error: standard output: write failed: No space left on device$")
vmmu_hostile(cli-import-same-file COMMAND ${_vmmu} trace import cli-events.txt -o cli-events.txt EXIT 2
             COPY ${_in}/cli-events.txt
             MESSAGE "^vmmu: -o: the output 'cli-events.txt' is also the input 'cli-events.txt'$" NO_STRAYS)
vmmu_hostile(cli-import-same-file-hard-link
             COMMAND sh -c "ln cli-events.txt linked.txt && exec ${_vmmu} trace import cli-events.txt -o ./linked.txt"
             EXIT 2 COPY ${_in}/cli-events.txt MESSAGE "is also the input 'cli-events.txt'$" ALLOW linked.txt NO_STRAYS)
vmmu_hostile(cli-import-failure-no-output COMMAND ${_vmmu} trace import cli-bad-events.txt -o out.vmt EXIT 1
             COPY ${_in}/cli-bad-events.txt MESSAGE "^vmmu: error: cli-bad-events.txt:50: pid:" ABSENT out.vmt
             NO_STRAYS)
vmmu_hostile(cli-import-failure-keeps-previous COMMAND ${_vmmu} trace import cli-bad-events.txt -o out.vmt EXIT 1
             COPY ${_in}/cli-bad-events.txt EXISTING out.vmt MESSAGE "cli-bad-events.txt:50: pid:" NO_STRAYS)
vmmu_hostile(cli-mix-failure-no-output
             COMMAND ${_vmmu} trace mix --quantum 100 -o out.vmt ${_gzip} cli-not-a-trace.vmt EXIT 1
             COPY ${_in}/cli-not-a-trace.vmt MESSAGE "^vmmu: error: cli-not-a-trace.vmt: .*not a vmmu trace"
             ABSENT out.vmt NO_STRAYS)
vmmu_hostile(cli-mix-failure-keeps-previous
             COMMAND ${_vmmu} trace mix --quantum 100 -o out.vmt ${_gzip} cli-not-a-trace.vmt EXIT 1
             COPY ${_in}/cli-not-a-trace.vmt EXISTING out.vmt MESSAGE "not a vmmu trace" NO_STRAYS)
vmmu_hostile(cli-gen-missing-directory COMMAND ${_vmmu} trace gen random -o /nonexistent/t.vmt EXIT 1
             MESSAGE "^vmmu: error: /nonexistent/t.vmt: cannot write: directory '/nonexistent' does not exist$")
vmmu_hostile(cli-record-missing-program COMMAND ${_vmmu} record -o t.vmt -- /nonexistent/program EXIT 1
             MESSAGE "^vmmu: error: record: cannot run '/nonexistent/program': no such program$" ABSENT t.vmt
             NO_STRAYS)
vmmu_hostile(cli-record-program-not-on-path COMMAND ${_vmmu} record -o t.vmt -- no-such-program-vmmu EXIT 1
             MESSAGE "no such program on PATH$" EXISTING t.vmt NO_STRAYS)

# `-o -` draws a PNG on standard output; a lost one is an error, and no scratch file stays.
vmmu_hostile(cli-plot-stdout COMMAND ${_vmmu} plot cli-report.json -o - EXIT 0 COPY ${_in}/cli-report.json
             STDOUT "PNG" NO_STRAYS)
vmmu_hostile(cli-plot-stdout-full-device COMMAND sh -c "exec ${_vmmu} plot cli-report.json -o - > /dev/full" EXIT 1
             COPY ${_in}/cli-report.json
             MESSAGE "^vmmu: error: standard output: write failed: No space left on device$" NO_STRAYS)

# A report never replaces the trace or the configuration it was made from.
vmmu_hostile(cli-run-json-over-its-trace COMMAND ${_vmmu} run t.vmt --json ./t.vmt EXIT 2 EXISTING t.vmt
             MESSAGE "^vmmu: --json: the output './t.vmt' is also the input 't.vmt'$" NO_STRAYS)

# Without gnuplot: one line saying what to install, no image and no scratch file left.
vmmu_hostile(cli-plot-without-gnuplot COMMAND env PATH=/nonexistent ${_vmmu} plot cli-report.json -o p.png EXIT 1
             COPY ${_in}/cli-report.json
             MESSAGE "^vmmu: error: plot: cannot run gnuplot: No such file or directory \\(Debian package gnuplot-nox\\)$"
             ABSENT p.png NO_STRAYS)
