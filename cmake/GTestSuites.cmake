# dlw_add_gtest_suites(TARGET LABEL label [EXCLUDE suite...] [FIRST suite...]): one ctest entry per GoogleTest
# suite of TARGET (`TARGET --gtest_filter=Suite.*`, named Suite), listed after each build of
# TARGET from its --gtest_list_tests. One process per suite, not per test: every start of a
# LibTorch test program costs about half a second (the wheel's: one; ASan: two), which for ~265
# tests was a minute or more of each configuration's test phase. A suite whose every test skipped
# (GTEST_SKIP) reads "Skipped": its program exits 77 (test::runAllTests), never a failing one. Run one test with the program itself:
# `build/tests/dlw_core_tests --gtest_filter=Suite.Test`. FIRST: the longest suites, given a
# high ctest COST so that `ctest -j` starts them first when it has no timings of its own (a clean
# clone in CI): begun last, one of them runs on alone while the other cores idle.
set(DLW_GTEST_SUITES_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/GTestSuitesWrite.cmake)

function(dlw_add_gtest_suites target)
    cmake_parse_arguments(arg "" "LABEL" "EXCLUDE;FIRST" ${ARGN})
    set(suites ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake)
    set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake)
    add_custom_command(TARGET ${target} POST_BUILD
        COMMAND ${CMAKE_COMMAND} -D EXECUTABLE=$<TARGET_FILE:${target}> -D OUTPUT=${suites}
            -D LABEL=${arg_LABEL} -D "EXCLUDE=${arg_EXCLUDE}" -D "FIRST=${arg_FIRST}"
            -D WORKING_DIRECTORY=${CMAKE_CURRENT_BINARY_DIR} -P ${DLW_GTEST_SUITES_SCRIPT}
        COMMENT "Listing the GoogleTest suites of ${target}" VERBATIM)
    file(WRITE ${include}
        "if(EXISTS \"${suites}\")\n"
        "  include(\"${suites}\")\n"
        "else()\n"
        "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\n"
        "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
endfunction()
