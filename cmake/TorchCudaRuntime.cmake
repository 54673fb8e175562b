# A CUDA PyTorch wheel's LibTorch without a CUDA toolkit (#15). The wheel's Caffe2Config.cmake
# includes its public/cuda.cmake, which wants a whole toolkit (nvcc to enable the CUDA language,
# headers and libraries for find_package(CUDAToolkit)) and otherwise stops configuring: "Your
# installed Caffe2 version uses CUDA but I cannot find the CUDA libraries". This project compiles
# no CUDA code and includes no CUDA header; libtorch_cuda.so needs only the CUDA runtime
# libraries, which the NVIDIA wheels installed beside torch (site-packages/nvidia/*/lib) ship.
# Of what cuda.cmake makes, the Torch targets name one, torch::cudart, which is also its include
# guard ("if(TARGET torch::cudart) return()"): made here from the wheel's libcudart, it lets
# find_package(Torch) configure with or without a toolkit, the same way on every machine.
# Needs DLW_TORCH_LIB_DIR (cmake/Dependencies.cmake); a LibTorch without libtorch_cuda.so is left
# to its own config, and so is one without the NVIDIA wheels beside it (a LibTorch zip) when a
# toolkit is there; without either, this stops first and says what to install.
if(DLW_TORCH_LIB_DIR AND EXISTS ${DLW_TORCH_LIB_DIR}/libtorch_cuda.so AND NOT TARGET torch::cudart)
    # nvidia/cu13/lib (CUDA 13 wheels), nvidia/cuda_runtime/lib (CUDA 12 wheels)
    file(GLOB _cudart ${DLW_TORCH_LIB_DIR}/../../nvidia/*/lib/libcudart.so.[0-9]*)
    if(_cudart)
        list(GET _cudart 0 _cudart)
        get_filename_component(_cudart ${_cudart} REALPATH)
        add_library(torch::cudart INTERFACE IMPORTED)
        target_link_libraries(torch::cudart INTERFACE ${_cudart})
        message(STATUS "LibTorch with CUDA: the wheel's CUDA runtime ${_cudart} (no CUDA toolkit "
                       "needed: nothing here is compiled for the GPU)")
    else()
        find_program(DLW_NVCC nvcc HINTS ${CUDAToolkit_ROOT} ${CUDA_TOOLKIT_ROOT_DIR} ENV CUDA_HOME
                     ENV CUDA_PATH /usr/local/cuda PATH_SUFFIXES bin)
        if(NOT DLW_NVCC)
            message(FATAL_ERROR
                "${DLW_TORCH_LIB_DIR}/libtorch_cuda.so is a CUDA LibTorch, but neither the CUDA "
                "runtime wheel beside it (${DLW_TORCH_LIB_DIR}/../../nvidia/*/lib/libcudart.so.*: "
                "pip install the nvidia-cuda-runtime package of the PyTorch's CUDA version) nor a "
                "CUDA toolkit (nvcc on PATH or CUDAToolkit_ROOT) is here; install either, or "
                "build against a CPU-only LibTorch")
        endif()
    endif()
endif()
