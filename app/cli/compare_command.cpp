#include "api/error.h"
#include "api/run_record.h"
#include "cli/commands.h"

#include <fmt/format.h>
#include <iostream>

#include <nlohmann/json.hpp>

namespace dlw::cli {
namespace {

nlohmann::ordered_json toJson(const RunRecord& r) {
    auto opt = [](const std::optional<double>& v) {
        return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
    };
    const auto& s = r.summary;
    return {{"run", r.dir},
            {"name", r.name},
            {"method", r.method},
            {"seed", r.seed},
            {"completed", r.completed},
            {"final_accuracy", s.metrics.finalAccuracy},
            {"average_incremental_accuracy", s.metrics.averageIncrementalAccuracy},
            {"bwt", opt(s.metrics.bwt)},
            {"mean_forgetting", opt(s.metrics.meanForgetting)},
            {"task_id_accuracy", opt(s.taskIdAccuracy)},
            {"ece_raw", opt(s.eceRaw)},
            {"ece_calibrated", opt(s.eceCalibrated)},
            {"train_seconds", s.trainSeconds},
            {"trainable_parameters", s.trainableParameters}};
}

}  // namespace

void addCompareCommand(CLI::App& app, const GlobalOptions& /*global*/) {
    auto* cmd = app.add_subcommand("compare", "One table of the summary metrics of several runs");
    struct Options {
        std::vector<std::string> dirs;
        bool csv = false;
        bool json = false;
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("runs", opt->dirs, "Run directories")->required();
    auto* csv = cmd->add_flag("--csv", opt->csv, "Comma-separated values");
    cmd->add_flag("--json", opt->json, "A JSON array")->excludes(csv);
    cmd->callback([opt] {
        std::vector<RunRecord> runs;
        int failed = 0;
        for (const auto& d : opt->dirs) {
            try {
                runs.push_back(readRunRecord(d));
            } catch (const Error& e) {
                fmt::print(stderr, "dlw compare: {}\n", e.what());
                ++failed;
            }
        }
        if (opt->json) {
            nlohmann::ordered_json out = nlohmann::ordered_json::array();
            for (const auto& r : runs) {
                out.push_back(toJson(r));
            }
            std::cout << out.dump(2) << "\n";
        } else {
            const char* sep = opt->csv ? "," : " ";
            const std::string format = opt->csv ? "{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}\n"
                                                : "{:<10}{}{:>5}{}{:>7}{}{:>7}{}{:>8}{}{:>8}{}{:>8}"
                                                  "{}{:>8}{}{:>8}{}{:>8}{} {}\n";
            fmt::print(fmt::runtime(format), "method", sep, "seed", sep, "A_T", sep, "A_avg", sep,
                       "BWT", sep, "forget", sep, "task-id", sep, "ECE_raw", sep, "ECE_cal", sep,
                       "seconds", sep, "run");
            // CSV leaves a missing value empty; the table shows "-".
            const auto cell = [&](const std::optional<double>& v) {
                return v ? fmt::format("{:.2f}", *v) : std::string(opt->csv ? "" : "-");
            };
            for (const auto& r : runs) {
                const auto& s = r.summary;
                fmt::print(fmt::runtime(format), r.method + (r.completed ? "" : "*"), sep, r.seed,
                           sep, cell(s.metrics.finalAccuracy), sep,
                           cell(s.metrics.averageIncrementalAccuracy), sep, cell(s.metrics.bwt),
                           sep, cell(s.metrics.meanForgetting), sep, cell(s.taskIdAccuracy), sep,
                           cell(s.eceRaw), sep, cell(s.eceCalibrated), sep,
                           fmt::format("{:.1f}", s.trainSeconds), sep, r.dir);
            }
            if (!opt->csv &&
                std::any_of(runs.begin(), runs.end(), [](const auto& r) { return !r.completed; })) {
                fmt::print("* stopped before its last task: metrics after the last trained task\n");
            }
        }
        if (failed > 0) {
            throw ExitCode{runs.empty() ? 2 : 1};
        }
    });
}

}  // namespace dlw::cli
