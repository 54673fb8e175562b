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

}  // namespace

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
