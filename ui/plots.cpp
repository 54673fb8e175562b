#include "ui/plots.h"

#include "api/metrics.h"
#include "ui/plot_support.h"
#include "ui/shown_text.h"

#include <cmath>
#include <filesystem>
#include <map>

#include <QContextMenuEvent>
#include <QCoreApplication>
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
    // The axis rect has its width once the layout is updated, just before each drawing.
    connect(this, &QCustomPlot::afterLayout, this, [this] { wrapEmptyMessage(); });
    applyPalette(this);
}

void Plot::setEmptyMessage(const QString& text) {
    emptyText_ = text;
    wrapEmptyMessage();
    empty_->setVisible(!text.isEmpty());
}

void Plot::wrapEmptyMessage() {
    // Word-wrapped to the axis rect (less a margin): a fixed line break had cut "No task
    // predictor: …" at both edges of a narrow plot.
    const QFontMetrics metrics(empty_->font());
    const int width = std::max(80, axisRect()->width() - 16);
    QStringList lines;
    QString line;
    for (const QString& word :
         emptyText_.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts)) {
        const QString longer = line.isEmpty() ? word : line + QLatin1Char(' ') + word;
        if (!line.isEmpty() && metrics.horizontalAdvance(longer) > width) {
            lines << line;
            line = word;
        } else {
            line = longer;
        }
    }
    if (!line.isEmpty()) {
        lines << line;
    }
    empty_->setText(lines.join(QLatin1Char('\n')));
}

bool Plot::exportTo(const QString& path, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    // Every export is atomic (a temporary file renamed over the target): an export that fails
    // half-way, or a full disk, never leaves a truncated file under the user's name.
    if (suffix == QLatin1String("png")) {
        QSaveFile file(path);
        ok = file.open(QIODevice::WriteOnly) && toPixmap(0, 0, 2.0).save(&file, "PNG") &&
             file.commit();
    } else if (suffix == QLatin1String("pdf")) {
        // QCustomPlot writes PDFs to a path only: a hidden sibling, then renamed.
        const QFileInfo info(path);
        const QString temp = info.absolutePath() + QStringLiteral("/.") + info.fileName() +
                             QStringLiteral(".tmp-%1").arg(QCoreApplication::applicationPid());
        ok = savePdf(temp);
        std::error_code ec;
        if (ok) {
            std::filesystem::rename(temp.toStdString(), path.toStdString(), ec);
            ok = !ec;
        }
        if (!ok) {
            std::filesystem::remove(temp.toStdString(), ec);
        }
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
    if (QString name = legendNameAt(this, pos); !name.isEmpty()) {
        return name;  // a legend entry: its whole name, which the entry may show elided
    }
    double best = 12;  // pixels
    QString text;
    for (int i = 0; i < plottableCount(); ++i) {
        auto* p = const_cast<Plot*>(this)->plottable(i);  // NOLINT: no const accessor
        auto* g = qobject_cast<QCPGraph*>(p);
        auto* b = qobject_cast<QCPBars*>(p);
        if (!p->visible() || (g == nullptr && b == nullptr)) {
            continue;
        }
        auto scan = [&](auto* points) {
            for (auto it = points->constBegin(); it != points->constEnd(); ++it) {
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

void Plot::resizeEvent(QResizeEvent* event) {
    QCustomPlot::resizeEvent(event);
    if (legend != nullptr && legend->visible()) {
        fitLegend(this);
        replot(QCustomPlot::rpQueuedReplot);
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

QVector<double> debiasedMovingAverage(const QVector<double>& values, double beta) {
    QVector<double> out;
    out.reserve(values.size());
    double average = 0;
    double weight = 0;  // 1 − β^n: the share of the average that is data, not the zero start
    for (double v : values) {
        average = beta * average + (1 - beta) * v;
        weight = beta * weight + (1 - beta);
        out.push_back(average / weight);
    }
    return out;
}

LossPlot::LossPlot(QWidget* parent)
    : Plot(tr("Training loss (faint: each step; bold: smoothed, reset per task)"), parent) {
    raw_ = addGraph();
    raw_->setName(tr("loss (each step)"));
    QColor faint = okabeIto(0);
    faint.setAlpha(70);
    raw_->setPen(QPen(faint, 1));
    smooth_ = addGraph();
    smooth_->setName(tr("smoothed (debiased EMA %1, reset per task)").arg(kLossSmoothing));
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
        QVector<double> segment;  // one task's losses: smoothing restarts at each task boundary
        int task = -1;
        const auto flush = [&] {
            ys += debiasedMovingAverage(segment, kLossSmoothing);
            segment.clear();
        };
        for (const auto& s : current->steps) {
            if (s.task != task) {
                flush();
                task = s.task;
            }
            segment.push_back(s.loss);
            x.push_back(static_cast<double>(s.step));
            y.push_back(s.loss);
            lr.push_back(s.lr);
        }
        flush();
    }
    raw_->setData(x, y, true);
    smooth_->setData(x, ys, true);
    // A line needs two points: a run of one step shows its loss as a dot.
    smooth_->setScatterStyle(x.size() == 1
                                 ? QCPScatterStyle(QCPScatterStyle::ssDisc, okabeIto(0), 7)
                                 : QCPScatterStyle());
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
            if (end <= begin) {
                continue;  // a task with no steps of its own (joint trains once, as task T)
            }
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
    integerTicks(xAxis);
    yAxis->setLabel(tr("accuracy on seen tasks (%)"));
    yAxis->setRange(0, 100);
    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    setEmptyMessage(tr("One line per method, after each task"));
}

namespace {

// "  A_T 84.6  Ā 89.4", or with several seeds "  A_T 84.6 ± 0.3  Ā 89.4 ± 0.2"; empty until every
// run of the group has finished all its tasks.
QString finalFigures(const VariantRuns& group) {
    std::vector<double> finals;
    std::vector<double> averages;
    for (const auto* run : group.runs) {
        if (run->evaluations.size() != static_cast<std::size_t>(run->tasks)) {
            return {};
        }
        const auto m = computeContinualMetrics(run->matrix(MatrixKind::ClassIncremental));
        finals.push_back(m.finalAccuracy);
        averages.push_back(m.averageIncrementalAccuracy);
    }
    const auto shown = [&](const std::vector<double>& values) {
        const MeanSd s = meanSd(values);
        return s.n > 1
                   ? QStringLiteral("%1 ± %2").arg(decimalText(s.mean, 1)).arg(decimalText(s.sd, 1))
                   : decimalText(s.mean, 1);
    };
    return QObject::tr("  A_T %1  Ā %2").arg(shown(finals), shown(averages));
}

}  // namespace

void AccuracyPlot::refresh(const RunData* /*current*/, const RunList& runs) {
    clearGraphs();
    int tasks = runs.empty() ? plannedTasks_ : 1;  // no run: the setup's count (#17)
    int index = 0;
    std::size_t mostSeeds = 1;
    const auto groups = plotGroups(runs, meanOverSeeds_);
    // Beneath the plot, many entries keep to their names: the figures are in the comparison.
    const bool crowded = static_cast<int>(groups.size()) > kInsetLegendItems;
    for (const auto& group : groups) {
        for (const auto* run : group.runs) {
            tasks = std::max(tasks, run->tasks);
        }
        // joint trains once: its one point is the upper bound, drawn across the plot
        const double span = group.label == "joint" ? group.runs.front()->tasks : 0;
        auto* g = addMeanCurve(this, group, &RunData::accuracyCurve, index, span);
        if (g == nullptr) {
            continue;
        }
        if (!crowded) {
            g->setName(g->name() + finalFigures(group));
        }
        mostSeeds = std::max(mostSeeds, group.runs.size());
        if (span > 0 || group.label == "seq-lora") {  // the upper and the lower bound
            QPen pen = g->pen();
            pen.setStyle(span > 0 ? Qt::DashLine : Qt::DotLine);
            g->setPen(pen);
        }
        ++index;
    }
    xAxis->setRange(0.7, tasks + 0.3);
    setEmptyMessage(index == 0 ? tr("One line per method, after each task") : QString());
    legend->setVisible(index > 0);
    titleForSeeds(this, title_, mostSeeds);
    fitLegend(this);
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
    integerTicks(xAxis);  // tasks are whole numbers, even with one or two
    integerTicks(yAxis);
    setEmptyMessage(tr("Fills row by row as tasks finish"));
    connect(this, &QCustomPlot::afterLayout, this, &MatrixPlot::fitCellLabels);
}

void MatrixPlot::fitCellLabels() {
    const double cellWidth = axisRect()->width() / static_cast<double>(cellCount_);
    const double cellHeight = axisRect()->height() / static_cast<double>(cellCount_);
    const auto text = [this](double v, int decimals) {
        return signed_ ? QStringLiteral("%1%2").arg(v >= 0 ? "+" : "").arg(decimalText(v, decimals))
                       : decimalText(v, decimals);
    };
    // The widest label decides for all, so that the matrix reads as one table.
    QStringList longest;
    for (int decimals : {1, 0}) {
        QString wide;
        for (const auto& c : cells_) {
            const QString t = text(c.value, decimals);
            wide = t.size() > wide.size() ? t : wide;
        }
        longest << wide;
    }
    int decimals = -1;
    QFont chosen = font();
    for (int d = 0; d < 2 && decimals < 0; ++d) {
        for (double points = 9; points >= 7; points -= 0.5) {
            QFont f = font();
            f.setPointSizeF(points);
            const QFontMetricsF metrics(f);
            if (metrics.horizontalAdvance(longest[d]) + 4 <= cellWidth &&
                metrics.height() <= cellHeight) {
                decimals = 1 - d;
                chosen = f;
                break;
            }
        }
    }
    for (const auto& c : cells_) {
        c.item->setVisible(decimals >= 0);
        c.item->setFont(chosen);
        c.item->setText(decimals >= 0 ? text(c.value, decimals) : QString());
    }
}

QStringList MatrixPlot::cellLabels() const {
    QStringList out;
    for (const auto& c : cells_) {
        out << (c.item->visible() ? c.item->text() : QString());
    }
    return out;
}

double MatrixPlot::cellLabelPointSize() const {
    return cells_.empty() ? 0.0 : cells_.front().item->font().pointSizeF();
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
    cells_.clear();
    const int t = current != nullptr && current->tasks > 0 ? current->tasks : plannedTasks_;
    shown_ = current != nullptr ? current->matrix(kind_) : AccuracyMatrix{};
    shownSd_.clear();
    seedsShown_ = 1;
    // With several seeds of the focused variant: their cell-wise mean (#17).
    const auto groups = meanOverSeeds_ ? groupByVariant(runs) : std::vector<VariantRuns>{};
    const auto seedsOf = [&](const std::string& label) -> const VariantRuns* {
        for (const auto& g : groups) {
            if (g.label == label && g.runs.size() > 1) {
                return &g;
            }
        }
        return nullptr;
    };
    if (current != nullptr) {
        if (const auto* group = seedsOf(current->label)) {
            const MatrixStats stats = matrixStats(group->runs, kind_);
            shown_ = stats.mean;
            shownSd_ = stats.sd;
            seedsShown_ = static_cast<int>(group->runs.size());
        }
    }
    const RunData* base = nullptr;
    for (const auto& r : runs) {
        if (!baseline_.empty() && r->label == baseline_ &&
            r->label != (current != nullptr ? current->label : std::string())) {
            base = r.get();
        }
    }
    if (base != nullptr) {  // the difference view: current − baseline, cell by cell
        const auto* baseSeeds = seedsOf(base->label);
        const AccuracyMatrix b =
            baseSeeds != nullptr ? matrixStats(baseSeeds->runs, kind_).mean : base->matrix(kind_);
        shownSd_.clear();  // the SD of a difference of means is not what the cells show
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
    // QCustomPlot draws nothing for a 1×1 map (its range is a point): one task gets a 2×2 map
    // whose second row and column stay blank, outside the axes.
    const int cells = std::max(t, 2);
    map_->data()->setSize(cells, cells);
    map_->data()->setRange(QCPRange(1, cells), QCPRange(1, cells));
    map_->data()->fill(std::nan(""));
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
            auto* text = new QCPItemText(this);  // its text and font: fitCellLabels()
            text->position->setCoords(j + 1, i + 1);
            text->setColor(base != nullptr || *v > 60 ? Qt::black : Qt::white);
            labels_.push_back(text);
            cells_.push_back({text, *v});
        }
        if (n > 0 && kind_ != MatrixKind::TaskConfusion) {  // the row mean, right of the row
            auto* mean = new QCPItemText(this);
            // Just right of the matrix whatever its cells' width (a fixed coordinate put it
            // inside the colour scale when cells were wide).
            mean->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
            mean->position->setCoords(1.0, i + 1);
            mean->setPadding(QMargins(6, 0, 0, 0));
            mean->setText(QStringLiteral("mean %1").arg(decimalText(sum / n, 1)));
            mean->setPositionAlignment(Qt::AlignLeft | Qt::AlignVCenter);
            mean->setColor(palette().color(QPalette::WindowText));
            mean->setClipToAxisRect(false);
            labels_.push_back(mean);
        }
    }
    signed_ = base != nullptr;
    cellCount_ = t;
    if (auto* heading = qobject_cast<QCPTextElement*>(plotLayout()->element(0, 0))) {
        heading->setText(seedsShown_ > 1 ? tr("%1, mean of %2 seeds").arg(title_).arg(seedsShown_)
                                         : title_);
    }
    fitCellLabels();  // at the present size; again after each layout
    xAxis->setRange(0.5, t + 0.5);
    yAxis->setRange(0.5, t + 0.5);
    axisRect()->setMinimumMargins(
        QMargins(0, 0, kind_ == MatrixKind::TaskConfusion ? 0 : 85, 0));  // row means
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
    QString value = v ? decimalText(*v, 2) : tr("not trained yet");
    if (v && static_cast<std::size_t>(i) < shownSd_.size() &&
        shownSd_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]) {
        value += tr(" ± %1 (SD over %2 seeds)")
                     .arg(decimalText(
                         *shownSd_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)], 2))
                     .arg(seedsShown_);
    }
    return what + "\n" + value;
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
    : Plot(tr("Confidence of the predicted task"), parent) {
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
    const Evaluation* last = lastEvaluation(current);
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
                              .arg(decimalText(accuracy, 1))
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
                        ? tr("No task predictor: this method takes the task of its top class (the "
                             "Task identity tab shows how often it is right)")
                        : tr("After the first task"));
    legend->setVisible(has);
    applyPalette(this);
    replot(QCustomPlot::rpQueuedReplot);
}

QString TaskIdentityPlot::csv() const {
    return plottablesCsv(this, QStringLiteral("confidence_bin_centre"), QStringLiteral("images"));
}

}  // namespace dlw::ui
