# Sanitizer and fuzzing instrumentation, in one INTERFACE target that dlw_core links PUBLIC, so
# that the library, the tests and the tools linking it are all built the same way.
#   DLW_SANITIZE=ON       AddressSanitizer + UndefinedBehaviorSanitizer (clang or GCC); every
#                         undefined-behaviour report is fatal. Run the tests with the options in
#                         tests/sanitizers/ (scripts/sanitize.sh sets them).
#   DLW_BUILD_FUZZERS=ON  the same, plus libFuzzer's coverage hooks (-fsanitize=fuzzer-no-link)
#                         for the library; the fuzz/ targets link -fsanitize=fuzzer. Clang only.
add_library(dlw_sanitizers INTERFACE)
add_library(dlw::sanitizers ALIAS dlw_sanitizers)
if(DLW_BUILD_FUZZERS AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DLW_BUILD_FUZZERS needs clang (libFuzzer): configure with "
        "CC=clang CXX=clang++ (scripts/fuzz.sh does)")
endif()
if(DLW_SANITIZE OR DLW_BUILD_FUZZERS)
    set(_dlw_sanitize -fsanitize=address,undefined)
    if(DLW_BUILD_FUZZERS)
        set(_dlw_sanitize -fsanitize=fuzzer-no-link,address,undefined)
    endif()
    # Frame pointers give the reports whole stacks; a non-recoverable report makes UB fail a test
    # instead of scrolling past in its output.
    target_compile_options(dlw_sanitizers INTERFACE ${_dlw_sanitize} -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined)
    target_link_options(dlw_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
