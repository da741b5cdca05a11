# tests/hostile/input_cases.cmake: hostile input to the trace replay, the text importer and the
# run configuration (issue 10 §3, §5, §6): work that must follow what is mapped rather than the
# range named, input that never ends or never arrives, and configuration values that are wrong.
set(_vmmu $<TARGET_FILE:vmmu>)
set(_in ${VMMU_HOSTILE_INPUTS})

# 83 bytes: 4000 accesses in 4000 different GiB, then a munmap (or a brk shrink) of the whole user
# half. It took minutes when every 4 KiB page of every touched GiB was visited.
vmmu_hostile(input_huge_munmap_follows_mapped_pages
  COMMAND ${_vmmu} run input-huge-munmap.vmt --mode native --policy none
  COPY ${_in}/input-huge-munmap.vmt EXIT 0 STDOUT "^native +[0-9]+" TIMEOUT 20)
vmmu_hostile(input_huge_brk_shrink_follows_mapped_pages
  COMMAND ${_vmmu} run input-huge-brk.vmt --mode native --policy none
  COPY ${_in}/input-huge-brk.vmt EXIT 0 STDOUT "^native +[0-9]+" TIMEOUT 20)

# The text importer: a line that never ends, and NUL bytes, are refused at once.
vmmu_hostile(input_import_unterminated_line
  COMMAND sh -c "head -c 2000000 /dev/zero | tr -c a a | \"$0\" trace import - -o out.vmt" ${_vmmu}
  EXIT 1 MESSAGE "^vmmu: error: <stdin>:1: line longer than [0-9]+ bytes: not a text trace$"
  ABSENT out.vmt TIMEOUT 20)
vmmu_hostile(input_import_dev_zero
  COMMAND ${_vmmu} trace import /dev/zero -o out.vmt
  EXIT 1 MESSAGE "^vmmu: error: /dev/zero: is not a regular file \\(a FIFO, socket or device\\)$" ABSENT out.vmt
  TIMEOUT 20)
# The same bytes through standard input reach the importer, which refuses the NUL byte.
vmmu_hostile(input_import_nul_stdin
  COMMAND sh -c "head -c 100000 /dev/zero | \"$0\" trace import - -o out.vmt" ${_vmmu}
  EXIT 1 MESSAGE "^vmmu: error: <stdin>:1: NUL byte: not a text trace$" ABSENT out.vmt TIMEOUT 20)

# --config must name a regular file of key = value lines.
vmmu_hostile(input_config_dev_zero
  COMMAND ${_vmmu} run --config /dev/zero input-huge-munmap.vmt COPY ${_in}/input-huge-munmap.vmt
  EXIT 1 MESSAGE "^vmmu: error: configuration file /dev/zero: is not a regular file \\(a FIFO, socket or device\\)$"
  TIMEOUT 20)
vmmu_hostile(input_config_directory
  COMMAND ${_vmmu} run --config . input-huge-munmap.vmt COPY ${_in}/input-huge-munmap.vmt
  EXIT 1 MESSAGE "^vmmu: error: configuration file \\.: is a directory$" TIMEOUT 20)
vmmu_hostile(input_config_huge_memory
  COMMAND ${_vmmu} run --config input-huge-memory.cfg input-huge-munmap.vmt
  COPY ${_in}/input-huge-memory.cfg ${_in}/input-huge-munmap.vmt
  EXIT 1 MESSAGE "^vmmu: error: input-huge-memory.cfg:1: memory_mib: expected a whole number in 2\\.\\.[0-9]+ \\(multiples of 2\\), got '524288'$"
  TIMEOUT 20)
vmmu_hostile(input_config_leading_zero_is_decimal
  COMMAND ${_vmmu} run --config input-octal.cfg input-huge-munmap.vmt --mode native --policy none
  COPY ${_in}/input-octal.cfg ${_in}/input-huge-munmap.vmt
  EXIT 0 STDOUT ", 10 cycles per walk reference" TIMEOUT 20)
vmmu_hostile(input_config_nul_byte
  COMMAND ${_vmmu} run --config input-nul.cfg input-huge-munmap.vmt
  COPY ${_in}/input-nul.cfg ${_in}/input-huge-munmap.vmt
  EXIT 1 MESSAGE "^vmmu: error: input-nul.cfg:2: NUL byte: not a configuration file$" TIMEOUT 20)
vmmu_hostile(input_config_cycles_per_ref_max
  COMMAND ${_vmmu} run --config input-cycles-max.cfg input-huge-munmap.vmt
  COPY ${_in}/input-cycles-max.cfg ${_in}/input-huge-munmap.vmt
  EXIT 1 MESSAGE "^vmmu: error: input-cycles-max.cfg:1: cycles_per_ref: expected a whole number in 1\\.\\.1000000, got '18446744073709551615'$"
  TIMEOUT 20)

# A FIFO with no writer (created by check --mkfifo) would block open(2) forever.
set(_fifo_msg "is not a regular file \\(a FIFO, socket or device\\)$")
vmmu_hostile(input_config_fifo
  COMMAND ${_vmmu} run --config fifo input-huge-munmap.vmt COPY ${_in}/input-huge-munmap.vmt MKFIFO fifo
  EXIT 1 MESSAGE "^vmmu: error: configuration file fifo: ${_fifo_msg}" TIMEOUT 20)
vmmu_hostile(input_trace_fifo
  COMMAND ${_vmmu} run fifo MKFIFO fifo
  EXIT 1 MESSAGE "^vmmu: error: fifo: ${_fifo_msg}" TIMEOUT 20)
vmmu_hostile(input_import_fifo
  COMMAND ${_vmmu} trace import fifo -o out.vmt MKFIFO fifo
  EXIT 1 MESSAGE "^vmmu: error: fifo: ${_fifo_msg}" ABSENT out.vmt TIMEOUT 20)

# Ctrl-C one second in (while the 5*10^7-event trace is being counted, or early in the first run)
# stops at once with a partial report; with --interval 1 the records are coarsened, not one per
# access (which ran out of memory and left a 0-byte JSON).
vmmu_hostile(input_sigint_stops_and_reports
  COMMAND ${_vmmu} run input-long.vmt COPY ${_in}/input-long.vmt
  SIGNAL INT:1 EXIT 130 STDOUT "interrupted after [0-9]+ accesses"
  MESSAGE "^vmmu: interrupted; printed what was measured$" TIMEOUT 15)
vmmu_hostile(input_sigint_interval_one_is_bounded
  COMMAND ${_vmmu} run input-long.vmt --interval 1 --json run.json COPY ${_in}/input-long.vmt
  SIGNAL INT:1 EXIT 130 STDOUT "interrupted: the runs above are what was measured" ALLOW run.json TIMEOUT 15)
# Later, typically inside the first run (its progress lines go to stderr, so no one-line check).
vmmu_hostile(input_sigint_during_a_run
  COMMAND ${_vmmu} run input-long.vmt --interval 1 --json run.json COPY ${_in}/input-long.vmt
  SIGNAL INT:4 EXIT 130 STDOUT "interrupted after [0-9]+ accesses" ALLOW run.json TIMEOUT 20)
