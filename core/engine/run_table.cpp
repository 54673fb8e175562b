#include "api/run_table.h"

#include "api/experiment.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>

#include <nlohmann/json.hpp>

namespace dlw {
namespace {

void flatten(const nlohmann::json& j, const std::string& prefix, RunSettings& out) {
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            flatten(value, prefix.empty() ? key : prefix + "." + key, out);
        }
    } else {
        out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
    }
}

// Every key of the run's experiment as the engine resolved it, or nullopt when it does not load
// (readRunRecord read it already, so this is a file changed since).
// Every key of `e`, flattened; without `whereItRan`, what cannot change its results set aside.
RunSettings settingsOf(Experiment e, bool whereItRan) {
    if (!whereItRan) {
        e.seed = 0;
        e.device = "auto";
        e.threads = 0;
        e.checkpoint = CheckpointSettings{};
    }
    RunSettings out;
    flatten(nlohmann::json::parse(toJsonText(e)), "", out);
    return out;
}

std::optional<RunSettings> experimentSettings(const RunRecord& run, bool whereItRan) {
    try {
        return settingsOf(
            loadExperimentFile(std::filesystem::path(run.dir) / run_files::kExperiment),
            whereItRan);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string groupLabel(const RunSettings& mine, const std::vector<RunSettings>& all) {
    std::set<std::string> differing;
    for (const auto& other : all) {
        if (other.at("method") != mine.at("method") || other.count("name") == 0 ||
            mine.count("name") == 0 || other.at("name") != mine.at("name")) {
            continue;
        }
        for (const auto& [key, value] : mine) {
            const auto it = other.find(key);
            if (it == other.end() || it->second != value) {
                differing.insert(key);
            }
        }
    }
    std::string label = mine.at("method");
    differing.erase("completed");  // said in words below
    for (const auto& key : differing) {
        label += " " + key + "=" + mine.at(key);
    }
    if (mine.at("completed") == "false") {
        label += " (stopped early)";
    }
    return label;
}

}  // namespace

const std::vector<RunColumn>& runColumns() {
    static const std::vector<RunColumn> columns = {
        {"A_T", "$A_T$ (\\%)", "final accuracy: mean over the tasks after the last one",
         [](const RunRecord& r) { return std::optional(r.summary.metrics.finalAccuracy); }},
        {"A_avg", "$\\bar{A}$ (\\%)", "average incremental accuracy: mean of A_t over t",
         [](const RunRecord& r) {
             return std::optional(r.summary.metrics.averageIncrementalAccuracy);
         }},
        {"BWT", "BWT", "backward transfer (points; negative = forgetting)",
         [](const RunRecord& r) { return r.summary.metrics.bwt; }},
        {"forget", "Forg.", "mean forgetting (points)",
         [](const RunRecord& r) { return r.summary.metrics.meanForgetting; }},
        {"TA_A_T", "TA $A_T$ (\\%)", "task-aware final accuracy (task given)",
         [](const RunRecord& r) { return r.taskAwareFinal; }},
        {"task-id", "Task-ID (\\%)", "task-identity accuracy",
         [](const RunRecord& r) { return r.summary.taskIdAccuracy; }},
        {"ECE_raw", "ECE raw (\\%)", "expected calibration error of the raw scores, 15 bins",
         [](const RunRecord& r) { return r.summary.eceRaw; }},
        {"ECE_cal", "ECE cal. (\\%)", "expected calibration error of the calibrated scores",
         [](const RunRecord& r) { return r.summary.eceCalibrated; }},
        {"unfam", "Unfam. (\\%)", "share of test images flagged unfamiliar",
         [](const RunRecord& r) { return r.summary.unfamiliarShare; }},
        {"seconds", "Train (s)", "seconds of training steps",
         [](const RunRecord& r) { return std::optional(r.summary.trainSeconds); }},
        {"all_s", "All (s)", "seconds of all of each task: memory passes, training, evaluation",
         [](const RunRecord& r) { return r.allSeconds; }},
        {"params", "Params", "trainable parameters",
         [](const RunRecord& r) {
             return std::optional(static_cast<double>(r.summary.trainableParameters));
         },
         true},
    };
    return columns;
}

RunSettings runSettings(const RunRecord& run) {
    // A run stopped before its last task is not a seed of the finished experiment: its A_T is
    // after fewer tasks (#17: one stopped after 4 of 5 tasks was averaged in).
    RunSettings settings{{"method", run.variant}, {"completed", run.completed ? "true" : "false"}};
    if (auto keys = experimentSettings(run, /*whereItRan=*/false)) {
        settings.insert(keys->begin(), keys->end());
    } else {
        settings["name"] = run.name;
    }
    return settings;
}

std::vector<RunGroup> groupRuns(const std::vector<RunRecord>& runs) {
    std::vector<RunSettings> keys;  // one per group, first-seen order
    std::vector<RunSettings> ofRun;
    for (const auto& r : runs) {
        ofRun.push_back(runSettings(r));
        if (std::find(keys.begin(), keys.end(), ofRun.back()) == keys.end()) {
            keys.push_back(ofRun.back());
        }
    }
    std::vector<RunGroup> out;
    for (const auto& key : keys) {
        RunGroup group;
        for (std::size_t i = 0; i < runs.size(); ++i) {
            if (ofRun[i] == key) {
                group.runs.push_back(&runs[i]);
            }
        }
        group.name = group.runs.front()->name;
        group.label = groupLabel(key, keys);
        out.push_back(std::move(group));
    }
    return out;
}

std::vector<std::string> experimentLabels(const std::vector<Experiment>& experiments) {
    std::vector<RunSettings> all;
    for (const auto& e : experiments) {
        all.push_back(settingsOf(e, /*whereItRan=*/false));
        all.back()["method"] = methodVariant(e);
        all.back()["completed"] = "true";  // what is drawn is what was learnt so far
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < all.size(); ++i) {
        bool namesDiffer = false;
        for (const auto& other : all) {
            namesDiffer = namesDiffer || (other.at("method") == all[i].at("method") &&
                                          other.at("name") != all[i].at("name"));
        }
        // Within its name, the keys that differ: as groupRuns labels the comparison's rows.
        std::string label = groupLabel(all[i], all);
        if (namesDiffer) {
            const std::string& method = all[i].at("method");
            label.insert(method.size(), " · " + all[i].at("name"));
        }
        out.push_back(std::move(label));
    }
    return out;
}

MeanSd meanSd(const std::vector<double>& values) {
    MeanSd out;
    out.n = static_cast<int>(values.size());
    if (values.empty()) {
        return out;
    }
    for (double v : values) {
        out.mean += v;
    }
    out.mean /= out.n;
    if (out.n > 1) {
        double squares = 0;
        for (double v : values) {
            squares += (v - out.mean) * (v - out.mean);
        }
        out.sd = std::sqrt(squares / (out.n - 1));
    }
    return out;
}

std::string statsText(const RunColumn& column, const MeanSd& stats, std::size_t runs) {
    if (column.whole) {
        return fmt::format("{:.0f}", stats.mean);
    }
    std::string cell = stats.n > 1 ? fmt::format("{:.1f} ± {:.1f}", stats.mean, stats.sd)
                                   : fmt::format("{:.1f}", stats.mean);
    if (static_cast<std::size_t>(stats.n) < runs) {
        cell += fmt::format(" (n={})", stats.n);
    }
    return cell;
}

std::optional<MeanSd> columnStats(const RunColumn& column,
                                  const std::vector<const RunRecord*>& runs) {
    std::vector<double> values;
    for (const auto* r : runs) {
        if (auto v = column.value(*r)) {
            values.push_back(*v);
        }
    }
    if (values.empty()) {
        return std::nullopt;
    }
    return meanSd(values);
}

std::map<std::string, std::vector<std::string>> differingKeys(const std::vector<RunRecord>& runs) {
    std::vector<RunSettings> all;
    std::set<std::string> keys;
    for (const auto& r : runs) {
        RunSettings s = experimentSettings(r, /*whereItRan=*/true).value_or(RunSettings{});
        s["name"] = r.name;  // as readRunRecord read it, even from a file that no longer loads
        for (const auto& [key, value] : s) {
            keys.insert(key);
        }
        all.push_back(std::move(s));
    }
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& key : keys) {
        std::vector<std::string> values;
        for (const auto& s : all) {
            const auto it = s.find(key);
            values.push_back(it == s.end() ? std::string() : it->second);
        }
        if (std::adjacent_find(values.begin(), values.end(), std::not_equal_to<>()) !=
            values.end()) {
            out[key] = std::move(values);
        }
    }
    return out;
}

std::vector<std::filesystem::path> runFolders(const std::vector<std::string>& paths,
                                              std::vector<std::string>* problems) {
    std::vector<std::filesystem::path> out;
    for (const auto& path : paths) {
        const std::filesystem::path p(path);
        std::error_code ec;
        if (std::filesystem::exists(p / run_files::kExperiment, ec)) {
            out.push_back(p);
            continue;
        }
        std::vector<std::filesystem::path> inside;
        if (std::filesystem::is_directory(p, ec)) {
            for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
                if (std::filesystem::exists(entry.path() / run_files::kExperiment, ec)) {
                    inside.push_back(entry.path());
                }
            }
        }
        std::sort(inside.begin(), inside.end());
        if (inside.empty() && problems != nullptr) {
            problems->push_back(!std::filesystem::exists(p, ec) ? path + ": no such file or folder"
                                : std::filesystem::is_directory(p, ec)
                                    ? path + ": neither a run folder (no " +
                                          run_files::kExperiment + ") nor a folder of runs"
                                    : path + ": a file, not a run folder");
        }
        out.insert(out.end(), inside.begin(), inside.end());
    }
    return out;
}

}  // namespace dlw
