#include "api/run_record.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "config/experiment_json.h"
#include "engine/run_store.h"
#include "util/json_numbers.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace dlw {
namespace {

using detail::listAt;
using detail::matrixAt;
using detail::numberAt;

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
        bin.count = numberAt<int64_t>(b, "count");
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
        e.threads = numberAt<int>(j, "threads");
        e.tasks = numberAt<int>(j, "tasks");
        e.taskClasses = j.at("task_classes").get<std::vector<std::vector<std::string>>>();
        e.resumedFromTask = numberAt<int>(j, "resumed_from_task");
        return e;
    }
    if (type == "task_started") {
        TaskStarted e;
        e.task = numberAt<int>(j, "task");
        e.trainImages = numberAt<int64_t>(j, "train_images");
        e.stepsPerEpoch = numberAt<int64_t>(j, "steps_per_epoch");
        e.epochs = numberAt<int>(j, "epochs");
        e.resumed = j.value("resumed", false);
        e.epoch = j.contains("epoch") ? numberAt<int>(j, "epoch") : 0;
        e.batch = j.contains("batch") ? numberAt<int64_t>(j, "batch") : 0;
        return e;
    }
    if (type == "step") {
        return StepFinished{numberAt<int>(j, "task"), numberAt<int>(j, "epoch"),
                            numberAt<int64_t>(j, "step"), j.at("loss").get<double>(),
                            j.at("lr").get<double>()};
    }
    if (type == "epoch_finished") {
        return EpochFinished{numberAt<int>(j, "task"), numberAt<int>(j, "epoch"),
                             j.at("mean_loss").get<double>(), j.at("seconds").get<double>(),
                             j.at("images_per_second").get<double>()};
    }
    if (type == "evaluation") {
        Evaluation e;
        e.afterTask = numberAt<int>(j, "after_task");
        e.accuracy = j.at("accuracy").get<std::vector<double>>();
        e.taskAwareAccuracy = j.at("task_aware_accuracy").get<std::vector<double>>();
        e.taskIdAccuracy = j.at("task_id_accuracy").get<std::vector<double>>();
        e.taskConfusion = matrixAt<int64_t>(j, "task_confusion");
        e.eceRaw = optional(j, "ece_raw");
        e.eceCalibrated = optional(j, "ece_calibrated");
        e.reliabilityRaw = binsFrom(j.at("reliability_raw"));
        e.reliabilityCalibrated = binsFrom(j.at("reliability_calibrated"));
        if (j.contains("task_confidence")) {
            e.taskConfidence = listAt<float>(j, "task_confidence");
            e.taskCorrect = j.at("task_correct").get<std::vector<bool>>();
        }
        for (const auto& m : j.at("memory")) {
            e.memory.push_back({numberAt<int>(m, "block"), m.at("input").get<std::string>(),
                                numberAt<int64_t>(m, "size"), numberAt<int64_t>(m, "added"),
                                m.at("energy_before").get<double>(),
                                m.at("energy_after").get<double>(),
                                m.at("threshold").get<double>()});
        }
        for (const auto& sp : j.at("spectra")) {
            e.spectra.push_back({numberAt<int>(sp, "block"), sp.at("map").get<std::string>(),
                                 sp.at("kind").get<std::string>(),
                                 sp.at("singular_values").get<std::vector<double>>()});
        }
        e.seconds = j.at("seconds").get<double>();
        return e;
    }
    if (type == "task_finished") {
        return TaskFinished{numberAt<int>(j, "task"), j.at("train_seconds").get<double>(),
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
            if (j.contains("v") && numberAt<int64_t>(j, "v") > kEventsVersion) {  // #14: in the try
                continue;
            }
            if (auto ev = eventFromJson(j)) {
                out.push_back(std::move(*ev));
            }
        } catch (const nlohmann::json::exception& err) {
            throw Error(fmt::format("{}: line {}: {}", path.string(), line, err.what()));
        } catch (const Error& err) {  // a number that does not fit (util/json_numbers.h)
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
        r.seed = numberAt<uint64_t>(e, "seed");
        r.tasks = numberAt<int>(e.at("sequence"), "tasks");
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
        out.trainableParameters = numberAt<int64_t>(s, "trainable_parameters");
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
    } catch (const Error& ex) {  // a number that does not fit, or the experiment's own error
        throw Error(fmt::format("{}: unexpected content ({})", dir.string(), ex.what()));
    }
    return r;
}

}  // namespace dlw
