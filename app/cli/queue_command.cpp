#include "api/error.h"
#include "api/experiment.h"
#include "api/run_folder.h"
#include "cli/commands.h"
#include "cli/run_support.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dlw::cli {

namespace {

// Every file read and checked before anything runs: a typo in the fifth file should not
// surface an hour into the queue. Prints each bad file and throws ExitCode{2} when any is bad.
std::vector<Experiment> readAll(const std::vector<std::string>& files,
                                const std::vector<std::string>& sets,
                                const GlobalOptions& global) {
    std::vector<Experiment> experiments;
    std::vector<std::string> bad;
    for (const auto& file : files) {
        try {
            Experiment e = loadExperimentFile(file);
            applyOverrides(e, sets);
            if (global.threads > 0) {
                e.threads = global.threads;
            }
            experiments.push_back(e);
        } catch (const Error& err) {
            bad.push_back(err.what());
        }
    }
    if (!bad.empty()) {
        for (const auto& b : bad) {
            printErr("dlw queue: {}\n", b);
        }
        if (bad.size() > 1) {
            printErr("dlw queue: nothing run ({} of {} files are not valid)\n", bad.size(),
                     files.size());
        }
        throw ExitCode{2};
    }
    return experiments;
}

}  // namespace

void addQueueCommand(CLI::App& app, const GlobalOptions& global) {
    auto* cmd = app.add_subcommand(
        "queue", "Run several experiment files one after another, then compare them");
    struct Options {
        std::vector<std::string> files;
        std::vector<std::string> sets;
        std::string outRoot = "runs";
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("experiments", opt->files, "Experiment files (JSON), run in this order")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--set", opt->sets, "Override a key in every experiment (VALUE is JSON)")
        ->allow_extra_args(false);  // one KEY=VALUE per --set; the files stay positional
    cmd->add_option("--out-root", opt->outRoot,
                    "Folder for the run directories (each NAME-METHOD-TIME)");
    cmd->callback([opt, &global] {
        const std::vector<Experiment> experiments = readAll(opt->files, opt->sets, global);
        std::vector<RunRecord> done;
        std::vector<std::string> failed;
        bool stopped = false;
        // Given back with the empty folder of a refused run when this queue made it (#15).
        const std::filesystem::path madeRoot = std::filesystem::exists(opt->outRoot)
                                                   ? std::filesystem::path()
                                                   : std::filesystem::path(opt->outRoot);
        for (std::size_t i = 0; i < experiments.size() && !stopped; ++i) {
            RunRequest request;
            request.experiment = experiments[i];
            const std::string dir = newRunFolder(experiments[i], opt->outRoot).string();
            request.runDir = dir;
            printOut("\n[{}/{}] {}\n", i + 1, experiments.size(), opt->files[i]);
            try {
                const RunOutcome outcome = runWithProgress(request);
                printSummary(outcome.summary);
                stopped = outcome.stopped;
                done.push_back(readRunRecord(dir));
            } catch (const Error& err) {  // a missing dataset, a backbone that does not fit...
                std::fflush(stdout);
                printErr("dlw queue: {}: {}\n", opt->files[i], err.what());
                failed.push_back(opt->files[i]);
                // Refused before it started: no empty folder left in the table's place (#15).
                releaseRunFolder(dir, madeRoot);
            }
        }
        if (!done.empty()) {  // no table of nothing when every run failed
            printOut("\n");
            printRunTable(done, false);
        }
        std::fflush(stdout);
        if (stopped) {
            printOut("stopped; continue the stopped run with: dlw run --resume {}\n",
                     done.back().dir);
            if (done.size() + failed.size() < experiments.size()) {
                printOut("not started: {}\n",
                         fmt::join(opt->files.begin() +
                                       static_cast<std::ptrdiff_t>(done.size() + failed.size()),
                                   opt->files.end(), " "));
            }
            throw ExitCode{130};
        }
        if (!failed.empty()) {
            printErr("dlw queue: {} of {} experiment(s) failed: {}\n", failed.size(),
                     experiments.size(), fmt::join(failed, " "));
            throw ExitCode{1};
        }
    });
}

}  // namespace dlw::cli
