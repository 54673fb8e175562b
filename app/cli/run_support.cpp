#include "cli/run_support.h"

#include "api/error.h"
#include "api/run_table.h"
#include "cli/commands.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>
#include <set>
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

// A CSV field as RFC 4180 wants it: quoted (quotes doubled) when it holds a comma, a quote or a
// line break, e.g. an experiment named `a,"b"` (#14).
std::string csvCell(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) {
        return text;
    }
    std::string out = "\"";
    for (const char c : text) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

std::string fmtOpt(const std::optional<double>& v, const char* suffix = "") {
    return v ? fmt::format("{:.2f}{}", *v, suffix) : std::string("-");
}

// Progress on a terminal: one rewritten line with a bar and ETA; otherwise a line per epoch.
class Progress {
public:
    // `precision` is the experiment's: RunStarted does not carry it, and a run's precision
    // must be visible in its console output (#15).
    Progress(bool terminal, Precision precision, std::vector<std::string> domains)
        : terminal_(terminal), precision_(precision), domains_(std::move(domains)) {}

    void operator()(const Event& event) {
        if (const auto* s = std::get_if<RunStarted>(&event)) {
            tasks_ = s->tasks;
            printOut("run {}: {} on {}, {} ({} thread(s)), {} tasks\n", s->runDir, s->method,
                     s->device, toString(precision_), s->threads, s->tasks);
            for (std::size_t t = 0; t < s->taskClasses.size(); ++t) {  // a few names each
                constexpr std::size_t kShown = 6;
                const auto& names = s->taskClasses[t];
                std::vector<std::string> shown(names.begin(),
                                               names.begin() + std::min(kShown, names.size()));
                printOut("  task {}{}: {}{}\n", t + 1,
                         t < domains_.size() ? " (" + domains_[t] + ")" : std::string(),
                         fmt::join(shown, ", "),
                         names.size() > kShown ? fmt::format(", … ({} classes)", names.size())
                                               : std::string());
            }
            // TF32 is a mode of CUDA's tensor cores: on the CPU the setting silently did nothing.
            if (precision_ == Precision::Tf32 && s->device.rfind("cuda", 0) != 0) {
                printErr(
                    "warning: precision \"tf32\" acts on CUDA matmuls only; on {} this run "
                    "computes in fp32\n",
                    s->device);
            }
            start_ = std::chrono::steady_clock::now();
        } else if (const auto* t = std::get_if<TaskStarted>(&event)) {
            task_ = t->task;
            totalSteps_ = t->stepsPerEpoch * t->epochs;
            epochs_ = t->epochs;
            taskSteps_ = t->epoch * t->stepsPerEpoch + t->batch;
            stepsAtStart_ = taskSteps_;
            taskStart_ = std::chrono::steady_clock::now();
            if (t->resumed) {
                printOut("resuming task {}/{} at epoch {}/{}, batch {}/{}\n", task_ + 1, tasks_,
                         t->epoch + 1, t->epochs, t->batch, t->stepsPerEpoch);
            }
        } else if (const auto* st = std::get_if<StepFinished>(&event)) {
            ++taskSteps_;
            if (terminal_) {
                drawBar(*st);
            }
        } else if (const auto* ep = std::get_if<EpochFinished>(&event)) {
            if (!terminal_) {
                printOut("task {}/{} epoch {}/{}: loss {:.4f}, {:.0f} img/s\n", task_ + 1, tasks_,
                         ep->epoch + 1, epochs_, ep->meanLoss, ep->imagesPerSecond);
            }
        } else if (const auto* ev = std::get_if<Evaluation>(&event)) {
            printOut(
                "{}after task {}: accuracy [{:.1f}]  task-id {:.1f} %  ECE raw {} cal {}  "
                "unfamiliar {}\n",
                terminal_ ? "\r\033[K" : "", ev->afterTask + 1, fmt::join(ev->accuracy, ", "),
                ev->taskIdAccuracy.empty() ? 0.0 : mean(ev->taskIdAccuracy),
                fmtOpt(ev->eceRaw, " %"), fmtOpt(ev->eceCalibrated, " %"),
                fmtOpt(ev->unfamiliarShare, " %"));
        } else if (const auto* tf = std::get_if<TaskFinished>(&event)) {
            if (tf->syncSeconds > 0) {  // #18: what the process group costs
                printOut(
                    "task {}/{}: training {:.1f} s, of which summing gradients over the "
                    "processes {:.1f} s ({:.0f} %)\n",
                    tf->task + 1, tasks_, tf->trainSeconds, tf->syncSeconds,
                    100.0 * tf->syncSeconds / std::max(tf->trainSeconds, 1e-9));
            }
        } else if (const auto* w = std::get_if<Warning>(&event)) {
            printErr("{}warning: {}\n", terminal_ ? "\r\033[K" : "", w->message);
        } else if (const auto* sk = std::get_if<FilesSkipped>(&event)) {
            for (const auto& f : sk->files) {  // every one: the user must be able to find them
                printErr("skipped: {}{}: {}\n", f.file,
                         f.index >= 0 ? fmt::format(" record {}", f.index) : "", f.reason);
            }
            printErr("{} dataset file(s) skipped (listed above and in events.jsonl)\n",
                     sk->files.size());
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
        printOut(
            "\r\033[Ktask {}/{} epoch {}/{} [{}{}] {:3.0f} %  loss {:.4f}  ETA {:.0f}:{:02.0f}",
            task_ + 1, tasks_, st.epoch + 1, epochs_,
            std::string(static_cast<std::size_t>(filled), '#'),
            std::string(static_cast<std::size_t>(width - filled), '.'), 100 * frac, st.loss,
            std::floor(eta / 60), std::fmod(eta, 60.0));
    }

    bool terminal_;
    Precision precision_;
    std::vector<std::string> domains_;  // sequence.domains
    int tasks_ = 0;
    int task_ = 0;
    int epochs_ = 0;
    int64_t totalSteps_ = 0;
    int64_t taskSteps_ = 0;
    int64_t stepsAtStart_ = 0;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point taskStart_;
};

}  // namespace

std::string tableCell(const std::string& text) {
    std::string out = text;
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
            c = ' ';
        }
    }
    return out;
}

void printSummary(const RunSummary& s) {
    printOut("\nsummary ({}):\n", s.runDir);
    printOut("  A_T {:.2f} %   Ā {:.2f} %   BWT {}   mean forgetting {}\n", s.metrics.finalAccuracy,
             s.metrics.averageIncrementalAccuracy, fmtOpt(s.metrics.bwt),
             fmtOpt(s.metrics.meanForgetting));
    printOut("  task-id accuracy {}   ECE raw {}   calibrated {}   unfamiliar {}\n",
             fmtOpt(s.taskIdAccuracy, " %"), fmtOpt(s.eceRaw, " %"), fmtOpt(s.eceCalibrated, " %"),
             fmtOpt(s.unfamiliarShare, " %"));
    if (s.trainSeconds > 0) {
        printOut("  training {:.1f} s, {:.0f} img/s, {} trainable parameters\n", s.trainSeconds,
                 s.imagesPerSecond, s.trainableParameters);
    } else {  // ranpac without first-session adaptation: closed-form heads only
        printOut("  no gradient steps, {} trainable parameters\n", s.trainableParameters);
    }
}

RunOutcome runWithProgress(const RunRequest& request) {
    RunControl control;
    gControl = &control;
    auto previous = std::signal(SIGINT, onInterrupt);
    Progress progress(::isatty(STDOUT_FILENO) != 0, request.experiment.precision,
                      request.experiment.sequence.domains);
    RunOutcome outcome;
    try {
        outcome.summary = runExperiment(request, control, [&](const Event& ev) {
            progress(ev);
            if (const auto* f = std::get_if<RunFinished>(&ev)) {
                outcome.stopped = f->stopped;
            }
        });
    } catch (...) {
        std::signal(SIGINT, previous);
        gControl = nullptr;
        throw;
    }
    std::signal(SIGINT, previous);
    gControl = nullptr;
    return outcome;
}

nlohmann::ordered_json runRecordJson(const RunRecord& r) {
    auto opt = [](const std::optional<double>& v) {
        return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
    };
    const auto& s = r.summary;
    return {{"run", r.dir},
            {"name", r.name},
            {"method", r.method},
            {"variant", r.variant},
            {"seed", r.seed},
            {"completed", r.completed},
            {"final_accuracy", s.metrics.finalAccuracy},
            {"average_incremental_accuracy", s.metrics.averageIncrementalAccuracy},
            {"bwt", opt(s.metrics.bwt)},
            {"mean_forgetting", opt(s.metrics.meanForgetting)},
            {"task_aware_final_accuracy", opt(r.taskAwareFinal)},
            {"task_id_accuracy", opt(s.taskIdAccuracy)},
            {"ece_raw", opt(s.eceRaw)},
            {"ece_calibrated", opt(s.eceCalibrated)},
            {"unfamiliar_share", opt(s.unfamiliarShare)},
            {"train_seconds", s.trainSeconds},
            {"trainable_parameters", s.trainableParameters}};
}

void printAligned(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& left,
                  const std::string& indent) {
    const auto width = [](const std::string& text) {
        return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
            return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation byte
        }));
    };
    std::vector<std::size_t> widths(left.size(), 0);
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            widths[i] = std::max(widths[i], width(row[i]));
        }
    }
    for (const auto& row : rows) {
        std::string line = indent;
        for (std::size_t i = 0; i < row.size(); ++i) {
            const std::string pad(widths[i] - width(row[i]), ' ');
            const bool last = i + 1 == row.size();
            line += (i == 0 ? "" : "  ") + (left[i] ? row[i] + (last ? "" : pad) : pad + row[i]);
        }
        printOut("{}\n", line);
    }
}

void printRunTable(const std::vector<RunRecord>& runs, bool csv) {
    std::vector<std::vector<std::string>> rows = {{"method", "seed", "A_T", "A_avg", "BWT",
                                                   "forget", "TA_A_T", "task-id", "ECE_raw",
                                                   "ECE_cal", "unfam", "seconds", "params", "run"}};
    // CSV leaves a missing value empty; the table shows "-".
    const auto cell = [&](const std::optional<double>& v) {
        return v ? fmt::format("{:.2f}", *v) : std::string(csv ? "" : "-");
    };
    for (const auto& r : runs) {
        const auto& s = r.summary;
        rows.push_back({csv ? csvCell(r.variant) : tableCell(r.variant) + (r.completed ? "" : "*"),
                        std::to_string(r.seed), cell(s.metrics.finalAccuracy),
                        cell(s.metrics.averageIncrementalAccuracy), cell(s.metrics.bwt),
                        cell(s.metrics.meanForgetting), cell(r.taskAwareFinal),
                        cell(s.taskIdAccuracy), cell(s.eceRaw), cell(s.eceCalibrated),
                        cell(s.unfamiliarShare), fmt::format("{:.1f}", s.trainSeconds),
                        std::to_string(s.trainableParameters),
                        csv ? csvCell(r.dir) : tableCell(r.dir)});
    }
    if (csv) {
        for (const auto& row : rows) {
            printOut("{}\n", fmt::join(row, ","));
        }
        return;
    }
    std::vector<bool> left(rows.front().size(), false);
    left.front() = left.back() = true;
    printAligned(rows, left);
    if (std::any_of(runs.begin(), runs.end(), [](const auto& r) { return !r.completed; })) {
        printOut("* stopped before its last task: metrics after the last trained task\n");
    }
}

void printGroupedTable(const std::vector<RunRecord>& runs, bool csv) {
    const auto& columns = runColumns();
    if (csv) {
        printOut("experiment,method,runs");
        for (const auto& c : columns) {
            printOut(",{0}_mean,{0}_sd", c.header);
        }
        printOut("\n");
        for (const auto& group : groupRuns(runs)) {
            printOut("{},{},{}", csvCell(group.name), csvCell(group.label), group.runs.size());
            for (const auto& c : columns) {
                const auto stats = columnStats(c, group.runs);
                if (stats) {
                    printOut(",{:.4f},{:.4f}", stats->mean, stats->sd);
                } else {
                    printOut(",,");  // CSV leaves a missing value empty
                }
            }
            printOut("\n");
        }
        return;
    }
    std::vector<std::vector<std::string>> rows{{"experiment", "method", "runs"}};
    for (const auto& c : columns) {
        rows.front().push_back(c.header);
    }
    for (const auto& group : groupRuns(runs)) {
        rows.push_back(
            {tableCell(group.name), tableCell(group.label), std::to_string(group.runs.size())});
        for (const auto& c : columns) {
            const auto stats = columnStats(c, group.runs);
            rows.back().push_back(stats ? statsText(c, *stats, group.runs.size()) : "-");
        }
    }
    std::vector<bool> left(rows.front().size(), false);
    left[0] = left[1] = true;
    printAligned(rows, left);
}

}  // namespace dlw::cli
