#include "api/run_record.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "config/experiment_json.h"
#include "engine/run_store.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace dlw {
namespace {

nlohmann::json readJson(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path)) {
        throw Error(
            fmt::format("{}: missing (not a run directory, or a run that never finished "
                        "a task)",
                        path.string()));
    }
    try {
        return nlohmann::json::parse(readWholeFile(path));
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{}: malformed JSON ({})", path.string(), e.what()));
    }
}

std::optional<double> optional(const nlohmann::json& j, const char* key) {
    return j.contains(key) && !j[key].is_null() ? std::optional<double>(j[key].get<double>())
                                                : std::nullopt;
}

std::vector<ReliabilityBin> binsFrom(const nlohmann::json& j) {
    std::vector<ReliabilityBin> out;
    for (const auto& b : j) {
        ReliabilityBin bin;
        bin.lower = b.at("lower").get<double>();
        bin.upper = b.at("upper").get<double>();
        bin.meanConfidence = b.at("confidence").get<double>();
        bin.accuracy = b.at("accuracy").get<double>();
        bin.count = b.at("count").get<int64_t>();
        out.push_back(bin);
    }
    return out;
}

// The inverse of run_store.cpp's EventToJson; nullopt for a type this version does not know.
std::optional<Event> eventFromJson(const nlohmann::json& j) {
    const std::string type = j.at("type").get<std::string>();
    if (type == "run_started") {
        RunStarted e;
        e.runDir = j.at("run_dir").get<std::string>();
        e.method = j.at("method").get<std::string>();
        e.device = j.at("device").get<std::string>();
        e.threads = j.at("threads").get<int>();
        e.tasks = j.at("tasks").get<int>();
        e.taskClasses = j.at("task_classes").get<std::vector<std::vector<std::string>>>();
        e.resumedFromTask = j.at("resumed_from_task").get<int>();
        return e;
    }
    if (type == "task_started") {
        TaskStarted e;
        e.task = j.at("task").get<int>();
        e.trainImages = j.at("train_images").get<int64_t>();
        e.stepsPerEpoch = j.at("steps_per_epoch").get<int64_t>();
        e.epochs = j.at("epochs").get<int>();
        e.resumed = j.value("resumed", false);
        e.epoch = j.value("epoch", 0);
        e.batch = j.value("batch", int64_t{0});
        return e;
    }
    if (type == "step") {
        return StepFinished{j.at("task").get<int>(), j.at("epoch").get<int>(),
                            j.at("step").get<int64_t>(), j.at("loss").get<double>(),
                            j.at("lr").get<double>()};
    }
    if (type == "epoch_finished") {
        return EpochFinished{j.at("task").get<int>(), j.at("epoch").get<int>(),
                             j.at("mean_loss").get<double>(), j.at("seconds").get<double>(),
                             j.at("images_per_second").get<double>()};
    }
    if (type == "evaluation") {
        Evaluation e;
        e.afterTask = j.at("after_task").get<int>();
        e.accuracy = j.at("accuracy").get<std::vector<double>>();
        e.taskAwareAccuracy = j.at("task_aware_accuracy").get<std::vector<double>>();
        e.taskIdAccuracy = j.at("task_id_accuracy").get<std::vector<double>>();
        e.taskConfusion = j.at("task_confusion").get<std::vector<std::vector<int64_t>>>();
        e.eceRaw = optional(j, "ece_raw");
        e.eceCalibrated = optional(j, "ece_calibrated");
        e.reliabilityRaw = binsFrom(j.at("reliability_raw"));
        e.reliabilityCalibrated = binsFrom(j.at("reliability_calibrated"));
        if (j.contains("task_confidence")) {
            e.taskConfidence = j["task_confidence"].get<std::vector<float>>();
            e.taskCorrect = j.at("task_correct").get<std::vector<bool>>();
        }
        for (const auto& m : j.at("memory")) {
            e.memory.push_back({m.at("block").get<int>(), m.at("input").get<std::string>(),
                                m.at("size").get<int64_t>(), m.at("added").get<int64_t>(),
                                m.at("energy_before").get<double>(),
                                m.at("energy_after").get<double>(),
                                m.at("threshold").get<double>()});
        }
        for (const auto& sp : j.at("spectra")) {
            e.spectra.push_back({sp.at("block").get<int>(), sp.at("map").get<std::string>(),
                                 sp.at("kind").get<std::string>(),
                                 sp.at("singular_values").get<std::vector<double>>()});
        }
        e.seconds = j.at("seconds").get<double>();
        return e;
    }
    if (type == "task_finished") {
        return TaskFinished{j.at("task").get<int>(), j.at("train_seconds").get<double>(),
                            j.at("seconds").get<double>(), j.value("memory_seconds", 0.0)};
    }
    if (type == "warning") {
        return Warning{j.at("message").get<std::string>()};
    }
    if (type == "run_finished") {
        RunFinished e;
        e.completed = j.at("completed").get<bool>();
        e.stopped = j.at("stopped").get<bool>();
        e.error = j.at("error").get<std::string>();
        return e;  // the summary comes from summary.json (readRunRecord)
    }
    return std::nullopt;
}

}  // namespace

std::vector<Event> readRunEvents(const std::filesystem::path& dir) {
    const auto path = dir / "events.jsonl";
    const std::string text = readWholeFile(path);
    std::vector<Event> out;
    std::size_t start = 0;
    int line = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            break;  // a partial last line: the run was killed while writing it
        }
        ++line;
        const auto j =
            nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                  text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
        start = end + 1;
        if (j.is_discarded() || !j.is_object()) {
            throw Error(fmt::format("{}: line {} is not JSON", path.string(), line));
        }
        try {
            if (j.value("v", 0) > kEventsVersion) {  // #14: inside the try ("v": "1" throws)
                continue;
            }
            if (auto ev = eventFromJson(j)) {
                out.push_back(std::move(*ev));
            }
        } catch (const nlohmann::json::exception& err) {
            throw Error(fmt::format("{}: line {}: {}", path.string(), line, err.what()));
        }
    }
    return out;
}

RunRecord readRunRecord(const std::filesystem::path& dir) {
    const auto experimentPath = dir / "experiment.json";
    const auto summaryPath = dir / "summary.json";
    const auto e = readJson(experimentPath);
    const auto s = readJson(summaryPath);
    RunRecord r;
    try {
        r.dir = dir.string();
        r.name = e.at("name").get<std::string>();
        r.method = e.at("method").at("name").get<std::string>();
        r.variant = methodVariant(
            experimentFromJson(nlohmann::ordered_json::parse(e.dump()), experimentPath.string()));
        r.seed = e.at("seed").get<uint64_t>();
        r.tasks = e.at("sequence").at("tasks").get<int>();
        r.completed = s.value("completed", false);
        RunSummary& out = r.summary;
        out.runDir = r.dir;
        out.method = r.method;
        out.accuracyMatrix = accuracyMatrixFromJson(s.at("accuracy_matrix"));
        out.taskAwareMatrix = accuracyMatrixFromJson(s.at("task_aware_matrix"));
        out.metrics = computeContinualMetrics(out.accuracyMatrix);
        out.taskIdAccuracy = optional(s, "task_id_accuracy");
        out.eceRaw = optional(s, "ece_raw");
        out.eceCalibrated = optional(s, "ece_calibrated");
        out.trainSeconds = s.at("train_seconds").get<double>();
        out.trainableParameters = s.at("trainable_parameters").get<int64_t>();
        out.imagesPerSecond = s.at("images_per_second").get<double>();
        if (!out.taskAwareMatrix.empty()) {
            double sum = 0;
            int n = 0;
            for (const auto& v : out.taskAwareMatrix.back()) {
                if (v) {
                    sum += *v;
                    ++n;
                }
            }
            if (n > 0) {
                r.taskAwareFinal = sum / n;
            }
        }
    } catch (const nlohmann::json::exception& ex) {
        throw Error(fmt::format("{}: unexpected content ({})", dir.string(), ex.what()));
    }
    return r;
}

}  // namespace dlw
