#include "ui/launch_dialog.h"

#include "api/distributed.h"
#include "api/error.h"
#include "ui/shown_text.h"

#include <QApplication>
#include <QClipboard>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace dlw::ui {

LaunchDialog::LaunchDialog(Experiment experiment, QWidget* parent)
    : QDialog(parent), experiment_(std::move(experiment)) {
    setWindowTitle(tr("Run on several processes"));
    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(
        tr("Data parallel with LibTorch's c10d (a Gloo process group): each global batch of "
           "train.batch_size images is shared out over the processes, so the run takes the "
           "steps one process would. Save the experiment, then run the command on every "
           "machine (NODE_RANK 0 … machines − 1). The data and the backbone must be at the "
           "experiment's paths on every machine; rank 0 writes the run folder, which opens "
           "here with File > Open runs folder…"));
    intro->setWordWrap(true);
    layout->addWidget(intro);
    auto* form = new QFormLayout;
    machines_ = new QSpinBox;
    machines_->setRange(1, 4096);
    machines_->setObjectName("machines");
    processes_ = new QSpinBox;
    processes_->setRange(1, 256);
    processes_->setValue(2);
    processes_->setObjectName("processes");
    processes_->setToolTip(tr("One per GPU of a machine; on CPUs, a few per machine"));
    host_ = new QLineEdit;
    host_->setPlaceholderText(tr("rank 0's host name or address"));
    host_->setObjectName("host");
    port_ = new QSpinBox;
    port_->setRange(1, 65535);
    port_->setValue(29500);
    runDir_ = new QLineEdit(QString::fromStdString("runs/" + experiment_.name + "-distributed"));
    runDir_->setObjectName("runDir");
    program_ = new QLineEdit(QStringLiteral("dlw"));
    program_->setToolTip(tr("The dlw program as the machines find it (a path if not on PATH)"));
    form->addRow(tr("Machines"), machines_);
    form->addRow(tr("Processes per machine"), processes_);
    form->addRow(tr("Rank 0's host"), host_);
    form->addRow(tr("Port"), port_);
    form->addRow(tr("Run folder (--out)"), runDir_);
    form->addRow(tr("Program"), program_);
    layout->addLayout(form);
    auto* save = new QPushButton(tr("Save experiment…"));
    layout->addWidget(save);
    command_ = new QPlainTextEdit;
    command_->setReadOnly(true);
    command_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    command_->setObjectName("command");
    command_->setPlaceholderText(tr("Save the experiment to see the command"));
    command_->setMinimumHeight(90);
    layout->addWidget(command_);
    status_ = new QLabel;
    status_->setWordWrap(true);
    layout->addWidget(status_);
    auto* buttons = new QHBoxLayout;
    auto* copy = new QPushButton(tr("Copy command"));
    auto* close = new QPushButton(tr("Close"));
    buttons->addStretch(1);
    buttons->addWidget(copy);
    buttons->addWidget(close);
    layout->addLayout(buttons);
    connect(save, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Save experiment"), QString::fromStdString(experiment_.name) + ".dlw.json",
            tr("Experiment (*.json)"));
        if (!path.isEmpty()) {
            saveExperimentTo(path);
        }
    });
    connect(copy, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(command()); });
    connect(close, &QPushButton::clicked, this, &QDialog::accept);
    for (auto* spin : {machines_, processes_, port_}) {
        connect(spin, qOverload<int>(&QSpinBox::valueChanged), this, &LaunchDialog::refresh);
    }
    for (auto* edit : {host_, runDir_, program_}) {
        connect(edit, &QLineEdit::textChanged, this, &LaunchDialog::refresh);
    }
    refresh();
    resize(640, 420);
}

bool LaunchDialog::saveExperimentTo(const QString& path) {
    try {
        saveExperimentFile(experiment_, path.toStdString());
    } catch (const Error& err) {
        status_->setText(shownText(err.what()));
        return false;
    }
    experimentFile_ = path;
    refresh();
    return true;
}

QString LaunchDialog::command() const {
    return command_->toPlainText();
}

void LaunchDialog::setLaunch(int machines, int processesPerMachine, const QString& host, int port) {
    machines_->setValue(machines);
    processes_->setValue(processesPerMachine);
    host_->setText(host);
    port_->setValue(port);
}

void LaunchDialog::refresh() {
    host_->setEnabled(machines_->value() > 1);
    if (experimentFile_.isEmpty()) {
        command_->clear();
        return;
    }
    LaunchPlan plan;
    plan.experimentFile = experimentFile_.toStdString();
    plan.runDir = runDir_->text().toStdString();
    plan.machines = machines_->value();
    plan.processesPerMachine = processes_->value();
    plan.masterAddr = host_->text().trimmed().toStdString();
    plan.masterPort = port_->value();
    plan.program = program_->text().trimmed().toStdString();
    try {
        const QString line = QString::fromStdString(launchCommand(plan));
        command_->setPlainText(
            plan.machines > 1
                ? tr("# on each machine, NODE_RANK=0 … %1:\n").arg(plan.machines - 1) + line
                : line);
        status_->setText(tr("%1 processes in all; rank 0 writes %2")
                             .arg(plan.machines * plan.processesPerMachine)
                             .arg(htmlText(runDir_->text())));
    } catch (const Error& err) {
        command_->clear();
        status_->setText(shownText(err.what()));
    }
}

}  // namespace dlw::ui
