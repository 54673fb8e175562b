# Every third-party package, found once. All come from Debian 12's repositories. On the GPU
# machine (a CUDA PyTorch wheel, no Debian packages, no network) the header-only ones are carried
# in a folder made by scripts/carry-deps.sh and named by DLW_HEADER_DEPS (scripts/build-gpu.sh).
set(DLW_HEADER_DEPS "" CACHE PATH
    "Folder holding nlohmann/, CLI/, fmt/ (and zlib.h) headers; empty = Debian's CMake packages")
# Two LibTorches on one machine (Debian's in /usr/lib and a pip wheel named by CMAKE_PREFIX_PATH,
# as scripts/build-torch2.sh does): TorchConfig's find_library searches the system folders before
# its own, and linked the wheel's headers against Debian's libtorch.so and libc10.so. Take them
# from beside the TorchConfig.cmake that find_package picks (<prefix>/share/cmake/Torch).
foreach(_prefix IN LISTS CMAKE_PREFIX_PATH)
    foreach(_config ${_prefix}/Torch ${_prefix}/share/cmake/Torch)
        get_filename_component(_lib ${_config}/../../../lib ABSOLUTE)
        if(NOT DLW_TORCH_LIB_DIR AND EXISTS ${_config}/TorchConfig.cmake
           AND EXISTS ${_lib}/libtorch.so)
            set(DLW_TORCH_LIB_DIR ${_lib})
        endif()
    endforeach()
endforeach()
if(DLW_TORCH_LIB_DIR)
    find_library(TORCH_LIBRARY torch PATHS ${DLW_TORCH_LIB_DIR} NO_DEFAULT_PATH)
    find_library(c10_LIBRARY c10 PATHS ${DLW_TORCH_LIB_DIR} NO_DEFAULT_PATH)
    # A CUDA wheel's libtorch_cuda.so finds NCCL, cuDNN, ... in the NVIDIA wheels beside it
    # ($ORIGIN/../../nvidia/*/lib) at run time; the linker ignores that and took the CUDA
    # toolkit's older libnccl.so.2 (undefined ncclCommMemStats, ...). Point it at the same ones.
    file(GLOB _nvidiaLibs LIST_DIRECTORIES true ${DLW_TORCH_LIB_DIR}/../../nvidia/*/lib)
    if(_nvidiaLibs)
        string(REPLACE ";" ":" _nvidiaPath "${_nvidiaLibs}")
        add_link_options("LINKER:-rpath-link,${_nvidiaPath}")
    endif()
endif()
include(TorchCudaRuntime)
find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION}: ${TORCH_LIBRARY}")
# c10d's NCCL process group (#18): a CUDA LibTorch 2.x (its torch_cuda target defines
# USE_C10D_NCCL) and the headers ProcessGroupNCCL.hpp includes, nccl.h and the CUDA runtime's,
# from the NVIDIA wheels beside it (the toolkit's CUDA headers where the wheels have none).
# core/CMakeLists.txt gives them to util/collective_nccl.cpp alone.
set(DLW_NCCL_INCLUDE_DIRS "")
if(NOT Torch_VERSION VERSION_LESS 2 AND DLW_TORCH_LIB_DIR
   AND EXISTS ${DLW_TORCH_LIB_DIR}/libtorch_cuda.so)
    file(GLOB _nvidiaIncludes LIST_DIRECTORIES true ${DLW_TORCH_LIB_DIR}/../../nvidia/*/include)
    find_path(DLW_NCCL_INCLUDE nccl.h PATHS ${_nvidiaIncludes} NO_DEFAULT_PATH)
    find_path(DLW_CUDART_INCLUDE cuda_runtime_api.h
              PATHS ${_nvidiaIncludes} $ENV{CUDA_HOME}/include /usr/local/cuda/include
              NO_DEFAULT_PATH)
    if(DLW_NCCL_INCLUDE AND DLW_CUDART_INCLUDE)
        set(DLW_NCCL_INCLUDE_DIRS ${_nvidiaIncludes} ${DLW_CUDART_INCLUDE})
        list(REMOVE_DUPLICATES DLW_NCCL_INCLUDE_DIRS)
        message(STATUS "c10d NCCL process group: ${DLW_NCCL_INCLUDE}/nccl.h")
    else()
        message(STATUS "c10d NCCL process group: none (no nccl.h or cuda_runtime_api.h in "
                       "${DLW_TORCH_LIB_DIR}/../../nvidia/*/include)")
    endif()
endif()
find_package(Threads REQUIRED)
# LibTorch 1.13 has no fused attention: core/model/cpu_attention.cpp spreads it over ATen's
# threads with at::parallel_for (a header template, serial unless its file is compiled with
# OpenMP: Debian's LibTorch and GCC share libgomp) and calls the BLAS that LibTorch links
# (libblas.so.3). A PyTorch 2.x wheel has a fused kernel and brings its own runtimes: neither.
if(Torch_VERSION VERSION_LESS 2)
    find_package(OpenMP REQUIRED COMPONENTS CXX)
    find_library(DLW_BLAS_LIBRARY NAMES libblas.so.3 blas REQUIRED)
endif()
if(DLW_HEADER_DEPS)
    if(NOT EXISTS ${DLW_HEADER_DEPS}/nlohmann/json.hpp OR NOT EXISTS ${DLW_HEADER_DEPS}/CLI/CLI.hpp
       OR NOT EXISTS ${DLW_HEADER_DEPS}/fmt/format-inl.h)
        message(FATAL_ERROR "DLW_HEADER_DEPS=${DLW_HEADER_DEPS} lacks nlohmann/json.hpp, "
            "CLI/CLI.hpp or fmt/format-inl.h: make it with scripts/carry-deps.sh")
    endif()
    add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
    add_library(CLI11::CLI11 INTERFACE IMPORTED)
    add_library(fmt::fmt-header-only INTERFACE IMPORTED)
    foreach(t nlohmann_json::nlohmann_json CLI11::CLI11 fmt::fmt-header-only)
        target_include_directories(${t} SYSTEM INTERFACE ${DLW_HEADER_DEPS})
    endforeach()
    target_compile_definitions(fmt::fmt-header-only INTERFACE FMT_HEADER_ONLY=1)
else()
    find_package(nlohmann_json 3.10 REQUIRED)
    find_package(CLI11 REQUIRED)
    find_package(fmt REQUIRED)
endif()
# zlib reads idx files (gzip-compressed or raw). Without its dev package, the carried zlib.h and
# the runtime library that every Linux has (libz.so.1) do.
if(DLW_HEADER_DEPS AND EXISTS ${DLW_HEADER_DEPS}/zlib.h AND NOT ZLIB_INCLUDE_DIR)
    find_path(ZLIB_INCLUDE_DIR zlib.h)
    if(NOT ZLIB_INCLUDE_DIR)
        set(ZLIB_INCLUDE_DIR ${DLW_HEADER_DEPS} CACHE PATH "zlib.h" FORCE)
    endif()
    find_library(ZLIB_LIBRARY NAMES z libz.so.1)
endif()
find_package(ZLIB REQUIRED)
if(DLW_WITH_OPENCV)
    find_package(OpenCVParts REQUIRED)
endif()
if(DLW_BUILD_GUI)
    find_package(Qt6 REQUIRED COMPONENTS Core Gui Widgets Concurrent PrintSupport Test)
    find_package(QCustomPlotQt6 REQUIRED)
endif()
if(DLW_BUILD_TESTS)
    if(DLW_HEADER_DEPS AND EXISTS ${DLW_HEADER_DEPS}/googletest/CMakeLists.txt)
        # The GPU machine has no Debian packages: GoogleTest's sources, carried by
        # scripts/carry-deps.sh, built here.
        set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
        set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
        add_subdirectory(${DLW_HEADER_DEPS}/googletest ${CMAKE_BINARY_DIR}/googletest
            EXCLUDE_FROM_ALL SYSTEM)
        if(NOT TARGET GTest::gtest)  # GoogleTest 1.11 and later define these aliases themselves
            add_library(GTest::gtest ALIAS gtest)
            add_library(GTest::gtest_main ALIAS gtest_main)
        endif()
    else()
        find_package(GTest REQUIRED)
    endif()
    include(GoogleTest)
endif()
# Torch's imported target adds its compile flags through TORCH_CXX_FLAGS (the C++11 ABI switch).
string(REPLACE " " ";" DLW_TORCH_CXX_FLAGS "${TORCH_CXX_FLAGS}")
