#include "method/subspace_memory.h"

#include "api/error.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

// Uncentred covariance of N samples concentrated in a random `rank`-dimensional subspace.
torch::Tensor lowRankCovariance(int64_t d, int64_t rank, int64_t seed) {
    torch::manual_seed(seed);
    auto basis = torch::randn({d, rank});
    auto x = torch::matmul(torch::randn({500, rank}), basis.t()) + 0.01 * torch::randn({500, d});
    return torch::matmul(x.t(), x) / 500.0;  // [d, d]
}

double maxAbs(const torch::Tensor& t) {
    return t.numel() == 0 ? 0.0 : t.abs().max().item<double>();
}

TEST(SubspaceMemory, UpdateReachesTheEnergyThreshold) {
    SubspaceMemory memory(32);
    const auto cov = lowRankCovariance(32, 4, 0);
    const MemoryUpdate u = memory.update(cov, 0.95);
    EXPECT_GE(u.energyAfter, 0.95);
    EXPECT_EQ(u.energyBefore, 0.0);
    EXPECT_LE(u.added, 4);  // the data live in 4 dimensions
    EXPECT_EQ(memory.size(), u.added);
    const auto m = memory.basis();
    EXPECT_LT(maxAbs(torch::matmul(m.t(), m) - torch::eye(memory.size())), 1e-5);
}

TEST(SubspaceMemory, TaskBlocksAreMutuallyOrthogonal) {
    SubspaceMemory memory(48);
    for (int t = 0; t < 3; ++t) {
        memory.update(lowRankCovariance(48, 5, 10 + t), 0.97);
    }
    ASSERT_EQ(memory.taskColumns().size(), 3U);
    for (int i = 0; i < 3; ++i) {
        for (int j = i + 1; j < 3; ++j) {
            EXPECT_LT(maxAbs(torch::matmul(memory.taskBlock(i).t(), memory.taskBlock(j))), 1e-5)
                << "G_" << i << " vs G_" << j;
        }
    }
}

TEST(SubspaceMemory, NewTaskBasesAreOrthogonalToOldMemory) {
    SubspaceMemory memory(40);
    memory.update(lowRankCovariance(40, 6, 1), 0.99);
    const auto u = memory.taskBases(lowRankCovariance(40, 6, 2), 8);  // eq. 3
    ASSERT_EQ(u.sizes(), (std::vector<int64_t>{40, 8}));
    EXPECT_LT(maxAbs(torch::matmul(u.t(), memory.basis())), 1e-5);
    EXPECT_LT(maxAbs(torch::matmul(u.t(), u) - torch::eye(8)), 1e-5);
}

TEST(SubspaceMemory, OldEnergyAboveThresholdAddsNothing) {
    SubspaceMemory memory(16);
    const auto cov = lowRankCovariance(16, 3, 4);
    memory.update(cov, 0.99);
    const MemoryUpdate again = memory.update(cov, 0.9);
    EXPECT_EQ(again.added, 0);
    EXPECT_GE(again.energyBefore, 0.9);
    EXPECT_EQ(memory.taskColumns().back(), 0);
}

TEST(SubspaceMemory, RemoveFromRowsIsOrthogonalToMemory) {
    SubspaceMemory memory(24);
    memory.update(lowRankCovariance(24, 5, 5), 0.99);
    const auto delta = torch::randn({8, 24});  // an optimizer update of A_O, [r, d]
    const auto projected = memory.removeFromRows(delta);
    EXPECT_LE(torch::matmul(projected, memory.basis()).norm().item<double>(),
              1e-5 * projected.norm().item<double>());
}

TEST(SubspaceMemory, RankBeyondFreeDimensionsIsAnError) {
    SubspaceMemory memory(8);
    memory.update(torch::eye(8), 0.99);  // isotropic: fills all 8 dimensions
    DLW_EXPECT_ERROR(memory.taskBases(torch::eye(8), 2), "residual rank 2", "free");
}

TEST(SubspaceMemory, EnergyThresholdSchedule) {
    EXPECT_DOUBLE_EQ(energyThreshold(0.95, 1.0, 5, 5), 1.0);
    EXPECT_NEAR(energyThreshold(0.95, 1.0, 1, 5), 0.96, 1e-12);
}

}  // namespace
}  // namespace dlw
