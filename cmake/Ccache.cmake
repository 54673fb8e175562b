# Use ccache when it is installed: a rebuild of an unchanged torch-heavy unit then costs ~0 s.
# Precompiled headers change the compiler's inputs in ways ccache must be told to accept; the
# setting travels with each compile (an environment variable set here would reach only CMake).
find_program(DLW_CCACHE ccache)
if(DLW_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        ${DLW_CCACHE})
endif()
