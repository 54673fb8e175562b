#pragma once
// c10d's NCCL process group (#18), made in a file of its own: its header needs the CUDA and NCCL
// headers of the NVIDIA wheels, which CMake gives to util/collective_nccl.cpp alone. Only in a
// build with DLW_C10D_NCCL (torch_compat.h).

#include "torch_compat.h"

#if DLW_C10D_NCCL
#include <chrono>

#include <torch/csrc/distributed/c10d/Store.hpp>

namespace dlw {

// The NCCL process group of `size` ranks, this one `rank`, on CUDA device `deviceIndex` (made
// current), connected through `store` before it returns; each collective may take up to
// `timeout`. Throws c10::Error (CUDA or NCCL unavailable, a rank missing).
c10::intrusive_ptr<compat::C10dBackend> makeNcclBackend(
    const c10::intrusive_ptr<c10d::Store>& store,
    int rank,
    int size,
    std::chrono::milliseconds timeout,
    int deviceIndex);

}  // namespace dlw
#endif
