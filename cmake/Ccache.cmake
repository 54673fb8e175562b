# Use ccache when it is installed: a rebuild of an unchanged torch-heavy unit then costs ~0 s.
find_program(DLW_CCACHE ccache)
if(DLW_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${DLW_CCACHE})
    # Precompiled headers change the compiler's inputs in ways ccache must be told to accept.
    set(ENV{CCACHE_SLOPPINESS} "pch_defines,time_macros,include_file_mtime,include_file_ctime")
endif()
