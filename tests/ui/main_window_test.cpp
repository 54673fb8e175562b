// The window: a run stopped and resumed, an experiment file opened, bad input, a dropped folder of
// image lists, 100 classes in 20 tasks, and the engine's numbers in the matrix and the split.
#include "ui/main_window.h"

#include "api/engine.h"
#include "api/run_folder.h"
#include "core/engine/engine_test_support.h"
#include "test_support.h"
#include "ui/engine_runner.h"
#include "ui/experiment_form.h"
#include "ui/launch_dialog.h"
#include "ui/plots.h"
#include "ui/split_view.h"
#include "ui/ui_test_support.h"

#include <cstdlib>
#include <fstream>

#include <QAbstractSpinBox>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QTextBrowser>

#include <gtest/gtest.h>

namespace dlw::ui {
namespace {

TEST(MainWindow, StopLandsWithinOneBatchAndTheRunResumes) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    WindowOptions options;
    options.runsFolder = QString::fromStdString((test::tempDir("ui") / "runs-stop").string());
    MainWindow window(options);
    Experiment e = small();
    e.data.trainPerClass = 400;  // long enough to stop in the middle
    window.form().setExperiment(e);
    window.runNext();
    RunData& data = *window.queue().entry(0).data;
    ASSERT_TRUE(waitFor([&] { return data.steps.size() >= 3; }, 30000));
    window.runner().stop();
    const int64_t stepsAtStop = window.runner().engineSteps();  // read after the flag is set
    EXPECT_EQ(data.state, RunState::Stopping);                  // shown at once
    ASSERT_TRUE(waitFor([&] { return !window.runner().busy(); }, 30000));
    EXPECT_EQ(data.state, RunState::Stopped);
    // The engine may have been inside one batch when the flag was set: at most one more step.
    EXPECT_LE(window.runner().engineSteps(), stepsAtStop + 1);
    EXPECT_EQ(static_cast<int64_t>(data.steps.size()), window.runner().engineSteps());

    // Resume it from the window; it ends where an uninterrupted run ends.
    window.queue().entry(0).resume = true;
    data.state = RunState::Queued;
    window.runNext();
    ASSERT_TRUE(waitFor([&] { return data.finished(); }, 60000));
    ASSERT_EQ(data.state, RunState::Done) << data.error;
    RunControl control;
    EXPECT_EQ(data.summary->accuracyMatrix,
              test::run(e, test::tempDir("ui") / "uninterrupted", control).accuracyMatrix);
    EXPECT_EQ(data.matrix(MatrixKind::ClassIncremental), data.summary->accuracyMatrix);
}

// #17: `dlw-workbench FILE` (what opening a .dlw.json file in a file manager runs) opens the file
// in the setup; a file that does not load leaves the setup alone and says why beneath it.
TEST(MainWindow, OpensAnExperimentFileGivenOnTheCommandLine) {
    WindowOptions options;
    options.runsFolder = QString::fromStdString((test::tempDir("ui") / "runs-open").string());
    MainWindow window(options);
    Experiment e = small();
    e.seed = 7;
    const auto file = test::tempDir("ui") / "opened.dlw.json";
    saveExperimentFile(e, file);
    EXPECT_TRUE(window.openExperiment(QString::fromStdString(file.string())));
    ASSERT_TRUE(window.form().experiment().has_value());
    EXPECT_EQ(toJsonText(*window.form().experiment()), toJsonText(e));
    const auto broken = test::writeBytes(test::tempDir("ui") / "broken.dlw.json", "{\"seed\": 1,");
    EXPECT_FALSE(window.openExperiment(QString::fromStdString(broken.string())));
    EXPECT_EQ(window.form().experiment()->seed, 7U);  // unchanged
    EXPECT_TRUE(someLabelSays(window, QStringLiteral("broken.dlw.json")));
}

// File > New from preset holds every preset of `dlw run --preset`; each one puts exactly that
// experiment in the setup, described by its tooltip.
TEST(MainWindow, EveryPresetOpensFromTheFileMenu) {
    WindowOptions options;
    options.runsFolder = QString::fromStdString((test::tempDir("ui") / "runs-preset").string());
    MainWindow window(options);
    ASSERT_GE(presetNames().size(), 6U);
    for (const auto& name : presetNames()) {
        auto* action = window.findChild<QAction*>("preset-" + QString::fromStdString(name));
        ASSERT_NE(action, nullptr) << name;
        EXPECT_EQ(action->toolTip().toStdString(), presetDescription(name));
        window.form().setExperiment(small());  // something else first
        action->trigger();
        const auto shown = window.form().experiment();
        ASSERT_TRUE(shown.has_value()) << name << ": " << window.form().error().toStdString();
        EXPECT_EQ(toJsonText(*shown), toJsonText(preset(name))) << name;
    }
}

// #18: Run > Run on several processes… saves the setup's experiment and shows the torchrun
// command for it; a folder that cannot take the file is named.
TEST(MainWindow, LaunchDialogSavesTheExperimentAndShowsTheCommand) {
    Experiment e = small();
    e.seed = 11;
    LaunchDialog dialog(e);
    EXPECT_TRUE(dialog.command().isEmpty());
    const auto file = test::tempDir("ui") / "cluster run.dlw.json";
    ASSERT_TRUE(dialog.saveExperimentTo(QString::fromStdString(file.string())));
    EXPECT_EQ(toJsonText(loadExperimentFile(file)), toJsonText(e));
    const std::string one = dialog.command().toStdString();
    EXPECT_NE(one.find("torchrun --standalone --nproc_per_node=2 --no_python dlw run '" +
                       file.string() + "' --distributed --out runs/"),
              std::string::npos)
        << one;
    dialog.setLaunch(3, 8, "gpu-01", 29611);
    const std::string several = dialog.command().toStdString();
    EXPECT_NE(several.find("NODE_RANK=0 … 2"), std::string::npos) << several;
    EXPECT_NE(several.find("--nnodes=3 --nproc_per_node=8 --node_rank=\"$NODE_RANK\" "
                           "--master_addr=gpu-01 --master_port=29611"),
              std::string::npos)
        << several;
    if (const char* shots = std::getenv("DLW_UI_SHOTS")) {  // to look at it
        dialog.show();
        QApplication::processEvents();
        dialog.grab().save(QString::fromUtf8(shots) + "/launch-dialog.png");
    }
    EXPECT_FALSE(dialog.saveExperimentTo("/proc/no-such-folder/x.dlw.json"));
    EXPECT_TRUE(someLabelSays(dialog, QStringLiteral("no-such-folder")));
}

// Bad input found when the run starts fails that row with the reason; the window goes on.
TEST(MainWindow, AMissingDatasetFailsItsRowWithTheReason) {
    WindowOptions options;
    options.runsFolder = QString::fromStdString((test::tempDir("ui") / "runs-bad").string());
    MainWindow window(options);
    Experiment e = small();
    e.data.kind = DataKind::Cifar100;
    e.data.root = (test::tempDir("ui") / "no-cifar-here").string();
    window.form().setExperiment(e);
    window.runNext();
    const auto& entry = window.queue().entry(0);
    ASSERT_TRUE(waitFor([&] { return entry.data->finished(); }, 20000));
    EXPECT_EQ(entry.data->state, RunState::Failed);
    const QString row = QueueModel::describe(entry);
    EXPECT_TRUE(row.contains("failed:") && row.contains("no-cifar-here")) << row.toStdString();
    EXPECT_FALSE(window.runner().busy());
}

// #16: a folder of DomainNet-style image lists dropped on the setup is read as "file-list", and
// the setup says which domains it merged.
TEST(MainWindow, ADroppedFolderOfImageListsIsReadAsFileList) {
    const auto root = test::tempDir("ui") / "lists";
    std::filesystem::create_directories(root);
    for (const std::string domain : {"clipart", "real"}) {
        std::ofstream train(root / (domain + "_train.txt"));
        std::ofstream testList(root / (domain + "_test.txt"));
        for (const std::string cls : {"apple", "bee"}) {
            std::filesystem::create_directories(root / domain / cls);
            for (const std::string part : {"0", "1"}) {
                QImage image(8, 8, QImage::Format_RGB32);
                image.fill(cls == "apple" ? Qt::red : Qt::blue);
                const std::string file = domain + "/" + cls + "/" + part + ".png";
                ASSERT_TRUE(image.save(QString::fromStdString((root / file).string())));
                (part == "0" ? train : testList) << file << (cls == "apple" ? " 0\n" : " 1\n");
            }
        }
    }
    WindowOptions options;
    options.runsFolder = QString::fromStdString((test::tempDir("ui") / "runs-lists").string());
    MainWindow window(options);
    window.form().setValue("sequence.tasks", "1");  // the 2 classes: one task
    window.useDatasetFolder(QString::fromStdString(root.string()));
    const auto e = window.form().experiment();
    ASSERT_TRUE(e.has_value()) << window.form().error().toStdString();
    EXPECT_EQ(e->data.kind, DataKind::FileList);
    EXPECT_EQ(e->data.root, root.string());
    const auto shown = [&] {
        for (const auto* label : window.findChildren<QLabel*>()) {
            if (label->text().contains(QStringLiteral("domains clipart, real"))) {
                return label->text().contains(QStringLiteral("2 classes · 4 train · 4 test"));
            }
        }
        return false;
    };
    EXPECT_TRUE(waitFor(shown, 20000));
}

// #17: an image folder of 100 classes in 10 tasks × 10 (and 20 × 5): the task chips listed
// every class name and squeezed the setup form's fields to half height, and the matrix stayed
// 5 × 5 before the run. DLW_UI_SCALE_SCREENSHOTS=PREFIX saves the window at 5, 10 and 20 tasks.
TEST(MainWindow, AHundredClassesInTwentyTasksKeepTheSetupReadable) {
    const auto root = test::tempDir("ui") / "hundred";
    for (int c = 0; c < 100; ++c) {
        const auto folder = root / ("class_with_a_long_name_" + std::to_string(c));
        std::filesystem::create_directories(folder);
        for (int k = 0; k < 2; ++k) {
            QImage image(8, 8, QImage::Format_RGB32);
            image.fill(QColor::fromHsv((c * 7) % 360, 200, 100 + 50 * k));
            ASSERT_TRUE(image.save(
                QString::fromStdString((folder / (std::to_string(k) + ".png")).string())));
        }
    }
    WindowOptions options;
    options.runsFolder = QString::fromStdString((test::tempDir("ui") / "runs-hundred").string());
    MainWindow window(options);
    window.resize(1600, 1000);
    window.show();
    window.useDatasetFolder(QString::fromStdString(root.string()));
    for (int tasks : {5, 10, 20}) {
        window.form().setValue("sequence.tasks", std::to_string(tasks));
        window.form().setValue("sequence.classes_per_task", std::to_string(100 / tasks));
        ASSERT_TRUE(window.form().experiment().has_value()) << window.form().error().toStdString();
        const QString more = QStringLiteral("+%1 more").arg(100 / tasks - 3);
        const auto chipsShown = [&] {
            for (const auto* label : window.findChildren<QLabel*>()) {
                if (label->text().contains(QStringLiteral("T%1").arg(tasks)) &&
                    label->text().contains(more)) {
                    return true;
                }
            }
            return false;
        };
        ASSERT_TRUE(waitFor(chipsShown, 20000)) << tasks;
        waitFor([] { return false; }, 200);
        for (auto* field : window.form().findChildren<QWidget*>()) {
            const bool inner = qobject_cast<QAbstractSpinBox*>(field->parentWidget()) != nullptr ||
                               qobject_cast<QComboBox*>(field->parentWidget()) != nullptr;
            if ((qobject_cast<QLineEdit*>(field) || qobject_cast<QComboBox*>(field) ||
                 qobject_cast<QAbstractSpinBox*>(field)) &&
                !inner && field->isVisible()) {
                EXPECT_GE(field->height(), field->sizeHint().height())
                    << tasks << " tasks: a squeezed " << field->metaObject()->className();
            }
        }
        EXPECT_DOUBLE_EQ(window.matrixPlot().xAxis->range().upper, tasks + 0.5);
        if (const char* prefix = std::getenv("DLW_UI_SCALE_SCREENSHOTS")) {
            EXPECT_TRUE(
                window.grab().save(QStringLiteral("%1-%2-tasks.png").arg(prefix).arg(tasks)));
        }
    }
}

// The window shows the engine's numbers, and the experiment it saves reproduces them headless.
TEST(MainWindow, MatrixHoldsTheEngineNumbersAndTheSavedExperimentReproducesThem) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    WindowOptions options;
    options.runsFolder = QString::fromStdString((test::tempDir("ui") / "runs-matrix").string());
    options.threads = 1;  // #17: dlw-workbench --threads 1 trained with all cores
    MainWindow window(options);
    Experiment e = small();
    e.threads = 0;  // auto: the command line's choice holds
    window.form().setExperiment(e);
    window.runNext();
    ASSERT_TRUE(waitFor([&] { return window.queue().entry(0).data->finished(); }, 60000));
    window.selectRow(0);
    QCoreApplication::processEvents();
    const auto& entry = window.queue().entry(0);
    ASSERT_EQ(entry.data->state, RunState::Done) << entry.data->error;
    EXPECT_EQ(entry.data->threads, 1);
    const RunRecord record = readRunRecord(entry.runDir);
    EXPECT_EQ(window.matrixPlot().shown(), record.summary.accuracyMatrix);
    // #17: the split the run wrote, as the window shows it: every task, its classes and counts.
    const auto split = readRunSplit(entry.runDir);
    ASSERT_TRUE(split.has_value());
    const QString html = splitHtml(*split);
    EXPECT_EQ(split->tasks.size(), 3U);
    EXPECT_TRUE(html.contains(QStringLiteral("<b>80</b>")))  // 2 classes × 40 training images
        << html.toStdString();
    EXPECT_TRUE(
        html.contains(QString::fromStdString(split->tasks[2].classNames[1]).toHtmlEscaped()));
    if (const char* shot = std::getenv("DLW_UI_SPLIT_SCREENSHOT")) {
        QTextBrowser view;
        view.setHtml(html);
        view.resize(900, 300);
        view.show();
        EXPECT_TRUE(view.grab().save(QString::fromUtf8(shot)));
    }

    // Right-click exports: PNG, PDF, and the CSV of exactly the matrix shown.
    const auto dir = test::tempDir("ui");
    QString error;
    for (const char* name : {"matrix.png", "matrix.pdf", "matrix.csv"}) {
        const QString path = QString::fromStdString((dir / name).string());
        EXPECT_TRUE(window.matrixPlot().exportTo(path, &error)) << error.toStdString();
        EXPECT_GT(std::filesystem::file_size(dir / name), 40U) << name;
    }
    const std::string csv = window.matrixPlot().csv().toStdString();
    EXPECT_EQ(csv.rfind("after_task,task_1,task_2,task_3\n1,", 0), 0U) << csv;
    const double last = *record.summary.accuracyMatrix.back().back();
    EXPECT_NE(csv.find(QString::number(last, 'g', 6).toStdString()), std::string::npos) << csv;
    EXPECT_FALSE(
        window.matrixPlot().exportTo(QString::fromStdString((dir / "m.bmp").string()), &error));
    EXPECT_TRUE(error.contains("unknown format"));

    const auto file = test::tempDir("ui") / "from-window.json";
    saveExperimentFile(*window.form().experiment(), file);
    RunControl control;
    Experiment saved = loadExperimentFile(file);
    saved.threads = 1;  // as the window ran it (a sum over other threads may round otherwise)
    const auto headless = test::run(saved, test::tempDir("ui") / "headless", control);
    EXPECT_EQ(headless.accuracyMatrix, record.summary.accuracyMatrix);
}

}  // namespace
}  // namespace dlw::ui
