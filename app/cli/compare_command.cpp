#include "api/error.h"
#include "api/output_text.h"
#include "api/run_folder.h"
#include "api/run_table.h"
#include "cli/commands.h"
#include "cli/run_support.h"

#include <fmt/format.h>
#include <iostream>

#include <nlohmann/json.hpp>

namespace dlw::cli {
void addCompareCommand(CLI::App& app, const GlobalOptions& /*global*/) {
    auto* cmd = app.add_subcommand("compare", "One table of the summary metrics of several runs");
    struct Options {
        std::vector<std::string> dirs;
        bool csv = false;
        bool json = false;
        bool grouped = false;
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("runs", opt->dirs, "Run folders, or folders of runs (runs/)")->required();
    auto* csv = cmd->add_flag("--csv", opt->csv, "Comma-separated values");
    auto* json = cmd->add_flag("--json", opt->json, "A JSON array")->excludes(csv);
    cmd->add_flag("--group", opt->grouped,
                  "One row per experiment name and method variant: mean ± SD over its runs")
        ->excludes(json);
    cmd->callback([opt] {
        std::vector<RunRecord> runs;
        std::vector<std::string> problems;
        const auto dirs = runFolders(opt->dirs, &problems);
        int failed = static_cast<int>(problems.size());
        for (const auto& p : problems) {
            printErr("dlw compare: {}\n", p);
        }
        for (const auto& d : dirs) {
            try {
                runs.push_back(readRunRecord(d));
            } catch (const Error& e) {
                printErr("dlw compare: {}\n", e.what());
                ++failed;
            }
        }
        if (opt->json) {
            nlohmann::ordered_json out = nlohmann::ordered_json::array();
            for (const auto& r : runs) {
                out.push_back(runRecordJson(r));
            }
            std::cout << jsonText(out, 2) << "\n";
        } else if (opt->grouped) {
            printGroupedTable(runs, opt->csv);
        } else {
            printRunTable(runs, opt->csv);
        }
        if (failed > 0) {
            throw ExitCode{runs.empty() ? 2 : 1};
        }
    });
}

}  // namespace dlw::cli
