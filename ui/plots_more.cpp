// The plots of the Forgetting, Task identity, Spectra and Calibration tabs.
#include "api/metrics.h"
#include "ui/plot_support.h"
#include "ui/plots.h"
#include "ui/shown_text.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace dlw::ui {

// --- Task identity over tasks, task accuracy over time, memory ----------------------------------

TaskIdCurvePlot::TaskIdCurvePlot(QWidget* parent)
    : Plot(tr("Task-identity accuracy after each task"), parent) {
    xAxis->setLabel(tr("tasks learned"));
    integerTicks(xAxis);
    yAxis->setLabel(tr("predicted task right (%)"));
    yAxis->setRange(0, 100);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    setEmptyMessage(tr("After the first task"));
}

void TaskIdCurvePlot::refresh(const RunData* /*current*/, const RunList& runs) {
    clearGraphs();
    int tasks = runs.empty() ? plannedTasks_ : 1;  // no run: the setup's count (#17)
    int index = 0;
    std::size_t mostSeeds = 1;
    for (const auto& group : plotGroups(runs, meanOverSeeds_)) {
        for (const auto* run : group.runs) {
            tasks = std::max(tasks, run->tasks);
        }
        if (addMeanCurve(this, group, &RunData::taskIdCurve, index) != nullptr) {
            mostSeeds = std::max(mostSeeds, group.runs.size());
            ++index;
        }
    }
    if (tasks > 0) {
        auto* chance = addGraph();
        chance->setName(tr("chance (1 / tasks learned)"));
        chance->setPen(QPen(palette().color(QPalette::Mid), 1, Qt::DashLine));
        for (int k = 1; k <= tasks; ++k) {
            chance->addData(k, 100.0 / k);
        }
    }
    xAxis->setRange(0.7, tasks + 0.3);
    setEmptyMessage(index == 0 ? tr("After the first task") : QString());
    titleForSeeds(this, title_, mostSeeds);
    fitLegend(this);
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString TaskIdCurvePlot::csv() const {
    return plottablesCsv(this, QStringLiteral("tasks_learned"), QStringLiteral("task_id_accuracy"));
}

TaskAccuracyPlot::TaskAccuracyPlot(QWidget* parent)
    : Plot(tr("Each task's accuracy as later tasks are learned"), parent) {
    xAxis->setLabel(tr("tasks learned"));
    integerTicks(xAxis);
    yAxis->setLabel(tr("accuracy on the task (%)"));
    yAxis->setRange(0, 100);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    setEmptyMessage(tr("After the first task"));
}

void TaskAccuracyPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    clearGraphs();
    const int t = current != nullptr ? std::max(current->tasks, 1) : plannedTasks_;
    const AccuracyMatrix m =
        current != nullptr ? current->matrix(MatrixKind::ClassIncremental) : AccuracyMatrix{};
    bool any = false;
    for (int j = 0; j < t && current != nullptr; ++j) {
        QCPGraph* g = nullptr;  // only tasks trained so far get a line (and a legend entry)
        for (int i = j; i < t; ++i) {
            const auto& v = m[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
            if (!v) {
                continue;
            }
            if (g == nullptr) {
                g = addGraph();
                g->setName(tr("task %1").arg(j + 1));
                styleGraph(g, j);
            }
            g->addData(i + 1, *v);
            any = true;
        }
    }
    xAxis->setRange(0.7, t + 0.3);
    setEmptyMessage(any ? QString() : tr("After the first task"));
    legend->setVisible(any);
    fitLegend(this);  // a line per task: 20 of them at 20 tasks
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString TaskAccuracyPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("tasks_learned"), QStringLiteral("accuracy"));
}

MemoryPlot::MemoryPlot(QWidget* parent)
    : Plot(tr("Subspace memory: size (bars) and captured energy (lines)"), parent) {
    xAxis->setLabel(tr("tasks learned"));
    integerTicks(xAxis);
    yAxis->setLabel(tr("memory size k (directions)"));
    yAxis2->setVisible(true);
    yAxis2->setLabel(tr("energy captured (%)"));
    yAxis2->setRange(50, 100);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    setEmptyMessage(tr("After the first task (methods with a memory)"));
}

void MemoryPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    clearPlottables();
    std::vector<std::string> inputs;  // "block 2 norm1", in first-seen order
    if (current != nullptr) {
        for (const auto& ev : current->evaluations) {
            for (const auto& m : ev.memory) {
                const std::string key = "block " + std::to_string(m.block) + " " + m.input;
                if (std::find(inputs.begin(), inputs.end(), key) == inputs.end()) {
                    inputs.push_back(key);
                }
            }
        }
    }
    const double width = 0.8 / std::max<std::size_t>(inputs.size(), 1);
    double top = 1;
    double lowest = 100;                          // of the energies and thresholds, percent
    std::vector<std::pair<int, double>> epsilon;  // (task learned, threshold %)
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setName(QString::fromStdString(inputs[k]));
        QColor fill = okabeIto(static_cast<int>(k));
        fill.setAlpha(150);
        bars->setBrush(fill);
        bars->setPen(Qt::NoPen);
        bars->setWidth(width);
        auto* energy = addGraph(xAxis, yAxis2);
        energy->removeFromLegend();
        styleGraph(energy, static_cast<int>(k));
        for (const auto& ev : current->evaluations) {
            for (const auto& m : ev.memory) {
                if ("block " + std::to_string(m.block) + " " + m.input != inputs[k]) {
                    continue;
                }
                const double x = ev.afterTask + 1 - 0.4 + width * (static_cast<double>(k) + 0.5);
                bars->addData(x, static_cast<double>(m.size));
                energy->addData(x, 100 * m.energyAfter);
                top = std::max(top, static_cast<double>(m.size));
                lowest = std::min({lowest, 100 * m.energyAfter, 100 * m.threshold});
                if (k == 0) {
                    epsilon.emplace_back(ev.afterTask + 1, 100 * m.threshold);
                }
            }
        }
    }
    if (!epsilon.empty()) {  // one dashed tick across each task's bars, drawn over the energies
        auto* threshold = addGraph(xAxis, yAxis2);
        threshold->setName(tr("threshold ε"));
        threshold->setPen(QPen(palette().color(QPalette::WindowText), 1.5, Qt::DashLine));
        for (const auto& [task, value] : epsilon) {
            threshold->addData(task - 0.45, value);
            threshold->addData(task + 0.45, value);
            threshold->addData(task + 0.5, std::numeric_limits<double>::quiet_NaN());  // gap
        }
    }
    // The energies sit just above their thresholds (GPM adds directions until they reach it):
    // an axis from just under the lowest keeps the gap between them visible.
    yAxis2->setRange(inputs.empty() ? 50.0 : std::max(0.0, std::floor(lowest) - 1.0),
                     inputs.empty() ? 100.0 : 100.5);
    const int t = current != nullptr ? std::max(current->tasks, 1) : plannedTasks_;
    xAxis->setRange(0.5, t + 0.5);
    yAxis->setRange(0, top * 1.15);
    setEmptyMessage(inputs.empty() ? tr("After the first task (methods with a memory)")
                                   : QString());
    legend->setVisible(!inputs.empty());
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString MemoryPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("tasks_learned"), QStringLiteral("value"));
}

// --- Forgetting -------------------------------------------------------------------------------

ForgettingPlot::ForgettingPlot(QWidget* parent) : Plot(tr("Forgetting per task"), parent) {
    xAxis->setLabel(tr("task"));
    integerTicks(xAxis);
    yAxis->setLabel(tr("best − final accuracy (points)"));
    legend->setVisible(true);
    setEmptyMessage(tr("After the second task"));
}

void ForgettingPlot::refresh(const RunData* /*current*/, const RunList& runs) {
    clearPlottables();
    int index = 0;
    const auto groups = plotGroups(runs, meanOverSeeds_);
    const double width = 0.8 / static_cast<double>(std::max<std::size_t>(groups.size(), 1));
    int tasks = runs.empty() ? plannedTasks_ : 1;
    double low = 0;
    double high = 1;
    std::size_t mostSeeds = 1;
    for (const auto& group : groups) {
        for (const auto* run : group.runs) {
            tasks = std::max(tasks, run->tasks);
        }
        const auto forgetting = meanCurve(group, [](const RunData& run) {
            std::vector<std::pair<int, double>> out;  // (task, 0-based) → its forgetting
            const auto metrics = computeContinualMetrics(run.matrix(MatrixKind::ClassIncremental));
            for (std::size_t t = 0; t < metrics.forgetting.size(); ++t) {
                if (metrics.forgetting[t]) {
                    out.emplace_back(static_cast<int>(t), *metrics.forgetting[t]);
                }
            }
            return out;
        });
        const auto seeds = group.runs.size();
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setName(groupName(group));
        mostSeeds = std::max(mostSeeds, seeds);
        // Past the palette's eight colours, hatched: no two variants' bars alike.
        bars->setBrush(QBrush(okabeIto(index), index >= 8 ? Qt::BDiagPattern : Qt::SolidPattern));
        bars->setPen(QPen(okabeIto(index).darker(130)));
        bars->setWidth(width);
        QCPErrorBars* errors = nullptr;
        if (seeds > 1) {
            errors = new QCPErrorBars(xAxis, yAxis);
            errors->removeFromLegend();
            errors->setDataPlottable(bars);
            errors->setPen(QPen(palette().color(QPalette::WindowText)));
        }
        for (int i = 0; i < forgetting.x.size(); ++i) {
            const double mean = forgetting.mean[i];
            const double sd = forgetting.sd[i];
            bars->addData(forgetting.x[i] + 1 - 0.4 + width * (index + 0.5), mean);
            low = std::min(low, mean - sd);
            high = std::max(high, mean + sd);
        }
        if (bars->dataCount() == 0) {
            if (errors != nullptr) {
                removePlottable(errors);
            }
            removePlottable(bars);
            continue;
        }
        if (errors != nullptr) {
            errors->setData(forgetting.sd);
        }
        ++index;
    }
    xAxis->setRange(0.5, tasks - 0.5);
    yAxis->setRange(low - 2, high * 1.1 + 1);
    setEmptyMessage(index == 0 ? tr("After the second task") : QString());
    legend->setVisible(index > 0);
    titleForSeeds(this, title_, mostSeeds);
    fitLegend(this);
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString ForgettingPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("task"), QStringLiteral("forgetting"));
}

// --- Calibration ------------------------------------------------------------------------------

CalibrationPlot::CalibrationPlot(QWidget* parent)
    : Plot(tr("Reliability: raw vs calibrated"), parent) {
    xAxis->setLabel(tr("confidence"));
    yAxis->setLabel(tr("accuracy"));
    xAxis->setRange(0, 1);
    yAxis->setRange(0, 1);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    setEmptyMessage(tr("After the first task"));
}

void CalibrationPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    clearGraphs();
    auto* ideal = addGraph();
    ideal->setName(tr("perfect calibration"));
    ideal->setData({0, 1}, {0, 1});
    ideal->setPen(QPen(palette().color(QPalette::Mid), 1, Qt::DashLine));
    const Evaluation* last = lastEvaluation(current);
    if (last != nullptr) {
        auto add = [&](const std::vector<ReliabilityBin>& bins, const QString& name,
                       std::optional<double> ece, int colour) {
            if (bins.empty()) {
                return;
            }
            auto* g = addGraph();
            g->setName(ece ? QStringLiteral("%1 (ECE %2 %)").arg(name).arg(decimalText(*ece, 2))
                           : name);
            styleGraph(g, colour);
            for (const auto& b : bins) {
                if (b.count > 0) {
                    g->addData(b.meanConfidence, b.accuracy);
                }
            }
        };
        add(last->reliabilityRaw, tr("raw"), last->eceRaw, 3);
        add(last->reliabilityCalibrated, tr("calibrated"), last->eceCalibrated, 0);
    }
    setEmptyMessage(last == nullptr ? tr("After the first task") : QString());
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString CalibrationPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("confidence"), QStringLiteral("accuracy"));
}

// --- Spectra ----------------------------------------------------------------------------------

SpectraPlot::SpectraPlot(QWidget* parent)
    : Plot(tr("Adapter singular values (ΔW), after the last task"), parent) {
    xAxis->setLabel(tr("index"));
    integerTicks(xAxis);
    yAxis->setLabel(tr("singular value"));
    yAxis->setScaleType(QCPAxis::stLogarithmic);
    yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    setEmptyMessage(tr("After the first task"));
}

void SpectraPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    clearGraphs();
    const Evaluation* last = lastEvaluation(current);
    int index = 0;
    double high = 1e-3;
    double low = 1e9;
    int longest = 1;
    if (last != nullptr) {
        for (const auto& s : last->spectra) {
            auto* g = addGraph();
            g->setName(QStringLiteral("block %1 %2 %3")
                           .arg(s.block)
                           .arg(QString::fromStdString(s.map), QString::fromStdString(s.kind)));
            styleGraph(g, index++);
            const double scale =
                normalized_ && !s.singularValues.empty() && s.singularValues.front() > 0
                    ? 1.0 / s.singularValues.front()
                    : 1.0;
            // Past the adapter's rank the values are rounding noise (ΔW = B A is stored in
            // float32): below 1e-5 of the largest they are left out, not drawn as a cliff.
            const double noise =
                s.singularValues.empty() ? 0.0 : 1e-5 * s.singularValues.front() * scale;
            for (std::size_t i = 0; i < s.singularValues.size(); ++i) {
                const double v = s.singularValues[i] * scale;
                if (v > std::max(noise, 1e-12)) {
                    g->addData(static_cast<double>(i + 1), v);
                    high = std::max(high, v);
                    low = std::min(low, v);
                    longest = std::max(longest, static_cast<int>(i + 1));
                }
            }
        }
    }
    // Fitted to the values drawn (#17: fixed at 24, residual spectra of 80 values left it).
    xAxis->setRange(0.5, longest + 0.5);
    yAxis->setRange(std::max(low * 0.5, high * 1e-4), high * 2);
    setEmptyMessage(index == 0 ? tr("After the first task") : QString());
    legend->setVisible(index > 0);
    fitLegend(this);  // a spectrum per adapted map and kind
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString SpectraPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("index"), QStringLiteral("singular_value"));
}

}  // namespace dlw::ui
