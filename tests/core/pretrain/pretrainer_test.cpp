#include "api/backbone_info.h"
#include "api/dataset_scan.h"
#include "api/error.h"
#include "api/pretrain.h"
#include "test_support.h"

#include <filesystem>
#include <fmt/format.h>

#include <gtest/gtest.h>

namespace dlw {
namespace {

// `dlw pretrain` at a toy size: the real digits sheet, a few drawn and fractal classes.
PretrainConfig toyConfig(const std::string& tag) {
    PretrainConfig c;
    c.output = (test::tempDir(tag) / "backbone.safetensors").string();
    c.proceduralPerClass = 20;
    c.fractalClasses = 4;
    c.fractalPerClass = 10;
    c.width = 32;
    c.depth = 1;
    c.heads = 2;
    c.epochs = 5;
    c.batchSize = 64;
    return c;
}

// Empty when digits.png can be read here; otherwise why the test is skipped.
std::string whyNoDigits() {
#ifndef DLW_WITH_OPENCV
    return "this build has no OpenCV (DLW_WITH_OPENCV=OFF), so digits.png cannot be decoded";
#else
    if (!std::filesystem::exists(defaultDataRoot(DataKind::Digits))) {
        return "OpenCV's digits.png is not installed (scripts/setup.sh installs it)";
    }
    return {};
#endif
}

TEST(Pretrain, LearnsTheDigitsAndWritesTheBackboneWithItsProvenance) {
    DLW_SKIP_UNDER_SANITIZERS();
    if (const auto why = whyNoDigits(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    const PretrainConfig c = toyConfig("pretrain");
    std::vector<int> epochs;
    const PretrainReport report = pretrainBackbone(c, [&](const PretrainProgress& p) {
        epochs.push_back(p.epoch);
        EXPECT_EQ(p.epochs, 5);
        EXPECT_GT(p.imagesPerSecond, 0.0);
        return true;
    });
    EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3, 4, 5}));
    EXPECT_GT(report.digitsHeldoutAccuracy, 50.0) << "chance is 10 %";
    // 4,500 digits (90 %) + 10 drawn classes × 20 + 4 fractal classes × 10.
    EXPECT_EQ(report.trainImages, 4500 + 200 + 40);

    const BackboneInfo info = inspectBackbone(c.output);
    EXPECT_EQ(info.arch.width, 32);
    EXPECT_EQ(info.arch.depth, 1);
    EXPECT_EQ(info.arch.imgSize, 28);
    EXPECT_EQ(info.arch.numClasses, 10 + 10 + 4);
    EXPECT_EQ(info.parameters, report.parameters);
    EXPECT_EQ(info.metadata.at("heldout_accuracy"), fmt::format("{:.2f}", report.heldoutAccuracy));
    EXPECT_EQ(info.metadata.at("epochs"), "5");
    EXPECT_NE(info.metadata.at("pretrained_on").find("4 IFS classes × 10, varied ink"),
              std::string::npos)
        << info.metadata.at("pretrained_on");
}

TEST(Pretrain, StoppedEarlyWritesNothing) {
    if (const auto why = whyNoDigits(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    PretrainConfig c = toyConfig("pretrain-stop");
    c.fractalClasses = 0;
    c.proceduralPerClass = 0;
    DLW_EXPECT_ERROR(pretrainBackbone(c, [](const PretrainProgress&) { return false; }),
                     "stopped after epoch 1", "nothing written");
    EXPECT_FALSE(std::filesystem::exists(c.output));
}

TEST(Pretrain, RejectsAWidthThatHeadsDoNotDivide) {
    PretrainConfig c = toyConfig("pretrain-bad");
    c.heads = 3;
    DLW_EXPECT_ERROR(pretrainBackbone(c), "width 32 divisible by heads 3");
    EXPECT_FALSE(std::filesystem::exists(c.output));
}

TEST(Pretrain, AMissingDigitsSheetIsAnErrorNamingIt) {
    PretrainConfig c = toyConfig("pretrain-missing");
    c.digits = (test::tempDir("pretrain-missing") / "no-such-digits.png").string();
    DLW_EXPECT_ERROR(pretrainBackbone(c), "no-such-digits.png");
}

}  // namespace
}  // namespace dlw
