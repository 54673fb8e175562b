# cmake -P helper of GTestSuites.cmake: writes OUTPUT, the add_test() lines of EXECUTABLE's
# GoogleTest suites (all but EXCLUDE), labelled LABEL, run in WORKING_DIRECTORY; those in FIRST
# with a high COST.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${EXECUTABLE} --gtest_list_tests
    OUTPUT_VARIABLE listing ERROR_VARIABLE errors RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXECUTABLE} --gtest_list_tests failed (${rc}): ${errors}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(text "")
foreach(line IN LISTS lines)
    # Suite lines start in column 0 and end in '.' (typed suites add "  # TypeParam = ...").
    if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.")
        set(suite ${CMAKE_MATCH_1})
        if(NOT suite IN_LIST EXCLUDE)
            set(cost "")
            if(suite IN_LIST FIRST)
                set(cost " COST 1000")
            endif()
            string(APPEND text
                "add_test([=[${suite}]=] [=[${EXECUTABLE}]=] [=[--gtest_filter=${suite}.*]=])\n"
                "set_tests_properties([=[${suite}]=] PROPERTIES LABELS [=[${LABEL}]=]"
                " WORKING_DIRECTORY [=[${WORKING_DIRECTORY}]=]"
                " SKIP_RETURN_CODE 77${cost})\n")  # test::kAllSkipped (tests/test_support.h)
        endif()
    endif()
endforeach()
file(WRITE ${OUTPUT}.tmp "${text}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
