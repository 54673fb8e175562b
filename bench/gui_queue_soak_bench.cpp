// The long queue through the window (#14), offscreen: N small experiments in the window's
// queue, started with its Run button, while a timer presses Pause, Stop, Stop after task and
// Resume at seeded random moments, as a user would. At the end: every run done, every step of
// every events.jsonl in the window's plots data (no lost event), no stall longer than --stall
// seconds, resident memory after each run and whether it stays within 10 % after the warm-up.
//   build/bench/dlw_bench_gui_queue [RUNS (30)] [WARMUP (5)]
#include "queue_soak_support.h"
#include "ui/engine_runner.h"
#include "ui/main_window.h"
#include "ui/queue_model.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include <QApplication>
#include <QElapsedTimer>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTimer>

namespace {

using namespace dlw;
using namespace dlw::ui;

QPushButton* button(QWidget& window, const QString& text) {
    for (auto* b : window.findChildren<QPushButton*>()) {
        if (b->text() == text) {
            return b;
        }
    }
    std::printf("no button '%s'\n", qPrintable(text));
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
    const int warmup = argc > 2 ? std::max(0, std::atoi(argv[2])) : 5;
    const double stallSeconds = 120;
    QTemporaryDir folder;
    WindowOptions options;
    options.runsFolder = folder.path() + QStringLiteral("/runs");
    MainWindow window(options);
    window.show();
    for (int i = 0; i < runs; ++i) {
        QueueEntry entry;
        entry.experiment = bench::queueExperiment(i, /*threads=*/1);
        window.queue().add(std::move(entry));
    }
    auto* run = button(window, QObject::tr("Run ▶"));
    auto* pause = button(window, QObject::tr("Pause"));
    auto* stop = button(window, QObject::tr("Stop"));
    auto* stopAfter = button(window, QObject::tr("Stop after task"));
    auto* resume = button(window, QObject::tr("Resume"));
    run->click();

    std::mt19937 rng(14);
    std::uniform_int_distribution<int> dice(0, 999);
    int stops = 0;
    int pauses = 0;
    int doneCount = 0;
    double baseline = 0;
    double highest = 0;
    int64_t lastProgress = 0;
    QElapsedTimer sinceProgress;
    sinceProgress.start();
    bool stalled = false;
    QTimer tick;
    tick.setInterval(50);
    QObject::connect(&tick, &QTimer::timeout, [&] {
        int done = 0;
        int64_t progress = 0;
        int stoppedRow = -1;
        for (int r = 0; r < window.queue().rowCount(); ++r) {
            const auto& d = *window.queue().entry(r).data;
            done += d.state == RunState::Done ? 1 : 0;
            progress += static_cast<int64_t>(d.steps.size()) + (d.finished() ? 1 : 0);
            if (d.state == RunState::Stopped && stoppedRow < 0) {
                stoppedRow = r;
            }
        }
        while (doneCount < done) {  // memory after each finished run
            ++doneCount;
            const double rss = bench::residentMiB();
            std::printf("run %2d done   RSS %6.1f MiB\n", doneCount, rss);
            std::fflush(stdout);
            if (doneCount == warmup) {
                baseline = rss;
            } else if (doneCount > warmup) {
                highest = std::max(highest, rss);
            }
        }
        if (progress != lastProgress) {
            lastProgress = progress;
            sinceProgress.restart();
        } else if (sinceProgress.elapsed() > stallSeconds * 1000) {
            stalled = true;
            QCoreApplication::quit();
        }
        const bool busy = window.runner().busy();
        if (done == runs && !busy) {
            QCoreApplication::quit();
            return;
        }
        if (!busy && stoppedRow >= 0) {  // a stopped run: select it and press Resume
            window.selectRow(stoppedRow);
            resume->click();
            return;
        }
        if (!busy && window.queue().nextQueued() >= 0) {
            run->click();  // a stop halts the queue until Run is pressed again
            return;
        }
        const int roll = dice(rng);
        if (pause->isChecked()) {
            if (roll < 300) {
                pause->click();  // unpause
            }
        } else if (roll < 40) {
            pause->click();
            ++pauses;
        } else if (roll < 60) {
            stop->click();
            ++stops;
        } else if (roll < 70) {
            stopAfter->click();
            ++stops;
        }
    });
    tick.start();
    QElapsedTimer clock;
    clock.start();
    QApplication::exec();

    int lost = 0;
    for (int r = 0; r < window.queue().rowCount(); ++r) {
        const auto& entry = window.queue().entry(r);
        std::set<int64_t> delivered;
        for (const auto& s : entry.data->steps) {
            delivered.insert(s.step);
        }
        const std::string problem = entry.data->state != RunState::Done
                                        ? "not done"
                                        : bench::checkDelivered(entry.runDir, delivered);
        if (!problem.empty()) {
            std::printf("run %2d: %s\n", r + 1, problem.c_str());
            ++lost;
        }
    }
    std::printf(
        "%d runs through the window, %d pauses, %d stops resumed, %.0f s, %s, %d run(s) "
        "with a problem\n",
        runs, pauses, stops, clock.elapsed() / 1000.0, stalled ? "STALLED" : "no stall", lost);
    int failures = lost + (stalled ? 1 : 0);
    if (baseline > 0 && highest > 0) {
        const double growth = 100.0 * (highest - baseline) / baseline;
        std::printf(
            "resident memory after run %d: %.1f MiB; highest after it: %.1f MiB (%+.1f %%, "
            "%s)\n",
            warmup, baseline, highest, growth, growth <= 10.0 ? "flat within 10 %" : "GREW");
        failures += growth <= 10.0 ? 0 : 1;
    }
    return failures == 0 ? 0 : 1;
}
