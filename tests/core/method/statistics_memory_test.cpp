#include "method/statistics_memory.h"

#include "api/error.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

// Gaussian classes with distinct means and a shared covariance: features [N, d], labels [N].
std::pair<torch::Tensor, torch::Tensor> gaussianClasses(const std::vector<int64_t>& classes,
                                                        int64_t perClass,
                                                        int64_t d,
                                                        int seed) {
    torch::manual_seed(seed);
    std::vector<torch::Tensor> xs;
    std::vector<torch::Tensor> ys;
    for (int64_t c : classes) {
        torch::manual_seed(1000 + c);  // the class mean depends only on the class
        auto mean = torch::randn({d}) * 3.0;
        torch::manual_seed(seed * 100 + c);
        xs.push_back(mean + torch::randn({perClass, d}));
        ys.push_back(torch::full({perClass}, c, torch::kInt64));
    }
    return {torch::cat(xs), torch::cat(ys)};
}

TEST(StatisticsMemory, SameMeansAndCovarianceInAnyTaskOrder) {
    const auto [x1, y1] = gaussianClasses({0, 1}, 50, 6, 1);
    const auto [x2, y2] = gaussianClasses({2, 3}, 50, 6, 2);
    StatisticsMemory forward(6, 1e-3);
    forward.add(x1, y1);
    forward.add(x2, y2);
    forward.finalize();
    StatisticsMemory backward(6, 1e-3);
    backward.add(x2, y2);
    backward.add(x1, y1);
    backward.finalize();
    EXPECT_EQ(forward.classes(), backward.classes());
    EXPECT_TRUE(torch::allclose(forward.means(), backward.means(), 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(forward.covariance(), backward.covariance(), 1e-12, 1e-12));
}

TEST(StatisticsMemory, MatchesDirectMeansAndPooledCovariance) {
    const auto [x, y] = gaussianClasses({0, 1, 2}, 40, 5, 3);
    StatisticsMemory memory(5, 0.0);
    memory.add(x, y);
    memory.finalize();
    auto xd = x.to(torch::kFloat64);
    auto within = torch::zeros({5, 5}, torch::kFloat64);
    for (int64_t c = 0; c < 3; ++c) {
        auto rows = xd.index({y.eq(c)});
        auto mu = rows.mean(0);
        EXPECT_TRUE(torch::allclose(memory.means()[c], mu, 1e-10, 1e-10));
        auto centred = rows - mu;
        within += torch::matmul(centred.t(), centred);
    }
    EXPECT_TRUE(torch::allclose(memory.covariance(), within / 120.0, 1e-9, 1e-9));
}

TEST(StatisticsMemory, PosteriorFindsTheTaskOfSeparatedClasses) {
    const std::vector<std::vector<int64_t>> tasks{{0, 1}, {2, 3}, {4, 5}};
    StatisticsMemory memory(8, 1e-3);
    for (const auto& t : tasks) {
        const auto [x, y] = gaussianClasses(t, 100, 8, 7);
        memory.add(x, y);
    }
    memory.finalize();
    const auto [testX, testY] = gaussianClasses({0, 1, 2, 3, 4, 5}, 30, 8, 99);
    const auto posterior = memory.taskPosterior(testX, tasks, 2.0);  // [N, 3]
    EXPECT_TRUE(torch::allclose(posterior.sum(1), torch::ones(posterior.size(0)), 1e-5, 1e-5));
    const auto predicted = posterior.argmax(1);
    const auto expected = torch::div(testY, 2, "floor");
    EXPECT_GT(predicted.eq(expected).to(torch::kFloat32).mean().item<float>(), 0.95F);
}

TEST(StatisticsMemory, StateRoundTripContinuesExactly) {
    const auto [x, y] = gaussianClasses({3, 7}, 20, 4, 5);
    StatisticsMemory memory(4, 1e-3);
    memory.add(x, y);
    memory.finalize();
    std::map<std::string, torch::Tensor> saved;
    for (auto& [k, v] : memory.state("stats.")) {
        saved[k] = v;
    }
    StatisticsMemory reloaded(4, 1e-3);
    reloaded.restore(saved, "stats.");
    EXPECT_TRUE(torch::equal(memory.classScores(x), reloaded.classScores(x)));
}

TEST(StatisticsMemory, ScoresBeforeFinalizeIsAnError) {
    StatisticsMemory memory(4, 1e-3);
    DLW_EXPECT_ERROR(memory.classScores(torch::zeros({1, 4})), "before finalize");
}

}  // namespace
}  // namespace dlw
