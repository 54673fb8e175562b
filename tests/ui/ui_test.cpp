// The workbench's GUI pieces, offscreen (QT_QPA_PLATFORM=offscreen unless set): the queue model,
// the experiment form's save/open round trip, drops on the prediction panel, a run started and
// stopped from the window, and that the window shows the engine's numbers.
#include "api/engine.h"
#include "api/error.h"
#include "api/experiment.h"
#include "api/run_folder.h"
#include "core/engine/engine_test_support.h"
#include "test_support.h"
#include "ui/compare_view.h"
#include "ui/engine_runner.h"
#include "ui/experiment_form.h"
#include "ui/main_window.h"
#include "ui/plots.h"
#include "ui/predict_panel.h"
#include "ui/queue_model.h"
#include "ui/queue_policy.h"
#include "ui/report.h"
#include "ui/split_view.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>

#include <QAbstractSpinBox>
#include <QApplication>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QSpinBox>
#include <QTextBrowser>
#include <QTextDocument>
#include <QThread>
#include <QUrl>

#include <gtest/gtest.h>

namespace dlw::ui {
namespace {

// Processes events until `done` or `ms` pass.
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

using test::haveFashionMnist;

// The engine tests' small experiment (28×28 grey fixture backbone, 3 tasks × 2 classes), a bit
// longer: 40 images a class, 2 epochs of batches of 8.
Experiment small() {
    Experiment e = test::smallExperiment(MethodKind::DualLora);
    e.name = "ui-small";
    e.data.trainPerClass = 40;
    e.data.testPerClass = 40;
    e.train.epochs = 2;
    e.train.batchSize = 8;
    return e;
}

TEST(QueueModel, ReordersQueuedRowsAndDescribesStates) {
    QueueModel model;
    for (auto m : {MethodKind::DualLora, MethodKind::InfLora, MethodKind::Joint}) {
        QueueEntry entry;
        entry.experiment.method.name = m;
        model.add(std::move(entry));
    }
    EXPECT_TRUE(model.moveEntry(2, 0));  // joint first
    EXPECT_EQ(model.entry(0).experiment.method.name, MethodKind::Joint);
    EXPECT_EQ(model.entry(1).experiment.method.name, MethodKind::DualLora);
    EXPECT_TRUE(model.moveEntry(0, 3));  // and last again
    EXPECT_EQ(model.entry(2).experiment.method.name, MethodKind::Joint);
    // A drag of row 2 dropped before row 0, as the list view does it.
    std::unique_ptr<QMimeData> mime(model.mimeData({model.index(2)}));
    EXPECT_FALSE(model.dropMimeData(mime.get(), Qt::MoveAction, 0, 0, {}))
        << "the model moves the row itself; the view must not remove the source";
    EXPECT_EQ(model.entry(0).experiment.method.name, MethodKind::Joint);
    EXPECT_TRUE(model.moveRows({}, 0, 1, {}, 3));  // as QListView moves it back
    EXPECT_EQ(model.entry(2).experiment.method.name, MethodKind::Joint);
    model.entry(0).data->state = RunState::Running;
    EXPECT_FALSE(model.moveEntry(0, 2)) << "a running row stays where it is";
    EXPECT_FALSE(model.remove(0));
    EXPECT_EQ(model.nextQueued(), 1);
    model.entry(1).data->state = RunState::Failed;
    model.entry(1).data->error = "data.root: no such folder";
    EXPECT_TRUE(QueueModel::describe(model.entry(1)).contains("failed: data.root: no such folder"));
    // #14: a name that is not UTF-8 reads caf\xE9 in the window too (was U+FFFD).
    model.entry(1).data->error = "/data/caf\xe9: no such folder";
    EXPECT_TRUE(QueueModel::describe(model.entry(1)).contains("failed: /data/caf\\xE9: no such"))
        << QueueModel::describe(model.entry(1)).toStdString();
    EXPECT_TRUE(QueueModel::describe(model.entry(2)).endsWith("queued"));
    EXPECT_EQ(model.nextQueued(), 2);
    EXPECT_TRUE(model.remove(1));
    EXPECT_EQ(model.rowCount(), 2);
}

// #17: the queue's policy, without a window: the comparison set, halting, the request of a row
// (run folder, resume, the command line's threads), runs of the same sequence, and past runs
// read back with a broken folder listed as failed with why.
TEST(QueuePolicy, DecidesWhatRunsNextAndHowWithoutAWindow) {
    const auto folder = test::tempDir("ui") / "policy-runs";
    QueueModel queue;
    QueuePolicy policy(queue, QString::fromStdString(folder.string()), 2);
    Experiment e = small();
    e.method.gate = GateMode::Soft;
    const auto set = QueuePolicy::comparisonSet(e);
    ASSERT_EQ(set.size(), 6U);
    EXPECT_EQ(set[0].method.name, MethodKind::DualLora);
    EXPECT_EQ(set[0].method.gate, GateMode::Soft);
    EXPECT_EQ(set[3].method.name, MethodKind::RanPac);
    EXPECT_EQ(set[5].method.name, MethodKind::Joint);
    for (const auto& m : set) {
        EXPECT_EQ(QueuePolicy::sequenceKey(m), QueuePolicy::sequenceKey(e));
        EXPECT_EQ(m.method.gate == GateMode::Soft, m.method.name == MethodKind::DualLora);
    }
    Experiment otherSeed = e;
    otherSeed.seed = 1;
    EXPECT_NE(QueuePolicy::sequenceKey(otherSeed), QueuePolicy::sequenceKey(e));

    policy.enqueueComparison(e);
    const int lone = policy.enqueue(otherSeed);
    EXPECT_EQ(queue.rowCount(), 7);
    EXPECT_EQ(policy.next(), 0);
    EXPECT_EQ(policy.sameSequence(queue.entry(0).data.get()).size(), 6U);
    EXPECT_EQ(policy.sameSequence(queue.entry(lone).data.get()).size(), 1U);
    EXPECT_TRUE(policy.sameSequence(nullptr).empty());

    policy.halt();
    EXPECT_EQ(policy.next(), -1);
    EXPECT_FALSE(policy.continuesAfter(RunState::Done));
    policy.release();
    EXPECT_TRUE(policy.continuesAfter(RunState::Done));
    EXPECT_FALSE(policy.continuesAfter(RunState::Stopped));

    // Two rows of one experiment started in the same second get two folders; threads on auto
    // take the command line's count, an experiment's own count stays.
    const RunRequest first = policy.requestFor(0);
    queue.entry(1).experiment.threads = 3;
    const RunRequest second = policy.requestFor(1);
    EXPECT_NE(first.runDir, second.runDir);
    EXPECT_EQ(std::filesystem::path(first.runDir).parent_path(), folder);
    EXPECT_EQ(first.experiment.threads, 1);  // small() sets its own
    queue.entry(2).experiment.threads = 0;
    EXPECT_EQ(policy.requestFor(2).experiment.threads, 2);
    EXPECT_EQ(second.experiment.threads, 3);
    EXPECT_FALSE(first.resume);
    policy.markResume(0);
    EXPECT_EQ(queue.entry(0).data->state, RunState::Queued);
    EXPECT_TRUE(policy.requestFor(0).resume);
    EXPECT_FALSE(policy.requestFor(0).resume);  // once
    EXPECT_EQ(policy.requestFor(0).runDir, first.runDir);

    // A folder with events but an unreadable experiment: listed as failed, naming the file.
    const auto broken = folder / "broken-run";
    std::filesystem::create_directories(broken);
    test::writeBytes(broken / run_files::kEvents, "");
    test::writeBytes(broken / run_files::kExperiment, "{\"seed\": ");
    QueueModel past;
    QueuePolicy reader(past, QString::fromStdString(folder.string()));
    EXPECT_EQ(reader.loadPastRuns(), 1);
    ASSERT_EQ(past.rowCount(), 1);
    EXPECT_EQ(past.entry(0).data->state, RunState::Failed);
    EXPECT_NE(past.entry(0).data->error.find("experiment.json"), std::string::npos)
        << past.entry(0).data->error;
    EXPECT_EQ(reader.loadPastRuns(), 0);  // listed once
}

// #14: a run of one training step drew nothing in the loss plot (a line needs two points).
TEST(Plots, ALossOfOneStepIsADotAndOfTwoStepsALine) {
    LossPlot plot;
    RunData data;
    data.steps.push_back({0, 0, 0, 1.25, 0.01});
    data.taskFirstStep.push_back(0);
    plot.refresh(&data, {});
    ASSERT_EQ(plot.graph(1)->dataCount(), 1);
    EXPECT_FALSE(plot.graph(1)->scatterStyle().isNone());
    EXPECT_TRUE(plot.xAxis->range().contains(0));
    EXPECT_TRUE(plot.yAxis->range().contains(1.25));
    data.steps.push_back({1, 0, 0, 1.0, 0.01});
    plot.refresh(&data, {});
    EXPECT_TRUE(plot.graph(1)->scatterStyle().isNone());
}

// #17: the smoothed loss started at the first step's value and lagged far above the raw line
// (about 0.2 against 0.1 after 27 steps of a loss that fell from 2.3 at once). Debiased, it
// starts at the first value, weighs it as the average's own history warrants, and restarts at
// each task.
TEST(Plots, TheSmoothedLossIsDebiasedAndRestartsAtEachTask) {
    QVector<double> losses(27, 0.1);
    losses[0] = 2.3;
    const auto smoothed = debiasedMovingAverage(losses, kLossSmoothing);
    ASSERT_EQ(smoothed.size(), losses.size());
    EXPECT_DOUBLE_EQ(smoothed[0], 2.3);
    // The first value's weight after n values is (1 − β) β^(n−1) / (1 − β^n).
    const double weight = 0.1 * std::pow(0.9, 26) / (1 - std::pow(0.9, 27));
    EXPECT_NEAR(smoothed.back(), 0.1 + 2.2 * weight, 1e-12);
    EXPECT_LT(smoothed.back(), 0.12);
    for (double v : debiasedMovingAverage(QVector<double>(5, 0.7), 0.9)) {
        EXPECT_NEAR(v, 0.7, 1e-12);  // a constant loss smooths to itself from the first step
    }

    LossPlot plot;
    RunData data;
    data.taskFirstStep = {0, 3};
    for (int step = 0; step < 6; ++step) {
        data.steps.push_back({step, step < 3 ? 0 : 1, 0, step < 3 ? 1.0 + step : 9.0 - step, 0.01});
    }
    plot.refresh(&data, {});
    ASSERT_EQ(plot.graph(1)->dataCount(), 6);
    EXPECT_DOUBLE_EQ(plot.graph(1)->data()->at(0)->value, 1.0);
    EXPECT_DOUBLE_EQ(plot.graph(1)->data()->at(3)->value, 6.0);  // the second task's first loss
}

// A RunData of `tasks` tasks, every task evaluated, accuracies 30-99 % with one decimal.
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

// #17: at 10 tasks the cells printed their values over each other ("30.034.0"). Every label
// drawn fits its cell (one decimal while it can, whole numbers or hover only below that), at the
// size the window gives the matrix (1600 × 1000: about 420 × 400 px).
TEST(Plots, MatrixCellLabelsFitTheirCellsFromTwoToTwentyTasks) {
    for (int tasks : {2, 5, 10, 20}) {
        MatrixPlot plot;
        plot.resize(420, 400);
        plot.show();
        RunData data = evaluatedRun(tasks);
        plot.refresh(&data, {});
        plot.replot();
        const QStringList labels = plot.cellLabels();
        ASSERT_EQ(labels.size(), tasks * (tasks + 1) / 2) << tasks;
        const double cell = plot.axisRect()->width() / static_cast<double>(tasks);
        QFont font = plot.font();
        font.setPointSizeF(plot.cellLabelPointSize());
        const QFontMetricsF metrics(font);
        for (const auto& label : labels) {
            EXPECT_LE(metrics.horizontalAdvance(label) + 4, cell)
                << tasks << " tasks: " << label.toStdString();
        }
        if (tasks <= 5) {
            EXPECT_TRUE(labels.front().contains('.')) << tasks;  // one decimal while it fits
        }
        EXPECT_EQ(plot.shown().size(), static_cast<std::size_t>(tasks));
        if (const char* prefix = std::getenv("DLW_UI_MATRIX_SCREENSHOTS")) {
            EXPECT_TRUE(plot.grab().save(QStringLiteral("%1-%2.png").arg(prefix).arg(tasks)));
        }
    }
    MatrixPlot planned;  // no run in focus: the setup's task count, not 5
    planned.setPlannedTasks(10);
    planned.refresh(nullptr, {});
    EXPECT_DOUBLE_EQ(planned.xAxis->range().upper, 10.5);
}

// #17: runs of one experiment with seeds 0-2 show as one mean line with a ± SD band, forgetting
// bars with error bars and a matrix of means; a variant with one seed stays a single line.
TEST(Plots, SeedsOfOneVariantShowAsMeanAndSd) {
    RunList runs;
    for (int seed = 0; seed < 3; ++seed) {
        auto run = std::make_shared<RunData>(evaluatedRun(3));
        run->label = "duallora";
        run->seed = static_cast<uint64_t>(seed);
        for (auto& ev : run->evaluations) {
            for (auto& a : ev.accuracy) {
                a += 2.0 * seed;  // seeds 0, 1, 2: +0, +2, +4 points
            }
            ev.accuracy.front() -= 10.0 * ev.afterTask;  // the first task is forgotten
        }
        runs.push_back(run);
    }
    auto lone = std::make_shared<RunData>(evaluatedRun(3));
    lone->label = "seq-lora";
    runs.push_back(lone);
    const auto mean = [&](int afterTask) {  // the class-incremental mean over seen tasks, seed 1
        return runs[1]->accuracyCurve().at(static_cast<std::size_t>(afterTask)).second;
    };

    AccuracyPlot accuracy;
    accuracy.setMeanOverSeeds(true);
    accuracy.refresh(runs[0].get(), runs);
    QCPGraph* meanLine = nullptr;
    QCPGraph* upper = nullptr;
    int lines = 0;
    for (int i = 0; i < accuracy.graphCount(); ++i) {
        auto* g = accuracy.graph(i);
        lines += g->pen().style() == Qt::NoPen ? 0 : 1;
        if (g->name().startsWith(QStringLiteral("duallora ×3"))) {
            meanLine = g;
        }
        if (g->name() == QStringLiteral("duallora + SD")) {
            upper = g;
        }
    }
    EXPECT_EQ(lines, 2);  // duallora's mean and seq-lora's single run
    ASSERT_NE(meanLine, nullptr);
    ASSERT_NE(upper, nullptr);
    ASSERT_EQ(meanLine->dataCount(), 3);
    for (int k = 0; k < 3; ++k) {
        EXPECT_NEAR(meanLine->data()->at(k)->value, mean(k), 1e-9);     // seed 1 is the mean
        EXPECT_NEAR(upper->data()->at(k)->value, mean(k) + 2.0, 1e-9);  // SD of {−2, 0, 2}
    }
    EXPECT_TRUE(meanLine->name().contains(QStringLiteral("A_T %1 ± 2.0").arg(mean(2), 0, 'f', 1)))
        << meanLine->name().toStdString();

    MatrixPlot matrix;
    matrix.setMeanOverSeeds(true);
    matrix.refresh(runs[0].get(), runs);
    EXPECT_EQ(matrix.seedsShown(), 3);
    EXPECT_EQ(matrix.shown(), runs[1]->matrix(MatrixKind::ClassIncremental));
    matrix.setMeanOverSeeds(false);  // switched to the single run
    matrix.refresh(runs[0].get(), runs);
    EXPECT_EQ(matrix.seedsShown(), 1);
    EXPECT_EQ(matrix.shown(), runs[0]->matrix(MatrixKind::ClassIncremental));

    ForgettingPlot forgetting;
    forgetting.setMeanOverSeeds(true);
    forgetting.refresh(runs[0].get(), runs);
    int errorBars = 0;
    for (int i = 0; i < forgetting.plottableCount(); ++i) {
        errorBars += qobject_cast<QCPErrorBars*>(forgetting.plottable(i)) != nullptr ? 1 : 0;
    }
    EXPECT_EQ(errorBars, 1);  // the three seeds; seq-lora's single run has none
    EXPECT_TRUE(forgetting.csv().contains(QStringLiteral("duallora ×3")));
}

// #17: the spectrum's x axis stayed at about 24 while residual spectra ran to 80 values.
TEST(Plots, TheSpectrumAxisFitsTheLongestSpectrum) {
    SpectraPlot plot;
    RunData data = evaluatedRun(1);
    AdapterSpectrum residual;
    residual.block = 0;
    residual.map = "qkv";
    residual.kind = "residual";
    for (int i = 0; i < 80; ++i) {
        residual.singularValues.push_back(std::pow(0.95, i));
    }
    data.evaluations.back().spectra.push_back(residual);
    plot.refresh(&data, {});
    EXPECT_GE(plot.xAxis->range().upper, 80.0);
    EXPECT_LE(plot.xAxis->range().upper, 81.0);
}

TEST(ExperimentForm, SaveAndOpenRoundTripAndErrorsNameTheKey) {
    ExperimentForm form;
    Experiment e = small();
    e.method.gate = GateMode::Soft;
    e.method.targets = {"q", "v", "fc1"};
    e.method.blocks = {1};
    e.sequence.classOrder = ClassOrder::Shuffle;
    e.train.lr = 3e-4;
    e.data.domains = {"clipart", "real"};  // #16: a list of names, shown as "clipart, real"
    form.setExperiment(e);
    auto back = form.experiment();
    ASSERT_TRUE(back.has_value()) << form.error().toStdString();
    EXPECT_EQ(toJsonText(*back), toJsonText(e));
    const auto file = test::tempDir("ui") / "saved.json";
    saveExperimentFile(*back, file);  // what "Save experiment…" writes
    form.setExperiment(preset("default"));
    form.setExperiment(loadExperimentFile(file));
    EXPECT_EQ(toJsonText(*form.experiment()), toJsonText(e));
    form.setValue("train.lr", "\"fast\"");
    EXPECT_FALSE(form.experiment().has_value());
    EXPECT_TRUE(form.error().contains("train.lr")) << form.error().toStdString();
}

// One finished small run shared by the tests below.
const std::filesystem::path& finishedRun() {
    static const std::filesystem::path dir = [] {
        const auto d = test::tempDir("ui") / "finished";
        RunControl control;
        test::run(small(), d, control);
        return d;
    }();
    return dir;
}

TEST(PredictPanel, DroppedImagesArePredictedAndANonImageGetsItsMessage) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    PredictPanel panel;
    panel.setRun(QString::fromStdString(finishedRun().string()));
    EXPECT_EQ(panel.afterTask(), 3);
    const auto images = test::fixturesDir() / "images";
    QMimeData mime;
    mime.setUrls(
        {QUrl::fromLocalFile(QString::fromStdString((images / "shirt_like.png").string())),
         QUrl::fromLocalFile(QString::fromStdString((images / "not_an_image.png").string()))});
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    bool shown = false;
    QObject::connect(&panel, &PredictPanel::predictionsShown, [&] { shown = true; });
    // Delivered straight to the widget's event handler: QApplication filters drops that no drag
    // of its own started, and an offscreen test has no drag source.
    static_cast<QObject&>(panel).event(&drop);
    EXPECT_TRUE(drop.isAccepted());
    ASSERT_TRUE(waitFor([&] { return shown; }, 20000));
    ASSERT_EQ(panel.results().size(), 2U);
    EXPECT_TRUE(panel.results()[0].error.empty());
    EXPECT_EQ(panel.results()[0].top.size(), 5U);
    EXPECT_EQ(panel.results()[0].taskPosterior.size(), 3U);
    EXPECT_NE(panel.results()[1].error.find("not_an_image.png"), std::string::npos);
}

// #17: the report of a set of runs, one self-contained HTML file: two seeds of one experiment
// and another method, a folder that is not a run; the comparison with mean ± SD and its LaTeX,
// what differs, where they ran, the plots as embedded PNG, every split and experiment file.
// DLW_UI_REPORT=FILE.html keeps the report to look at.
TEST(Report, OneFileHoldsTheComparisonPlotsAndWhereEachRan) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto root = test::tempDir("ui") / "report";
    Experiment second = small();
    second.seed = 1;
    Experiment other = small();
    other.method.name = MethodKind::SeqLora;
    RunControl control;
    test::run(second, root / "seed1", control);
    test::run(other, root / "seq-lora", control);
    std::filesystem::create_directories(root / "not-a-run");
    QStringList problems;
    const auto dirs = expandRunFolders(
        {finishedRun().string(), root.string(), (root / "nowhere").string()}, &problems);
    ASSERT_EQ(dirs.size(), 3U);  // the finished run, then root's two runs by name
    EXPECT_EQ(problems.size(), 1);
    EXPECT_TRUE(problems.front().contains("nowhere")) << problems.front().toStdString();

    const char* kept = std::getenv("DLW_UI_REPORT");
    const QString file = kept != nullptr ? QString::fromUtf8(kept)
                                         : QString::fromStdString((root / "report.html").string());
    auto withBroken = dirs;
    withBroken.push_back((root / "not-a-run").string());
    const ReportResult result = writeReport(withBroken, file);
    EXPECT_EQ(result.runs, 3);
    ASSERT_EQ(result.problems.size(), 1);
    EXPECT_TRUE(result.problems.front().contains("not-a-run"));
    QFile in(file);
    ASSERT_TRUE(in.open(QIODevice::ReadOnly));
    const QString html = QString::fromUtf8(in.readAll());
    EXPECT_EQ(result.bytes, in.size());
    EXPECT_TRUE(html.contains(QStringLiteral("<td class=l>duallora</td><td>2</td>")))
        << "the two seeds are one row";
    EXPECT_TRUE(html.contains(QStringLiteral("<td class=l>seq-lora</td><td>1</td>")));
    EXPECT_TRUE(html.contains(QStringLiteral("\\toprule")) && html.contains("$\\pm$"));
    EXPECT_TRUE(html.contains(QStringLiteral("<code>seed</code>")));  // what differs
    EXPECT_TRUE(html.contains(QStringLiteral("<code>method.name</code>")));
    EXPECT_FALSE(html.contains(QStringLiteral("<code>train.lr</code>")));  // the same in all
    EXPECT_TRUE(html.contains(QStringLiteral("dlw " DLW_VERSION)));        // where they ran
    EXPECT_GE(html.count(QStringLiteral("src=\"data:image/png;base64,")), 3 + 3 * 5);
    EXPECT_EQ(html.count(QStringLiteral("<summary>Split:")), 3);
    EXPECT_EQ(html.count(QStringLiteral("<summary>Experiment file")), 3);
    EXPECT_FALSE(html.contains(QStringLiteral("src=\"http")));        // opens offline
    EXPECT_TRUE(result.latex.contains(QStringLiteral("\\textbf{")));  // the best in bold

    EXPECT_THROW(writeReport({(root / "not-a-run").string()}, file), Error);

    // File > Export report… writes the focused run and every run of its sequence, all seeds.
    WindowOptions options;
    options.runsFolder = QString::fromStdString(root.string());
    MainWindow window(options);
    ASSERT_EQ(window.queue().rowCount(), 2);  // seed1 and seq-lora; not-a-run is not listed
    window.selectRow(0);
    auto reported = window.reportedRuns();
    std::sort(reported.begin(), reported.end());
    EXPECT_EQ(reported, (std::vector<std::string>{dirs[1], dirs[2]}));

    // The window's "Compare runs…": only the keys that differ between the checked runs.
    QueueModel queue;
    for (const auto& dir : dirs) {
        queue.add(QueuePolicy::readPastRun(dir));
    }
    CompareDialog compare(queue, {dirs[0], dirs[1]});
    EXPECT_EQ(compare.checkedRuns().size(), 2U);
    const auto shown = [&compare] {
        QTextDocument document;
        document.setHtml(compare.shownHtml());
        return document.toPlainText();
    };
    EXPECT_TRUE(shown().contains(QStringLiteral("seed"))) << shown().toStdString();
    EXPECT_FALSE(shown().contains(QStringLiteral("method.name")));
    compare.setChecked(dirs[2], true);  // the seq-lora run
    EXPECT_TRUE(shown().contains(QStringLiteral("method.name"))) << shown().toStdString();
}

// #17: a drop while a prediction runs used to wait for it on the GUI thread, and every drop
// loaded the model from its checkpoint again. Now the later drop waits as the next request
// (predictFiles returns at once), a request overtaken by it is not shown, and the loaded model
// serves every drop until another task's model is chosen.
TEST(PredictPanel, ADropWhileOneRunsWaitsAndTheLoadedModelIsKept) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto images = test::fixturesDir() / "images";
    const QString shirt = QString::fromStdString((images / "shirt_like.png").string());
    const QString colour = QString::fromStdString((images / "colour.jpg").string());
    PredictPanel panel;
    panel.setRun(QString::fromStdString(finishedRun().string()));
    int shown = 0;
    QObject::connect(&panel, &PredictPanel::predictionsShown, [&] { ++shown; });
    panel.predictFiles({shirt});
    EXPECT_TRUE(panel.busy());
    panel.predictFiles({shirt, shirt, shirt});  // overtaken by the next drop: never shown
    panel.predictFiles({colour, shirt});
    EXPECT_TRUE(panel.busy());
    ASSERT_TRUE(waitFor([&] { return !panel.busy(); }, 30000));
    EXPECT_EQ(shown, 1);
    ASSERT_EQ(panel.results().size(), 2U);
    EXPECT_EQ(panel.results()[0].file, colour.toStdString());
    EXPECT_TRUE(panel.results()[0].error.empty()) << panel.results()[0].error;
    EXPECT_EQ(panel.modelLoads(), 1);

    panel.setRun(QString::fromStdString(finishedRun().string()));  // the same run again
    panel.predictFiles({shirt});
    ASSERT_TRUE(waitFor([&] { return !panel.busy(); }, 30000));
    EXPECT_EQ(panel.modelLoads(), 1);
    EXPECT_EQ(shown, 2);

    auto* slider = panel.findChild<QSlider*>();  // the model after task 1: another checkpoint
    ASSERT_NE(slider, nullptr);
    slider->setValue(0);
    EXPECT_EQ(panel.afterTask(), 1);
    ASSERT_TRUE(waitFor([&] { return !panel.busy(); }, 30000));
    EXPECT_EQ(panel.modelLoads(), 2);
    ASSERT_EQ(panel.results().size(), 1U);
    EXPECT_EQ(panel.results()[0].taskPosterior.size(), 1U);  // one task learned by then
}

// #17: at the window's size (1600 × 1000, a panel 330-360 px wide) the raw column was cut off
// behind a horizontal scroll bar and "%" wrapped onto its own line. Every card's text must fit
// its label's width, with long class names and 20 tasks (the task list summarised).
TEST(PredictPanel, CardsFitThePanelWidthWithLongNamesAndManyTasks) {
    std::vector<ImagePrediction> results(2);
    for (std::size_t i = 0; i < results.size(); ++i) {
        auto& p = results[i];
        p.file = "/data/photos/a-photo-of-a-dog-" + std::to_string(i) + ".jpg";
        p.hasTaskIdentity = true;
        p.taskPosterior.assign(20, 0.2 / 19);
        p.taskPosterior[7] = 0.8;
        p.predictedTask = 7;
        p.taskConfidence = 0.8;
        p.oodScore = i == 0 ? 0.4 : 3.2;
        p.unfamiliar = i == 1;
        for (const std::string name : {"West Highland white terrier", "aquarium_fish", "sale 100%2",
                                       "sweet_pepper", "Staffordshire bull terrier"}) {
            ClassProbability c;
            c.name = name;
            c.task = 7;
            c.raw = 0.123;
            c.calibrated = 0.716;
            p.top.push_back(c);
        }
    }
    PredictPanel panel;
    panel.resize(330, 1000);
    panel.show();
    panel.showResults(results);
    waitFor([] { return false; }, 300);  // layouts that depend on width settle in a few passes
    for (auto* scroll : panel.findChildren<QScrollArea*>()) {
        EXPECT_FALSE(scroll->horizontalScrollBar()->isVisible());
    }
    int checked = 0;
    for (const auto* label : panel.findChildren<QLabel*>()) {
        if (!label->text().contains(QStringLiteral("terrier"))) {
            continue;
        }
        ++checked;
        EXPECT_TRUE(label->text().contains(QStringLiteral("15 more task(s)")));
        QTextDocument document;  // the label's text laid out at the label's width, as QLabel does
        document.setDocumentMargin(0);
        document.setDefaultFont(label->font());
        document.setHtml(label->text());
        document.setTextWidth(label->contentsRect().width());
        EXPECT_LE(document.idealWidth(), label->contentsRect().width() + 0.5)
            << "a card's text is wider than its label";
        // A name's "%2" is text, not a placeholder of the card's later arguments.
        EXPECT_TRUE(document.toPlainText().contains(QStringLiteral("sale 100%2")))
            << document.toPlainText().toStdString();
        EXPECT_GE(label->contentsRect().height() + 0.5, document.size().height())
            << "a card's text is taller than its label: its last rows are cut off";
    }
    EXPECT_EQ(checked, 2);
    if (const char* shot = std::getenv("DLW_UI_CARDS_SCREENSHOT")) {
        EXPECT_TRUE(panel.grab().save(QString::fromUtf8(shot)));
    }
}

// #16: an image unlike every learned class is marked on its card (the word "Unfamiliar", an
// orange frame), a familiar one is not. The bundled backbone: noise is far from Fashion-MNIST's
// classes in its features. DLW_UI_SCREENSHOT=FILE.png saves the panel as a user sees it.
TEST(PredictPanel, AnUnfamiliarImageIsMarkedOnItsCard) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    Experiment e = small();
    e.backbone.path = "";  // the bundled dlw-vit-tiny
    e.data.trainPerClass = 200;
    e.data.valPerClass = 50;
    e.train.epochs = 1;
    e.train.batchSize = 32;
    e.memory.sample = 0;  // the familiarity memory from every training image, not 40 per task
    const auto dir = test::tempDir("ui") / "ood";
    RunControl control;
    test::run(e, dir / "run", control);
    QImage noise(28, 28, QImage::Format_Grayscale8);  // uniform noise, seeded
    std::mt19937 random(3);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int y = 0; y < 28; ++y) {
        for (int x = 0; x < 28; ++x) {
            noise.scanLine(y)[x] = static_cast<uchar>(byte(random));
        }
    }
    const QString noisy = QString::fromStdString((dir / "noise.png").string());
    ASSERT_TRUE(noise.save(noisy));
    const QString shirt =
        QString::fromStdString((test::fixturesDir() / "images" / "shirt_like.png").string());

    PredictPanel panel;
    panel.resize(420, 900);
    panel.setRun(QString::fromStdString((dir / "run").string()));
    bool shown = false;
    QObject::connect(&panel, &PredictPanel::predictionsShown, [&] { shown = true; });
    panel.predictFiles({noisy, shirt});
    ASSERT_TRUE(waitFor([&] { return shown; }, 20000));
    ASSERT_EQ(panel.results().size(), 2U);
    EXPECT_TRUE(panel.results()[0].unfamiliar) << panel.results()[0].oodScore.value_or(-1);
    const auto cards = panel.findChildren<QWidget*>(QStringLiteral("unfamiliarCard"));
    int flagged = 0;
    for (const auto& r : panel.results()) {
        flagged += r.unfamiliar ? 1 : 0;
    }
    EXPECT_EQ(static_cast<int>(cards.size()), flagged);
    ASSERT_FALSE(cards.empty());
    const auto labels = cards.front()->findChildren<QLabel*>();
    EXPECT_TRUE(std::any_of(labels.begin(), labels.end(),
                            [](const QLabel* l) { return l->text().contains("Unfamiliar"); }));
    if (const char* shot = std::getenv("DLW_UI_SCREENSHOT")) {
        panel.show();
        QApplication::processEvents();
        EXPECT_TRUE(panel.grab().save(QString::fromUtf8(shot)));
    }
}

TEST(MainWindow, StopLandsWithinOneBatchAndTheRunResumes) {
    if (!haveFashionMnist()) {
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
    bool said = false;
    for (const auto* label : window.findChildren<QLabel*>()) {
        said = said || label->text().contains(QStringLiteral("broken.dlw.json"));
    }
    EXPECT_TRUE(said);
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
    if (!haveFashionMnist()) {
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

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return dlw::test::runAllTests();
}
