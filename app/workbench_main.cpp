// dlw-workbench: the GUI. Opens on the bundled backbone unless --backbone says otherwise.
#include "api/runtime.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QTimer>

namespace {

// The bundled backbone: next to an installed binary (../share/dlw/backbones) or in the source
// tree this binary was built from.
QString defaultBackbone() {
    const QString name = QStringLiteral("backbones/dlw-vit-tiny.safetensors");
    const QString installed =
        QCoreApplication::applicationDirPath() + QStringLiteral("/../share/dlw/") + name;
    if (QFileInfo::exists(installed)) {
        return QDir::cleanPath(installed);
    }
    return QStringLiteral(DLW_SOURCE_DIR "/resources/") + name;
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("dlw-workbench"));
    QApplication::setApplicationVersion(QStringLiteral(DLW_VERSION));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("DualLoRA Workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption backbone(QStringLiteral("backbone"), QStringLiteral("ViT backbone file."),
                                QStringLiteral("file"), defaultBackbone());
    QCommandLineOption threads(QStringLiteral("threads"),
                               QStringLiteral("CPU threads for LibTorch (0 = all cores)."),
                               QStringLiteral("n"), QStringLiteral("0"));
    QCommandLineOption quitAfter(
        QStringLiteral("quit-after"),
        QStringLiteral("Close after this many milliseconds (smoke tests)."), QStringLiteral("ms"));
    parser.addOption(backbone);
    parser.addOption(threads);
    parser.addOption(quitAfter);
    parser.process(app);
    dlw::applyThreads(parser.value(threads).toInt());
    dlw::ui::MainWindow window(parser.value(backbone));
    window.show();
    if (parser.isSet(quitAfter)) {
        QTimer::singleShot(parser.value(quitAfter).toInt(), &app, &QCoreApplication::quit);
    }
    return QApplication::exec();
}
