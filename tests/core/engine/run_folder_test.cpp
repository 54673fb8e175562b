// The run folder's one owner (#14): names of new run folders, checkpoint names and listing, and
// the events.jsonl writer and reader kept in step by a round trip of every event type.
#include "api/run_folder.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "api/run_table.h"
#include "engine/run_folder_json.h"
#include "test_support.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <thread>

#include <gtest/gtest.h>

namespace dlw {
namespace {

namespace fs = std::filesystem;

// A run folder with just the experiment.json of `e`, as a RunRecord of it.
RunRecord recordOf(const Experiment& e, const fs::path& dir) {
    fs::create_directories(dir);
    saveExperimentFile(e, dir / run_files::kExperiment);
    RunRecord r;
    r.dir = dir.string();
    r.name = e.name;
    r.method = toString(e.method.name);
    r.variant = methodVariant(e);
    r.seed = e.seed;
    r.completed = true;
    return r;
}

// #17: the comparison's grouping and "what differs between these runs" (the report's and the
// window's table of differing keys): seeds and threads of one experiment are one group; a
// learning rate makes another, labelled by it; the differing keys are exactly those.
TEST(RunTable, GroupsSeedsAndListsTheKeysThatDiffer) {
    const auto root = test::tempDir("run-table");
    Experiment e = preset("default");
    std::vector<RunRecord> runs;
    runs.push_back(recordOf(e, root / "a"));
    e.seed = 1;
    e.threads = 2;
    runs.push_back(recordOf(e, root / "b"));
    e.train.lr = 0.001;
    runs.push_back(recordOf(e, root / "c"));
    const auto groups = groupRuns(runs);
    ASSERT_EQ(groups.size(), 2U);
    EXPECT_EQ(groups[0].runs.size(), 2U);
    EXPECT_EQ(groups[0].label, "duallora train.lr=0.0005");
    EXPECT_EQ(groups[1].label, "duallora train.lr=0.001");
    // A run stopped before its last task is not one of the finished experiment's seeds.
    auto withStopped = runs;
    withStopped.push_back(recordOf(preset("default"), root / "d"));
    withStopped.back().completed = false;
    const auto stopped = groupRuns(withStopped);
    ASSERT_EQ(stopped.size(), 3U);
    EXPECT_EQ(stopped[0].runs.size(), 2U);
    EXPECT_EQ(stopped[2].label, "duallora train.lr=0.0005 (stopped early)");

    const auto differing = differingKeys(runs);
    std::vector<std::string> keys;
    for (const auto& [key, values] : differing) {
        keys.push_back(key);
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"seed", "threads", "train.lr"}));
    EXPECT_EQ(differing.at("seed"), (std::vector<std::string>{"0", "1", "1"}));

    test::writeBytes(root / "c" / run_files::kExperiment, "{");  // changed since it was read
    const auto broken = differingKeys(runs);
    EXPECT_EQ(broken.at("train.lr").back(), "");
    EXPECT_EQ(broken.count("name"), 0U);  // the record's name still agrees

    RunRecord scored = runs[0];
    scored.summary.metrics.finalAccuracy = 80;
    RunRecord other = runs[1];
    other.summary.metrics.finalAccuracy = 84;
    const auto stats = columnStats(runColumns().front(), {&scored, &other});
    ASSERT_TRUE(stats.has_value());
    EXPECT_DOUBLE_EQ(stats->mean, 82);
    EXPECT_NEAR(stats->sd, std::sqrt(8.0), 1e-12);
    EXPECT_EQ(runColumns().front().header, "A_T");
    EXPECT_FALSE(columnStats(runColumns()[2], {&scored}).has_value());  // BWT: none computed
}

// #14: "name": "ViT-B/16 flat" landed in nested folders runs/ViT-B/16 flat-duallora-….
TEST(RunFolder, SafeFileNameKeepsOneHarmlessComponent) {
    EXPECT_EQ(safeFileName("ViT-B/16 flat"), "ViT-B-16_flat");
    EXPECT_EQ(safeFileName("a\\b:c*d?e\"f<g>h|i"), "a-b-c-d-e-f-g-h-i");
    EXPECT_EQ(safeFileName("../../etc/passwd"), "etc-passwd");
    EXPECT_EQ(safeFileName("--rm -rf"), "rm_-rf");
    EXPECT_EQ(safeFileName(".hidden"), "hidden");
    EXPECT_EQ(safeFileName(""), "run");
    EXPECT_EQ(safeFileName("..."), "run");
    EXPECT_EQ(safeFileName("tab\there\nnewline"), "tab_here-newline");
    EXPECT_EQ(safeFileName("Ünïcødé 漢字"), "Ünïcødé_漢字");  // UTF-8 kept as it is
    EXPECT_EQ(safeFileName("bad\xff\xfe"
                           "byte"),
              "bad__byte");                  // not UTF-8: replaced
    EXPECT_EQ(safeFileName("\xc3"), "run");  // a cut sequence
    const std::string longName(200, 'x');
    EXPECT_EQ(safeFileName(longName).size(), 80U);
    std::string wide;
    for (int i = 0; i < 60; ++i) {
        wide += "漢";  // 3 bytes each: the cut must not split one
    }
    const std::string cut = safeFileName(wide);
    EXPECT_LE(cut.size(), 80U);
    EXPECT_EQ(cut.size() % 3, 0U);
}

// #14: --preset default --set method.name=inflora made default-duallora-…: the name comes from
// the experiment as it runs.
TEST(RunFolder, NewRunFolderNamesTheFinalExperimentAndAvoidsTakenNames) {
    Experiment e;
    e.name = "ViT-B/16 flat";
    e.method.name = MethodKind::InfLora;
    std::tm when{};
    when.tm_year = 126;
    when.tm_mon = 10;
    when.tm_mday = 29;
    when.tm_hour = 20;
    when.tm_min = 15;
    when.tm_sec = 3;
    EXPECT_EQ(runFolderName(e, std::mktime(&when)), "ViT-B-16_flat-inflora-20261129-201503");
    const auto root = test::tempDir("run-folder") / "runs";
    const auto first = newRunFolder(e, root);
    EXPECT_EQ(first.parent_path(), root);
    EXPECT_TRUE(fs::is_directory(first) && fs::is_empty(first));  // reserved by mkdir
    const auto second = newRunFolder(e, root, [&](const fs::path& p) {
        return p.filename().string() ==
               first.filename().string() + "-2";  // promised to a queued run
    });
    EXPECT_EQ(second.filename().string(), first.filename().string() + "-3");
    // #14: a seed sweep started in parallel in one second: every run its own folder.
    std::vector<std::thread> threads;
    std::vector<fs::path> got(8);
    for (std::size_t i = 0; i < got.size(); ++i) {
        threads.emplace_back([&, i] { got[i] = newRunFolder(e, root); });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(std::unique(got.begin(), got.end()), got.end());
    writeFileAtomically(root / "file", "x");
    DLW_EXPECT_ERROR(newRunFolder(e, root / "file"), (root / "file").string(),
                     "cannot create the runs folder");
}

TEST(RunFolder, ListsTaskCheckpointsAndIgnoresEverythingElse) {
    const auto run = test::tempDir("run-folder");
    const auto dir = run / run_files::kCheckpoints;
    fs::create_directories(dir);
    EXPECT_TRUE(taskCheckpoints(run).empty());
    writeFileAtomically(dir / (taskCheckpointStem(0) + ".json"), "{\"after_task\": 1}");
    writeFileAtomically(dir / (taskCheckpointStem(1) + ".json"), "not json");  // name decides
    writeFileAtomically(dir / (inTaskCheckpointStem(2, 77) + ".json"), "{}");
    writeFileAtomically(dir / "task-1.json", "{}");
    writeFileAtomically(dir / "notes.json", "{}");
    EXPECT_EQ(inTaskCheckpointStem(2, 77), "task-003-step-0000077");
    const auto found = taskCheckpoints(run);
    ASSERT_EQ(found.size(), 2U);
    EXPECT_EQ(found.at(1), dir / "task-001");
    EXPECT_EQ(found.at(2), dir / "task-002");
}

Evaluation sampleEvaluation() {
    Evaluation e;
    e.afterTask = 1;
    e.accuracy = {90.5, 80.25};
    e.taskAwareAccuracy = {99, 98};
    e.taskIdAccuracy = {91, 82};
    e.taskConfusion = {{9, 1}, {2, 8}};
    e.eceRaw = 12.5;
    e.reliabilityRaw = {{0.0, 0.5, 0.25, 0.5, 3}};
    e.reliabilityCalibrated = {{0.5, 1.0, 0.75, 1.0, 2}};
    e.taskConfidence = {0.5F, 0.75F};
    e.taskCorrect = {true, false};
    e.memory = {{2, "norm1", 5, 3, 0.9, 0.97, 0.96}};
    e.spectra = {{3, "k", "orthogonal", {2.0, 1.0}}};
    e.seconds = 1.5;
    return e;
}

// Every event type written and read back gives the same JSON: writer and reader cannot drift.
// #14 (break-it pass): a summary.json whose accuracy_matrix was 1000 rows of one value made
// `dlw compare` print numbers read past a row's end (BWT 7e+255, different each time).
TEST(RunFolder, AnAccuracyMatrixThatIsNotSquareIsRefused) {
    RunSummary summary;
    summary.method = "duallora";
    summary.accuracyMatrix = {{90.0, std::nullopt}, {85.0, 80.0}};
    summary.taskAwareMatrix = summary.accuracyMatrix;
    const auto good = toJson(summary);
    EXPECT_EQ(summaryFromJson(good).accuracyMatrix, summary.accuracyMatrix);
    const std::vector<std::pair<nlohmann::json, std::string>> bad = {
        {nlohmann::json::array({{50.0}, {50.0}, {50.0}}), "T×T with T = 3 rows, but row 1 has 1"},
        {nlohmann::json::array({{50.0, nullptr}, {42.5, 25.0, 1.0}}), "row 2 has 3"},
        {nlohmann::json::array(), "non-empty list of rows"},
        {50.0, "non-empty list of rows"},
        {nlohmann::json::array({{"x"}}), "row 1 holds \"x\""},
        {nlohmann::json::array({50.0}), "row 1 has no list"}};
    for (const auto& [matrix, message] : bad) {
        auto j = good;
        j["accuracy_matrix"] = matrix;
        DLW_EXPECT_ERROR(summaryFromJson(j), message);
    }
    DLW_EXPECT_ERROR(computeContinualMetrics({{50.0}, {50.0}}), "not T×T");
}

TEST(RunFolder, EveryEventTypeRoundTripsThroughItsJson) {
    RunSummary summary;
    summary.method = "duallora";
    summary.accuracyMatrix = {{90.0, std::nullopt}, {85.0, 80.0}};
    summary.taskAwareMatrix = summary.accuracyMatrix;
    summary.metrics = computeContinualMetrics(summary.accuracyMatrix);
    summary.eceRaw = 3.5;
    summary.trainSeconds = 12;
    summary.trainableParameters = 1234;
    summary.imagesPerSecond = 900;
    summary.skippedFiles = 2;
    const std::vector<Event> events = {
        RunStarted{"runs/x", "duallora", "cpu", 2, 2, {{"a", "b"}, {"c", "d"}}, 99, 1},
        TaskStarted{1, 100, 7, 4, true, 2, 3},
        StepFinished{1, 2, 42, 0.125, 5e-4},
        EpochFinished{1, 2, 0.25, 3.5, 640},
        sampleEvaluation(),
        TaskFinished{1, 10, 12, 0.5, 0.25},
        Warning{"rank clamped"},
        FilesSkipped{{{"/d/a/.DS_Store", -1, "hidden file, not data"}, {"/d/c.bin", 7, "bad"}}},
        RunFinished{summary, true, false, ""},
    };
    ASSERT_EQ(events.size(), std::variant_size_v<Event>);  // one of each type
    for (const auto& event : events) {
        const auto json = toJson(event);
        const auto back = eventFromJson(json);
        ASSERT_TRUE(back.has_value()) << json.dump();
        EXPECT_EQ(back->index(), event.index());
        EXPECT_EQ(toJson(*back), json);
    }
    EXPECT_FALSE(eventFromJson({{"type", "from_the_future"}, {"v", 1}}).has_value());
}

}  // namespace
}  // namespace dlw
