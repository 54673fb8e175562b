#include "ui/plots.h"

#include "api/metrics.h"

#include <cmath>

#include <QContextMenuEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSaveFile>
#include <QTextStream>
#include <QToolTip>

namespace dlw::ui {

QColor okabeIto(int index) {
    static const QColor colours[] = {
        QColor(0, 114, 178),   QColor(230, 159, 0),  QColor(0, 158, 115),  QColor(213, 94, 0),
        QColor(204, 121, 167), QColor(86, 180, 233), QColor(240, 228, 66), QColor(0, 0, 0)};
    return colours[index % 8];
}

namespace {

const QCPScatterStyle::ScatterShape kShapes[] = {
    QCPScatterStyle::ssCircle,  QCPScatterStyle::ssSquare,          QCPScatterStyle::ssTriangle,
    QCPScatterStyle::ssDiamond, QCPScatterStyle::ssCross,           QCPScatterStyle::ssPlus,
    QCPScatterStyle::ssStar,    QCPScatterStyle::ssTriangleInverted};

QString number(double v) {
    return QString::number(v, 'g', 6);
}

// Every graph and bar series of the plot as rows "series,x,y".
QString plottablesCsv(const QCustomPlot* plot, const QString& xName, const QString& yName) {
    QString out = QStringLiteral("series,%1,%2\n").arg(xName, yName);
    for (int i = 0; i < plot->plottableCount(); ++i) {
        auto* p = const_cast<QCustomPlot*>(plot)->plottable(i);  // NOLINT: no const accessor
        if (!p->visible()) {
            continue;
        }
        const QString name = p->name().isEmpty() ? QStringLiteral("series %1").arg(i) : p->name();
        auto rows = [&](auto* data) {
            for (auto it = data->constBegin(); it != data->constEnd(); ++it) {
                out += QStringLiteral("\"%1\",%2,%3\n")
                           .arg(name, number(it->mainKey()), number(it->mainValue()));
            }
        };
        if (auto* g = qobject_cast<QCPGraph*>(p)) {
            rows(g->data().data());
        } else if (auto* b = qobject_cast<QCPBars*>(p)) {
            rows(b->data().data());
        }
    }
    return out;
}

void styleGraph(QCPGraph* g, int index, bool markers = true) {
    QPen pen(okabeIto(index), 2);
    g->setPen(pen);
    if (markers) {
        g->setScatterStyle(QCPScatterStyle(kShapes[index % 8], okabeIto(index), 7));
    }
}

// Colours that follow the palette (dark or light), set on every redraw.
void applyPalette(QCustomPlot* plot) {
    const QPalette pal = plot->palette();
    const QColor fg = pal.color(QPalette::WindowText);
    plot->setBackground(pal.brush(QPalette::Base));
    for (auto* axis : plot->axisRect()->axes()) {
        axis->setBasePen(QPen(fg));
        axis->setTickPen(QPen(fg));
        axis->setSubTickPen(QPen(fg));
        axis->setTickLabelColor(fg);
        axis->setLabelColor(fg);
        axis->grid()->setPen(QPen(pal.color(QPalette::Mid), 0, Qt::DotLine));
    }
    QColor legendFill = pal.color(QPalette::Base);
    legendFill.setAlpha(200);
    plot->legend->setBrush(legendFill);
    QFont small = plot->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    plot->legend->setFont(small);
    plot->legend->setTextColor(fg);
    plot->legend->setBorderPen(QPen(pal.color(QPalette::Mid)));
}

}  // namespace

Plot::Plot(const QString& title, QWidget* parent) : QCustomPlot(parent), title_(title) {
    plotLayout()->insertRow(0);
    auto* heading = new QCPTextElement(this, title, QFont(font().family(), 10, QFont::Bold));
    heading->setTextColor(palette().color(QPalette::WindowText));
    plotLayout()->addElement(0, 0, heading);
    setMinimumSize(320, 220);
    setMouseTracking(true);
    empty_ = new QCPItemText(this);
    empty_->position->setType(QCPItemPosition::ptAxisRectRatio);
    empty_->position->setCoords(0.5, 0.5);
    empty_->setColor(palette().color(QPalette::PlaceholderText));
    applyPalette(this);
}

void Plot::setEmptyMessage(const QString& text) {
    empty_->setText(text);
    empty_->setVisible(!text.isEmpty());
}

bool Plot::exportTo(const QString& path, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == QLatin1String("png")) {
        ok = savePng(path, 0, 0, 2.0);
    } else if (suffix == QLatin1String("pdf")) {
        ok = savePdf(path);
    } else if (suffix == QLatin1String("csv")) {
        QSaveFile file(path);  // atomic: a temporary file renamed on commit
        if (file.open(QIODevice::WriteOnly | QIODevice::Text)) {
            file.write(csv().toUtf8());
            ok = file.commit();
        }
    } else {
        *error = tr("%1: unknown format (use .png, .pdf or .csv)").arg(path);
        return false;
    }
    if (!ok) {
        *error = tr("%1: could not be written").arg(path);
    }
    return ok;
}

QString Plot::hoverText(const QPoint& pos) const {
    double best = 12;  // pixels
    QString text;
    for (int i = 0; i < plottableCount(); ++i) {
        auto* p = const_cast<Plot*>(this)->plottable(i);  // NOLINT: no const accessor
        auto* g = qobject_cast<QCPGraph*>(p);
        auto* b = qobject_cast<QCPBars*>(p);
        if (!p->visible() || (g == nullptr && b == nullptr)) {
            continue;
        }
        auto scan = [&](auto* data) {
            for (auto it = data->constBegin(); it != data->constEnd(); ++it) {
                const QPointF at = p->coordsToPixels(it->mainKey(), it->mainValue());
                const double d = std::hypot(at.x() - pos.x(), at.y() - pos.y());
                if (d < best) {
                    best = d;
                    text = QStringLiteral("%1\n%2 = %3\n%4 = %5")
                               .arg(p->name(), p->keyAxis()->label(), number(it->mainKey()),
                                    p->valueAxis()->label(), number(it->mainValue()));
                }
            }
        };
        if (g != nullptr) {
            scan(g->data().data());
        } else {
            scan(b->data().data());
        }
    }
    return text;
}

void Plot::mouseMoveEvent(QMouseEvent* event) {
    QCustomPlot::mouseMoveEvent(event);
    const QString text = hoverText(event->pos());
    if (text.isEmpty()) {
        QToolTip::hideText();
    } else {
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
    }
}

void Plot::contextMenuEvent(QContextMenuEvent* event) {
    QMenu menu(this);
    for (const QString& format :
         {QStringLiteral("PNG"), QStringLiteral("PDF"), QStringLiteral("CSV")}) {
        menu.addAction(tr("Export %1…").arg(format), this, [this, format] {
            const QString stem = title_.toLower().replace(QRegularExpression("[^a-z0-9]+"), "-");
            const QString path = QFileDialog::getSaveFileName(
                this, tr("Export %1").arg(title_), stem + "." + format.toLower(),
                QStringLiteral("%1 (*.%2)").arg(format, format.toLower()));
            QString error;
            if (!path.isEmpty() && !exportTo(path, &error)) {
                QMessageBox::warning(this, tr("Export"), error);
            }
        });
    }
    menu.exec(event->globalPos());
}

// --- Loss -------------------------------------------------------------------------------------

LossPlot::LossPlot(QWidget* parent)
    : Plot(tr("Training loss (faint: each step; bold: smoothed, reset per task)"), parent) {
    raw_ = addGraph();
    raw_->setName(tr("loss (each step)"));
    QColor faint = okabeIto(0);
    faint.setAlpha(70);
    raw_->setPen(QPen(faint, 1));
    smooth_ = addGraph();
    smooth_->setName(tr("smoothed (EMA 0.9, reset per task)"));
    smooth_->setPen(QPen(okabeIto(0), 2));
    lr_ = addGraph(xAxis, yAxis2);
    lr_->setName(tr("learning rate"));
    lr_->setPen(QPen(okabeIto(1), 1, Qt::DashLine));
    yAxis2->setVisible(true);
    yAxis2->setLabel(tr("learning rate (dashed)"));
    xAxis->setLabel(tr("training step"));
    yAxis->setLabel(tr("cross-entropy"));
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    legend->setVisible(false);  // the title says it: faint = each step, bold = smoothed
    setEmptyMessage(tr("Press Run: the loss of every training step appears here"));
}

void LossPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    for (auto* item : bands_) {
        removeItem(item);
    }
    bands_.clear();
    QVector<double> x;
    QVector<double> y;
    QVector<double> ys;
    QVector<double> lr;
    if (current != nullptr) {
        double ema = 0;
        int task = -1;
        for (const auto& s : current->steps) {
            if (s.task != task) {  // smoothing restarts at each task boundary
                task = s.task;
                ema = s.loss;
            }
            ema = 0.9 * ema + 0.1 * s.loss;
            x.push_back(static_cast<double>(s.step));
            y.push_back(s.loss);
            ys.push_back(ema);
            lr.push_back(s.lr);
        }
    }
    raw_->setData(x, y, true);
    smooth_->setData(x, ys, true);
    lr_->setData(x, lr, true);
    if (!lr.isEmpty()) {
        const double peak = *std::max_element(lr.begin(), lr.end());
        yAxis2->setRange(0, peak * 1.25);
    }
    setEmptyMessage(x.isEmpty() ? tr("Press Run: the loss of every training step appears here")
                                : QString());
    if (!x.isEmpty()) {
        xAxis->setRange(0, x.back() + 1);
        double top = 0;
        for (double v : y) {
            top = std::max(top, v);
        }
        yAxis->setRange(0, top * 1.08);
        const auto& firsts = current->taskFirstStep;
        for (std::size_t t = 0; t < firsts.size(); ++t) {
            const double begin = static_cast<double>(firsts[t]);
            const double end =
                t + 1 < firsts.size() ? static_cast<double>(firsts[t + 1]) : x.back() + 1;
            auto* band = new QCPItemRect(this);
            band->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
            band->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
            band->topLeft->setCoords(begin, 0);
            band->bottomRight->setCoords(end, 1);
            QColor fill = t % 2 == 0 ? palette().color(QPalette::AlternateBase)
                                     : palette().color(QPalette::Base);
            band->setBrush(fill);
            band->setPen(Qt::NoPen);
            band->setLayer(QStringLiteral("background"));
            auto* label = new QCPItemText(this);
            label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
            label->position->setCoords((begin + end) / 2, 0.04);
            label->setText(QStringLiteral("T%1").arg(t + 1));
            label->setColor(palette().color(QPalette::WindowText));
            bands_.push_back(band);
            bands_.push_back(label);
        }
    }
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString LossPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("step"), QStringLiteral("loss"));
}

// --- Accuracy vs tasks learned ----------------------------------------------------------------

AccuracyPlot::AccuracyPlot(QWidget* parent) : Plot(tr("Accuracy vs tasks learned"), parent) {
    xAxis->setLabel(tr("tasks learned"));
    yAxis->setLabel(tr("accuracy on seen tasks (%)"));
    yAxis->setRange(0, 100);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    setEmptyMessage(tr("One line per method, after each task"));
}

void AccuracyPlot::refresh(const RunData* /*current*/, const RunList& runs) {
    clearGraphs();
    int tasks = 1;
    int index = 0;
    for (const auto& run : runs) {
        tasks = std::max(tasks, run->tasks);
        const auto curve = run->accuracyCurve();
        if (curve.empty()) {
            continue;
        }
        auto* g = addGraph();
        QString name = QString::fromStdString(run->label);
        const auto metrics = computeContinualMetrics(run->matrix(MatrixKind::ClassIncremental));
        if (run->evaluations.size() == static_cast<std::size_t>(run->tasks)) {
            name += tr("  A_T %1  Ā %2")
                        .arg(metrics.finalAccuracy, 0, 'f', 1)
                        .arg(metrics.averageIncrementalAccuracy, 0, 'f', 1);
        }
        g->setName(name);
        styleGraph(g, index);
        if (run->label == "joint" && curve.size() == 1) {  // the upper bound, across the plot
            g->setData({1.0, static_cast<double>(run->tasks)},
                       {curve.front().second, curve.front().second});
            QPen pen = g->pen();
            pen.setStyle(Qt::DashLine);
            g->setPen(pen);
        } else {
            for (const auto& [x, y] : curve) {
                g->addData(x, y);
            }
        }
        if (run->label == "seq-lora") {  // the lower bound
            QPen pen = g->pen();
            pen.setStyle(Qt::DotLine);
            g->setPen(pen);
        }
        ++index;
    }
    xAxis->setRange(0.7, tasks + 0.3);
    xAxis->ticker()->setTickCount(std::min(tasks, 10));
    setEmptyMessage(index == 0 ? tr("One line per method, after each task") : QString());
    legend->setVisible(index > 0);
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString AccuracyPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("tasks_learned"), QStringLiteral("accuracy"));
}

// --- Accuracy matrix --------------------------------------------------------------------------

MatrixPlot::MatrixPlot(QWidget* parent) : Plot(tr("Accuracy matrix (row: after task i)"), parent) {
    map_ = new QCPColorMap(xAxis, yAxis);
    map_->setInterpolate(false);  // one flat colour per cell
    QCPColorGradient gradient(QCPColorGradient::gpThermal);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    map_->setGradient(gradient);
    map_->setDataRange(QCPRange(0, 100));  // fixed scale: runs compare at a glance
    auto* scale = new QCPColorScale(this);
    scale_ = scale;
    plotLayout()->addElement(1, 1, scale);
    scale->setDataRange(QCPRange(0, 100));
    scale->setGradient(gradient);
    scale->axis()->setLabel(tr("accuracy (%)"));
    scale->setBarWidth(10);
    auto* group = new QCPMarginGroup(this);  // the scale as tall as the matrix
    axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    map_->setColorScale(scale);
    xAxis->setLabel(tr("evaluated on task j"));
    yAxis->setLabel(tr("after task i"));
    yAxis->setRangeReversed(true);
    setEmptyMessage(tr("Fills row by row as tasks finish"));
}

void MatrixPlot::setKind(MatrixKind kind) {
    kind_ = kind;
    static const char* titles[] = {"Accuracy matrix (row: after task i)",
                                   "Task-aware accuracy matrix (task given)",
                                   "Task-identity accuracy matrix", "Task confusion (last row)"};
    title_ = tr(titles[static_cast<int>(kind)]);
    if (auto* heading = qobject_cast<QCPTextElement*>(plotLayout()->element(0, 0))) {
        heading->setText(title_);
    }
    if (kind == MatrixKind::TaskConfusion) {
        xAxis->setLabel(tr("predicted task"));
        yAxis->setLabel(tr("true task"));
        scale_->axis()->setLabel(tr("share of the true task's images (%)"));
    }
}

void MatrixPlot::refresh(const RunData* current, const RunList& runs) {
    for (auto* item : labels_) {
        removeItem(item);
    }
    labels_.clear();
    const int t = current != nullptr && current->tasks > 0 ? current->tasks : 5;
    shown_ = current != nullptr ? current->matrix(kind_) : AccuracyMatrix{};
    const RunData* base = nullptr;
    for (const auto& r : runs) {
        if (!baseline_.empty() && r->label == baseline_ && r.get() != current) {
            base = r.get();
        }
    }
    if (base != nullptr) {  // the difference view: current − baseline, cell by cell
        const AccuracyMatrix b = base->matrix(kind_);
        for (std::size_t i = 0; i < shown_.size() && i < b.size(); ++i) {
            for (std::size_t j = 0; j < shown_[i].size() && j < b[i].size(); ++j) {
                shown_[i][j] = shown_[i][j] && b[i][j]
                                   ? std::optional<double>(*shown_[i][j] - *b[i][j])
                                   : std::nullopt;
            }
        }
    }
    QCPColorGradient gradient(base != nullptr ? QCPColorGradient::gpPolar
                                              : QCPColorGradient::gpThermal);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    const QCPRange range = base != nullptr ? QCPRange(-50, 50) : QCPRange(0, 100);
    map_->setGradient(gradient);
    map_->setDataRange(range);
    scale_->setGradient(gradient);
    scale_->setDataRange(range);
    if (kind_ != MatrixKind::TaskConfusion) {
        scale_->axis()->setLabel(
            base != nullptr ? tr("difference vs %1 (points)").arg(QString::fromStdString(baseline_))
                            : tr("accuracy (%)"));
    }
    map_->data()->setSize(t, t);
    map_->data()->setRange(QCPRange(1, t), QCPRange(1, t));
    bool any = false;
    for (int i = 0; i < t; ++i) {
        double sum = 0;
        int n = 0;
        for (int j = 0; j < t; ++j) {
            std::optional<double> v;
            if (static_cast<std::size_t>(i) < shown_.size()) {
                v = shown_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
            }
            map_->data()->setCell(j, i, v ? *v : std::nan(""));
            if (!v) {
                continue;
            }
            any = true;
            sum += *v;
            ++n;
            auto* text = new QCPItemText(this);
            text->position->setCoords(j + 1, i + 1);
            text->setText(base != nullptr ? QString::asprintf("%+.1f", *v)
                                          : QString::number(*v, 'f', 1));
            text->setColor(base != nullptr || *v > 60 ? Qt::black : Qt::white);
            labels_.push_back(text);
        }
        if (n > 0 && kind_ != MatrixKind::TaskConfusion) {  // the row mean, right of the row
            auto* mean = new QCPItemText(this);
            mean->position->setCoords(t + 0.75, i + 1);
            mean->setText(QStringLiteral("mean %1").arg(sum / n, 0, 'f', 1));
            mean->setPositionAlignment(Qt::AlignLeft | Qt::AlignVCenter);
            mean->setColor(palette().color(QPalette::WindowText));
            mean->setClipToAxisRect(false);
            labels_.push_back(mean);
        }
    }
    xAxis->setRange(0.5, t + 0.5);
    yAxis->setRange(0.5, t + 0.5);
    axisRect()->setMinimumMargins(
        QMargins(0, 0, kind_ == MatrixKind::TaskConfusion ? 0 : 70, 0));  // row means
    setEmptyMessage(any ? QString() : tr("Fills row by row as tasks finish"));
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString MatrixPlot::hoverText(const QPoint& pos) const {
    const int j = static_cast<int>(std::lround(xAxis->pixelToCoord(pos.x()))) - 1;
    const int i = static_cast<int>(std::lround(yAxis->pixelToCoord(pos.y()))) - 1;
    if (i < 0 || j < 0 || static_cast<std::size_t>(i) >= shown_.size() ||
        static_cast<std::size_t>(j) >= shown_[static_cast<std::size_t>(i)].size()) {
        return {};
    }
    const auto& v = shown_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
    const QString what = kind_ == MatrixKind::TaskConfusion
                             ? tr("true task %1, predicted task %2").arg(i + 1).arg(j + 1)
                             : tr("after task %1, on task %2").arg(i + 1).arg(j + 1);
    return what + "\n" + (v ? QString::number(*v, 'f', 2) : tr("not trained yet"));
}

QString MatrixPlot::csv() const {
    QString out = QStringLiteral("after_task");
    for (std::size_t j = 0; j < shown_.size(); ++j) {
        out += QStringLiteral(",task_%1").arg(j + 1);
    }
    out += '\n';
    for (std::size_t i = 0; i < shown_.size(); ++i) {
        out += QString::number(i + 1);
        for (const auto& v : shown_[i]) {
            out += ',' + (v ? number(*v) : QString());
        }
        out += '\n';
    }
    return out;
}

// --- Task identity ----------------------------------------------------------------------------

TaskIdentityPlot::TaskIdentityPlot(QWidget* parent)
    : Plot(tr("Task identity: confidence of the predicted task"), parent) {
    correct_ = new QCPBars(xAxis, yAxis);
    wrong_ = new QCPBars(xAxis, yAxis);
    correct_->setName(tr("task right"));
    wrong_->setName(tr("task wrong"));
    correct_->setBrush(okabeIto(2));
    correct_->setPen(QPen(okabeIto(2).darker(130)));
    wrong_->setBrush(okabeIto(3));
    wrong_->setPen(QPen(okabeIto(3).darker(130)));
    wrong_->moveAbove(correct_);  // stacked: the bar height is all images in the bin
    xAxis->setLabel(tr("max p(task | x)"));
    yAxis->setLabel(tr("test images"));
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    setEmptyMessage(tr("After the first task"));
}

void TaskIdentityPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    constexpr int kBins = 20;
    QVector<double> keys;
    QVector<double> right(kBins, 0);
    QVector<double> wrong(kBins, 0);
    for (int b = 0; b < kBins; ++b) {
        keys.push_back((b + 0.5) / kBins);
    }
    const Evaluation* last = current != nullptr && !current->evaluations.empty()
                                 ? &current->evaluations.back()
                                 : nullptr;
    const bool has = last != nullptr && !last->taskConfidence.empty();
    if (has) {
        for (std::size_t i = 0; i < last->taskConfidence.size(); ++i) {
            const int b =
                std::clamp(static_cast<int>(last->taskConfidence[i] * kBins), 0, kBins - 1);
            (last->taskCorrect[i] ? right : wrong)[b] += 1;
        }
        double accuracy = 0;
        for (double v : last->taskIdAccuracy) {
            accuracy += v;
        }
        accuracy /= std::max<std::size_t>(last->taskIdAccuracy.size(), 1);
        correct_->setName(tr("task right (%1 % after task %2)")
                              .arg(accuracy, 0, 'f', 1)
                              .arg(last->afterTask + 1));
    }
    correct_->setWidth(1.0 / kBins * 0.9);
    wrong_->setWidth(1.0 / kBins * 0.9);
    correct_->setData(keys, right, true);
    wrong_->setData(keys, wrong, true);
    xAxis->setRange(0, 1);
    double top = 1;
    for (int b = 0; b < kBins; ++b) {
        top = std::max(top, right[b] + wrong[b]);
    }
    yAxis->setRange(0, top * 1.1);
    setEmptyMessage(has ? QString()
                    : current != nullptr && !current->evaluations.empty()
                        ? tr("This method has no task predictor")
                        : tr("After the first task"));
    legend->setVisible(has);
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString TaskIdentityPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("confidence_bin_centre"), QStringLiteral("images"));
}

// --- Task identity over tasks, task accuracy over time, memory ----------------------------------

TaskIdCurvePlot::TaskIdCurvePlot(QWidget* parent)
    : Plot(tr("Task-identity accuracy after each task"), parent) {
    xAxis->setLabel(tr("tasks learned"));
    yAxis->setLabel(tr("predicted task right (%)"));
    yAxis->setRange(0, 100);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    setEmptyMessage(tr("After the first task"));
}

void TaskIdCurvePlot::refresh(const RunData* /*current*/, const RunList& runs) {
    clearGraphs();
    int tasks = 1;
    int index = 0;
    for (const auto& run : runs) {
        tasks = std::max(tasks, run->tasks);
        const auto curve = run->taskIdCurve();
        if (curve.empty()) {
            continue;
        }
        auto* g = addGraph();
        g->setName(QString::fromStdString(run->label));
        styleGraph(g, index++);
        for (const auto& [x, y] : curve) {
            g->addData(x, y);
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
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString TaskIdCurvePlot::csv() const {
    return plottablesCsv(this, QStringLiteral("tasks_learned"), QStringLiteral("task_id_accuracy"));
}

TaskAccuracyPlot::TaskAccuracyPlot(QWidget* parent)
    : Plot(tr("Each task's accuracy as later tasks are learned"), parent) {
    xAxis->setLabel(tr("tasks learned"));
    yAxis->setLabel(tr("accuracy on the task (%)"));
    yAxis->setRange(0, 100);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    setEmptyMessage(tr("After the first task"));
}

void TaskAccuracyPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    clearGraphs();
    const int t = current != nullptr ? std::max(current->tasks, 1) : 1;
    const AccuracyMatrix m =
        current != nullptr ? current->matrix(MatrixKind::ClassIncremental) : AccuracyMatrix{};
    bool any = false;
    for (int j = 0; j < t && current != nullptr; ++j) {
        auto* g = addGraph();
        g->setName(tr("task %1").arg(j + 1));
        styleGraph(g, j);
        for (int i = j; i < t; ++i) {
            const auto& v = m[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
            if (v) {
                g->addData(i + 1, *v);
                any = true;
            }
        }
    }
    xAxis->setRange(0.7, t + 0.3);
    setEmptyMessage(any ? QString() : tr("After the first task"));
    legend->setVisible(any);
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString TaskAccuracyPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("tasks_learned"), QStringLiteral("accuracy"));
}

MemoryPlot::MemoryPlot(QWidget* parent)
    : Plot(tr("Subspace memory: size (bars) and captured energy (lines)"), parent) {
    xAxis->setLabel(tr("tasks learned"));
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
    auto* threshold = inputs.empty() ? nullptr : addGraph(xAxis, yAxis2);
    if (threshold != nullptr) {
        threshold->setName(tr("threshold ε"));
        threshold->setPen(QPen(palette().color(QPalette::WindowText), 1, Qt::DashLine));
    }
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
                if (k == 0) {
                    threshold->addData(ev.afterTask + 1, 100 * m.threshold);
                }
            }
        }
    }
    const int t = current != nullptr ? std::max(current->tasks, 1) : 1;
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
    yAxis->setLabel(tr("best − final accuracy (points)"));
    legend->setVisible(true);
    setEmptyMessage(tr("After the second task"));
}

void ForgettingPlot::refresh(const RunData* /*current*/, const RunList& runs) {
    clearPlottables();
    int index = 0;
    const double width = 0.8 / std::max<std::size_t>(runs.size(), 1);
    int tasks = 1;
    double low = 0;
    double high = 1;
    for (const auto& run : runs) {
        const auto metrics = computeContinualMetrics(run->matrix(MatrixKind::ClassIncremental));
        if (metrics.forgetting.empty()) {
            continue;
        }
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setName(QString::fromStdString(run->label));
        bars->setBrush(okabeIto(index));
        bars->setPen(QPen(okabeIto(index).darker(130)));
        bars->setWidth(width);
        for (std::size_t t = 0; t < metrics.forgetting.size(); ++t) {
            if (metrics.forgetting[t]) {
                const double v = *metrics.forgetting[t];
                bars->addData(static_cast<double>(t) + 1 - 0.4 + width * (index + 0.5), v);
                low = std::min(low, v);
                high = std::max(high, v);
            }
        }
        tasks = std::max(tasks, run->tasks);
        ++index;
    }
    xAxis->setRange(0.5, tasks - 0.5);
    yAxis->setRange(low - 2, high * 1.1 + 1);
    setEmptyMessage(index == 0 ? tr("After the second task") : QString());
    legend->setVisible(index > 0);
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
    const Evaluation* last = current != nullptr && !current->evaluations.empty()
                                 ? &current->evaluations.back()
                                 : nullptr;
    if (last != nullptr) {
        auto add = [&](const std::vector<ReliabilityBin>& bins, const QString& name,
                       std::optional<double> ece, int colour) {
            if (bins.empty()) {
                return;
            }
            auto* g = addGraph();
            g->setName(ece ? QStringLiteral("%1 (ECE %2 %)").arg(name).arg(*ece, 0, 'f', 2) : name);
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
    yAxis->setLabel(tr("singular value"));
    yAxis->setScaleType(QCPAxis::stLogarithmic);
    yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    setEmptyMessage(tr("After the first task"));
}

void SpectraPlot::refresh(const RunData* current, const RunList& /*runs*/) {
    clearGraphs();
    const Evaluation* last = current != nullptr && !current->evaluations.empty()
                                 ? &current->evaluations.back()
                                 : nullptr;
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
            for (std::size_t i = 0; i < s.singularValues.size(); ++i) {
                const double v = s.singularValues[i] * scale;
                if (v > 1e-8) {
                    g->addData(static_cast<double>(i + 1), v);
                    high = std::max(high, v);
                    low = std::min(low, v);
                }
            }
            longest = std::max(longest, static_cast<int>(s.singularValues.size()));
        }
    }
    xAxis->setRange(0.5, std::min(longest, 24) + 0.5);
    yAxis->setRange(std::max(low * 0.5, high * 1e-4), high * 2);
    setEmptyMessage(index == 0 ? tr("After the first task") : QString());
    legend->setVisible(index > 0);
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString SpectraPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("index"), QStringLiteral("singular_value"));
}

}  // namespace dlw::ui
