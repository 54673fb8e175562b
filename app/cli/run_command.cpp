#include "api/distributed.h"
#include "api/engine.h"
#include "api/error.h"
#include "api/experiment.h"
#include "api/run_folder.h"
#include "cli/commands.h"
#include "cli/run_support.h"

#include <chrono>
#include <csignal>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>
#include <unistd.h>

namespace dlw::cli {

void addRunCommand(CLI::App& app, const GlobalOptions& global) {
    auto* cmd = app.add_subcommand(
        "run", "Train an experiment's task sequence and write its run directory");
    struct Options {
        std::string file;
        std::string preset;
        std::vector<std::string> sets;
        std::string out;
        std::string resume;
        bool distributed = false;
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("experiment", opt->file, "Experiment file (JSON)")->check(CLI::ExistingFile);
    cmd->add_option("--preset", opt->preset,
                    fmt::format("Start from a preset: {} (docs/experiment-reference.md)",
                                fmt::join(presetNames(), ", ")));
    cmd->add_option("--set", opt->sets,
                    "Override a key: --set method.name=inflora (VALUE is JSON)")
        ->allow_extra_args(false);  // one KEY=VALUE per --set; the file stays positional
    cmd->add_option("--out", opt->out, "Run directory to create (default runs/NAME-METHOD-TIME)");
    cmd->add_option("--resume", opt->resume,
                    "Continue the run in this directory from its last checkpoint")
        ->check(CLI::ExistingDirectory);
    cmd->add_flag("--distributed", opt->distributed,
                  "One process of a data-parallel run: reads RANK, WORLD_SIZE, LOCAL_RANK, "
                  "MASTER_ADDR and MASTER_PORT as torchrun sets them (scripts/launch.sh N "
                  "EXPERIMENT starts N here); needs --out or --resume, the same on every rank");
    cmd->callback([opt, &global] {
        RunRequest request;
        if (opt->distributed) {
            request.distributed = distributedOptionsFromEnvironment();
            if (request.distributed->worldSize > 1 && opt->out.empty() && opt->resume.empty()) {
                throw Error(
                    "--distributed: give --out DIR (or --resume DIR): every rank must name the "
                    "same run folder, which rank 0 writes");
            }
        }
        if (!opt->resume.empty()) {
            if (!opt->file.empty() || !opt->preset.empty() || !opt->out.empty()) {
                throw Error(
                    "--resume takes no experiment, --preset or --out: the run directory has them");
            }
            for (const auto& set : opt->sets) {
                const std::string key = set.substr(0, set.find('='));
                if (key != "threads" && key != "device" && key != "checkpoint.every_steps") {
                    throw Error(fmt::format(
                        "--set {}: a resumed run keeps its experiment; only threads, device and "
                        "checkpoint.every_steps may change",
                        key));
                }
            }
            const auto experimentFile = std::filesystem::path(opt->resume) / run_files::kExperiment;
            if (!std::filesystem::exists(experimentFile)) {
                throw Error(fmt::format(
                    "{}: not a resumable run: it has no {} (the run died before it started; "
                    "start it again with --out {})",
                    opt->resume, run_files::kExperiment, opt->resume));
            }
            request.experiment = loadExperimentFile(experimentFile);
            request.runDir = opt->resume;
            request.resume = true;
        } else {
            if (!opt->file.empty() && !opt->preset.empty()) {
                throw Error("give an experiment file or --preset, not both");
            }
            request.experiment = !opt->file.empty()
                                     ? loadExperimentFile(opt->file)
                                     : preset(opt->preset.empty() ? "default" : opt->preset);
        }
        applyOverrides(request.experiment, opt->sets);
        if (global.threads > 0) {
            request.experiment.threads = global.threads;
        }
        // A run refused before it starts (no CUDA, a missing data folder) gives back the folder
        // reserved for it, and runs/ when this made it (#15); with --out nothing was made.
        const std::filesystem::path root = "runs";
        std::filesystem::path reserved;
        std::filesystem::path madeRoot;
        if (request.runDir.empty()) {  // named after the experiment as it will run (#14)
            if (opt->out.empty()) {
                madeRoot = std::filesystem::exists(root) ? std::filesystem::path() : root;
                reserved = newRunFolder(request.experiment, root);
            }
            request.runDir = opt->out.empty() ? reserved.string() : opt->out;
        }
        RunOutcome outcome;
        try {
            outcome = runWithProgress(request);
        } catch (...) {
            if (!reserved.empty()) {
                releaseRunFolder(reserved, madeRoot);
            }
            throw;
        }
        const RunSummary& summary = outcome.summary;
        const bool stopped = outcome.stopped;
        if (request.distributed && request.distributed->rank != 0) {
            if (stopped) {  // the ranks stopped together: every one says so, as rank 0 does
                throw ExitCode{130};
            }
            return;  // rank 0 prints the run (#18)
        }
        printSummary(summary);
        if (stopped) {
            if (request.distributed) {  // resumable with any number of processes
                printOut(
                    "stopped; continue with the same launcher and `dlw run --resume {0} "
                    "--distributed` (scripts/launch.sh {1} --resume {0}), with any number "
                    "of processes, or in one: dlw run --resume {0}\n",
                    shellWord(summary.runDir), request.distributed->worldSize);
            } else {
                printOut("stopped; continue with: dlw run --resume {}\n", summary.runDir);
            }
            throw ExitCode{130};
        }
    });
}

}  // namespace dlw::cli
