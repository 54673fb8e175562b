#pragma once
// Helpers shared by the plot implementations (plots.cpp, plots_more.cpp): markers, colours that
// follow the palette, and the CSV of what a plot shows.

#include "ui/plots.h"

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

namespace dlw::ui {

inline const QCPScatterStyle::ScatterShape kShapes[] = {
    QCPScatterStyle::ssCircle,  QCPScatterStyle::ssSquare,          QCPScatterStyle::ssTriangle,
    QCPScatterStyle::ssDiamond, QCPScatterStyle::ssCross,           QCPScatterStyle::ssPlus,
    QCPScatterStyle::ssStar,    QCPScatterStyle::ssTriangleInverted};

// The newest evaluation of `run` (the plots of the last row), or null.
inline const Evaluation* lastEvaluation(const RunData* run) {
    return run != nullptr && !run->evaluations.empty() ? &run->evaluations.back() : nullptr;
}

// The groups a plot draws: one per variant with every seed's runs when `meanOverSeeds`, else one
// per run.
inline std::vector<VariantRuns> plotGroups(const RunList& runs, bool meanOverSeeds) {
    if (meanOverSeeds) {
        return groupByVariant(runs);
    }
    std::vector<VariantRuns> out;
    for (const auto& run : runs) {
        out.push_back({run->label, {run.get()}});
    }
    return out;
}

inline QString number(double v) {
    return QString::number(v, 'g', 6);
}

// Every graph and bar series of the plot as rows "series,x,y".
inline QString plottablesCsv(const QCustomPlot* plot, const QString& xName, const QString& yName) {
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

// Whole-number ticks (tasks, indices): steps of 1, or of 2, 5, 10, ... when 1 would crowd.
inline void integerTicks(QCPAxis* axis) {
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    axis->setTicker(ticker);
}

// Legends of more entries than this leave the axis rect, where they hid the data (#17: thirteen
// variants of an ablation covered the accuracy curves).
inline constexpr int kInsetLegendItems = 6;

// A legend entry whose name is elided at its end ("duallora -orthog…") to at most
// `textWidth` pixels (0: whole), so that a crowded legend beneath the plot shows where each name
// was cut instead of clipping its end; the plottable keeps its whole name (hover tooltips, CSV
// export).
class ElidedLegendItem : public QCPPlottableLegendItem {
public:
    ElidedLegendItem(QCPLegend* parent, QCPAbstractPlottable* plottable, int textWidth)
        : QCPPlottableLegendItem(parent, plottable), textWidth_(textWidth) {}

protected:
    // QCustomPlot draws the icon through a friend of the plottable only: the base class draws,
    // with the shown name set for the moment.
    void draw(QCPPainter* painter) override {
        const Shown shown(this);
        QCPPlottableLegendItem::draw(painter);
    }
    QSize minimumOuterSizeHint() const override {
        const Shown shown(this);
        return QCPPlottableLegendItem::minimumOuterSizeHint();
    }

private:
    struct Shown {
        explicit Shown(const ElidedLegendItem* item)
            : plottable(item->mPlottable), name(plottable != nullptr ? plottable->name() : "") {
            if (plottable != nullptr && item->textWidth_ > 0) {
                plottable->setName(QFontMetrics(item->getFont())
                                       .elidedText(name, Qt::ElideRight, item->textWidth_));
            }
        }
        ~Shown() {
            if (plottable != nullptr) {
                plottable->setName(name);
            }
        }
        Shown(const Shown&) = delete;
        Shown& operator=(const Shown&) = delete;
        QCPAbstractPlottable* plottable;
        QString name;
    };
    int textWidth_;
};

// The whole name of the plottable whose legend entry is under `pos`, or "" (the entry may show
// it elided).
inline QString legendNameAt(const QCustomPlot* plot, const QPointF& pos) {
    const QCPLegend* legend = plot->legend;
    if (legend == nullptr || !legend->visible()) {
        return {};
    }
    for (int i = 0; i < legend->itemCount(); ++i) {
        auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i));
        if (item != nullptr && item->rect().contains(pos.toPoint())) {
            return item->plottable()->name();
        }
    }
    return {};
}

// Puts the legend inside the axis rect (at the corner the plot chose) while it has at most
// kInsetLegendItems entries and takes at most half the plot's width, else beneath the plot in
// one to three columns. Call after the
// plottables are set, before replot.
inline void fitLegend(QCustomPlot* plot) {
    QCPLegend* legend = plot->legend;
    int items = 0;  // entries: itemCount() also counts the empty cells of a wrapped grid
    for (int i = 0; i < legend->itemCount(); ++i) {
        items += legend->item(i) != nullptr ? 1 : 0;
    }
    const bool outside = legend->layout() == plot->plotLayout();
    // Wider than half the plot, an inset legend covers the data and its names get cut (#17:
    // "Ā 56.8 ± 5." at the plot's edge): beneath the plot it has the whole width.
    const bool wide = legend->minimumOuterSizeHint().width() > plot->width() / 2;
    if ((items > kInsetLegendItems || wide) && !outside) {
        const Qt::Alignment corner = plot->axisRect()->insetLayout()->insetAlignment(0);
        plot->axisRect()->insetLayout()->take(legend);
        plot->axisRect()->insetLayout()->simplify();
        plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, legend);
        plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
        legend->setProperty("dlwCorner", static_cast<int>(corner));
    } else if (items <= kInsetLegendItems && !wide && outside) {
        plot->plotLayout()->take(legend);
        plot->plotLayout()->simplify();
        const QVariant corner = legend->property("dlwCorner");
        plot->axisRect()->insetLayout()->addElement(
            legend, corner.isValid() ? static_cast<Qt::Alignment>(corner.toInt())
                                     : Qt::AlignTop | Qt::AlignRight);
    }
    if (legend->layout() == plot->plotLayout()) {
        // Filled down each column (foRowsFirst: `wrap` is the number of rows): as many columns,
        // up to three, as the widest entry leaves room for, so that no name is cut; but more
        // when fewer would take over half the plot's height (26 variants in one column left the
        // curves no room), then names may be cut.
        int widest = 1;
        int tallest = 1;
        int itemMargins = 0;  // an entry's left and right margins
        for (int i = 0; i < legend->itemCount(); ++i) {
            const auto* item = legend->item(i);  // null: an empty cell of the wrapped grid
            if (item == nullptr) {
                continue;
            }
            const QSize hint = item->minimumOuterSizeHint();
            int width = hint.width();
            if (const auto* p = qobject_cast<const QCPPlottableLegendItem*>(item)) {
                // the whole name's width, though an earlier call may have elided the entry
                const QMargins m = item->margins();
                itemMargins = m.left() + m.right();
                width = QFontMetrics(legend->font())
                            .horizontalAdvance(
                                const_cast<QCPPlottableLegendItem*>(p)->plottable()->name()) +
                        legend->iconSize().width() + legend->iconTextPadding() + m.left() +
                        m.right();
            }
            widest = std::max(widest, width);
            tallest = std::max(tallest, hint.height());
        }
        const int fitWidth = plot->width() / (widest + 8);
        const int rowsInHalf = std::max(1, plot->height() / 2 / tallest);
        const int fitHeight = (items + rowsInHalf - 1) / rowsInHalf;
        const int columns = std::clamp(std::max(fitWidth, fitHeight), 1, 3);
        // Entries wider than a column's share are elided, not clipped (#16: "duallora -task-",
        // "inflora +ta"): the text gets the share less the icon, the padding and the margins.
        const QMargins outer = legend->margins();
        const int share = (plot->width() - outer.left() - outer.right() -
                           (columns - 1) * legend->columnSpacing()) /
                          columns;
        const int textWidth =
            share - legend->iconSize().width() - legend->iconTextPadding() - itemMargins;
        std::vector<QCPLayoutElement*> entries;
        for (int i = 0; i < legend->itemCount(); ++i) {
            if (legend->item(i) != nullptr) {
                entries.push_back(legend->item(i));
            }
        }
        for (auto* entry : entries) {
            legend->take(entry);
        }
        legend->simplify();
        for (auto* entry : entries) {
            auto* item = qobject_cast<QCPPlottableLegendItem*>(entry);
            if (item != nullptr) {
                auto* elided = new ElidedLegendItem(legend, item->plottable(),
                                                    widest > share ? std::max(textWidth, 1) : 0);
                elided->setSelectable(item->selectable());
                delete item;
                legend->addItem(elided);
            } else {
                legend->addItem(static_cast<QCPAbstractLegendItem*>(entry));
            }
        }
        legend->setFillOrder(QCPLayoutGrid::foRowsFirst, false);
        legend->setWrap((items + columns - 1) / columns);
        legend->setFillOrder(QCPLayoutGrid::foRowsFirst, true);
    } else {
        legend->setWrap(0);
        legend->setFillOrder(QCPLayoutGrid::foRowsFirst, true);
    }
}

// The plot's title, with a second line "mean ± SD over seeds (×n: n seeds)" when `seeds` (the
// most seeds of any variant shown) is above 1.
inline void titleForSeeds(QCustomPlot* plot, const QString& title, std::size_t seeds) {
    if (auto* heading = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0))) {
        heading->setText(
            seeds > 1 ? QObject::tr("%1\nmean ± SD over seeds (×n: n seeds)").arg(title) : title);
    }
}

inline void styleGraph(QCPGraph* g, int index, bool markers = true) {
    QPen pen(okabeIto(index), 2);
    g->setPen(pen);
    if (markers) {
        g->setScatterStyle(QCPScatterStyle(kShapes[index % 8], okabeIto(index), 7));
    }
}

// The mean over `group`'s runs of `curve` (a run's (x, y) points, e.g. &RunData::accuracyCurve)
// at each x that every run reached, with the SD; a mean of the seeds that got there would jump.
struct MeanCurve {
    QVector<double> x;
    QVector<double> mean;
    QVector<double> sd;
};
template <class Curve>
MeanCurve meanCurve(const VariantRuns& group, Curve curve) {
    std::map<int, std::vector<double>> at;  // x → one value per run
    for (const auto* run : group.runs) {
        for (const auto& [x, y] : std::invoke(curve, *run)) {
            at[x].push_back(y);
        }
    }
    MeanCurve out;
    for (const auto& [x, values] : at) {
        if (values.size() == group.runs.size()) {
            const MeanSd stats = meanSd(values);
            out.x << x;
            out.mean << stats.mean;
            out.sd << stats.sd;
        }
    }
    return out;
}

// A group's name in legends: "duallora", "duallora ×3" for three seeds.
inline QString groupName(const VariantRuns& group) {
    const QString label = QString::fromStdString(group.label);
    return group.runs.size() > 1 ? QObject::tr("%1 ×%2").arg(label).arg(group.runs.size()) : label;
}

// Adds the curve of `group` (meanCurve of `curve`): the mean line, and for several runs a ± SD
// band beneath it, in colour `index`, named groupName(group). A curve of a single point with
// `spanTo` > 0 is drawn from 1 to spanTo (joint's upper bound). Returns the mean graph, or null
// when no x has every run's value.
template <class Curve>
QCPGraph* addMeanCurve(
    QCustomPlot* plot, const VariantRuns& group, Curve curve, int index, double spanTo = 0) {
    auto [xs, means, sds] = meanCurve(group, curve);
    if (xs.isEmpty()) {
        return nullptr;
    }
    if (spanTo > 0 && xs.size() == 1) {
        xs = {1.0, spanTo};
        means = {means.front(), means.front()};
        sds = {sds.front(), sds.front()};
    }
    const QString label = QString::fromStdString(group.label);
    if (group.runs.size() > 1) {  // the ± SD band first, beneath the mean line
        auto* low = plot->addGraph();
        auto* high = plot->addGraph();
        QVector<double> lows;
        QVector<double> highs;
        for (int i = 0; i < xs.size(); ++i) {
            lows << means[i] - sds[i];
            highs << means[i] + sds[i];
        }
        low->setData(xs, lows, true);
        high->setData(xs, highs, true);
        for (auto* edge : {low, high}) {
            edge->setPen(Qt::NoPen);
            edge->removeFromLegend();
            edge->setName(QStringLiteral("%1 %2 SD").arg(label, edge == low ? "-" : "+"));
        }
        QColor fill = okabeIto(index);
        fill.setAlpha(50);
        high->setBrush(fill);
        high->setChannelFillGraph(low);
    }
    auto* g = plot->addGraph();
    g->setName(groupName(group));
    styleGraph(g, index);
    g->setData(xs, means, true);
    return g;
}

// Colours that follow the palette (dark or light), set on every redraw.
inline void applyPalette(QCustomPlot* plot) {
    const QPalette pal = plot->palette();
    const QColor fg = pal.color(QPalette::WindowText);
    plot->setBackground(pal.brush(QPalette::Base));
    QList<QCPAxis*> axes = plot->axisRect()->axes();
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i) {  // colour scales' axes too
        if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) {
            axes << scale->axis();
        }
    }
    for (auto* axis : axes) {
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

}  // namespace dlw::ui
