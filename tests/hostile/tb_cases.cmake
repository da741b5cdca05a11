# Hostile-input cases of the testbench (vmmu_tb, tb/): bad plusargs and wave files it cannot write.
# A bad option is a one-line error naming the program, the option and the reason, exit status 2;
# the wave file is written through a temporary beside it and renamed when the run ends, so a run
# that cannot start leaves an earlier file of that name as it was and no temporary behind.
if(TARGET vmmu_tb)
  set(tb $<TARGET_FILE:vmmu_tb>)

  vmmu_hostile(tb-wave-missing-directory
    COMMAND ${tb} +test=smoke +wave=/nonexistent/x.fst
    EXIT 2 MESSAGE "^vmmu_tb: \\+wave=/nonexistent/x\\.fst: cannot open: No such file or directory$" NO_STRAYS)

  vmmu_hostile(tb-wave-is-directory
    COMMAND ${tb} +test=smoke +wave=.
    EXIT 2 MESSAGE "^vmmu_tb: \\+wave=\\.: cannot open: Is a directory$" NO_STRAYS)

  vmmu_hostile(tb-wave-empty
    COMMAND ${tb} +test=smoke +wave=
    EXIT 2 MESSAGE "^vmmu_tb: option \\+wave needs a value" NO_STRAYS)

  # A bad option after +wave: nothing is written, the earlier waves are kept.
  vmmu_hostile(tb-wave-kept-on-bad-option
    COMMAND ${tb} +test=smoke +wave=w.fst +n=0
    EXIT 2 MESSAGE "^vmmu_tb: \\+n=0: must be at least 1" EXISTING w.fst NO_STRAYS)

  # A good run writes the waves and leaves no temporary file.
  vmmu_hostile(tb-wave-written
    COMMAND ${tb} +test=smoke +wave=w.fst +verbosity=UVM_NONE
    EXIT 0 STDOUT "PASSED" ALLOW w.fst NO_STRAYS)

  # An interrupted run stops cleanly: no crash status, the earlier waves kept, no temporary. The
  # signal comes 1 s after the wave temporary (w.fst.XXXXXX) appears: the handlers are installed
  # before it is created, so a slow start on a loaded machine cannot make this a death by signal.
  vmmu_hostile(tb-wave-interrupted
    COMMAND ${tb} +test=random_hits +n=100000000 +wave=w.fst +verbosity=UVM_NONE
    SIGNAL TERM:1 SIGNAL_AFTER "w.fst.*" EXIT 1 MESSAGE "^vmmu_tb: interrupted by signal" EXISTING w.fst NO_STRAYS)

  vmmu_hostile(tb-n-zero
    COMMAND ${tb} +test=random +n=0
    EXIT 2 MESSAGE "^vmmu_tb: \\+n=0: must be at least 1 \\(omit \\+n for the test's default count\\)$")

  vmmu_hostile(tb-n-negative
    COMMAND ${tb} +test=random +n=-5
    EXIT 2 MESSAGE "^vmmu_tb: option \\+n expects an unsigned number, got '-5'$")

  vmmu_hostile(tb-n-overflow
    COMMAND ${tb} +test=random +n=99999999999999999999999
    EXIT 2 MESSAGE "^vmmu_tb: option \\+n expects an unsigned number")

  vmmu_hostile(tb-max-errors-zero
    COMMAND ${tb} +test=smoke +max_errors=0
    EXIT 2 MESSAGE "^vmmu_tb: \\+max_errors=0: must be at least 1$")

  vmmu_hostile(tb-wave-window-reversed
    COMMAND ${tb} +test=smoke +wave=w.fst +wave_start=100 +wave_stop=10
    EXIT 2 MESSAGE "^vmmu_tb: \\+wave_stop is before \\+wave_start$" NO_STRAYS)

  vmmu_hostile(tb-seed-empty
    COMMAND ${tb} +test=smoke +seed=
    EXIT 2 MESSAGE "^vmmu_tb: option \\+seed needs a value")

  vmmu_hostile(tb-verbosity-bad
    COMMAND ${tb} +test=smoke +verbosity=LOUD
    EXIT 2 MESSAGE "^vmmu_tb: bad \\+verbosity 'LOUD'")

  vmmu_hostile(tb-inject-kind-bad
    COMMAND ${tb} +test=smoke +inject=5 +inject_kind=fetch_or
    EXIT 2 MESSAGE "^vmmu_tb: bad \\+inject_kind 'fetch_or' \\(read_data or read_entry\\)$")

  # UVM's standard plusargs: the same checks as +test, +verbosity and +max_errors, named as given.
  vmmu_hostile(tb-uvm-max-quit-count-zero
    COMMAND ${tb} +UVM_TESTNAME=smoke +UVM_MAX_QUIT_COUNT=0
    EXIT 2 MESSAGE "^vmmu_tb: \\+UVM_MAX_QUIT_COUNT=0: must be at least 1$")

  vmmu_hostile(tb-uvm-verbosity-bad
    COMMAND ${tb} +UVM_TESTNAME=smoke +UVM_VERBOSITY=LOUD
    EXIT 2 MESSAGE "^vmmu_tb: bad \\+UVM_VERBOSITY 'LOUD'")

  vmmu_hostile(tb-uvm-testname-unknown
    COMMAND ${tb} +UVM_TESTNAME=no_such_test
    EXIT 2 MESSAGE "^vmmu_tb: unknown test 'no_such_test'")

  vmmu_hostile(tb-unknown-test
    COMMAND ${tb} +test=no_such_test
    EXIT 2 MESSAGE "^vmmu_tb: unknown test 'no_such_test'")
  # +help lists every plusarg, UVM's aliases included, and runs nothing.
  vmmu_hostile(tb-help
    COMMAND ${tb} +help EXIT 0 STDOUT "\\+UVM_TESTNAME NAME=smoke" NO_STRAYS)
  vmmu_hostile(tb-unknown-plusarg
    COMMAND ${tb} +no_such_option=1
    EXIT 2 MESSAGE "^vmmu_tb: unknown option: .*\\+no_such_option=1 \\(\\+help lists the plusargs" NO_STRAYS)
  vmmu_hostile(tb-not-a-plusarg
    COMMAND ${tb} --test=smoke
    EXIT 2 MESSAGE "^vmmu_tb: unknown argument '--test=smoke' \\(options are \\+name=value" NO_STRAYS)
endif()
