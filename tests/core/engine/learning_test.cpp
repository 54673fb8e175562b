// Learning checks (ctest label "learning"): the orderings measured at full size on the default
// preset (scripts/ablation_table.sh), asserted at a reduced size with stated margins. Reduced:
// 300 training and 300 test images per class, 2 epochs, 300-image memory passes. Seed 0 there:
// duallora A_T 54.8, inflora 13.3, seq-lora 15.8, joint 53.3; forgetting duallora 11.4,
// seq-lora 29.2; duallora task identity 73.8 %; ECE raw 8.6 → calibrated 5.6.
#include "api/engine.h"
#include "api/experiment.h"
#include "core/engine/engine_test_support.h"

#include <map>

#include <gtest/gtest.h>

namespace dlw {
namespace {

RunSummary reducedRun(MethodKind method, const std::filesystem::path& dir) {
    Experiment e = preset("default");
    e.threads = 0;
    e.method.name = method;
    e.data.trainPerClass = 300;
    e.data.testPerClass = 300;
    e.data.valPerClass = 50;
    e.train.epochs = 2;
    e.memory.sample = 300;
    RunControl control;
    return test::run(e, dir, control);
}

TEST(Learning, DefaultPresetOrderingsAtReducedSize) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("learning");
    std::map<MethodKind, RunSummary> s;
    for (auto m :
         {MethodKind::DualLora, MethodKind::InfLora, MethodKind::SeqLora, MethodKind::Joint}) {
        s[m] = reducedRun(m, dir / toString(m));
    }
    const auto& dual = s[MethodKind::DualLora];
    const double at = dual.metrics.finalAccuracy;
    // DualLoRA well above both published baselines (39 points at this size).
    EXPECT_GT(at, s[MethodKind::InfLora].metrics.finalAccuracy + 20);
    EXPECT_GT(at, s[MethodKind::SeqLora].metrics.finalAccuracy + 20);
    // Joint training is the upper reference; at this size it is undertrained (1.5 below).
    EXPECT_GT(s[MethodKind::Joint].metrics.finalAccuracy, at - 8);
    // Sequential LoRA forgets far more (29 vs 11 points).
    EXPECT_GT(s[MethodKind::SeqLora].metrics.meanForgetting.value(),
              dual.metrics.meanForgetting.value() + 8);
    // Task identity far above the 20 % chance of 5 tasks, and calibration helps.
    EXPECT_GT(dual.taskIdAccuracy.value(), 50);
    EXPECT_LT(dual.eceCalibrated.value(), dual.eceRaw.value());
}

}  // namespace
}  // namespace dlw
