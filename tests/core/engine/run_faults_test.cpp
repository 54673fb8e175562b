// Runs that meet faults (#14): killed before their first checkpoint, diverging, and folders a
// dead run left behind. Each keeps what it had and says what happened.
#include "api/atomic_file.h"
#include "api/engine.h"
#include "api/error.h"
#include "api/predictor.h"
#include "api/run_folder.h"
#include "core/engine/engine_test_support.h"
#include "engine/run_store.h"
#include "io/safetensors.h"
#include "method/statistics_memory.h"
#include "method/subspace_memory.h"
#include "test_support.h"
#include "util/write_faults.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;
using test::haveFashionMnist;
using test::run;
using test::smallExperiment;

// #14: a run killed in its first seconds left experiment.json and the start of events.jsonl but
// no checkpoint; --resume refused it ("no experiment.json or no checkpoint") and --out refused
// the folder. Now the resume starts the run from its beginning, and the result is the same.
TEST(RunFaults, ResumeWithoutACheckpointStartsFromTheBeginning) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("faults");
    auto e = smallExperiment(MethodKind::DualLora);
    e.sequence.tasks = 2;
    RunControl whole;
    const auto uninterrupted = run(e, dir / "whole", whole);
    // What SIGKILL before the first checkpoint leaves: stop at the first step, then take away
    // what the stop wrote after it (its checkpoint) and leave a partial events line.
    RunControl first;
    test::runWith(e, dir / "killed", first, false, [&](const Event& ev) {
        if (std::holds_alternative<StepFinished>(ev)) {
            first.stop = true;
        }
    });
    fs::remove_all(dir / "killed" / run_files::kCheckpoints);
    fs::remove(dir / "killed" / run_files::kSummary);
    {
        std::ofstream events(dir / "killed" / run_files::kEvents, std::ios::app);
        events << R"({"v":1,"type":"st)";
    }
    std::vector<Event> events;
    RunControl again;
    const auto resumed = run(e, dir / "killed", again, /*resume=*/true, &events);
    EXPECT_EQ(resumed.accuracyMatrix, uninterrupted.accuracyMatrix);
    const auto& started = std::get<RunStarted>(events.front());
    EXPECT_EQ(started.resumedFromTask, -1);
    bool warned = false;
    for (const auto& ev : events) {
        if (const auto* w = std::get_if<Warning>(&ev)) {
            warned =
                warned || w->message.find("starts again from its beginning") != std::string::npos;
        }
    }
    EXPECT_TRUE(warned);
    // events.jsonl holds this run alone: one run_started, every line JSON.
    const auto reread = readRunEvents(dir / "killed");
    EXPECT_EQ(std::count_if(reread.begin(), reread.end(),
                            [](const Event& ev) { return std::holds_alternative<RunStarted>(ev); }),
              1);
}

// Runs `e` into `dir` and stops it right after task 1: the run is left inside task 2, with an
// in-task checkpoint holding the statistics, the optimizer and the generator.
void runStoppedInsideTask2(const Experiment& e, const fs::path& dir) {
    RunControl control;
    test::runWith(e, dir, control, false, [&](const Event& ev) {
        if (std::holds_alternative<TaskFinished>(ev)) {
            control.stop = true;
        }
    });
}

// The stem checkpoints/latest.json names.
std::string latestStem(const fs::path& runDir) {
    return nlohmann::json::parse(
               readWholeFile(runDir / run_files::kCheckpoints / run_files::kLatest))
        .at("checkpoint")
        .get<std::string>();
}

// #14: checkpoints/latest.json deleted by hand made --resume start the run over although the
// task checkpoints were there; it now takes the newest whole pair. And numbers in a checkpoint's
// state that do not fit their type are a named error, not a silent wrap.
TEST(RunFaults, ResumeWithoutLatestJsonTakesTheNewestCheckpointPair) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("faults");
    auto e = smallExperiment(MethodKind::DualLora);
    RunControl whole;
    const auto uninterrupted = run(e, dir / "whole", whole);
    runStoppedInsideTask2(e, dir / "stopped");
    const auto checkpoints = dir / "stopped" / run_files::kCheckpoints;
    ASSERT_TRUE(fs::exists(checkpoints / "task-001.safetensors"));
    fs::copy(dir / "stopped", dir / "bad-step", fs::copy_options::recursive);
    fs::remove(checkpoints / run_files::kLatest);
    // A pair missing its tensors does not count.
    writeFileAtomically(checkpoints / "task-002.json", "{}");
    std::vector<Event> events;
    RunControl again;
    const auto resumed = run(e, dir / "stopped", again, /*resume=*/true, &events);
    EXPECT_EQ(resumed.accuracyMatrix, uninterrupted.accuracyMatrix);
    EXPECT_EQ(std::get<RunStarted>(events.front()).resumedFromTask, 1);  // inside task 2

    const auto statePath =
        dir / "bad-step" / run_files::kCheckpoints / (latestStem(dir / "bad-step") + ".json");
    auto state = nlohmann::json::parse(readWholeFile(statePath));
    state["step"] = 1e300;
    writeFileAtomically(statePath, state.dump());
    RunControl bad;
    DLW_EXPECT_ERROR(run(e, dir / "bad-step", bad, /*resume=*/true), "task-002-step-",
                     "'step' must be an integer");
}

// #14 (break-it pass): a checkpoint tensor of another dtype was converted silently (statistics
// total as F64 surfaced later as a "divergence"), and a damaged generator state was reported
// without the file's name.
TEST(RunFaults, DamagedCheckpointTensorsAreRefusedNamingTheFile) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("faults");
    auto e = smallExperiment(MethodKind::DualLora);
    runStoppedInsideTask2(e, dir / "stopped");
    const std::string stem = latestStem(dir / "stopped");
    for (const std::string damage : {"dtype", "rng"}) {
        const auto runDir = dir / damage;
        fs::copy(dir / "stopped", runDir, fs::copy_options::recursive);
        const auto path = runDir / run_files::kCheckpoints / (stem + ".safetensors");
        auto file = loadSafetensors(path);
        if (damage == "dtype") {
            file.tensors["statistics.total"] = file.tensors["statistics.total"].to(torch::kFloat64);
        } else {
            file.tensors["training.cpu_rng"] = torch::zeros({10}, torch::kUInt8);
        }
        saveSafetensors(path,
                        std::vector<std::pair<std::string, torch::Tensor>>(file.tensors.begin(),
                                                                           file.tensors.end()),
                        file.metadata);
        RunControl again;
        if (damage == "dtype") {
            DLW_EXPECT_ERROR(run(e, runDir, again, true), path.string(),
                             "checkpoint tensor 'statistics.total' is stored as Double, the model "
                             "keeps it as Long");
        } else {
            DLW_EXPECT_ERROR(run(e, runDir, again, true), path.string(),
                             "unreadable generator state in the checkpoint");
        }
    }
}

TEST(RunFaults, ResumeNamesWhatIsMissingAndOutReusesAnUnstartedFolder) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("faults");
    auto e = smallExperiment(MethodKind::SeqLora);
    e.sequence.tasks = 1;
    // Died between creating the folder and writing experiment.json.
    const auto unstarted = dir / "unstarted";
    fs::create_directories(unstarted / run_files::kCheckpoints);
    writeFileAtomically(unstarted / "experiment.json.tmp-123-0", "{\"na");
    RunControl control;
    DLW_EXPECT_ERROR(run(e, unstarted, control, true), unstarted.string(), "not a resumable run",
                     "no experiment.json", "--out");
    const auto summary = run(e, unstarted, control);  // --out DIR takes the folder back
    EXPECT_EQ(summary.accuracyMatrix.size(), 1U);
    EXPECT_FALSE(fs::exists(unstarted / "experiment.json.tmp-123-0"));
    // #14: --out naming a file (even an empty one, which was replaced) or a path below a file.
    writeFileAtomically(dir / "empty_file", "");
    DLW_EXPECT_ERROR(run(e, dir / "empty_file", control), "empty_file: exists and is not a folder");
    EXPECT_TRUE(fs::is_regular_file(dir / "empty_file"));
    DLW_EXPECT_ERROR(run(e, dir / "empty_file" / "sub", control), "empty_file/sub",
                     "cannot create the run folder");
    // Anything else in the folder is the user's: refused.
    const auto used = dir / "used";
    fs::create_directories(used / run_files::kCheckpoints);
    writeFileAtomically(used / "notes.txt", "mine");
    DLW_EXPECT_ERROR(run(e, used, control), used.string(), "not empty");
    EXPECT_TRUE(fs::exists(used / "notes.txt"));
}

// #14: --set train.lr=1e30 printed "loss -nan", wrote "loss": null, then died with an internal
// linalg.svd error and a backtrace. Now the first non-finite loss or gradient stops the run with
// a DivergedError naming task, epoch and step; nothing non-finite is written anywhere.
TEST(RunFaults, DivergenceStopsAtOnceWithAClearErrorAndWritesNoNaN) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("faults") / "diverged";
    auto e = smallExperiment(MethodKind::DualLora);
    e.train.lr = 1e30;
    e.checkpoint.everySteps = 1;
    RunControl control;
    std::vector<Event> events;
    try {
        run(e, dir, control, false, &events);
        ADD_FAILURE() << "expected DivergedError";
    } catch (const DivergedError& err) {
        const std::string what = err.what();
        EXPECT_NE(what.find("task 1, epoch 1, step "), std::string::npos) << what;
        EXPECT_NE(what.find("diverged"), std::string::npos) << what;
        EXPECT_NE(what.find("lower train.lr (now 1e+30)"), std::string::npos) << what;
    }
    ASSERT_FALSE(events.empty());
    const auto* finished = std::get_if<RunFinished>(&events.back());
    ASSERT_NE(finished, nullptr);
    EXPECT_NE(finished->error.find("diverged"), std::string::npos);
    for (const auto& ev : events) {
        if (const auto* s = std::get_if<StepFinished>(&ev)) {
            EXPECT_TRUE(std::isfinite(s->loss)) << "step " << s->step;
        }
    }
    // Every line of every JSON file parses and holds no null loss; the checkpoint it kept
    // (after the last finite step) still loads.
    std::istringstream lines(readWholeFile(dir / run_files::kEvents));
    std::string line;
    while (std::getline(lines, line)) {
        const auto j = nlohmann::json::parse(line);
        if (j["type"] == "step") {
            EXPECT_TRUE(j["loss"].is_number()) << line;
        }
    }
    EXPECT_TRUE(fs::exists(dir / run_files::kCheckpoints / run_files::kLatest));
    EXPECT_NO_THROW(readRunEvents(dir));
}

// #14: the disk fills up (or turns read-only) while a checkpoint or the events log is written.
// The run stops with an error naming the file and the reason; the previous checkpoint stays
// whole and current; once there is room again the run resumes to the same matrix.
TEST(RunFaults, AFailedWriteKeepsTheLastCheckpointAndTheRunResumes) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("faults");
    auto e = smallExperiment(MethodKind::DualLora);
    RunControl whole;
    const auto uninterrupted = run(e, dir / "whole", whole);
    struct Case {
        std::string file;  // the target that fails, by file name
        detail::WriteStage stage;
        int code;
    };
    for (const Case& c : {Case{"task-002.safetensors", detail::WriteStage::Write, ENOSPC},
                          Case{"task-002.json", detail::WriteStage::Rename, EROFS},
                          Case{"latest.json", detail::WriteStage::Create, EROFS},
                          Case{"events.jsonl", detail::WriteStage::Append, ENOSPC},
                          Case{"summary.json", detail::WriteStage::Sync, ENOSPC}}) {
        const auto runDir = dir / ("fault-" + c.file);
        bool armed = false;  // fail only once task 1 is safely checkpointed
        const auto previous = detail::setWriteFaultHook(
            [&](const std::filesystem::path& target, detail::WriteStage stage) {
                armed = armed || fs::exists(runDir / run_files::kCheckpoints / run_files::kLatest);
                const bool hit = armed && stage == c.stage && target.filename() == c.file;
                return hit ? c.code : 0;
            });
        RunControl control;
        DLW_EXPECT_ERROR(run(e, runDir, control), c.file, std::strerror(c.code));
        detail::setWriteFaultHook(previous);
        // Whole lines only, even when the failing append had written part of its line.
        const std::string events = readWholeFile(runDir / run_files::kEvents);
        ASSERT_FALSE(events.empty());
        EXPECT_EQ(events.back(), '\n') << c.file;
        std::istringstream lines(events);
        for (std::string line; std::getline(lines, line);) {
            EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded())
                << c.file << ": " << line;
        }
        const auto latest = nlohmann::json::parse(
            readWholeFile(runDir / run_files::kCheckpoints / run_files::kLatest));
        // Still task 1's checkpoint; when summary.json failed, the last task's.
        EXPECT_EQ(latest["task"], c.file == "summary.json" ? 2 : 0) << c.file;
        // Task 1's results are in a summary marked incomplete (none when that write failed).
        if (c.file == "summary.json") {
            EXPECT_FALSE(fs::exists(runDir / run_files::kSummary));
        } else {
            EXPECT_FALSE(readRunRecord(runDir).completed) << c.file;
        }
        RunControl again;
        const auto resumed = run(e, runDir, again, /*resume=*/true);
        EXPECT_EQ(resumed.accuracyMatrix, uninterrupted.accuracyMatrix) << c.file;
    }
}

// #14: a checkpoint of another method or architecture is refused saying which, by resume and by
// prediction alike; and two processes never write one run folder at once.
TEST(RunFaults, AForeignCheckpointIsRefusedSayingWhichAndTheFolderHasOneWriter) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto dir = test::tempDir("faults");
    auto e = smallExperiment(MethodKind::DualLora);
    e.sequence.tasks = 2;
    RunControl control;
    control.stopAfterTask = true;
    run(e, dir / "run", control);
    const auto experimentPath = dir / "run" / run_files::kExperiment;
    const std::string original = readWholeFile(experimentPath);
    auto edited = nlohmann::json::parse(original);
    edited["method"]["name"] = "inflora";
    writeFileAtomically(experimentPath, edited.dump(2));
    RunControl again;
    auto other = e;
    other.method.name = MethodKind::InfLora;
    DLW_EXPECT_ERROR(run(other, dir / "run", again, true), "task-001.safetensors",
                     "checkpoint was made for another model (checkpoint vs this run: ",
                     "method: \"duallora\" vs \"inflora\"");
    DLW_EXPECT_ERROR(Predictor(dir / "run"), "method: \"duallora\" vs \"inflora\"");
    edited = nlohmann::json::parse(original);
    edited["backbone"]["path"] =
        (test::fixturesDir() / "vit_reference" / "tiny.safetensors").string();
    writeFileAtomically(experimentPath, edited.dump(2));
    DLW_EXPECT_ERROR(Predictor(dir / "run"), "checkpoint was made for another model",
                     "backbone: ", "width 48");
    writeFileAtomically(experimentPath, original);
    {
        const RunStore writer(dir / "run", original, /*resume=*/true);
        DLW_EXPECT_ERROR(run(e, dir / "run", again, true), (dir / "run").string(),
                         "another process is writing this run folder");
    }
    const auto resumed = run(e, dir / "run", again, true);  // the lock went with its holder
    EXPECT_EQ(resumed.accuracyMatrix.size(), 2U);
    // Only the tensors copied in from a run of another method: the pair disagrees.
    auto otherMethod = smallExperiment(MethodKind::InfLora);
    otherMethod.sequence.tasks = 2;
    RunControl third;
    run(otherMethod, dir / "inflora", third);
    fs::copy_file(dir / "inflora" / run_files::kCheckpoints / "task-002.safetensors",
                  dir / "run" / run_files::kCheckpoints / "task-002.safetensors",
                  fs::copy_options::overwrite_existing);
    DLW_EXPECT_ERROR(Predictor(dir / "run"), "task-002.safetensors",
                     "these tensors were saved for another model",
                     "method: \"inflora\" vs \"duallora\"");
}

// A non-finite covariance reaching the memory (eq. 2-4, eq. 6) is a DivergedError, not
// linalg's internal error; the engine adds the task and the advice.
TEST(RunFaults, NonFiniteCovarianceIsADivergence) {
    SubspaceMemory memory(4);
    auto cov = torch::eye(4);
    cov[1][2] = std::numeric_limits<float>::quiet_NaN();
    DLW_EXPECT_ERROR(memory.update(cov, 0.9), "diverged", "covariance", "eq. 2");
    DLW_EXPECT_ERROR(memory.taskBases(cov, 2), "diverged");
    cov[1][2] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(memory.update(cov, 0.9), DivergedError);
    EXPECT_EQ(memory.size(), 0);
    StatisticsMemory stats(2, 1e-3);
    stats.add(torch::tensor({{1.0F, std::numeric_limits<float>::infinity()}, {0.0F, 1.0F}}),
              torch::tensor({0, 1}, torch::kLong));
    EXPECT_THROW(stats.finalize(), DivergedError);
}

}  // namespace
}  // namespace dlw
