#include "api/error.h"
#include "api/metrics.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

const std::optional<double> kNone = std::nullopt;

// A hand-worked 3-task example: R = [[90, -, -], [70, 80, -], [60, 75, 85]].
TEST(ContinualMetrics, HandWorkedThreeTaskMatrix) {
    const AccuracyMatrix r{{90.0, kNone, kNone}, {70.0, 80.0, kNone}, {60.0, 75.0, 85.0}};
    const auto m = computeContinualMetrics(r);
    EXPECT_DOUBLE_EQ(m.finalAccuracy, (60.0 + 75.0 + 85.0) / 3);
    EXPECT_DOUBLE_EQ(m.averageIncrementalAccuracy, (90.0 + 75.0 + 220.0 / 3) / 3);
    ASSERT_TRUE(m.bwt.has_value());
    EXPECT_DOUBLE_EQ(*m.bwt, ((60.0 - 90.0) + (75.0 - 80.0)) / 2);
    ASSERT_EQ(m.forgetting.size(), 2U);
    EXPECT_DOUBLE_EQ(*m.forgetting[0], 30.0);  // max(90, 70) − 60
    EXPECT_DOUBLE_EQ(*m.forgetting[1], 5.0);
    EXPECT_DOUBLE_EQ(*m.meanForgetting, 17.5);
}

TEST(ContinualMetrics, ForgettingMayBeNegative) {
    const AccuracyMatrix r{{50.0, kNone}, {60.0, 70.0}};  // backward transfer improved task 1
    const auto m = computeContinualMetrics(r);
    EXPECT_DOUBLE_EQ(*m.forgetting[0], -10.0);
    EXPECT_DOUBLE_EQ(*m.bwt, 10.0);
}

TEST(ContinualMetrics, JointHasOnlyTheLastRow) {
    const AccuracyMatrix r{{kNone, kNone}, {80.0, 70.0}};
    const auto m = computeContinualMetrics(r);
    EXPECT_DOUBLE_EQ(m.finalAccuracy, 75.0);
    EXPECT_DOUBLE_EQ(m.averageIncrementalAccuracy, 75.0);
    EXPECT_FALSE(m.bwt.has_value());
}

TEST(ContinualMetrics, PartialMatrixGivesMetricsSoFar) {
    const AccuracyMatrix r{{90.0, kNone, kNone}, {80.0, 70.0, kNone}, {kNone, kNone, kNone}};
    EXPECT_DOUBLE_EQ(computeContinualMetrics(r).finalAccuracy, 75.0);
}

TEST(ContinualMetrics, MissingDiagonalValueIsAnError) {
    const AccuracyMatrix r{{90.0, kNone}, {kNone, 70.0}};
    DLW_EXPECT_ERROR(computeContinualMetrics(r), "row 2", "task 1");
}

TEST(Calibration, PerfectlyCalibratedBinsGiveZero) {
    // Confidence 0.75 and 3 of 4 right: calibrated.
    EXPECT_NEAR(expectedCalibrationError({0.75F, 0.75F, 0.75F, 0.75F}, {true, true, true, false}),
                0.0, 1e-9);
}

TEST(Calibration, OverconfidenceIsMeasured) {
    // All at 0.9 confidence, half right: |0.5 − 0.9| = 40 %.
    EXPECT_NEAR(expectedCalibrationError({0.9F, 0.9F, 0.9F, 0.9F}, {true, false, true, false}),
                40.0, 1e-5);
    const auto bins = reliabilityBins({0.85F, 0.05F}, {true, false}, 10);
    EXPECT_EQ(bins[8].count, 1);  // (0.8, 0.9]
    EXPECT_EQ(bins[0].count, 1);
}

}  // namespace
}  // namespace dlw
