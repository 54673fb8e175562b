#pragma once
// One self-contained HTML report of any set of runs (#17), for `dlw report` and the window's
// "Export report…": what differs between the runs' experiments, where each ran (CPU, GPU,
// threads, LibTorch; and the Qt and LibTorch of the program that wrote the report), seeds and
// timings, the comparison table (mean ± SD over seeds where runs share an experiment) with its
// LaTeX (booktabs), every plot of the window drawn by the window's own plotting code, the
// accuracy matrices as numbers, each run's split and experiment file. Images are embedded as
// PNG data, so the file opens offline and can be mailed. GUI thread (it draws with Qt widgets;
// an offscreen platform is enough).

#include "api/run_folder.h"

#include <string>
#include <vector>

#include <QString>
#include <QStringList>

namespace dlw::ui {

struct ReportOptions {
    QString title = QStringLiteral("DualLoRA Workbench report");
    int plotWidth = 640;  // pixels of each embedded plot
    int plotHeight = 400;
};

struct ReportResult {
    int runs = 0;          // runs in the report
    QStringList problems;  // run folders left out, each with why
    QString latex;         // the comparison as a LaTeX table (also in the report)
    qint64 bytes = 0;      // size of the file written
};

// The run folders among `paths`: each path that is a run folder (it has experiment.json), and
// for a folder of runs (runs/), every run folder directly inside it, by name. A path that is
// neither is named in `problems`.
std::vector<std::string> expandRunFolders(const std::vector<std::string>& paths,
                                          QStringList* problems);

// The comparison of `runs` as a LaTeX table (booktabs; \usepackage{booktabs}): one row per
// experiment and method variant, mean ± SD over its seeds ("84.6 $\pm$ 0.1"; one run: the
// value), the best mean of each column in bold, names escaped for LaTeX.
QString latexTable(const std::vector<RunRecord>& runs);

// The comparison of `runs` as an HTML table (one row per experiment and method variant, mean ±
// SD over its seeds, every column of runColumns()) with the columns' meanings beneath.
QString comparisonHtml(const std::vector<RunRecord>& runs);

// The experiment keys that differ between `runs` as an HTML table, a column per run headed by
// `headings` (HTML; "#1", "#2", ... where missing); a sentence when no key differs.
QString differingKeysHtml(const std::vector<RunRecord>& runs, const QStringList& headings = {});

// Writes the report of the run folders `runDirs` to `file`, atomically. Run folders that cannot
// be read are listed in the report and in the result's problems; the others are reported.
// Throws dlw::Error when no run can be read or the file cannot be written (naming it).
ReportResult writeReport(const std::vector<std::string>& runDirs,
                         const QString& file,
                         const ReportOptions& options = {});

}  // namespace dlw::ui
