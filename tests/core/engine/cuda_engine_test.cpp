// The engine on CUDA (#15). Compiled in every build; run where LibTorch sees a GPU
// (scripts/gpu-check.sh runs them there) and skipped, saying so, everywhere else.
#include "api/error.h"
#include "core/engine/engine_test_support.h"
#include "torch_compat.h"

#include <cmath>

#include <gtest/gtest.h>

namespace dlw {
namespace {

using test::haveFashionMnist;
using test::run;
using test::smallExperiment;
using test::stepLosses;

// Empty when the test can run; otherwise why it is skipped.
std::string whyNotRunnable() {
    if (!torch::cuda::is_available()) {
        return "no CUDA device: runs where LibTorch sees a GPU (scripts/gpu-check.sh)";
    }
    if (!haveFashionMnist()) {
        return "Fashion-MNIST is not installed";
    }
    return {};
}

#define SKIP_WITHOUT_CUDA()                \
    do {                                   \
        const auto why = whyNotRunnable(); \
        if (!why.empty()) {                \
            GTEST_SKIP() << why;           \
        }                                  \
    } while (false)

// Same seed, same data order (the generator is the CPU's), same initial adapters: the first
// step's loss agrees to float32 reduction-order noise, and the run learns as well on the GPU as
// on the CPU. Every method, since each has its own CUDA code (projections, SVDs, statistics).
TEST(CudaEngine, EveryMethodTrainsTheSmallSequenceAsTheCpuDoes) {
    SKIP_WITHOUT_CUDA();
    const auto dir = test::tempDir("cuda-engine");
    for (const auto method : {MethodKind::DualLora, MethodKind::InfLora, MethodKind::SeqLora,
                              MethodKind::Joint, MethodKind::SdLora, MethodKind::RanPac}) {
        SCOPED_TRACE(toString(method));
        auto e = smallExperiment(method);
        RunControl control;
        std::vector<Event> cpuEvents;
        const auto cpu = run(e, dir / (toString(method) + "-cpu"), control, false, &cpuEvents);
        e.device = "cuda";
        std::vector<Event> cudaEvents;
        const auto cuda = run(e, dir / (toString(method) + "-cuda"), control, false, &cudaEvents);
        EXPECT_EQ(std::get<RunStarted>(cudaEvents.front()).device, "cuda:0");
        const auto a = stepLosses(cpuEvents);
        const auto b = stepLosses(cudaEvents);
        ASSERT_EQ(a.size(), b.size());
        ASSERT_FALSE(a.empty());
        EXPECT_NEAR(b.front(), a.front(), 1e-3 * a.front());
        for (double loss : b) {
            ASSERT_TRUE(std::isfinite(loss));
        }
        ASSERT_EQ(cuda.accuracyMatrix.size(), cpu.accuracyMatrix.size());
        // 180 test images: a few near ties may fall the other way after 3 tasks of float32
        // reductions in another order.
        EXPECT_NEAR(cuda.metrics.finalAccuracy, cpu.metrics.finalAccuracy, 5.0);
        if (cpu.taskIdAccuracy.has_value()) {
            ASSERT_TRUE(cuda.taskIdAccuracy.has_value());
            EXPECT_NEAR(*cuda.taskIdAccuracy, *cpu.taskIdAccuracy, 5.0);
        }
    }
}

// A checkpoint holds device-free tensors: a run stopped on the GPU resumes on the CPU, and one
// stopped on the CPU resumes on the GPU (a user moving a run between machines).
TEST(CudaEngine, ACheckpointResumesOnTheOtherDevice) {
    SKIP_WITHOUT_CUDA();
    const auto dir = test::tempDir("cuda-engine");
    const auto e = smallExperiment(MethodKind::DualLora);
    RunControl whole;
    const auto uninterrupted = run(e, dir / "whole", whole);
    for (const auto& [first, second] :
         {std::pair<std::string, std::string>{"cuda", "cpu"}, {"cpu", "cuda"}}) {
        SCOPED_TRACE(first + " then " + second);
        auto part = e;
        part.device = first;
        const auto runDir = dir / (first + "-" + second);
        RunControl control;
        control.stopAfterTask = true;
        std::vector<Event> events;
        run(part, runDir, control, false, &events);
        ASSERT_TRUE(std::get<RunFinished>(events.back()).stopped);
        part.device = second;
        RunControl resume;
        std::vector<Event> resumedEvents;
        const auto resumed = run(part, runDir, resume, /*resume=*/true, &resumedEvents);
        EXPECT_EQ(std::get<RunStarted>(resumedEvents.front()).resumedFromTask, 1);
        ASSERT_EQ(resumed.accuracyMatrix.size(), uninterrupted.accuracyMatrix.size());
        EXPECT_NEAR(resumed.metrics.finalAccuracy, uninterrupted.metrics.finalAccuracy, 5.0);
    }
}

// precision "bf16" on CUDA: autocast runs the backbone in bfloat16 and the run still learns.
TEST(CudaEngine, Bf16AutocastTrainsOnTheGpu) {
    SKIP_WITHOUT_CUDA();
    const auto dir = test::tempDir("cuda-engine");
    auto e = smallExperiment(MethodKind::DualLora);
    e.device = "cuda";
    RunControl control;
    const auto fp32 = run(e, dir / "fp32", control);
    e.precision = Precision::Bf16;
    std::vector<Event> events;
    const auto bf16 = run(e, dir / "bf16", control, false, &events);
    const auto losses = stepLosses(events);
    ASSERT_FALSE(losses.empty());
    for (double loss : losses) {
        ASSERT_TRUE(std::isfinite(loss));
    }
    EXPECT_NEAR(bf16.metrics.finalAccuracy, fp32.metrics.finalAccuracy, 12.0);
}

// Without a GPU, asking for one is a clear error before anything is written.
TEST(CudaEngine, AskingForAMissingGpuIsAClearError) {
    if (torch::cuda::is_available()) {
        GTEST_SKIP() << "this machine has a CUDA device";
    }
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("cuda-engine") / "refused";
    auto e = smallExperiment(MethodKind::DualLora);
    e.device = "cuda";
    RunControl control;
    try {
        run(e, dir, control);
        FAIL() << "expected dlw::Error";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("cuda"), std::string::npos) << err.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace dlw
