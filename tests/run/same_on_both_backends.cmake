# Runs `vmmu run TRACE --mode MODE --max-events EVENTS` on the golden model and on the RTL backend
# (which checks every translation against the model and exits 1 on a mismatch) and expects the
# same table and the same JSON report, but for what names the backend: the "backend" field and
# the header word, "transactions" (the RTL backend's count of transactions, 0 on the model) and
# its transaction ranges line; and the timings: the replay speed line and the *seconds fields.
# With -DEPT_FORMAT=F both runs take --ept-format F (docs/architecture.md §21).
# Usage: cmake -DVMMU=... -DTRACE=... -DMODE=... -DEVENTS=... -DOUT=dir [-DEPT_FORMAT=F]
#              -P same_on_both_backends.cmake
foreach(var VMMU TRACE MODE EVENTS OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "same_on_both_backends: -D${var}= is required")
  endif()
endforeach()
set(extra_args)
set(name ${MODE})
if(DEFINED EPT_FORMAT)
  set(extra_args --ept-format ${EPT_FORMAT})
  set(name ${MODE}-${EPT_FORMAT})
endif()
file(MAKE_DIRECTORY ${OUT})
foreach(backend model rtl)
  execute_process(COMMAND ${VMMU} run ${TRACE} --mode ${MODE} --max-events ${EVENTS} --backend ${backend}
                          ${extra_args} --json ${OUT}/${name}-${backend}.json
                  OUTPUT_VARIABLE table_${backend} ERROR_VARIABLE errors RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "vmmu run --backend ${backend} --mode ${MODE} exited ${status}:\n${errors}")
  endif()
  file(READ ${OUT}/${name}-${backend}.json json_${backend})
  string(REGEX REPLACE "\"backend\": \"[a-z]+\"" "\"backend\": _" json_${backend} "${json_${backend}}")
  string(REGEX REPLACE "\"transactions\": [0-9]+" "\"transactions\": _" json_${backend} "${json_${backend}}")
  string(REGEX REPLACE "seconds\": [0-9.e+-]+" "seconds\": _" json_${backend} "${json_${backend}}")
  string(REGEX REPLACE "backend [a-z]+," "backend _," table_${backend} "${table_${backend}}")
  string(REGEX REPLACE "replay speed:[^\n]*\n" "" table_${backend} "${table_${backend}}")
  string(REGEX REPLACE "rtl transactions per run[^\n]*\n" "" table_${backend} "${table_${backend}}")
endforeach()
if(NOT table_model STREQUAL table_rtl)
  message(FATAL_ERROR "the tables differ:\n--- model\n${table_model}\n--- rtl\n${table_rtl}")
endif()
if(NOT json_model STREQUAL json_rtl)
  message(FATAL_ERROR "the JSON reports differ: compare ${OUT}/${name}-model.json and ${OUT}/${name}-rtl.json")
endif()
string(FIND "${json_model}" "\"approach\": \"${MODE}\"" found)
if(found EQUAL -1)
  message(FATAL_ERROR "no run of ${MODE} in the report")
endif()
if(DEFINED EPT_FORMAT)
  string(FIND "${json_model}" "\"format\": \"${EPT_FORMAT}\"" found)
  if(found EQUAL -1)
    message(FATAL_ERROR "no EPT format ${EPT_FORMAT} in the report")
  endif()
endif()
message(STATUS "${name}: the same table and report on both backends")
