// GUI responsiveness while training (issue 5): the window runs the `default` experiment while a
// 10 ms timer on the GUI thread records how late each tick fires; prints the delay percentiles.
// The goal is a p99 under 50 ms. Runs offscreen unless QT_QPA_PLATFORM is set.
#include "ui/engine_runner.h"
#include "ui/main_window.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include <QApplication>
#include <QElapsedTimer>
#include <QTimer>

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;
    dlw::ui::WindowOptions options;
    options.runsFolder = QStringLiteral("bench-gui-runs");
    dlw::ui::MainWindow window(options);
    window.show();
    window.runNext();  // the default experiment, as one click on Run starts it

    std::vector<double> lateMs;
    QElapsedTimer clock;
    clock.start();
    qint64 last = clock.nsecsElapsed();
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    tick.setInterval(10);
    QObject::connect(&tick, &QTimer::timeout, [&] {
        const qint64 now = clock.nsecsElapsed();
        lateMs.push_back(std::max(0.0, (now - last) / 1e6 - 10.0));
        last = now;
        if (now > static_cast<qint64>(seconds) * 1'000'000'000) {
            window.runner().stop();
            QTimer::singleShot(0, &app, &QCoreApplication::quit);
        }
    });
    tick.start();
    QApplication::exec();
    std::sort(lateMs.begin(), lateMs.end());
    auto pct = [&](double p) {
        return lateMs.empty() ? 0.0
                              : lateMs[std::min(lateMs.size() - 1,
                                                static_cast<std::size_t>(p * lateMs.size()))];
    };
    const auto& data = *window.runner().data();
    std::printf(
        "GUI event-loop delay over %d s of training (%zu ticks of 10 ms, %zu steps, "
        "%zu tasks evaluated)\n",
        seconds, lateMs.size(), data.steps.size(), data.evaluations.size());
    std::printf("p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms\n", pct(0.5), pct(0.9),
                pct(0.99), lateMs.empty() ? 0.0 : lateMs.back());
    return 0;
}
