// core/util/runtime.cpp: resolving the device a run asks for.
#include "api/runtime.h"

#include "api/error.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace dlw {
namespace {

// #15: Debian's CPU-only LibTorch said "this machine has 0 CUDA device(s)" on a machine with a
// GPU; what is missing there is a CUDA build, not a device.
TEST(Runtime, NamesALibTorchWithoutCuda) {
    if (at::globalContext().hasCUDART()) {
        GTEST_SKIP() << "this LibTorch has CUDA (the other message is tested below)";
    }
    DLW_EXPECT_ERROR(resolveDevice("cuda"), "device 'cuda'", "built without CUDA",
                     "scripts/build-gpu.sh");
    EXPECT_NE(runtimeDescription().find("built without CUDA"), std::string::npos)
        << runtimeDescription();
    EXPECT_EQ(resolveDevice("auto"), "cpu");
}

TEST(Runtime, CountsTheDevicesOfACudaBuild) {
    if (!at::globalContext().hasCUDART()) {
        GTEST_SKIP() << "this LibTorch was built without CUDA";
    }
    // No machine has 100 devices: the message counts the ones it has.
    DLW_EXPECT_ERROR(resolveDevice("cuda:99"), "device 'cuda:99'", "this machine has",
                     "CUDA device(s)");
    EXPECT_NE(runtimeDescription().find("CUDA device(s)"), std::string::npos)
        << runtimeDescription();
}

TEST(Runtime, RefusesAnUnknownDevice) {
    DLW_EXPECT_ERROR(resolveDevice("gpu"), "device 'gpu'", "\"cpu\"");
    DLW_EXPECT_ERROR(resolveDevice("cuda:x"), "device 'cuda:x'", "cuda:N");
}

}  // namespace
}  // namespace dlw
