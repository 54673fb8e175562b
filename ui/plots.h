#pragma once
// The live plots of DESIGN §7, each a QCustomPlot that redraws from RunData on demand (the
// window calls refresh() from its coalescing timer, never once per event). Every plot shows
// exact values on hover and exports PNG, PDF and the CSV of exactly what it shows from its
// right-click menu. Okabe-Ito colours with markers. GUI thread only.

#include "qcustomplot.h"
#include "ui/run_data.h"

#include <algorithm>
#include <memory>
#include <vector>

#include <QColor>

namespace dlw::ui {

// Okabe-Ito, colour-blind safe; index wraps.
QColor okabeIto(int index);

class Plot : public QCustomPlot {
    Q_OBJECT

public:
    explicit Plot(const QString& title, QWidget* parent = nullptr);
    // `current`: the run in focus (may be null); `runs`: every run of its sequence, for
    // comparisons (current included).
    virtual void refresh(const RunData* current, const RunList& runs) = 0;
    // What the plot shows as CSV (header line first).
    virtual QString csv() const = 0;
    QString title() const { return title_; }
    // Nothing to draw: the plot shows only its message ("After the first task", "This method
    // has no task predictor", ...).
    bool showsNothing() const { return empty_->visible(); }
    // That message as drawn: word-wrapped to the axis rect's width at the last layout.
    QString emptyMessageShown() const { return empty_->visible() ? empty_->text() : QString(); }
    // Writes PNG, PDF or CSV by the file's suffix; false with a message on failure.
    bool exportTo(const QString& path, QString* error);
    // The task count of the experiment set up but not run yet: what a plot sized by tasks shows
    // when no run is in focus (#17: a 10-task setup showed a 5 × 5 matrix). Default 5.
    void setPlannedTasks(int tasks) { plannedTasks_ = std::max(tasks, 1); }
    // Whether this plot can show runs of one variant that differ in their seed as a mean ± SD
    // (#17); such plots get every seed's runs in refresh() while setMeanOverSeeds(true).
    virtual bool aggregatesSeeds() const { return false; }
    void setMeanOverSeeds(bool on) { meanOverSeeds_ = on; }
    bool meanOverSeeds() const { return meanOverSeeds_; }

protected:
    // Hover text for a point near `pos`, or empty.
    virtual QString hoverText(const QPoint& pos) const;
    void mouseMoveEvent(QMouseEvent* event) override;
    // The legend's columns and elided names follow the width (a refresh before the window was
    // laid out had fitted three columns for a plot that then had room for two).
    void resizeEvent(QResizeEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;
    void setEmptyMessage(const QString& text);  // shown while there is nothing to plot

    QString title_;
    QCPItemText* empty_ = nullptr;
    QString emptyText_;  // as given; empty_ shows it wrapped to the width
    void wrapEmptyMessage();
    int plannedTasks_ = 5;
    bool meanOverSeeds_ = false;
};

// The loss plot's smoothing factor β.
inline constexpr double kLossSmoothing = 0.9;

// The exponential moving average of `values` with factor `beta` (0 ≤ β < 1), started at zero and
// divided by 1 − β^n after n values (the bias correction of Adam, Kingma & Ba 2015, §3; what
// TensorBoard's smoothing does), so that it follows the data from the first value instead of
// starting at the first value and lagging. Same length as `values`; out[0] == values[0].
QVector<double> debiasedMovingAverage(const QVector<double>& values, double beta);

class LossPlot : public Plot {
    Q_OBJECT
public:
    explicit LossPlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;

private:
    QCPGraph* raw_;
    QCPGraph* smooth_;
    QCPGraph* lr_;
    std::vector<QCPAbstractItem*> bands_;
};

class AccuracyPlot : public Plot {
    Q_OBJECT
public:
    explicit AccuracyPlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;
    bool aggregatesSeeds() const override { return true; }
};

class MatrixPlot : public Plot {
    Q_OBJECT
public:
    explicit MatrixPlot(QWidget* parent = nullptr);
    void setKind(MatrixKind kind);
    MatrixKind kind() const { return kind_; }
    // Shows current − baseline (a run of the same sequence, by its label); "" = off.
    void setBaseline(const std::string& label) { baseline_ = label; }
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;
    bool aggregatesSeeds() const override { return true; }
    const AccuracyMatrix& shown() const { return shown_; }
    // Seeds behind the matrix shown: 1 for a single run, n for a mean over n seeds.
    int seedsShown() const { return seedsShown_; }
    // The cell labels as drawn, row by row ("" where a cell's value does not fit its cell and
    // shows on hover only), and their font's point size (tests).
    QStringList cellLabels() const;
    double cellLabelPointSize() const;

protected:
    QString hoverText(const QPoint& pos) const override;

private:
    // Sizes the cell labels to the cells as laid out (called after each layout): one decimal
    // while it fits at 7 pt or more, whole numbers below that, none (hover only) when even
    // those do not fit. At 10 tasks "30.034.0" overlapped.
    void fitCellLabels();

    struct CellLabel {
        QCPItemText* item;
        double value;
    };
    QCPColorMap* map_;
    QCPColorScale* scale_;
    MatrixKind kind_ = MatrixKind::ClassIncremental;
    std::string baseline_;
    AccuracyMatrix shown_;
    std::vector<QCPAbstractItem*> labels_;
    std::vector<CellLabel> cells_;  // among labels_
    AccuracyMatrix shownSd_;        // the SD over seeds of a mean, for the hover text
    int seedsShown_ = 1;
    bool signed_ = false;  // the difference view: "+1.5"
    int cellCount_ = 5;
};

class TaskIdentityPlot : public Plot {
    Q_OBJECT
public:
    explicit TaskIdentityPlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;

private:
    QCPBars* correct_;
    QCPBars* wrong_;
};

// Task-identity accuracy (mean over seen tasks) after each task, one line per run.
class TaskIdCurvePlot : public Plot {
    Q_OBJECT
public:
    explicit TaskIdCurvePlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;
    bool aggregatesSeeds() const override { return true; }
};

// Each task's accuracy after every later task (one line per task), of the run in focus.
class TaskAccuracyPlot : public Plot {
    Q_OBJECT
public:
    explicit TaskAccuracyPlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;
};

// Memory size k_l and captured energy per adapted input after each task, with the threshold.
class MemoryPlot : public Plot {
    Q_OBJECT
public:
    explicit MemoryPlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;
};

class ForgettingPlot : public Plot {
    Q_OBJECT
public:
    explicit ForgettingPlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;
    bool aggregatesSeeds() const override { return true; }
};

class CalibrationPlot : public Plot {
    Q_OBJECT
public:
    explicit CalibrationPlot(QWidget* parent = nullptr);
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;
};

class SpectraPlot : public Plot {
    Q_OBJECT
public:
    explicit SpectraPlot(QWidget* parent = nullptr);
    void setNormalized(bool on) { normalized_ = on; }
    void refresh(const RunData* current, const RunList& runs) override;
    QString csv() const override;

private:
    bool normalized_ = false;
};

}  // namespace dlw::ui
