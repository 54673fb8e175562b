#include "ui/main_window.h"

#include "api/backbone_info.h"
#include "api/error.h"
#include "api/runtime.h"
#include "qcustomplot.h"

#include <QFileInfo>
#include <QGroupBox>
#include <QLabel>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

namespace dlw::ui {
namespace {

// An empty plot with its axes named, so the layout reads right before any run exists.
QCustomPlot* emptyPlot(const QString& title, const QString& xLabel, const QString& yLabel) {
    auto* plot = new QCustomPlot;
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0,
                                   new QCPTextElement(plot, title, QFont("sans", 10, QFont::Bold)));
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->setMinimumSize(320, 220);
    return plot;
}

}  // namespace

MainWindow::MainWindow(QString backbonePath, QWidget* parent)
    : QMainWindow(parent), backbonePath_(std::move(backbonePath)) {
    setWindowTitle(tr("DualLoRA Workbench"));
    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(createSetupPanel());
    splitter->addWidget(createPlotTabs());
    splitter->addWidget(createPredictPanel());
    splitter->setStretchFactor(1, 1);
    setCentralWidget(splitter);
    statusBar()->showMessage(QString::fromStdString(runtimeDescription()));
    describeBackbone();
    resize(1600, 1000);
}

QWidget* MainWindow::createSetupPanel() {
    auto* box = new QGroupBox(tr("Setup"));
    auto* layout = new QVBoxLayout(box);
    backboneLabel_ = new QLabel;
    backboneLabel_->setWordWrap(true);
    backboneLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(backboneLabel_);
    layout->addStretch(1);
    box->setMinimumWidth(340);
    return box;
}

QWidget* MainWindow::createPlotTabs() {
    plotTabs_ = new QTabWidget;
    plotTabs_->addTab(emptyPlot(tr("Loss"), tr("training step"), tr("cross-entropy")), tr("Loss"));
    plotTabs_->addTab(
        emptyPlot(tr("Accuracy vs tasks learned"), tr("tasks learned"), tr("accuracy (%)")),
        tr("Accuracy"));
    return plotTabs_;
}

QWidget* MainWindow::createPredictPanel() {
    auto* box = new QGroupBox(tr("Predict"));
    auto* layout = new QVBoxLayout(box);
    auto* hint = new QLabel(tr("Drop images here once a run has finished a task."));
    hint->setWordWrap(true);
    layout->addWidget(hint);
    layout->addStretch(1);
    box->setMinimumWidth(340);
    return box;
}

void MainWindow::describeBackbone() {
    try {
        const BackboneInfo info = inspectBackbone(backbonePath_.toStdString());
        const BackboneArch& a = info.arch;
        QString text = tr("<b>Backbone</b> %1<br>ViT %2×%2 px, %3 channel(s), patch %4<br>"
                          "width %5 · depth %6 · heads %7 · %8 parameters")
                           .arg(QFileInfo(backbonePath_).fileName())
                           .arg(a.imgSize)
                           .arg(a.inChans)
                           .arg(a.patchSize)
                           .arg(a.width)
                           .arg(a.depth)
                           .arg(a.heads)
                           .arg(QLocale().toString(static_cast<qlonglong>(info.parameters)));
        auto it = info.metadata.find("pretrained_on");
        if (it != info.metadata.end()) {
            text +=
                tr("<br>pre-trained on %1").arg(QString::fromStdString(it->second).toHtmlEscaped());
        }
        backboneLabel_->setText(text);
    } catch (const Error& e) {
        backboneLabel_->setText(tr("<b>Backbone</b> cannot be read:<br>%1")
                                    .arg(QString::fromStdString(e.what()).toHtmlEscaped()));
    }
}

}  // namespace dlw::ui
