// dlw report (#17): one self-contained HTML file of any set of runs, drawn by the window's own
// plotting code (ui/report.h) on Qt's offscreen platform, so it needs no display.
#include "api/error.h"
#include "cli/commands.h"

#ifdef DLW_WITH_REPORT
#include "ui/report.h"

#include <cstdio>

#include <QApplication>
#include <QFile>
#include <QSaveFile>
#endif

namespace dlw::cli {

void addReportCommand(CLI::App& app, const GlobalOptions& /*global*/) {
    auto* cmd = app.add_subcommand(
        "report",
        "One self-contained HTML report of runs: comparison (mean ± SD over seeds) and its "
        "LaTeX table, what differs, where each ran, every plot, splits and experiment files");
    struct Options {
        std::vector<std::string> paths;
        std::string out = "dlw-report.html";
        std::string latex;
        std::string title = "DualLoRA Workbench report";
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("runs", opt->paths, "Run folders, or folders of runs (runs/)")->required();
    cmd->add_option("--out", opt->out, "The HTML file to write")->capture_default_str();
    cmd->add_option("--latex", opt->latex, "Also write the comparison as a LaTeX table here");
    cmd->add_option("--title", opt->title, "The report's title")->capture_default_str();
    cmd->callback([opt] {
#ifndef DLW_WITH_REPORT
        throw Error(
            "dlw report: this dlw was built without the workbench (DLW_BUILD_GUI=OFF); the "
            "report draws its plots with the window's code");
#else
        // Drawn off any screen: the report never opens a window. Qt's note that it made its own
        // runtime folder (no XDG_RUNTIME_DIR, as on servers) is not the user's business.
        qputenv("QT_QPA_PLATFORM", "offscreen");
        qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& text) {
            if (!text.startsWith(QStringLiteral("QStandardPaths: XDG_RUNTIME_DIR not set"))) {
                std::fprintf(stderr, "dlw report: %s: %s\n",
                             type == QtWarningMsg ? "Qt warning" : "Qt", qPrintable(text));
            }
        });
        static int argc = 1;
        static char name[] = "dlw";
        static char* argv[] = {name, nullptr};
        QApplication qt(argc, argv);
        QStringList problems;
        const auto dirs = ui::expandRunFolders(opt->paths, &problems);
        ui::ReportOptions options;
        options.title = QString::fromStdString(opt->title);
        ui::ReportResult result;
        try {
            result = ui::writeReport(dirs, QString::fromStdString(opt->out), options);
        } catch (const Error&) {
            for (const auto& p : problems) {
                printErr("dlw report: {}\n", p.toStdString());
            }
            throw;
        }
        problems << result.problems;
        for (const auto& p : problems) {
            printErr("dlw report: left out {}\n", p.toStdString());
        }
        printOut("wrote {} ({} run{}, {:.0f} KB)\n", opt->out, result.runs,
                 result.runs == 1 ? "" : "s", static_cast<double>(result.bytes) / 1024.0);
        if (!opt->latex.empty()) {
            QSaveFile tex(QString::fromStdString(opt->latex));
            const QByteArray bytes = result.latex.toUtf8();
            if (!tex.open(QIODevice::WriteOnly) || tex.write(bytes) != bytes.size() ||
                !tex.commit()) {
                throw Error(opt->latex + ": could not be written (" +
                            tex.errorString().toStdString() + ")");
            }
            printOut("wrote {} (the comparison as a LaTeX table)\n", opt->latex);
        }
        if (!problems.isEmpty()) {
            throw ExitCode{1};
        }
#endif
    });
}

}  // namespace dlw::cli
