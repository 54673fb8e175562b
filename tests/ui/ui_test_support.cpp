#include "ui/ui_test_support.h"

#include "api/engine.h"
#include "core/engine/engine_test_support.h"
#include "test_support.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QLabel>
#include <QThread>

#include <gtest/gtest.h>

namespace dlw::ui {

bool someLabelSays(const QWidget& widget, const QString& text) {
    for (const auto* label : widget.findChildren<QLabel*>()) {
        if (label->text().contains(text)) {
            return true;
        }
    }
    return false;
}

bool waitFor(const std::function<bool()>& done, int ms) {
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > ms) {
            return false;
        }
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(5);
    }
    return true;
}

Experiment small() {
    Experiment e = test::smallExperiment(MethodKind::DualLora);
    e.name = "ui-small";
    e.data.trainPerClass = 40;
    e.data.testPerClass = 40;
    e.train.epochs = 2;
    e.train.batchSize = 8;
    return e;
}

const std::filesystem::path& finishedRun() {
    static const std::filesystem::path dir = [] {
        const auto d = test::tempDir("ui") / "finished";
        RunControl control;
        test::run(small(), d, control);
        return d;
    }();
    return dir;
}

RunData evaluatedRun(int tasks) {
    RunData data;
    data.tasks = tasks;
    for (int k = 0; k < tasks; ++k) {
        Evaluation ev;
        ev.afterTask = k;  // 0-based, as the engine writes it
        for (int j = 0; j <= k; ++j) {
            ev.accuracy.push_back(30.0 + (7 * j + 3 * k) % 70 + 0.5);
        }
        data.evaluations.push_back(ev);
    }
    return data;
}

}  // namespace dlw::ui

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return dlw::test::runAllTests();
}
