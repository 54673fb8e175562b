#include "api/engine.h"
#include "api/error.h"
#include "api/experiment.h"
#include "cli/commands.h"

#include <chrono>
#include <csignal>
#include <ctime>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

namespace dlw::cli {
namespace {

RunControl* gControl = nullptr;  // for the SIGINT handler only

void onInterrupt(int /*signal*/) {
    if (gControl != nullptr && !gControl->stop.load()) {
        gControl->stop.store(true);  // finish the current batch, then stop (resumable)
        return;
    }
    std::_Exit(130);  // second Ctrl-C: leave now
}

std::string defaultRunDir(const Experiment& e) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    return fmt::format("runs/{}-{}-{}", e.name, toString(e.method.name), stamp);
}

std::string fmtOpt(const std::optional<double>& v, const char* suffix = "") {
    return v ? fmt::format("{:.2f}{}", *v, suffix) : std::string("-");
}

// Progress on a terminal: one rewritten line with a bar and ETA; otherwise a line per epoch.
class Progress {
public:
    explicit Progress(bool terminal) : terminal_(terminal) {}

    void operator()(const Event& event) {
        if (const auto* s = std::get_if<RunStarted>(&event)) {
            tasks_ = s->tasks;
            fmt::print("run {}: {} on {} ({} thread(s)), {} tasks\n", s->runDir, s->method,
                       s->device, s->threads, s->tasks);
            start_ = std::chrono::steady_clock::now();
        } else if (const auto* t = std::get_if<TaskStarted>(&event)) {
            task_ = t->task;
            totalSteps_ = t->stepsPerEpoch * t->epochs;
            epochs_ = t->epochs;
            taskSteps_ = t->epoch * t->stepsPerEpoch + t->batch;
            stepsAtStart_ = taskSteps_;
            taskStart_ = std::chrono::steady_clock::now();
            if (t->resumed) {
                fmt::print("resuming task {}/{} at epoch {}/{}, batch {}/{}\n", task_ + 1, tasks_,
                           t->epoch + 1, t->epochs, t->batch, t->stepsPerEpoch);
            }
        } else if (const auto* st = std::get_if<StepFinished>(&event)) {
            ++taskSteps_;
            if (terminal_) {
                drawBar(*st);
            }
        } else if (const auto* ep = std::get_if<EpochFinished>(&event)) {
            if (!terminal_) {
                fmt::print("task {}/{} epoch {}/{}: loss {:.4f}, {:.0f} img/s\n", task_ + 1, tasks_,
                           ep->epoch + 1, epochs_, ep->meanLoss, ep->imagesPerSecond);
            }
        } else if (const auto* ev = std::get_if<Evaluation>(&event)) {
            fmt::print("{}after task {}: accuracy [{:.1f}]  task-id {:.1f} %  ECE raw {} cal {}\n",
                       terminal_ ? "\r\033[K" : "", ev->afterTask + 1,
                       fmt::join(ev->accuracy, ", "),
                       ev->taskIdAccuracy.empty() ? 0.0 : mean(ev->taskIdAccuracy),
                       fmtOpt(ev->eceRaw, " %"), fmtOpt(ev->eceCalibrated, " %"));
        } else if (const auto* w = std::get_if<Warning>(&event)) {
            fmt::print(stderr, "{}warning: {}\n", terminal_ ? "\r\033[K" : "", w->message);
        }
        std::fflush(stdout);
    }

private:
    static double mean(const std::vector<double>& v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return v.empty() ? 0 : s / static_cast<double>(v.size());
    }

    void drawBar(const StepFinished& st) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - taskStart_).count();
        const double frac = totalSteps_ > 0
                                ? static_cast<double>(taskSteps_) / static_cast<double>(totalSteps_)
                                : 0;
        const auto done = static_cast<double>(taskSteps_ - stepsAtStart_);  // in this process
        const double eta =
            done > 0 ? elapsed / done * static_cast<double>(totalSteps_ - taskSteps_) : 0;
        const int width = 30;
        const int filled = static_cast<int>(frac * width);
        fmt::print(
            "\r\033[Ktask {}/{} epoch {}/{} [{}{}] {:3.0f} %  loss {:.4f}  ETA {:.0f}:{:02.0f}",
            task_ + 1, tasks_, st.epoch + 1, epochs_,
            std::string(static_cast<std::size_t>(filled), '#'),
            std::string(static_cast<std::size_t>(width - filled), '.'), 100 * frac, st.loss,
            std::floor(eta / 60), std::fmod(eta, 60.0));
    }

    bool terminal_;
    int tasks_ = 0;
    int task_ = 0;
    int epochs_ = 0;
    int64_t totalSteps_ = 0;
    int64_t taskSteps_ = 0;
    int64_t stepsAtStart_ = 0;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point taskStart_;
};

void printSummary(const RunSummary& s) {
    fmt::print("\nsummary ({}):\n", s.runDir);
    fmt::print("  A_T {:.2f} %   Ā {:.2f} %   BWT {}   mean forgetting {}\n",
               s.metrics.finalAccuracy, s.metrics.averageIncrementalAccuracy, fmtOpt(s.metrics.bwt),
               fmtOpt(s.metrics.meanForgetting));
    fmt::print("  task-id accuracy {}   ECE raw {}   calibrated {}\n",
               fmtOpt(s.taskIdAccuracy, " %"), fmtOpt(s.eceRaw, " %"),
               fmtOpt(s.eceCalibrated, " %"));
    fmt::print("  training {:.1f} s, {:.0f} img/s, {} trainable parameters\n", s.trainSeconds,
               s.imagesPerSecond, s.trainableParameters);
}

}  // namespace

void addRunCommand(CLI::App& app, const GlobalOptions& global) {
    auto* cmd = app.add_subcommand(
        "run", "Train an experiment's task sequence and write its run directory");
    struct Options {
        std::string file;
        std::string preset;
        std::vector<std::string> sets;
        std::string out;
        std::string resume;
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("experiment", opt->file, "Experiment file (JSON)")->check(CLI::ExistingFile);
    cmd->add_option("--preset", opt->preset,
                    "Start from a preset: default, cifar100-10, imagenet-r-10");
    cmd->add_option("--set", opt->sets,
                    "Override a key: --set method.name=inflora (VALUE is JSON)");
    cmd->add_option("--out", opt->out, "Run directory to create (default runs/NAME-METHOD-TIME)");
    cmd->add_option("--resume", opt->resume,
                    "Continue the run in this directory from its last checkpoint")
        ->check(CLI::ExistingDirectory);
    cmd->callback([opt, &global] {
        RunRequest request;
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
            request.experiment =
                loadExperimentFile(std::filesystem::path(opt->resume) / "experiment.json");
            request.runDir = opt->resume;
            request.resume = true;
        } else {
            if (!opt->file.empty() && !opt->preset.empty()) {
                throw Error("give an experiment file or --preset, not both");
            }
            request.experiment = !opt->file.empty()
                                     ? loadExperimentFile(opt->file)
                                     : preset(opt->preset.empty() ? "default" : opt->preset);
            request.runDir = opt->out.empty() ? defaultRunDir(request.experiment) : opt->out;
        }
        applyOverrides(request.experiment, opt->sets);
        if (global.threads > 0) {
            request.experiment.threads = global.threads;
        }
        RunControl control;
        gControl = &control;
        std::signal(SIGINT, onInterrupt);
        Progress progress(::isatty(STDOUT_FILENO) != 0);
        bool stopped = false;
        const RunSummary summary = runExperiment(request, control, [&](const Event& ev) {
            progress(ev);
            if (const auto* f = std::get_if<RunFinished>(&ev)) {
                stopped = f->stopped;
            }
        });
        gControl = nullptr;
        printSummary(summary);
        if (stopped) {
            fmt::print("stopped; continue with: dlw run --resume {}\n", summary.runDir);
            throw ExitCode{130};
        }
    });
}

}  // namespace dlw::cli
