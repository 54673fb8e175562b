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

// A finalized memory of `tasks`, `perClass` features of width `d` per class (seed `seed`).
StatisticsMemory memoryOf(const std::vector<std::vector<int64_t>>& tasks,
                          int64_t perClass,
                          int64_t d,
                          int seed) {
    StatisticsMemory memory(d, 1e-3);
    for (const auto& t : tasks) {
        const auto [x, y] = gaussianClasses(t, perClass, d, seed);
        memory.add(x, y);
    }
    memory.finalize();
    return memory;
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

// Eq. 7 written out in float64: −½ ‖L⁻¹ (h − μ_c)‖² with L = chol(S + λ tr(S)/d I), then the
// softmax over tasks of each task's best class score / τ; tasks of unequal sizes, in an order
// other than the classes' own, so both of taskPosterior()'s ways of grouping columns run.
TEST(StatisticsMemory, ScoresAndPosteriorMatchEquationSeven) {
    const std::vector<std::vector<int64_t>> tasks{{4, 1, 5}, {0, 2}, {3}};
    const StatisticsMemory memory = memoryOf(tasks, 60, 6, 11);
    const auto [h, unused] = gaussianClasses({0, 1, 2, 3, 4, 5}, 5, 6, 12);
    const auto s = memory.covariance();
    const auto l = at::linalg_cholesky(s + torch::eye(6, torch::kFloat64) * 1e-3 *
                                               s.trace().item<double>() / 6.0);
    const auto hd = h.to(torch::kFloat64);
    auto expected = torch::empty({h.size(0), 6}, torch::kFloat64);
    for (int64_t c = 0; c < 6; ++c) {
        const auto diff = (hd - memory.means()[c]).t();  // [d, N]
        const auto w = at::linalg_solve_triangular(l, diff, /*upper=*/false);
        expected.select(1, c).copy_(-0.5 * w.square().sum(0));
    }
    EXPECT_TRUE(torch::allclose(memory.classScores(h).to(torch::kFloat64), expected, 1e-4, 1e-3));
    const auto posteriorOf = [&](const std::vector<std::vector<int64_t>>& grouping) {
        std::vector<torch::Tensor> best;
        for (const auto& t : grouping) {
            best.push_back(std::get<0>(expected.index_select(1, torch::tensor(t)).max(1)));
        }
        return torch::softmax(torch::stack(best, 1) / 2.0, 1);
    };
    EXPECT_TRUE(torch::allclose(memory.taskPosterior(h, tasks, 2.0).to(torch::kFloat64),
                                posteriorOf(tasks), 1e-4, 1e-5));
    const std::vector<std::vector<int64_t>> even{{0, 1}, {2, 3}, {4, 5}};
    EXPECT_TRUE(torch::allclose(memory.taskPosterior(h, even, 2.0).to(torch::kFloat64),
                                posteriorOf(even), 1e-4, 1e-5));
    // #16: a class without statistics (no training image) is left out of its task's maximum;
    // a task without any class with statistics is an error.
    const std::vector<std::vector<int64_t>> withUnseen{{4, 9, 1, 5}, {0, 2}, {3, 8}};
    EXPECT_TRUE(torch::allclose(memory.taskPosterior(h, withUnseen, 2.0).to(torch::kFloat64),
                                posteriorOf(tasks), 1e-4, 1e-5));
    DLW_EXPECT_ERROR(memory.taskPosterior(h, {{0, 1}, {9}}, 2.0),
                     "no class of task 2 has statistics");
}

TEST(StatisticsMemory, PosteriorFindsTheTaskOfSeparatedClasses) {
    const std::vector<std::vector<int64_t>> tasks{{0, 1}, {2, 3}, {4, 5}};
    const StatisticsMemory memory = memoryOf(tasks, 100, 8, 7);
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
