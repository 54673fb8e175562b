#include "ui/report.h"

#include "api/error.h"
#include "api/run_table.h"
#include "api/runtime.h"
#include "ui/plots.h"
#include "ui/queue_policy.h"
#include "ui/shown_text.h"
#include "ui/split_view.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <set>

#include <QBuffer>
#include <QDateTime>
#include <QFileInfo>
#include <QSaveFile>
#include <QSysInfo>

namespace dlw::ui {
namespace {

namespace fs = std::filesystem;

QString esc(const std::string& text) {
    return htmlText(shownText(text));
}

// fmt's rounding, as `dlw compare` prints (QString::number rounds ties away from zero: −6.25
// read −6.3 here and −6.2 there).
QString fixed(double v, int decimals = 1) {
    return decimalText(v, decimals);
}

QString optionalCell(const std::optional<double>& v, int decimals = 1) {
    return v ? fixed(*v, decimals) : QStringLiteral("–");
}

// LaTeX text: the characters LaTeX treats specially escaped.
QString latexEscape(const std::string& text) {
    QString out;
    for (const QChar c : shownText(text)) {
        switch (c.unicode()) {
            case '\\':
                out += QStringLiteral("\\textbackslash{}");
                break;
            case '&':
            case '%':
            case '$':
            case '#':
            case '_':
            case '{':
            case '}':
                out += QLatin1Char('\\') + c;
                break;
            case '~':
                out += QStringLiteral("\\textasciitilde{}");
                break;
            case '<':  // OT1 prints < and > as ¡ and ¿
                out += QStringLiteral("\\textless{}");
                break;
            case '>':
                out += QStringLiteral("\\textgreater{}");
                break;
            case '^':
                out += QStringLiteral("\\textasciicircum{}");
                break;
            default:
                out += c;
        }
    }
    return out;
}

// Whether a higher mean is better in a column (+1), a lower one (−1), or neither (0).
int better(const std::string& header) {
    static const std::map<std::string, int> direction = {
        {"A_T", 1},    {"A_avg", 1},    {"BWT", 1},      {"forget", -1},
        {"TA_A_T", 1}, {"task-id", 1},  {"ECE_raw", -1}, {"ECE_cal", -1},
        {"unfam", 0},  {"seconds", -1}, {"all_s", -1},   {"params", 0}};
    const auto it = direction.find(header);
    return it == direction.end() ? 0 : it->second;
}

// The plot as an embedded PNG, drawn by the window's plotting code at `width` × `height`.
QString embedded(Plot& plot, int width, int height) {
    plot.resize(width, height);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    plot.toPixmap(width, height).save(&buffer, "PNG");
    return QStringLiteral("<img width=%1 height=%2 alt=\"%3\" src=\"data:image/png;base64,%4\">")
        .arg(width)
        .arg(height)
        .arg(htmlText(plot.title()), QString::fromLatin1(bytes.toBase64()));
}

// A plot of type P refreshed with (current, runs), as an <img>, or "" when it has nothing to
// show for this run (no task predictor, no adapters, ...).
template <class P, class Setup>
QString drawn(const RunData* current,
              const RunList& runs,
              bool meanOverSeeds,
              const ReportOptions& options,
              Setup setup) {
    P plot;
    setup(plot);
    plot.setMeanOverSeeds(meanOverSeeds);
    plot.refresh(current, runs);
    if (plot.showsNothing()) {
        return {};
    }
    return embedded(plot, options.plotWidth, options.plotHeight);
}

template <class P>
QString drawn(const RunData* current,
              const RunList& runs,
              bool meanOverSeeds,
              const ReportOptions& options) {
    return drawn<P>(current, runs, meanOverSeeds, options, [](P&) {});
}

// An accuracy matrix as an HTML table of numbers (percent; "–" not trained yet), rows "after
// task i", with the row means.
QString matrixTable(const AccuracyMatrix& m, const QString& caption) {
    QString html = QStringLiteral("<table class=matrix><caption>%1</caption><tr><th>after</th>")
                       .arg(htmlText(caption));
    for (std::size_t j = 0; j < m.size(); ++j) {
        html += QStringLiteral("<th>T%1</th>").arg(j + 1);
    }
    html += QObject::tr("<th>mean</th></tr>");
    for (std::size_t i = 0; i < m.size(); ++i) {
        html += QStringLiteral("<tr><th>T%1</th>").arg(i + 1);
        double sum = 0;
        int n = 0;
        for (const auto& v : m[i]) {
            html += QStringLiteral("<td>%1</td>").arg(optionalCell(v));
            if (v) {
                sum += *v;
                ++n;
            }
        }
        html += QStringLiteral("<td><b>%1</b></td></tr>")
                    .arg(n > 0 ? fixed(sum / n) : QStringLiteral("–"));
    }
    return html + QStringLiteral("</table>");
}

struct ReportRun {
    RunRecord record;
    QueueEntry entry;  // experiment and RunData (every plot's data)
    std::vector<std::vector<std::pair<std::string, std::string>>> environment;
    int index = 0;  // #1, #2, ... in the report
};

QString runName(const ReportRun& r) {
    return QStringLiteral("#%1 %2 · seed %3")
        .arg(r.index)
        .arg(esc(r.record.variant))
        .arg(r.record.seed);
}

QString fact(const std::vector<std::pair<std::string, std::string>>& facts,
             const std::string& name) {
    for (const auto& [key, value] : facts) {
        if (key == name) {
            return esc(value);
        }
    }
    return QStringLiteral("–");
}

const char* kStyle = R"(
body { font-family: sans-serif; margin: 2em auto; padding: 0 1.5em; max-width: 1400px;
       color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f2f2f2; } td.l, th.l { text-align: left; }
table.matrix { display: inline-table; margin-right: 2em; vertical-align: top; }
caption { font-weight: bold; text-align: left; white-space: nowrap; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
img { border: 1px solid #ddd; margin: 4px; }
.muted { color: #666; } .problem { color: #D55E00; }
details { margin: 0.5em 0; } summary { cursor: pointer; }
nav a { margin-right: 1em; }
)";

}  // namespace

std::vector<std::string> expandRunFolders(const std::vector<std::string>& paths,
                                          QStringList* problems) {
    std::vector<std::string> why;
    std::vector<std::string> out;
    for (const auto& dir : runFolders(paths, &why)) {
        out.push_back(dir.string());
    }
    if (problems != nullptr) {
        for (const auto& w : why) {
            *problems << shownText(w);
        }
    }
    return out;
}

QString comparisonHtml(const std::vector<RunRecord>& runs) {
    const auto& columns = runColumns();
    QString html =
        QObject::tr("<table><tr><th class=l>experiment</th><th class=l>method</th><th>runs</th>");
    for (const auto& c : columns) {
        html += QStringLiteral("<th title=\"%1\">%2</th>")
                    .arg(htmlText(QString::fromStdString(c.meaning)),
                         htmlText(QString::fromStdString(c.header)));
    }
    html += QStringLiteral("</tr>");
    for (const auto& g : groupRuns(runs)) {
        html += QStringLiteral("<tr><td class=l>%1</td><td class=l>%2</td><td>%3</td>")
                    .arg(esc(g.name), esc(g.label))
                    .arg(g.runs.size());
        for (const auto& c : columns) {
            const auto s = columnStats(c, g.runs);
            html += QStringLiteral("<td>%1</td>")
                        .arg(s ? esc(statsText(c, *s, g.runs.size())) : QStringLiteral("–"));
        }
        html += QStringLiteral("</tr>");
    }
    QStringList meanings;
    for (const auto& c : columns) {
        meanings << QStringLiteral("<b>%1</b> %2")
                        .arg(htmlText(QString::fromStdString(c.header)),
                             htmlText(QString::fromStdString(c.meaning)));
    }
    return html + QStringLiteral("</table><p class=muted>%1.</p>")
                      .arg(meanings.join(QStringLiteral("; ")));
}

QString differingKeysHtml(const std::vector<RunRecord>& runs, const QStringList& headings) {
    const auto differing = differingKeys(runs);
    if (differing.empty()) {
        return QObject::tr("<p>Every experiment key is the same in all runs.</p>");
    }
    QString html = QObject::tr(
        "<p>The experiment keys whose values are not the same in all runs (every other key "
        "is):</p><table><tr><th class=l>key</th>");
    for (int i = 0; i < static_cast<int>(runs.size()); ++i) {
        html += QStringLiteral("<th>%1</th>")
                    .arg(i < headings.size() ? headings[i] : QStringLiteral("#%1").arg(i + 1));
    }
    html += QStringLiteral("</tr>");
    for (const auto& [key, values] : differing) {
        html += QStringLiteral("<tr><td class=l><code>%1</code></td>").arg(esc(key));
        for (const auto& v : values) {
            html += QStringLiteral("<td>%1</td>").arg(v.empty() ? QStringLiteral("–") : esc(v));
        }
        html += QStringLiteral("</tr>");
    }
    return html + QStringLiteral("</table>");
}

QString latexTable(const std::vector<RunRecord>& runs) {
    const auto groups = groupRuns(runs);
    static const std::set<std::string> shown = {"A_T",     "A_avg",   "BWT",  "forget",
                                                "task-id", "ECE_cal", "all_s"};
    std::vector<const RunColumn*> columns;
    for (const auto& c : runColumns()) {
        if (shown.count(c.header) > 0) {
            for (const auto& g : groups) {  // a column no group has a value in is left out
                if (columnStats(c, g.runs)) {
                    columns.push_back(&c);
                    break;
                }
            }
        }
    }
    std::map<const RunColumn*, double> best;
    for (const auto* c : columns) {
        for (const auto& g : groups) {
            if (const auto s = columnStats(*c, g.runs); s && better(c->header) != 0) {
                const auto it = best.find(c);
                if (it == best.end() ||
                    (better(c->header) > 0 ? s->mean > it->second : s->mean < it->second)) {
                    best[c] = s->mean;
                }
            }
        }
    }
    QString out = QObject::tr(
                      "% dlw report: %1 runs; mean $\\pm$ SD over seeds. Needs "
                      "\\usepackage{booktabs}.\n")
                      .arg(runs.size());
    out += QStringLiteral("\\begin{tabular}{ll") + QString(columns.size() + 1, 'r') + "}\n";
    out += QStringLiteral("\\toprule\nExperiment & Method & Runs");
    for (const auto* c : columns) {
        out += QStringLiteral(" & ") + QString::fromStdString(c->latex);
    }
    out += QStringLiteral(" \\\\\n\\midrule\n");
    for (const auto& g : groups) {
        out += latexEscape(g.name) + " & " + latexEscape(g.label) + " & " +
               QString::number(g.runs.size());
        for (const auto* c : columns) {
            const auto s = columnStats(*c, g.runs);
            // LaTeX's minus sign for negatives ("$-$13.5"), as a hyphen would print.
            const auto number = [](double v, int decimals = 1) {
                const QString text = fixed(v, decimals);
                return text.startsWith('-') ? QStringLiteral("$-$") + text.mid(1) : text;
            };
            QString cell = !s         ? QStringLiteral("--")
                           : c->whole ? number(s->mean, 0)
                           : s->n > 1
                               ? QStringLiteral("%1 $\\pm$ %2").arg(number(s->mean), number(s->sd))
                               : number(s->mean);
            if (s && static_cast<std::size_t>(s->n) < g.runs.size()) {
                cell += QStringLiteral(" ($n=%1$)").arg(s->n);
            }
            const auto b = best.find(c);
            if (s && b != best.end() && fixed(s->mean) == fixed(b->second)) {
                cell = QStringLiteral("\\textbf{%1}").arg(cell);
            }
            out += " & " + cell;
        }
        out += QStringLiteral(" \\\\\n");
    }
    return out + QStringLiteral("\\bottomrule\n\\end{tabular}\n");
}

ReportResult writeReport(const std::vector<std::string>& runDirs,
                         const QString& file,
                         const ReportOptions& options) {
    ReportResult result;
    std::vector<ReportRun> runs;
    for (const auto& dir : runDirs) {
        try {
            ReportRun r;
            r.entry = QueuePolicy::readPastRun(dir, &r.record);  // events read once
            r.environment = readRunEnvironment(dir);
            r.index = static_cast<int>(runs.size()) + 1;
            runs.push_back(std::move(r));
        } catch (const Error& err) {
            result.problems << shownText(err.what());
        }
    }
    if (runs.empty()) {
        throw Error(fmt::format("{}: no run to report ({})", file.toStdString(),
                                result.problems.isEmpty()
                                    ? std::string("no run folder given")
                                    : result.problems.join(QStringLiteral("; ")).toStdString()));
    }
    std::vector<RunRecord> records;
    RunList all;
    for (const auto& r : runs) {
        records.push_back(r.record);
        all.push_back(r.entry.data);
    }
    result.runs = static_cast<int>(runs.size());
    result.latex = latexTable(records);

    const auto thisMachine = environmentFacts();  // once: it asks LibTorch for CUDA devices
    QString html = QStringLiteral(
                       "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%1"
                       "</title><style>%2</style></head><body>")
                       .arg(htmlText(options.title), QString::fromLatin1(kStyle));
    html += QStringLiteral("<h1>%1</h1>").arg(htmlText(options.title));
    html += QObject::tr("<p class=muted>%1 runs · written %2 by dlw %3 (LibTorch %4, Qt %5)</p>")
                .arg(runs.size())
                .arg(QDateTime::currentDateTime().toString(Qt::ISODate))
                .arg(QStringLiteral(DLW_VERSION), fact(thisMachine, "libtorch"),
                     QString::fromLatin1(qVersion()));
    html += QObject::tr(
        "<nav><a href=#comparison>Comparison</a><a href=#latex>LaTeX</a><a href=#runs>Runs</a>"
        "<a href=#differs>What differs</a><a href=#environment>Where they ran</a>"
        "<a href=#plots>Plots</a><a href=#each>Each run</a></nav>");
    if (!result.problems.isEmpty()) {
        html += QObject::tr("<p class=problem>Left out:</p><ul class=problem>");
        for (const auto& p : result.problems) {
            html += QStringLiteral("<li>%1</li>").arg(htmlText(p));
        }
        html += QStringLiteral("</ul>");
    }

    // The comparison: one row per experiment, mean ± SD over its seeds.
    html += QObject::tr(
        "<h2 id=comparison>Comparison</h2><p>One row per experiment and method "
        "variant: mean ± sample SD over its runs (seeds).</p>");
    html += comparisonHtml(records);
    html += QObject::tr(
        "<h2 id=latex>LaTeX</h2><p>The comparison for a paper "
        "(\\usepackage{booktabs}; best mean of each column in bold):</p>");
    html += QStringLiteral("<pre>%1</pre>").arg(htmlText(result.latex));

    // Every run, with its seed and timings.
    html += QObject::tr(
        "<h2 id=runs>Runs</h2><table><tr><th>#</th><th class=l>experiment</th>"
        "<th class=l>method</th><th>seed</th><th class=l>state</th><th>A_T</th><th>A_avg</th>"
        "<th>TA_A_T</th><th>task-id</th><th>ECE_cal</th><th>train s</th><th>all s</th>"
        "<th>memory s</th><th>img/s</th><th class=l>folder</th></tr>");
    for (const auto& r : runs) {
        const auto& s = r.record.summary;
        html +=
            QStringLiteral(
                "<tr><td><a href=#run-%1>%1</a></td><td class=l>%2</td><td class=l>%3</td>"
                "<td>%4</td><td class=l>%5</td><td>%6</td><td>%7</td><td>%8</td><td>%9</td>"
                "<td>%10</td><td>%11</td><td>%12</td><td>%13</td><td>%14</td>"
                "<td class=l>%15</td></tr>")
                .arg(r.index)
                .arg(esc(r.record.name), esc(r.record.variant))
                .arg(r.record.seed)
                .arg(r.record.completed ? QObject::tr("done")
                                        : QObject::tr("stopped after %1 of %2 tasks")
                                              .arg(r.entry.data->evaluations.size())
                                              .arg(r.record.tasks))
                .arg(fixed(s.metrics.finalAccuracy), fixed(s.metrics.averageIncrementalAccuracy),
                     optionalCell(r.record.taskAwareFinal), optionalCell(s.taskIdAccuracy),
                     optionalCell(s.eceCalibrated), fixed(s.trainSeconds),
                     fixed(r.entry.data->taskSeconds), fixed(r.entry.data->memorySeconds))
                .arg(fixed(s.imagesPerSecond, 0), esc(r.record.dir));
    }
    html += QStringLiteral("</table>");

    // What differs between the runs' experiments.
    html += QObject::tr("<h2 id=differs>What differs</h2>");
    QStringList headings;
    for (const auto& r : runs) {
        headings << QStringLiteral("<a href=#run-%1>#%1</a>").arg(r.index);
    }
    html += differingKeysHtml(records, headings);

    // Where each run ran, and what wrote this report.
    html += QObject::tr(
        "<h2 id=environment>Where they ran</h2><table><tr><th>#</th><th class=l>started</th>"
        "<th class=l>program</th><th class=l>LibTorch</th><th class=l>CUDA</th>"
        "<th class=l>CPU</th><th>hardware threads</th><th class=l>device</th><th>threads</th>"
        "<th class=l>OS</th></tr>");
    for (const auto& r : runs) {
        if (r.environment.empty()) {
            html += QObject::tr(
                        "<tr><td>%1</td><td class=l colspan=9>not recorded (a run "
                        "from before dlw recorded it); threads %2, device %3</td></tr>")
                        .arg(r.index)
                        .arg(r.entry.data->threads)
                        .arg(esc(r.entry.data->device));
        }
        for (const auto& start : r.environment) {  // a resumed run: one row per start
            html +=
                QStringLiteral(
                    "<tr><td>%1</td><td class=l>%2</td><td class=l>%3</td><td class=l>%4"
                    "</td><td class=l>%5</td><td class=l>%6</td><td>%7</td><td class=l>%8"
                    "</td><td>%9</td><td class=l>%10</td></tr>")
                    .arg(r.index)
                    .arg(fact(start, "started"), fact(start, "program"), fact(start, "libtorch"),
                         fact(start, "cuda"), fact(start, "cpu"), fact(start, "hardware_threads"),
                         fact(start, "device"), fact(start, "threads"))
                    .arg(fact(start, "os"));
        }
    }
    html += QStringLiteral("</table>");
    QStringList here;
    for (const auto& [name, value] : thisMachine) {
        here << QStringLiteral("%1 %2").arg(esc(name), esc(value));
    }
    here << QStringLiteral("Qt %1").arg(QString::fromLatin1(qVersion()));
    html += QObject::tr("<p class=muted>This report was written on: %1.</p>")
                .arg(here.join(QStringLiteral(" · ")));

    // The comparison plots, one set per sequence (runs that differ at most in method and seed).
    html += QObject::tr(
        "<h2 id=plots>Plots</h2><p>As the window draws them: per sequence, every "
        "method, the mean ± SD over seeds where a variant has several.</p>");
    std::vector<std::string> sequences;
    for (const auto& r : runs) {
        if (std::find(sequences.begin(), sequences.end(), r.entry.data->seedlessKey) ==
            sequences.end()) {
            sequences.push_back(r.entry.data->seedlessKey);
        }
    }
    for (const auto& key : sequences) {
        RunList same;
        QStringList members;
        const ReportRun* first = nullptr;
        for (const auto& r : runs) {
            if (r.entry.data->seedlessKey == key) {
                same.push_back(r.entry.data);
                members << QStringLiteral("#%1").arg(r.index);
                first = first != nullptr ? first : &r;
            }
        }
        const auto& e = first->entry.experiment;
        html += QObject::tr("<h3>%1: %2, %3 tasks, %4 order (runs %5)</h3>")
                    .arg(esc(e.name), esc(toString(e.data.kind)))
                    .arg(e.sequence.tasks)
                    .arg(e.sequence.classOrder == ClassOrder::Shuffle    ? QObject::tr("shuffled")
                         : e.sequence.classOrder == ClassOrder::Explicit ? QObject::tr("explicit")
                                                                         : QObject::tr("identity"))
                    .arg(members.join(QStringLiteral(", ")));
        const RunData* current = first->entry.data.get();
        html += drawn<AccuracyPlot>(current, same, true, options);
        html += drawn<ForgettingPlot>(current, same, true, options);
        html += drawn<TaskIdCurvePlot>(current, same, true, options);
    }

    // Each run: its matrices, plots, split and experiment file.
    html += QObject::tr("<h2 id=each>Each run</h2>");
    for (const auto& r : runs) {
        const RunData* d = r.entry.data.get();
        const RunList alone{r.entry.data};
        html += QStringLiteral("<h3 id=run-%1>%2</h3><p class=muted>%3</p>")
                    .arg(r.index)
                    .arg(runName(r), esc(r.record.dir));
        html += matrixTable(d->matrix(MatrixKind::ClassIncremental),
                            QObject::tr("Accuracy matrix (class-incremental, %)"));
        html += matrixTable(d->matrix(MatrixKind::TaskAware),
                            QObject::tr("Task-aware accuracy matrix (task given, %)"));
        html += QStringLiteral("<br>");
        html += drawn<LossPlot>(d, alone, false, options);
        html += drawn<MatrixPlot>(d, alone, false, options);
        html += drawn<TaskIdentityPlot>(d, alone, false, options);
        html += drawn<MatrixPlot>(d, alone, false, options,
                                  [](MatrixPlot& p) { p.setKind(MatrixKind::TaskConfusion); });
        html += drawn<TaskAccuracyPlot>(d, alone, false, options);
        html += drawn<SpectraPlot>(d, alone, false, options);
        html += drawn<MemoryPlot>(d, alone, false, options);
        html += drawn<CalibrationPlot>(d, alone, false, options);
        try {
            if (const auto split = readRunSplit(r.record.dir)) {
                html += QObject::tr(
                            "<details><summary>Split: each task's classes and images"
                            "</summary>%1<p class=muted>Every image: %2</p></details>")
                            .arg(splitHtml(*split, 5),
                                 esc((fs::path(r.record.dir) / run_files::kSplit).string()));
            }
        } catch (const Error& err) {
            html += QStringLiteral("<p class=problem>%1</p>").arg(esc(err.what()));
        }
        html += QObject::tr(
                    "<details><summary>Experiment file (dlw run reproduces the run)"
                    "</summary><pre>%1</pre></details>")
                    .arg(esc(toJsonText(r.entry.experiment)));
    }
    html += QStringLiteral("</body></html>\n");

    QSaveFile out(file);  // whole or not at all, as every file the program writes
    const QByteArray bytes = html.toUtf8();
    if (!out.open(QIODevice::WriteOnly) || out.write(bytes) != bytes.size() || !out.commit()) {
        throw Error(fmt::format("{}: could not be written ({})", file.toStdString(),
                                out.errorString().toStdString()));
    }
    result.bytes = bytes.size();
    return result;
}

}  // namespace dlw::ui
