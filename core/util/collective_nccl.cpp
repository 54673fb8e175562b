#include "util/collective_nccl.h"

#if DLW_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace dlw {

c10::intrusive_ptr<compat::C10dBackend> makeNcclBackend(
    const c10::intrusive_ptr<c10d::Store>& store,
    int rank,
    int size,
    std::chrono::milliseconds timeout,
    int deviceIndex) {
    const at::Device device(at::kCUDA, static_cast<c10::DeviceIndex>(deviceIndex));
    c10::cuda::set_device(device.index());
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
    // One GPU per rank, known now: the communicator is made here, so that a rank that never
    // comes is an error of the join rather than of the first gradient sum.
    group->setBoundDeviceId(device);
    group->eagerConnectSingleDevice(device);
    return group;
}

}  // namespace dlw
#endif
