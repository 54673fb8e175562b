// The plots on data made in the test: the loss and its smoothing, the matrix's labels at 2-20
// tasks, seeds as mean ± SD, the spectrum's axis.
#include "ui/plots.h"

#include "api/experiment.h"
#include "ui/ui_test_support.h"

#include <cmath>
#include <cstdlib>
#include <memory>

#include <gtest/gtest.h>

namespace dlw::ui {
namespace {

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

// #17: deep-preset and default-preset runs of one variant both read "duallora" in the legends,
// as did two learning rates: groups of one variant are named by experiment name, and within a
// name by the keys that differ, as the comparison names its rows.
TEST(Plots, TwoExperimentsOfOneVariantAreNamedApart) {
    RunList runs;
    const auto add = [&runs](Experiment e) {
        auto run = std::make_shared<RunData>(evaluatedRun(2));
        run->label = methodVariant(e);
        e.seed = 0;  // as QueuePolicy keys a run
        e.device = "auto";
        e.threads = 0;
        e.checkpoint = CheckpointSettings{};
        run->experimentKey = toJsonText(e);
        runs.push_back(run);
    };
    Experiment e = preset("default");
    add(e);
    e.seed = 1;
    add(e);  // a second seed: the same group
    e.train.lr = 0.001;
    add(e);
    Experiment deep = preset("deep");
    add(deep);
    const auto groups = groupByVariant(runs);
    ASSERT_EQ(groups.size(), 3U);
    EXPECT_EQ(groups[0].runs.size(), 2U);
    EXPECT_EQ(groups[0].label, "duallora · default train.lr=0.0005");
    EXPECT_EQ(groups[1].label, "duallora · default train.lr=0.001");
    EXPECT_EQ(groups[2].label, "duallora · deep");
}

// #16: an ablation's 13 variants beneath a plot 340 px wide had their names clipped at the
// column's edge ("duallora -task-", "inflora +ta"), and in three columns fitted before the window
// was laid out. Each entry now fits its cell, a name too long for it ends in "…", hovering the
// entry shows the whole name, and the plot's message wraps to its width.
TEST(Plots, ACrowdedLegendElidesNamesToItsColumnsAndHoverShowsThem) {
    struct Probe : AccuracyPlot {
        using AccuracyPlot::hoverText;
    };
    RunList runs;
    const QStringList labels = {"duallora",
                                "duallora -orthogonal",
                                "duallora -projection",
                                "duallora -task-id",
                                "duallora soft-gate",
                                "inflora",
                                "inflora +task-id",
                                "seq-lora",
                                "seq-lora +task-id",
                                "joint",
                                "ranpac",
                                "ranpac -adapt",
                                "sd-lora with a name far longer than any column"};
    for (const QString& label : labels) {
        for (int seed = 0; seed < 2; ++seed) {
            auto run = std::make_shared<RunData>(evaluatedRun(5));
            run->label = label.toStdString();
            run->seed = static_cast<uint64_t>(seed);
            runs.push_back(run);
        }
    }
    Probe plot;
    plot.setMeanOverSeeds(true);
    plot.refresh(runs[0].get(), runs);  // before any size: as a window not yet laid out
    plot.resize(340, 380);              // one column of 13 would take over half the height: two
    plot.show();                        // the resize event reaches a shown widget
    QCoreApplication::processEvents();
    plot.replot();
    QCPLegend* legend = plot.legend;
    ASSERT_EQ(legend->layout(), plot.plotLayout());  // beneath the plot
    int entries = 0;
    int elided = 0;
    for (int i = 0; i < legend->itemCount(); ++i) {
        auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i));
        if (item == nullptr) {
            continue;
        }
        ++entries;
        const QString name = item->plottable()->name();
        EXPECT_LE(static_cast<QCPLayoutElement*>(item)->minimumOuterSizeHint().width(),
                  item->outerRect().width())
            << name.toStdString();
        EXPECT_LE(item->outerRect().right(), plot.width()) << name.toStdString();
        const QString whole = plot.hoverText(item->rect().center());
        EXPECT_EQ(whole, name);
        const int full = QFontMetrics(legend->font()).horizontalAdvance(name) +
                         legend->iconSize().width() + legend->iconTextPadding();
        elided += full > item->rect().width() ? 1 : 0;
    }
    EXPECT_EQ(entries, labels.size());
    // Every entry shows text: at least its name's first letter and the ellipsis.
    for (int i = 0; i < legend->itemCount(); ++i) {
        if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i))) {
            const QString name = item->plottable()->name();
            EXPECT_GE(static_cast<QCPLayoutElement*>(item)->minimumOuterSizeHint().width(),
                      legend->iconSize().width() + legend->iconTextPadding() +
                          QFontMetrics(legend->font()).horizontalAdvance(name.left(1) + "…"))
                << name.toStdString();
        }
    }
    // Wide enough for every name (1600 px): no entry is elided, none shows less than its name.
    plot.resize(1600, 380);
    QCoreApplication::processEvents();
    plot.replot();
    for (int i = 0; i < legend->itemCount(); ++i) {
        if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i))) {
            const QString name = item->plottable()->name();
            EXPECT_GE(static_cast<QCPLayoutElement*>(item)->minimumOuterSizeHint().width(),
                      legend->iconSize().width() + legend->iconTextPadding() +
                          QFontMetrics(legend->font()).horizontalAdvance(name))
                << name.toStdString();
        }
    }
    EXPECT_GE(elided, 1);  // the long sd-lora name at least
    EXPECT_LT(elided, entries / 2) << "two columns leave most names whole";

    TaskIdentityPlot identity;
    auto noPredictor = std::make_shared<RunData>(evaluatedRun(2));
    identity.refresh(noPredictor.get(), {noPredictor});
    identity.resize(330, 300);
    identity.show();
    QCoreApplication::processEvents();
    identity.replot();
    const QStringList lines = identity.emptyMessageShown().split(QLatin1Char('\n'));
    ASSERT_GT(lines.size(), 1) << identity.emptyMessageShown().toStdString();
    QFont font;
    for (int i = 0; i < identity.itemCount(); ++i) {
        if (auto* text = qobject_cast<QCPItemText*>(identity.item(i));
            text != nullptr && text->text() == identity.emptyMessageShown()) {
            font = text->font();
        }
    }
    for (const QString& line : lines) {
        EXPECT_LE(QFontMetrics(font).horizontalAdvance(line), identity.axisRect()->width())
            << line.toStdString();
    }
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

}  // namespace
}  // namespace dlw::ui
