// Entry points of the file formats the program reads back: safetensors, experiment JSON and
// `--set` values, checkpoints, a run's events and summary (issue #14).
#include "api/atomic_file.h"
#include "api/backbone_info.h"
#include "api/experiment.h"
#include "api/predictor.h"
#include "api/run_folder.h"
#include "engine/run_store.h"
#include "fuzz_entries.h"
#include "fuzz_support.h"
#include "io/safetensors.h"
#include "model/backbone.h"

#include <stdexcept>

namespace dlw::fuzz {
namespace {

namespace fs = std::filesystem;

// The run directory of the checkpoint target: the smoke experiment over the tiny grey backbone.
const std::string& checkpointExperimentText() {
    static const std::string text = [] {
        const fs::path fixtures = fs::path(DLW_SOURCE_DIR) / "tests/fixtures";
        Experiment e = loadExperimentFile(fixtures / "experiments/smoke.json");
        e.backbone.path = (fixtures / "vit_reference/tiny_gray.safetensors").string();
        return toJsonText(e);
    }();
    return text;
}

// Two events lines (and a partial third): what cutEventsToCheckpoint cuts back.
constexpr std::string_view kEvents =
    "{\"v\":1,\"type\":\"warning\",\"message\":\"a\"}\n"
    "{\"v\":1,\"type\":\"warning\",\"message\":\"b\"}\n{\"v\":1,";

}  // namespace

void fuzzSafetensors(std::string_view input) {
    cleanScratch();
    const fs::path file = scratchDir() / "fuzz.safetensors";
    writeBytes(file, input);
    const SafetensorsHeader header = readSafetensorsHeader(file);
    const SafetensorsFile loaded = loadSafetensors(file);
    if (loaded.tensors.size() > header.entries.size()) {
        throw std::logic_error("loadSafetensors: more tensors than header entries");
    }
    // The backbone loader is the main reader of outside safetensors files.
    expectOnlyDlwError([&] { inspectBackbone(file); });
    loadBackbone(file);
}

void fuzzExperiment(std::string_view input) {
    const std::string text(input);
    Experiment base;
    bool parsed = false;
    expectOnlyDlwError([&] {
        base = experimentFromJsonText(text, "fuzz.json");
        parsed = true;
    });
    if (parsed) {
        // What saveExperimentFile writes must read back as the same experiment.
        std::string written;
        expectOnlyDlwError([&] { written = toJsonText(base); });
        if (!written.empty() && experimentFromJsonText(written, "written.json") != base) {
            throw std::logic_error("experiment JSON round trip changed the experiment");
        }
    }
    std::vector<std::string> assignments;
    std::size_t start = 0;
    while (start < text.size() && assignments.size() < 16) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        assignments.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    for (const auto& assignment : assignments) {
        Experiment changed = base;
        expectOnlyDlwError([&] { applyOverride(changed, assignment); });
    }
    applyOverrides(base, assignments);
}

void fuzzCheckpoint(std::string_view input) {
    cleanScratch();
    const auto parts = splitParts(input, 2);
    const fs::path run = scratchDir() / "run";
    writeBytes(run / "experiment.json", checkpointExperimentText());
    writeBytes(run / "events.jsonl", kEvents);
    writeBytes(run / "checkpoints/latest.json", R"({"checkpoint": "task-001", "task": 0})");
    writeBytes(run / "checkpoints/task-001.json", parts[0]);
    writeBytes(run / "checkpoints/task-001.safetensors", parts[1]);
    expectOnlyDlwError([&] {
        RunStore store(run, "", /*resume=*/true);
        store.latestCheckpoint();
        store.cutEventsToCheckpoint();
    });
    expectOnlyDlwError([&] { Predictor::availableTasks(run); });
    Predictor predictor(run);
}

void fuzzRunEvents(std::string_view input) {
    cleanScratch();
    const auto parts = splitParts(input, 3);
    const fs::path run = scratchDir() / "run";
    writeBytes(run / "events.jsonl", parts[0]);
    writeBytes(run / "summary.json", parts[1]);
    writeBytes(run / "experiment.json", parts[2]);
    expectOnlyDlwError([&] { readRunEvents(run); });
    readRunRecord(run);
}

std::vector<FuzzTarget> fuzzTargets() {
    return {{"safetensors", fuzzSafetensors},
            {"idx", fuzzIdx},
            {"cifar", fuzzCifar},
            {"experiment", fuzzExperiment},
            {"checkpoint", fuzzCheckpoint},
            {"run_events", fuzzRunEvents},
            {"image", fuzzImage},
            {"image_folder", fuzzImageFolder}};
}

}  // namespace dlw::fuzz
