#include "engine/run_store.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "io/safetensors.h"

#include <fmt/format.h>

namespace dlw {
namespace {

nlohmann::json optionalJson(const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json binsJson(const std::vector<ReliabilityBin>& bins) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : bins) {
        out.push_back({{"lower", b.lower},
                       {"upper", b.upper},
                       {"confidence", b.meanConfidence},
                       {"accuracy", b.accuracy},
                       {"count", b.count}});
    }
    return out;
}

struct EventToJson {
    nlohmann::json operator()(const RunStarted& e) const {
        return {{"type", "run_started"},
                {"run_dir", e.runDir},
                {"method", e.method},
                {"device", e.device},
                {"threads", e.threads},
                {"tasks", e.tasks},
                {"task_classes", e.taskClasses},
                {"resumed_from_task", e.resumedFromTask}};
    }
    nlohmann::json operator()(const TaskStarted& e) const {
        return {{"type", "task_started"},
                {"task", e.task},
                {"train_images", e.trainImages},
                {"steps_per_epoch", e.stepsPerEpoch},
                {"epochs", e.epochs},
                {"resumed", e.resumed},
                {"epoch", e.epoch},
                {"batch", e.batch}};
    }
    nlohmann::json operator()(const StepFinished& e) const {
        return {{"type", "step"}, {"task", e.task}, {"epoch", e.epoch},
                {"step", e.step}, {"loss", e.loss}, {"lr", e.lr}};
    }
    nlohmann::json operator()(const EpochFinished& e) const {
        return {{"type", "epoch_finished"}, {"task", e.task},
                {"epoch", e.epoch},         {"mean_loss", e.meanLoss},
                {"seconds", e.seconds},     {"images_per_second", e.imagesPerSecond}};
    }
    nlohmann::json operator()(const Evaluation& e) const {
        nlohmann::json memory = nlohmann::json::array();
        for (const auto& m : e.memory) {
            memory.push_back({{"block", m.block},
                              {"input", m.input},
                              {"size", m.size},
                              {"added", m.added},
                              {"energy_before", m.energyBefore},
                              {"energy_after", m.energyAfter},
                              {"threshold", m.threshold}});
        }
        nlohmann::json spectra = nlohmann::json::array();
        for (const auto& s : e.spectra) {
            spectra.push_back({{"block", s.block},
                               {"map", s.map},
                               {"kind", s.kind},
                               {"singular_values", s.singularValues}});
        }
        return {{"type", "evaluation"},
                {"after_task", e.afterTask},
                {"accuracy", e.accuracy},
                {"task_aware_accuracy", e.taskAwareAccuracy},
                {"task_id_accuracy", e.taskIdAccuracy},
                {"task_confusion", e.taskConfusion},
                {"ece_raw", optionalJson(e.eceRaw)},
                {"ece_calibrated", optionalJson(e.eceCalibrated)},
                {"reliability_raw", binsJson(e.reliabilityRaw)},
                {"reliability_calibrated", binsJson(e.reliabilityCalibrated)},
                {"task_confidence", e.taskConfidence},
                {"task_correct", e.taskCorrect},
                {"memory", memory},
                {"spectra", spectra},
                {"seconds", e.seconds}};
    }
    nlohmann::json operator()(const TaskFinished& e) const {
        return {{"type", "task_finished"},
                {"task", e.task},
                {"train_seconds", e.trainSeconds},
                {"seconds", e.seconds},
                {"memory_seconds", e.memorySeconds}};
    }
    nlohmann::json operator()(const Warning& e) const {
        return {{"type", "warning"}, {"message", e.message}};
    }
    nlohmann::json operator()(const RunFinished& e) const {
        return {{"type", "run_finished"},
                {"completed", e.completed},
                {"stopped", e.stopped},
                {"error", e.error},
                {"summary", toJson(e.summary)}};
    }
};

}  // namespace

nlohmann::json accuracyMatrixToJson(const AccuracyMatrix& m) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : m) {
        nlohmann::json r = nlohmann::json::array();
        for (const auto& v : row) {
            r.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
        }
        rows.push_back(r);
    }
    return rows;
}

AccuracyMatrix accuracyMatrixFromJson(const nlohmann::json& j) {
    AccuracyMatrix m;
    for (const auto& row : j) {
        std::vector<std::optional<double>> r;
        for (const auto& v : row) {
            r.push_back(v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()));
        }
        m.push_back(std::move(r));
    }
    return m;
}

nlohmann::json toJson(const Event& event) {
    auto j = std::visit(EventToJson{}, event);
    j["v"] = kEventsVersion;
    return j;
}

nlohmann::json toJson(const RunSummary& s) {
    return {{"method", s.method},
            {"accuracy_matrix", accuracyMatrixToJson(s.accuracyMatrix)},
            {"task_aware_matrix", accuracyMatrixToJson(s.taskAwareMatrix)},
            {"final_accuracy", s.metrics.finalAccuracy},
            {"average_incremental_accuracy", s.metrics.averageIncrementalAccuracy},
            {"bwt", optionalJson(s.metrics.bwt)},
            {"forgetting",
             [&] {
                 nlohmann::json f = nlohmann::json::array();
                 for (const auto& v : s.metrics.forgetting) {
                     f.push_back(optionalJson(v));
                 }
                 return f;
             }()},
            {"mean_forgetting", optionalJson(s.metrics.meanForgetting)},
            {"task_id_accuracy", optionalJson(s.taskIdAccuracy)},
            {"ece_raw", optionalJson(s.eceRaw)},
            {"ece_calibrated", optionalJson(s.eceCalibrated)},
            {"train_seconds", s.trainSeconds},
            {"trainable_parameters", s.trainableParameters},
            {"images_per_second", s.imagesPerSecond}};
}

RunStore::RunStore(std::filesystem::path dir, const std::string& experimentJson, bool resume)
    : dir_(std::move(dir)) {
    namespace fs = std::filesystem;
    if (resume) {
        if (!fs::exists(dir_ / "experiment.json") ||
            !fs::exists(dir_ / "checkpoints/latest.json")) {
            throw Error(fmt::format("{}: not a resumable run (no experiment.json or no checkpoint)",
                                    dir_.string()));
        }
        if (fs::exists(dir_ / "summary.json")) {
            auto s = nlohmann::json::parse(readWholeFile(dir_ / "summary.json"), nullptr, false);
            if (!s.is_discarded() && s.value("completed", false)) {
                throw Error(fmt::format("{}: the run is already complete; nothing to resume",
                                        dir_.string()));
            }
        }
    } else {
        if (fs::exists(dir_) && !fs::is_empty(dir_)) {
            throw Error(
                fmt::format("{}: the run directory exists and is not empty (use --resume "
                            "to continue a run, or choose another --out)",
                            dir_.string()));
        }
        fs::create_directories(dir_ / "checkpoints");
        writeFileAtomically(dir_ / "experiment.json", experimentJson);
    }
    events_ = std::fopen((dir_ / "events.jsonl").c_str(), "ab");
    if (events_ == nullptr) {
        throw Error(fmt::format("{}: cannot open events.jsonl for appending", dir_.string()));
    }
}

void RunStore::cutEventsToCheckpoint() {
    // Events after the last checkpoint (a stopped task's tail, a partial last line) would be
    // replayed by the resumed run: cut them so that events.jsonl reads as one uninterrupted run.
    namespace fs = std::filesystem;
    const auto [stem, state] = latestState();
    const auto events = dir_ / "events.jsonl";
    if (!state.contains("events_bytes")) {
        return;
    }
    const auto& bytes = state["events_bytes"];
    if (!bytes.is_number_unsigned()) {  // #14: get<uintmax_t>() threw nlohmann's type_error
        throw Error(fmt::format("{}: events_bytes must be a non-negative integer, found {}",
                                (dir_ / "checkpoints" / (stem + ".json")).string(), bytes.dump()));
    }
    if (fs::file_size(events) > bytes.get<uintmax_t>()) {
        fs::resize_file(events, bytes.get<uintmax_t>());
    }
}

RunStore::~RunStore() {
    if (events_ != nullptr) {
        std::fclose(events_);
    }
}

void RunStore::append(const Event& event) {
    const std::string line = toJson(event).dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), events_);
    std::fflush(events_);
}

namespace {

std::string taskStem(int task) {
    return fmt::format("task-{:03d}", task + 1);
}

// Removes checkpoints/task-NNN-step-*.{safetensors,json} of `task`, except `keep`.
void removeInTaskCheckpoints(const std::filesystem::path& dir, int task, const std::string& keep) {
    const std::string prefix = taskStem(task) + "-step-";
    std::error_code ec;
    std::vector<std::filesystem::path> doomed;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && entry.path().stem().string() != keep) {
            doomed.push_back(entry.path());
        }
    }
    for (const auto& p : doomed) {
        std::filesystem::remove(p, ec);  // superseded; a leftover is harmless
    }
}

}  // namespace

void RunStore::writeCheckpoint(const std::string& stem,
                               int task,
                               const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               nlohmann::json state) {
    std::fflush(events_);
    state["events_bytes"] = std::ftell(events_);  // a resume cuts events.jsonl back to here
    saveSafetensors(dir_ / "checkpoints" / (stem + ".safetensors"), tensors);
    writeFileAtomically(dir_ / "checkpoints" / (stem + ".json"), state.dump(2));
    // The pointer moves last: until then the previous checkpoint stays whole and current.
    writeFileAtomically(dir_ / "checkpoints/latest.json",
                        nlohmann::json{{"checkpoint", stem}, {"task", task}}.dump(2));
}

void RunStore::checkpoint(int task,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          nlohmann::json state) {
    writeCheckpoint(taskStem(task), task, tensors, std::move(state));
    removeInTaskCheckpoints(dir_ / "checkpoints", task, "");
}

void RunStore::checkpointInTask(int task,
                                const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                nlohmann::json state) {
    // A new name each time: overwriting the current checkpoint's files would leave a mismatched
    // pair behind if the process died between the two writes.
    const std::string stem =
        fmt::format("{}-step-{:07d}", taskStem(task), state.at("step").get<int64_t>());
    writeCheckpoint(stem, task, tensors, std::move(state));
    removeInTaskCheckpoints(dir_ / "checkpoints", task, stem);
}

std::pair<std::string, nlohmann::json> RunStore::latestState() const {
    const auto latestPath = dir_ / "checkpoints/latest.json";
    auto latest = nlohmann::json::parse(readWholeFile(latestPath), nullptr, false);
    if (latest.is_discarded() || !latest.contains("checkpoint") ||
        !latest["checkpoint"].is_string()) {
        throw Error(fmt::format("{}: malformed checkpoint pointer", latestPath.string()));
    }
    const std::string stem = latest["checkpoint"].get<std::string>();
    const auto statePath = dir_ / "checkpoints" / (stem + ".json");
    auto state = nlohmann::json::parse(readWholeFile(statePath), nullptr, false);
    if (state.is_discarded() || !state.is_object()) {
        throw Error(fmt::format("{}: malformed checkpoint state", statePath.string()));
    }
    return {stem, state};
}

std::pair<nlohmann::json, std::map<std::string, torch::Tensor>> RunStore::latestCheckpoint() const {
    auto [stem, state] = latestState();
    return {state, loadSafetensors(dir_ / "checkpoints" / (stem + ".safetensors")).tensors};
}

std::filesystem::path RunStore::latestCheckpointPath() const {
    return dir_ / "checkpoints" / (latestState().first + ".safetensors");
}

void RunStore::writeSummary(const RunSummary& summary, bool completed) {
    auto j = toJson(summary);
    j["completed"] = completed;
    writeFileAtomically(dir_ / "summary.json", j.dump(2) + "\n");
}

}  // namespace dlw
