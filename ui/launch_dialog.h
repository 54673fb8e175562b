#pragma once
// "Run on several processes…" (#18): saves the setup's experiment for a data-parallel run and
// shows the exact command that starts it with torchrun on one machine or several; the run
// folder rank 0 writes opens afterwards like any other (File > Open runs folder…). GUI thread.

#include "api/experiment.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace dlw::ui {

class LaunchDialog : public QDialog {
    Q_OBJECT
public:
    LaunchDialog(Experiment experiment, QWidget* parent = nullptr);

    // Saves the experiment to `path` and shows the command for it; false (and the reason
    // beneath the form) when the file cannot be written.
    bool saveExperimentTo(const QString& path);
    // The command as shown; empty until the experiment is saved.
    QString command() const;
    // The settings of the launch.
    void setLaunch(int machines, int processesPerMachine, const QString& host, int port);

private:
    void refresh();

    Experiment experiment_;
    QString experimentFile_;
    QSpinBox* machines_ = nullptr;
    QSpinBox* processes_ = nullptr;
    QLineEdit* host_ = nullptr;
    QSpinBox* port_ = nullptr;
    QLineEdit* runDir_ = nullptr;
    QLineEdit* program_ = nullptr;
    QPlainTextEdit* command_ = nullptr;
    QLabel* status_ = nullptr;
};

}  // namespace dlw::ui
