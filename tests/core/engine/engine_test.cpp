#include "api/engine.h"

#include "api/atomic_file.h"
#include "api/dataset_scan.h"
#include "api/error.h"
#include "api/run_folder.h"
#include "core/engine/engine_test_support.h"
#include "test_support.h"

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dlw {
namespace {
using test::haveFashionMnist;
using test::run;
using test::smallExperiment;

class EveryMethod : public ::testing::TestWithParam<MethodKind> {};

TEST_P(EveryMethod, RunsAndIsDeterministic) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    RunControl control;
    std::vector<Event> events;
    const auto a = run(smallExperiment(GetParam()), dir / "a", control, false, &events);
    const auto b = run(smallExperiment(GetParam()), dir / "b", control);
    EXPECT_EQ(a.accuracyMatrix, b.accuracyMatrix);
    ASSERT_EQ(a.accuracyMatrix.size(), 3U);
    EXPECT_TRUE(a.accuracyMatrix[2][0].has_value());
    EXPECT_TRUE(std::filesystem::exists(dir / "a" / "summary.json"));
    EXPECT_TRUE(std::filesystem::exists(dir / "a" / "experiment.json"));
    EXPECT_TRUE(std::holds_alternative<RunFinished>(events.back()));
    EXPECT_TRUE(std::get<RunFinished>(events.back()).completed);
    EXPECT_GT(a.trainableParameters, 0);
}

INSTANTIATE_TEST_SUITE_P(Methods,
                         EveryMethod,
                         ::testing::Values(MethodKind::DualLora,
                                           MethodKind::InfLora,
                                           MethodKind::SeqLora,
                                           MethodKind::Joint,
                                           MethodKind::SdLora,
                                           MethodKind::RanPac));

// events.jsonl reads back as the events the callback saw (what the window reopens a run from).
TEST(Engine, EventsReadBackAsTheyWereEmitted) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    RunControl control;
    std::vector<Event> events;
    run(smallExperiment(MethodKind::DualLora), dir / "r", control, false, &events);
    const auto back = readRunEvents(dir / "r");
    ASSERT_EQ(back.size(), events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
        ASSERT_EQ(back[i].index(), events[i].index()) << i;
        if (const auto* ev = std::get_if<Evaluation>(&events[i])) {
            const auto& got = std::get<Evaluation>(back[i]);
            EXPECT_EQ(got.accuracy, ev->accuracy);
            EXPECT_EQ(got.taskConfusion, ev->taskConfusion);
            EXPECT_EQ(got.taskConfidence, ev->taskConfidence);
            EXPECT_EQ(got.taskCorrect, ev->taskCorrect);
            EXPECT_EQ(got.eceCalibrated, ev->eceCalibrated);
            EXPECT_EQ(got.spectra.size(), ev->spectra.size());
        }
        if (const auto* st = std::get_if<StepFinished>(&events[i])) {
            EXPECT_EQ(std::get<StepFinished>(back[i]).loss, st->loss);
        }
        if (const auto* f = std::get_if<TaskFinished>(&events[i])) {
            EXPECT_GT(f->memorySeconds, 0.0);  // covariance, bases and class statistics
            EXPECT_LT(f->memorySeconds, f->seconds);
            EXPECT_EQ(std::get<TaskFinished>(back[i]).memorySeconds, f->memorySeconds);
        }
    }
    // A partial last line (a killed run) is ignored.
    std::ofstream(dir / "r" / "events.jsonl", std::ios::app) << R"({"v":1,"type":"st)";
    EXPECT_EQ(readRunEvents(dir / "r").size(), events.size());
}

// precision "bf16": the backbone runs under autocast (the losses differ from fp32 in their low
// bits) and the run still learns about as well.
TEST(Engine, Bf16AutocastTrainsLikeFp32) {
    DLW_SKIP_UNDER_SANITIZERS();
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    auto e = smallExperiment(MethodKind::DualLora);
    RunControl control;
    std::vector<Event> fp32Events;
    const auto fp32 = run(e, dir / "fp32", control, false, &fp32Events);
    e.precision = Precision::Bf16;
    std::vector<Event> bf16Events;
    const auto bf16 = run(e, dir / "bf16", control, false, &bf16Events);
    const auto a = test::stepLosses(fp32Events);
    const auto b = test::stepLosses(bf16Events);
    for (double loss : b) {
        ASSERT_TRUE(std::isfinite(loss));
    }
    ASSERT_EQ(a.size(), b.size());
    EXPECT_NE(a, b);
    EXPECT_NEAR(a.front(), b.front(), 0.05 * a.front());
    EXPECT_NEAR(bf16.metrics.finalAccuracy, fp32.metrics.finalAccuracy, 12.0);
}

// #17: a run started, stopped after a task and resumed in `run`: environment.json holds a
// record of each start (what reports show of where it ran), and the comparison's "all_s" (every
// task's memory passes, training and evaluation) exceeds the training steps' seconds.
void expectTwoStartsRecorded(const std::filesystem::path& run) {
    const auto starts = readRunEnvironment(run);
    ASSERT_EQ(starts.size(), 2U);
    const auto fact = [&](std::size_t start, const std::string& name) {
        for (const auto& [key, value] : starts[start]) {
            if (key == name) {
                return value;
            }
        }
        return std::string("(missing)");
    };
    EXPECT_EQ(fact(1, "program"), std::string("dlw ") + DLW_VERSION);
    const std::string torch = fact(1, "libtorch");  // "1.13.0", "2.5.1+cu121"
    EXPECT_TRUE(torch.rfind("1.", 0) == 0 || torch.rfind("2.", 0) == 0) << torch;
    EXPECT_EQ(fact(0, "threads"), "1");  // smallExperiment's
    EXPECT_EQ(fact(0, "device"), "cpu");
    EXPECT_EQ(fact(1, "started").size(), 20U) << fact(1, "started");  // 2026-11-30T18:00:00Z
    EXPECT_NE(fact(0, "cpu"), "(missing)");
    EXPECT_TRUE(readRunEnvironment(run.parent_path() / "no-such-run").empty());

    const RunRecord record = readRunRecord(run);
    ASSERT_TRUE(record.allSeconds.has_value());
    EXPECT_GT(*record.allSeconds, record.summary.trainSeconds);
}

TEST(Engine, StoppedAfterATaskResumesToTheSameMatrix) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    const auto e = smallExperiment(MethodKind::DualLora);
    RunControl whole;
    const auto uninterrupted = run(e, dir / "whole", whole);
    RunControl control;
    control.stopAfterTask = true;
    std::vector<Event> events;
    run(e, dir / "parts", control, false, &events);
    EXPECT_TRUE(std::get<RunFinished>(events.back()).stopped);
    RunControl resume;
    const auto resumed = run(e, dir / "parts", resume, /*resume=*/true);
    EXPECT_EQ(resumed.accuracyMatrix, uninterrupted.accuracyMatrix);

    expectTwoStartsRecorded(dir / "parts");
}

TEST(Engine, RefusesANonEmptyRunDirectoryAndAFinishedResume) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    auto e = smallExperiment(MethodKind::SeqLora);
    e.sequence.tasks = 1;
    RunControl control;
    run(e, dir / "r", control);
    DLW_EXPECT_ERROR(run(e, dir / "r", control), (dir / "r").string(), "not empty");
    DLW_EXPECT_ERROR(run(e, dir / "r", control, true), "already complete");
    DLW_EXPECT_ERROR(run(e, dir / "nothing", control, true), "not a resumable run");
}

TEST(Engine, MoreClassesThanTheDatasetHasIsAnError) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    auto e = smallExperiment(MethodKind::DualLora);
    e.sequence.tasks = 6;
    RunControl control;
    DLW_EXPECT_ERROR(run(e, test::tempDir("engine") / "r", control), "12", "10");
}

}  // namespace
}  // namespace dlw

namespace dlw {
namespace {
using test::haveFashionMnist;
using test::run;
using test::smallExperiment;

// Step number → loss, from a run directory's events.jsonl; counts steps seen twice.
std::map<int64_t, double> stepLosses(const std::filesystem::path& runDir, int* duplicates) {
    std::map<int64_t, double> losses;
    std::istringstream lines(readWholeFile(runDir / "events.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
        auto j = nlohmann::json::parse(line);
        if (j["type"] == "step" &&
            !losses.emplace(j["step"].get<int64_t>(), j["loss"].get<double>()).second) {
            ++*duplicates;
        }
    }
    return losses;
}

// Two epochs per task, so that stops fall inside an epoch of a later task.
Experiment twoEpochs(MethodKind method) {
    auto e = smallExperiment(method);
    e.train.epochs = 2;
    return e;
}

// A stop in the middle of a task (as Ctrl-C gives) checkpoints where it stands; the resumed
// run continues from that batch with the same optimizer moments, so every step's loss and the
// final matrix equal an uninterrupted run's, and events.jsonl reads as one run.
// SD-LoRA's checkpoint carries its frozen directions and trained magnitudes.
class StoppedMidTask : public ::testing::TestWithParam<MethodKind> {};

TEST_P(StoppedMidTask, ContinuesExactly) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    const auto e = twoEpochs(GetParam());
    RunControl whole;
    const auto uninterrupted = run(e, dir / "whole", whole);
    RunControl control;
    int steps = 0;
    test::runWith(e, dir / "parts", control, false, [&](const Event& ev) {
        if (std::holds_alternative<StepFinished>(ev) && ++steps == 11) {  // task 2, epoch 2
            control.stop = true;
        }
    });
    EXPECT_TRUE(std::filesystem::exists(dir / "parts/checkpoints/task-002-step-0000011.json"));
    RunControl resume;
    const auto resumed = run(e, dir / "parts", resume, /*resume=*/true);
    EXPECT_EQ(resumed.accuracyMatrix, uninterrupted.accuracyMatrix);
    int duplicates = 0;
    const auto expected = stepLosses(dir / "whole", &duplicates);
    const auto got = stepLosses(dir / "parts", &duplicates);
    EXPECT_EQ(duplicates, 0);
    EXPECT_EQ(got, expected);  // bit-identical losses, step by step
    EXPECT_FALSE(std::filesystem::exists(dir / "parts/checkpoints/task-002-step-0000011.json"))
        << "a finished task's in-task checkpoints are removed";
}

INSTANTIATE_TEST_SUITE_P(Methods,
                         StoppedMidTask,
                         ::testing::Values(MethodKind::DualLora, MethodKind::SdLora));

// RanPAC trains task 1 only; its ridge sums, W_rand, λ and T travel in the task checkpoints, so
// a run stopped after task 2 and resumed ends as an uninterrupted one, and later tasks take no
// gradient step.
TEST(Engine, RanpacStoppedAfterATaskContinuesExactly) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    const auto e = twoEpochs(MethodKind::RanPac);
    RunControl whole;
    std::vector<Event> events;
    const auto uninterrupted = run(e, dir / "whole", whole, false, &events);
    std::map<int, int> stepsPerTask;
    for (const auto& ev : events) {
        if (const auto* s = std::get_if<StepFinished>(&ev)) {
            ++stepsPerTask[s->task];
        }
    }
    EXPECT_EQ(stepsPerTask.size(), 1U);
    EXPECT_EQ(stepsPerTask[0], 8);  // 60 images / 16 per batch × 2 epochs, task 1 alone
    RunControl control;
    const auto partial = test::runWith(e, dir / "parts", control, false, [&](const Event& ev) {
        if (std::holds_alternative<TaskFinished>(ev) && std::get<TaskFinished>(ev).task == 1) {
            control.stopAfterTask = true;
        }
    });
    ASSERT_EQ(partial.accuracyMatrix.size(), 3U);
    EXPECT_TRUE(partial.accuracyMatrix[1][1].has_value());
    EXPECT_FALSE(partial.accuracyMatrix[2][0].has_value());
    RunControl resume;
    const auto resumed = run(e, dir / "parts", resume, /*resume=*/true);
    EXPECT_EQ(resumed.accuracyMatrix, uninterrupted.accuracyMatrix);

    expectTwoStartsRecorded(dir / "parts");
}

// A process that dies without warning (the callback throws, as close to SIGKILL as a test in
// one process gets; the CLI test kills for real) resumes from its last in-task checkpoint. With
// augmentation on, so training reads images from the loader (without it, the run keeps the
// frozen prefix's outputs, as in the test above) and each image's flip and crop must come out
// the same after the resume.
TEST(Engine, DiesAfterAnInTaskCheckpointAndResumesExactly) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("engine");
    auto e = twoEpochs(MethodKind::InfLora);
    e.checkpoint.everySteps = 3;
    e.data.flip = true;
    e.data.randomResizedCrop = true;
    RunControl whole;
    const auto uninterrupted = run(e, dir / "whole", whole);
    RunControl control;
    int steps = 0;
    struct Died {};
    EXPECT_THROW(test::runWith(e, dir / "parts", control, false,
                               [&](const Event& ev) {
                                   if (std::holds_alternative<StepFinished>(ev) && ++steps == 14) {
                                       throw Died{};
                                   }
                               }),
                 Died);
    const auto latest = nlohmann::json::parse(readWholeFile(dir / "parts/checkpoints/latest.json"));
    EXPECT_EQ(latest["checkpoint"], "task-002-step-0000011");  // 8 steps of task 1, then 3
    RunControl resume;
    const auto resumed = run(e, dir / "parts", resume, /*resume=*/true);
    EXPECT_EQ(resumed.accuracyMatrix, uninterrupted.accuracyMatrix);
    int duplicates = 0;
    EXPECT_EQ(stepLosses(dir / "parts", &duplicates), stepLosses(dir / "whole", &duplicates));
    EXPECT_EQ(duplicates, 0);
}

}  // namespace
}  // namespace dlw
