// #18: the process group of a data-parallel run. Two real Gloo ranks over loopback, one thread
// each, check what the engine builds on: the sums of the model's memories equal one process's
// over all the data, rows gather in rank order, and a missing rank is an error, not a hang.
#include "util/collective.h"

#include "api/distributed.h"
#include "api/error.h"
#include "engine/data_parallel.h"
#include "method/covariance_observer.h"
#include "method/ridge_head.h"
#include "method/statistics_memory.h"
#include "test_support.h"
#include "torch_compat.h"

#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <functional>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace dlw {
namespace {

// A port no other test of this process uses (ctest runs suites as separate processes, so the
// process id keeps two test processes apart too).
int freshPort() {
    static std::atomic<int> next{0};
    return 20000 + static_cast<int>((::getpid() * 7 + next++ * 131) % 30000);
}

// Runs body(group) on two ranks of one Gloo group, one thread each; returns each rank's error
// message ("" when it ended well).
std::vector<std::string> errorsOnTwoRanks(const std::function<void(Collective&)>& body,
                                          double timeoutSeconds = 30,
                                          bool agentStore = false) {
    const int port = freshPort();
    std::vector<std::string> errors(2);
    std::thread threads[2];
    for (int rank = 0; rank < 2; ++rank) {
        threads[rank] = std::thread([&, rank] {
            try {
                DistributedOptions o;
                o.rank = rank;
                o.worldSize = 2;
                o.masterPort = port;
                o.timeoutSeconds = timeoutSeconds;
                o.agentStore = agentStore;
                auto group = joinProcessGroup(o, "cpu");
                body(*group);
            } catch (const std::exception& err) {
                errors[rank] = err.what();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    return errors;
}

// errorsOnTwoRanks, expecting none.
void onTwoRanks(const std::function<void(Collective&)>& body,
                double timeoutSeconds = 30,
                bool agentStore = false) {
    const auto errors = errorsOnTwoRanks(body, timeoutSeconds, agentStore);
    EXPECT_EQ(errors[0], "");
    EXPECT_EQ(errors[1], "");
}

TEST(Collective, ReadsTheLauncherVariablesAndNamesABadOne) {
    const auto o = distributedOptionsFrom({{"RANK", "1"},
                                           {"WORLD_SIZE", "4"},
                                           {"LOCAL_RANK", "1"},
                                           {"MASTER_ADDR", "node7"},
                                           {"MASTER_PORT", "29600"},
                                           {"DLW_DIST_TIMEOUT", "45"}});
    EXPECT_EQ(o.rank, 1);
    EXPECT_EQ(o.worldSize, 4);
    EXPECT_EQ(o.localRank, 1);
    EXPECT_EQ(o.masterAddr, "node7");
    EXPECT_EQ(o.masterPort, 29600);
    EXPECT_EQ(o.timeoutSeconds, 45);
    EXPECT_FALSE(o.agentStore);
    EXPECT_TRUE(distributedOptionsFrom(
                    {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"}})
                    .agentStore);
    DLW_EXPECT_ERROR(distributedOptionsFrom({{"RANK", "0"}}), "WORLD_SIZE is not set", "torchrun",
                     "scripts/launch.sh");
    DLW_EXPECT_ERROR(distributedOptionsFrom({{"RANK", "4"}, {"WORLD_SIZE", "4"}}), "RANK='4'",
                     "from 0 to 3");
    DLW_EXPECT_ERROR(distributedOptionsFrom({{"RANK", "0"}, {"WORLD_SIZE", "two"}}),
                     "WORLD_SIZE='two'");
    DLW_EXPECT_ERROR(
        distributedOptionsFrom({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}),
        "MASTER_PORT='70000'", "from 1 to 65535");
    DLW_EXPECT_ERROR(
        distributedOptionsFrom({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"DLW_DIST_TIMEOUT", "0.5"}}),
        "DLW_DIST_TIMEOUT='0.5'");
}

// What the window shows for "Run on several processes…": torchrun's own options, the paths as
// single shell words.
TEST(Collective, LaunchCommandsForOneAndSeveralMachines) {
    LaunchPlan plan;
    plan.experimentFile = "deep run.dlw.json";
    plan.runDir = "runs/deep-2gpu";
    plan.processesPerMachine = 2;
    EXPECT_EQ(launchCommand(plan),
              "torchrun --standalone --nproc_per_node=2 --no_python dlw run "
              "'deep run.dlw.json' --distributed --out runs/deep-2gpu");
    plan.machines = 4;
    plan.masterAddr = "gpu-node-01";
    plan.masterPort = 29611;
    plan.processesPerMachine = 8;
    plan.experimentFile = "it's.json";
    EXPECT_EQ(launchCommand(plan),
              "torchrun --nnodes=4 --nproc_per_node=8 --node_rank=\"$NODE_RANK\" "
              "--master_addr=gpu-node-01 --master_port=29611 --no_python dlw run 'it'\\''s.json' "
              "--distributed --out runs/deep-2gpu");
    plan.masterAddr.clear();
    DLW_EXPECT_ERROR(launchCommand(plan), "rank 0's host");
    plan.machines = 0;
    DLW_EXPECT_ERROR(launchCommand(plan), "at least one machine");
}

TEST(Collective, ABuildWithoutProcessGroupsSaysSo) {
    if (haveProcessGroups()) {
        GTEST_SKIP() << "this build has the Gloo process group (the tests below use it)";
    }
    DistributedOptions o;
    o.worldSize = 2;
    DLW_EXPECT_ERROR(joinProcessGroup(o, "cpu"), "without c10d's Gloo process group",
                     "libgloo-dev");
}

// torchrun --nproc_per_node=1: a group of one, whose collectives leave every value as it is
// (the path that NCCL on one GPU takes in scripts/gpu-check.sh).
TEST(Collective, AGroupOfOneLeavesValuesAsTheyAre) {
    if (!haveProcessGroups()) {
        GTEST_SKIP() << "this LibTorch build has no c10d Gloo process group (torch_compat.h)";
    }
    DistributedOptions o;
    o.masterPort = freshPort();
    o.timeoutSeconds = 30;
    const auto group = joinProcessGroup(o, "cpu");
    EXPECT_EQ(group->size(), 1);
    EXPECT_EQ(group->backend(), "gloo");
    std::vector<torch::Tensor> parts{torch::arange(5, torch::kFloat64),
                                     torch::tensor({3}, torch::kInt64)};
    group->allReduceSum(parts, "a test sum");
    EXPECT_TRUE(torch::equal(parts[0], torch::arange(5, torch::kFloat64)));
    EXPECT_EQ(parts[1].item<int64_t>(), 3);
    const auto rows = torch::arange(6, torch::kFloat32).view({3, 2});
    EXPECT_TRUE(torch::equal(gatherRows(group.get(), rows, "a test gather"), rows));
    EXPECT_EQ(sumOver(group.get(), 4, "a count"), 4);
}

TEST(Collective, SharesCoverEveryItemOnceInOrder) {
    for (int64_t n : {0, 1, 5, 16, 17}) {
        for (int size : {1, 2, 3, 8}) {
            int64_t expected = 0;
            for (int rank = 0; rank < size; ++rank) {
                const auto [begin, end] = shareOf(n, rank, size);
                EXPECT_EQ(begin, expected) << n << " over " << size;
                EXPECT_LE(end - begin, n / size + 1);
                EXPECT_GE(end - begin, n / size);
                expected = end;
            }
            EXPECT_EQ(expected, n);
        }
    }
}

TEST(Collective, SumsGathersAndBroadcastsOverTwoGlooRanks) {
    if (!haveProcessGroups()) {
        GTEST_SKIP() << "this LibTorch build has no c10d Gloo process group (torch_compat.h)";
    }
    onTwoRanks([](Collective& group) {
        const int r = group.rank();
        std::vector<torch::Tensor> parts{torch::full({2, 3}, r + 1.0, torch::kFloat64),
                                         torch::tensor({r * 10 + 1}, torch::kInt64),
                                         torch::full({4}, 0.5F * static_cast<float>(r))};
        group.allReduceSum(parts, "a test sum");
        EXPECT_TRUE(torch::equal(parts[0], torch::full({2, 3}, 3.0, torch::kFloat64)));
        EXPECT_EQ(parts[1].item<int64_t>(), 12);
        EXPECT_TRUE(torch::allclose(parts[2], torch::full({4}, 0.5F)));
        // Rank 0 has three rows, rank 1 none: rank order, nothing padded.
        const auto rows = r == 0 ? torch::arange(6, torch::kFloat32).view({3, 2})
                                 : torch::zeros({0, 2}, torch::kFloat32);
        const auto all = gatherRows(&group, rows, "a test gather");
        EXPECT_TRUE(torch::equal(all, torch::arange(6, torch::kFloat32).view({3, 2})));
        std::vector<torch::Tensor> b{torch::full({3}, r == 0 ? 7.0F : -1.0F)};
        group.broadcast(b, 0, "a test broadcast");
        EXPECT_TRUE(torch::equal(b[0], torch::full({3}, 7.0F)));
        EXPECT_EQ(sumOver(&group, r + 2, "a count"), 5);
        EXPECT_TRUE(anyOf(&group, r == 1, "a flag"));
        EXPECT_FALSE(anyOf(&group, false, "a flag"));
    });
}

// The statistics memory and RanPAC's sums: two tasks shared out over two ranks end where one
// process with all the data ends (the second task checks that only what was added since the
// last reduction travels).
TEST(Collective, MemorySumsOverRanksEqualOneProcess) {
    if (!haveProcessGroups()) {
        GTEST_SKIP() << "this LibTorch build has no c10d Gloo process group (torch_compat.h)";
    }
    const int64_t d = 6;
    torch::manual_seed(3);
    const auto x1 = torch::randn({40, d});
    const auto y1 = torch::randint(0, 2, {40}, torch::kInt64);
    const auto x2 = torch::randn({30, d}) + 2;
    const auto y2 = torch::randint(2, 4, {30}, torch::kInt64);
    StatisticsMemory whole(d, 1e-3);
    whole.add(x1, y1);
    whole.finalize();
    whole.add(x2, y2);
    whole.finalize();
    RidgeHead wholeRidge(d, 0, 4, torch::kCPU);
    wholeRidge.add(x1, y1);
    wholeRidge.add(x2, y2);
    const auto wholeState = wholeRidge.state("r.");
    onTwoRanks([&](Collective& group) {
        const int r = group.rank();
        StatisticsMemory mine(d, 1e-3);
        RidgeHead ridge(d, 0, 4, torch::kCPU);
        const auto part = [&](const torch::Tensor& t, int64_t n) {  // rank 0: first 13 rows
            return r == 0 ? t.narrow(0, 0, 13) : t.narrow(0, 13, n - 13);
        };
        mine.add(part(x1, 40), part(y1, 40));
        ridge.add(part(x1, 40), part(y1, 40));
        mine.allReduceAdded(&group, {0, 1}, "task 1");
        mine.finalize();
        if (r == 1) {  // rank 1 holds none of task 2
            mine.add(x2, y2);
            ridge.add(x2, y2);
        }
        mine.allReduceAdded(&group, {2, 3}, "task 2");
        mine.finalize();
        ridge.allReduceAdded(&group, "ridge");
        EXPECT_EQ(mine.classes(), whole.classes());
        EXPECT_TRUE(torch::allclose(mine.means(), whole.means(), 1e-12, 1e-12));
        EXPECT_TRUE(torch::allclose(mine.covariance(), whole.covariance(), 1e-12, 1e-12));
        // RidgeHead::add forms each batch's products in float32 (as RanPAC), so other batches
        // round differently: equal to float32's precision.
        const auto state = ridge.state("r.");
        for (std::size_t i = 0; i < state.size(); ++i) {
            EXPECT_TRUE(torch::allclose(state[i].second, wholeState[i].second, 1e-6, 1e-5))
                << state[i].first << ": largest difference "
                << (state[i].second - wholeState[i].second).abs().max().item<double>();
        }
    });
}

// eq. 2 covariances: a rank that saw none of the images still takes part.
TEST(Collective, CovarianceOverRanksEqualsOneProcessEvenWithAnEmptyRank) {
    if (!haveProcessGroups()) {
        GTEST_SKIP() << "this LibTorch build has no c10d Gloo process group (torch_compat.h)";
    }
    const InputKey key{0, MapInput::Norm1};
    torch::manual_seed(5);
    const auto x = torch::randn({3, 5, 4});
    CovarianceObserver whole({key});
    whole.mapInput(0, MapInput::Norm1, x);
    const auto expected = whole.covariance(key);
    onTwoRanks([&](Collective& group) {
        CovarianceObserver mine({key});
        if (group.rank() == 0) {
            mine.mapInput(0, MapInput::Norm1, x);
        }
        mine.allReduce(
            &group, [](const InputKey&) { return int64_t{4}; }, "covariance");
        EXPECT_EQ(mine.tokens(key), 15);
        EXPECT_TRUE(torch::allclose(mine.covariance(key), expected, 1e-12, 1e-12));
    });
}

// torchrun of PyTorch 2.x holds MASTER_PORT with a store LibTorch 1.13 cannot read: a 1.13
// build's rank 0 serves its own on the next port, and the ranks join through it.
TEST(Collective, BesideTorchrunsOwnStoreA113BuildServesItsOwn) {
    if (!haveProcessGroups() || DLW_READS_AGENT_STORE) {
        GTEST_SKIP() << "a LibTorch 2.x build reads torchrun's store itself";
    }
    onTwoRanks([](Collective& group) { EXPECT_EQ(sumOver(&group, 1, "a count"), 2); }, 30,
               /*agentStore=*/true);
}

// Ranks given other experiments: every rank stops, and the one that differs names the key.
TEST(Collective, ARankWithAnotherExperimentNamesTheKeyThatDiffers) {
    if (!haveProcessGroups()) {
        GTEST_SKIP() << "this LibTorch build has no c10d Gloo process group (torch_compat.h)";
    }
    const auto errors = errorsOnTwoRanks([](Collective& group) {
        const int epochs = group.rank() == 0 ? 4 : 2;
        checkSameExperiment(group, fmt::format("{{\"seed\": 0, \"train\": {{\"epochs\": {}, "
                                               "\"lr\": 0.0005}}}}\ndlw 0.1.0, LibTorch 1.13.0\n"
                                               "split 5f\nresume false",
                                               epochs));
    });
    EXPECT_NE(errors[0].find("rank 1's experiment differs from rank 0's (rank 1's output says"),
              std::string::npos)
        << errors[0];
    EXPECT_NE(errors[1].find("train.epochs is 2 here and 4 on rank 0"), std::string::npos)
        << errors[1];
    const auto split = errorsOnTwoRanks([](Collective& group) {
        checkSameExperiment(group, fmt::format("{{}}\ndlw 0.1.0, LibTorch 1.13.0\nsplit {}\n"
                                               "resume false",
                                               group.rank()));
    });
    EXPECT_NE(split[1].find("the training and validation split"), std::string::npos) << split[1];
    EXPECT_EQ(errorsOnTwoRanks([](Collective& group) { checkSameExperiment(group, "{}\nsame"); }),
              (std::vector<std::string>{"", ""}));
}

// A rank that never comes: the one that did stops within its timeout, naming the store.
TEST(Collective, AMissingRankIsAnErrorWithinTheTimeout) {
    if (!haveProcessGroups()) {
        GTEST_SKIP() << "this LibTorch build has no c10d Gloo process group (torch_compat.h)";
    }
    DistributedOptions o;
    o.rank = 0;
    o.worldSize = 2;
    o.masterPort = freshPort();
    o.timeoutSeconds = 2;
    const auto start = std::chrono::steady_clock::now();
    DLW_EXPECT_ERROR(joinProcessGroup(o, "cpu"), "rank 0 of 2",
                     fmt::format("127.0.0.1:{}", o.masterPort), "waiting up to 2 s");
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(took, 20);
}

}  // namespace
}  // namespace dlw
