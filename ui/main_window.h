#pragma once

#include <QMainWindow>

class QLabel;
class QTabWidget;

namespace dlw::ui {

// The workbench window: setup on the left, live plots in the middle, prediction on the right
// (DESIGN §7). This is the shell of issue #3; the engine controller and the views come with the
// engine (#4) and the window issue (#5). GUI thread only.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    // `backbonePath` is shown in the setup panel; an unreadable file is reported there, not thrown.
    explicit MainWindow(QString backbonePath, QWidget* parent = nullptr);

private:
    QWidget* createSetupPanel();
    QWidget* createPlotTabs();
    QWidget* createPredictPanel();
    void describeBackbone();

    QString backbonePath_;
    QLabel* backboneLabel_ = nullptr;
    QTabWidget* plotTabs_ = nullptr;
};

}  // namespace dlw::ui
