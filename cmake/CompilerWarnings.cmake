# Warnings live in one INTERFACE target that every project target links PRIVATE.
add_library(dlw_warnings INTERFACE)
add_library(dlw::warnings ALIAS dlw_warnings)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(dlw_warnings INTERFACE
        -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
        -Wimplicit-fallthrough -Wno-unused-parameter)
endif()
