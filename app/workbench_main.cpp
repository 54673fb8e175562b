// dlw-workbench: the GUI. Opens on the bundled backbone unless --backbone says otherwise.
#include "api/runtime.h"
#include "ui/engine_runner.h"
#include "ui/main_window.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QPalette>
#include <QPixmap>
#include <QSaveFile>
#include <QStyleFactory>
#include <QTimer>

namespace {

// Set when a screenshot could not be written: the program then ends with exit code 1.
bool screenshotFailed = false;

// A screenshot, written as every file of the program is: whole or not at all.
void saveAtomically(const QPixmap& pixmap, const QString& path) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !pixmap.save(&file, "PNG") || !file.commit()) {
        std::fprintf(stderr, "dlw-workbench: %s: could not be written (%s)\n", qPrintable(path),
                     qPrintable(file.errorString()));
        screenshotFailed = true;
    }
}

// --help and --version print and exit before any window: they need no display (#17: without
// one, Qt aborted before the parser ran).
bool onlyPrints(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-h" || arg == "--help" || arg == "--help-all" || arg == "-v" ||
            arg == "--version") {
            return true;
        }
    }
    return false;
}

// An option's whole number >= 0, or exit 2 naming the option (#17: "--quit-after abc" ran on as
// 0, as did --threads, --tab and a screenshot's milliseconds).
int wholeNumber(const QString& text, const char* option) {
    bool ok = false;
    const int value = text.toInt(&ok);
    if (!ok || value < 0) {
        std::fprintf(stderr, "dlw-workbench: %s: expected a whole number >= 0, got '%s'\n", option,
                     qPrintable(text));
        std::exit(2);
    }
    return value;
}

}  // namespace

int main(int argc, char** argv) {
    if (onlyPrints(argc, argv) && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("dlw-workbench"));
    QApplication::setDesktopFileName(QStringLiteral("dlw-workbench"));
    // The installed icon theme's (packaging/), or the source tree's for a build run in place.
    QApplication::setWindowIcon(QIcon::fromTheme(
        QStringLiteral("dlw-workbench"),
        QIcon(QStringLiteral(DLW_SOURCE_DIR "/packaging/icons/dlw-workbench-256.png"))));
    QApplication::setApplicationVersion(QStringLiteral(DLW_VERSION "\nQt %1\n").arg(qVersion()) +
                                        QString::fromStdString(dlw::versionDetails()));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("DualLoRA Workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption backbone(QStringLiteral("backbone"),
                                QStringLiteral("ViT backbone file (default: the bundled one)."),
                                QStringLiteral("file"));
    QCommandLineOption threads(QStringLiteral("threads"),
                               QStringLiteral("CPU threads for LibTorch (0 = all cores)."),
                               QStringLiteral("n"), QStringLiteral("0"));
    QCommandLineOption quitAfter(
        QStringLiteral("quit-after"),
        QStringLiteral("Close after this many milliseconds (smoke tests)."), QStringLiteral("ms"));
    QCommandLineOption runs(QStringLiteral("runs"),
                            QStringLiteral("Folder of the run directories (listed at start)."),
                            QStringLiteral("dir"), QStringLiteral("runs"));
    parser.addOption(backbone);
    parser.addOption(runs);
    parser.addOption(threads);
    QCommandLineOption autorun(QStringLiteral("run"),
                               QStringLiteral("Press Run at start (the queue, or the setup)."));
    QCommandLineOption compare(QStringLiteral("compare"),
                               QStringLiteral("Press Compare methods at start."));
    QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Save the window as PNG after MS milliseconds (repeatable)."),
        QStringLiteral("ms:file"));
    parser.addOption(quitAfter);
    parser.addOption(autorun);
    parser.addOption(compare);
    QCommandLineOption tab(QStringLiteral("tab"), QStringLiteral("Open on plot tab N (0-based)."),
                           QStringLiteral("n"), QStringLiteral("0"));
    QCommandLineOption dark(QStringLiteral("dark"),
                            QStringLiteral("Use a dark palette (Fusion style) whatever the "
                                           "system's theme."));
    QCommandLineOption finalShots(
        QStringLiteral("final-screenshots"),
        QStringLiteral("Once the queue has run, save each plot tab as PREFIX-tabN.png and quit."),
        QStringLiteral("prefix"));
    parser.addOption(screenshot);
    parser.addOption(finalShots);
    parser.addOption(dark);
    parser.addOption(tab);
    parser.addPositionalArgument(
        QStringLiteral("experiment"),
        QStringLiteral("An experiment file to open in the setup (what opening a .dlw.json file "
                       "in a file manager does)."),
        QStringLiteral("[experiment]"));
    parser.process(app);
    const int threadCount = wholeNumber(parser.value(threads), "--threads");
    dlw::applyThreads(threadCount);
    if (parser.isSet(dark)) {
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QPalette p;
        p.setColor(QPalette::Window, QColor(45, 45, 48));
        p.setColor(QPalette::WindowText, QColor(220, 220, 220));
        p.setColor(QPalette::Base, QColor(30, 30, 32));
        p.setColor(QPalette::AlternateBase, QColor(55, 55, 60));
        p.setColor(QPalette::Text, QColor(220, 220, 220));
        p.setColor(QPalette::Button, QColor(53, 53, 56));
        p.setColor(QPalette::ButtonText, QColor(220, 220, 220));
        p.setColor(QPalette::Highlight, QColor(0, 114, 178));
        p.setColor(QPalette::HighlightedText, Qt::white);
        p.setColor(QPalette::Mid, QColor(90, 90, 95));
        p.setColor(QPalette::PlaceholderText, QColor(140, 140, 140));
        p.setColor(QPalette::ToolTipBase, QColor(30, 30, 32));
        p.setColor(QPalette::ToolTipText, QColor(220, 220, 220));
        QApplication::setPalette(p);
    }
    dlw::ui::WindowOptions options;
    if (parser.isSet(backbone)) {  // otherwise the experiment's "" = the bundled backbone
        options.backbonePath = parser.value(backbone);
    }
    options.runsFolder = parser.value(runs);
    options.threads = threadCount;
    dlw::ui::MainWindow window(options);
    if (!parser.positionalArguments().isEmpty()) {
        window.openExperiment(parser.positionalArguments().front());
    }
    window.show();
    window.showTab(wholeNumber(parser.value(tab), "--tab"));
    if (parser.isSet(compare)) {
        QTimer::singleShot(0, &window, [&window] { window.compareMethods(); });
    } else if (parser.isSet(autorun)) {
        QTimer::singleShot(0, &window, [&window] { window.runNext(); });
    }
    for (const QString& shot : parser.values(screenshot)) {
        const QString file = shot.section(':', 1);
        if (!shot.contains(':') || file.isEmpty()) {
            std::fprintf(stderr, "dlw-workbench: --screenshot: expected MS:FILE.png, got '%s'\n",
                         qPrintable(shot));
            return 2;
        }
        const int ms = wholeNumber(shot.section(':', 0, 0), "--screenshot");
        QTimer::singleShot(ms, &window, [&window, file] { saveAtomically(window.grab(), file); });
    }
    QTimer done;
    if (parser.isSet(finalShots)) {
        const QString prefix = parser.value(finalShots);
        done.setInterval(1000);
        QObject::connect(&done, &QTimer::timeout, &window, [&window, &done, prefix] {
            if (window.runner().busy() || window.queue().nextQueued() >= 0) {
                return;
            }
            done.stop();
            window.selectRow(window.queue().rowCount() > 0 ? 0 : -1);  // the first run in focus
            for (int shown = 0; shown < 5; ++shown) {
                window.showTab(shown);
                QCoreApplication::processEvents();
                saveAtomically(window.grab(),
                               QStringLiteral("%1-tab%2.png").arg(prefix).arg(shown));
            }
            QCoreApplication::quit();
        });
        QTimer::singleShot(3000, &done, qOverload<>(&QTimer::start));
    }
    if (parser.isSet(quitAfter)) {
        QTimer::singleShot(wholeNumber(parser.value(quitAfter), "--quit-after"), &app,
                           &QCoreApplication::quit);
    }
    const int code = QApplication::exec();
    return code != 0 ? code : screenshotFailed ? 1 : 0;
}
