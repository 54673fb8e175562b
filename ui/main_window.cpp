#include "ui/main_window.h"

#include "api/error.h"
#include "api/experiment.h"
#include "api/run_folder.h"
#include "api/runtime.h"
#include "ui/compare_view.h"
#include "ui/engine_runner.h"
#include "ui/experiment_form.h"
#include "ui/launch_dialog.h"
#include "ui/plots.h"
#include "ui/predict_panel.h"
#include "ui/report.h"
#include "ui/shown_text.h"
#include "ui/split_view.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace dlw::ui {
namespace {

QString clock(double seconds) {
    const int s = static_cast<int>(seconds + 0.5);
    return s >= 3600 ? QStringLiteral("%1:%2:%3")
                           .arg(s / 3600)
                           .arg(s / 60 % 60, 2, 10, QChar('0'))
                           .arg(s % 60, 2, 10, QChar('0'))
                     : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}

}  // namespace

MainWindow::MainWindow(WindowOptions options, QWidget* parent)
    : QMainWindow(parent)
    , options_(std::move(options))
    , policy_(queue_, options_.runsFolder, options_.threads)
    , runner_(std::make_unique<EngineRunner>()) {
    setWindowTitle(tr("DualLoRA Workbench"));
    auto* left = new QSplitter(Qt::Vertical);
    left->addWidget(createSetupPanel());
    left->addWidget(createQueuePanel());
    left->setStretchFactor(0, 3);
    left->setStretchFactor(1, 2);
    auto* predictBox = new QGroupBox(tr("Predict"));
    auto* predictLayout = new QVBoxLayout(predictBox);
    predict_ = new PredictPanel;
    predictLayout->addWidget(predict_);
    predictBox->setMinimumWidth(330);
    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(createPlots());
    splitter->addWidget(predictBox);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({380, 860, 360});
    setCentralWidget(splitter);
    statusRun_ = new QLabel;
    statusBar()->addWidget(statusRun_, 1);
    // A passing message takes the run line's place (#17: they were drawn over each other).
    connect(statusBar(), &QStatusBar::messageChanged, this,
            [this](const QString& message) { statusRun_->setVisible(message.isEmpty()); });
    statusBar()->addPermanentWidget(new QLabel(QString::fromStdString(runtimeDescription())));
    createMenus();
    connect(runner_.get(), &EngineRunner::updated, this, &MainWindow::onRunnerUpdated);
    connect(runner_.get(), &EngineRunner::finished, this, &MainWindow::onRunnerFinished);
    if (!options_.backbonePath.isEmpty()) {
        form_->setString("backbone.path", options_.backbonePath);
    }
    if (auto e = form_->experiment()) {
        showPlannedTasks(e->sequence.tasks);
    }
    loadPastRuns();
    if (queue_.rowCount() > 0) {
        selectRow(0);  // the newest past run, with its plots
    }
    refreshDatasetInfo();
    refreshPlots();
    refreshStatus();
    updateButtons();
    resize(1600, 1000);
}

MainWindow::~MainWindow() {
    ++*scanGeneration_;  // a scan still running stops at its next file
}

QWidget* MainWindow::createQueuePanel() {
    auto* box = new QGroupBox(tr("Queue and runs"));
    auto* layout = new QVBoxLayout(box);
    queueView_ = new QListView;
    queueView_->setModel(&queue_);
    queueView_->setDragDropMode(QAbstractItemView::InternalMove);
    queueView_->setDefaultDropAction(Qt::MoveAction);
    queueView_->setSelectionMode(QAbstractItemView::SingleSelection);
    queueView_->setToolTip(tr("Drag queued rows to reorder; select a run to see its plots"));
    layout->addWidget(queueView_, 1);
    auto* row1 = new QHBoxLayout;
    runButton_ = new QPushButton(tr("Run ▶"));
    runButton_->setToolTip(tr("Run the queue (the setup's experiment when the queue is empty)"));
    pauseButton_ = new QPushButton(tr("Pause"));
    pauseButton_->setCheckable(true);
    stopButton_ = new QPushButton(tr("Stop"));
    stopButton_->setToolTip(tr("Stop after the current batch; the run can be resumed"));
    stopAfterButton_ = new QPushButton(tr("Stop after task"));
    row1->addWidget(runButton_);
    row1->addWidget(pauseButton_);
    row1->addWidget(stopButton_);
    row1->addWidget(stopAfterButton_);
    layout->addLayout(row1);
    auto* row2 = new QHBoxLayout;
    resumeButton_ = new QPushButton(tr("Resume"));
    auto* duplicate = new QPushButton(tr("Duplicate"));
    duplicate->setToolTip(tr("Load this run's experiment into the setup to edit and queue it"));
    auto* remove = new QPushButton(tr("Remove"));
    remove->setToolTip(tr("Remove from the list (files on disk stay)"));
    row2->addWidget(resumeButton_);
    row2->addWidget(duplicate);
    row2->addWidget(remove);
    layout->addLayout(row2);
    connectQueueButtons(duplicate, remove);
    return box;
}

void MainWindow::connectQueueButtons(QPushButton* duplicate, QPushButton* remove) {
    connect(runButton_, &QPushButton::clicked, this, [this] {
        policy_.release();
        runNext();
    });
    connect(pauseButton_, &QPushButton::toggled, this, [this](bool on) {
        runner_->setPaused(on);
        refreshStatus();
    });
    connect(stopButton_, &QPushButton::clicked, this, [this] {
        policy_.halt();
        runner_->stop();  // "Stopping…" at once; the engine stops after the current batch
        pauseButton_->setChecked(false);
        refreshStatus();
    });
    connect(stopAfterButton_, &QPushButton::clicked, this, [this] {
        policy_.halt();
        runner_->stopAfterTask();
        statusBar()->showMessage(tr("Stopping after this task"), 5000);
    });
    connect(resumeButton_, &QPushButton::clicked, this, [this] {
        const int row = selectedRow();
        if (row < 0) {
            return;
        }
        policy_.markResume(row);
        if (!runner_->busy()) {
            startEntry(row);
        }
    });
    connect(duplicate, &QPushButton::clicked, this, [this] {
        const int row = selectedRow();
        if (row >= 0) {
            form_->setExperiment(queue_.entry(row).experiment);
        }
    });
    connect(remove, &QPushButton::clicked, this, [this] {
        const int row = selectedRow();
        if (row >= 0 && queue_.remove(row)) {
            focusRow_ = -1;
            runningRow_ = queue_.rowOf(runner_->data().get());
            refreshPlots();
        }
    });
    connect(queueView_->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& index) {
                focusRow_ = index.row();
                if (focusRow_ >= 0) {
                    predict_->setRun(QString::fromStdString(queue_.entry(focusRow_).runDir));
                }
                refreshPlots();
                updateButtons();
            });
    connect(&queue_, &QAbstractItemModel::rowsMoved, this, [this] {
        runningRow_ = queue_.rowOf(runner_->data().get());
        focusRow_ = selectedRow();
    });
}

QWidget* MainWindow::createPlots() {
    tabs_ = new QTabWidget;
    auto* overview = new QWidget;
    auto* grid = new QGridLayout(overview);
    auto* loss = new LossPlot;
    auto* accuracy = new AccuracyPlot;
    matrix_ = new MatrixPlot;
    auto* taskId = new TaskIdentityPlot;
    auto* matrixBox = new QWidget;
    auto* matrixLayout = new QVBoxLayout(matrixBox);
    matrixLayout->setContentsMargins(0, 0, 0, 0);
    auto* matrixRow = new QHBoxLayout;
    matrixKind_ = new QComboBox;
    matrixKind_->addItems({tr("class-incremental accuracy"), tr("task-aware accuracy (task given)"),
                           tr("task-identity accuracy")});
    connect(matrixKind_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
        matrix_->setKind(static_cast<MatrixKind>(i));
        refreshPlots();
    });
    baseline_ = new QComboBox;
    baseline_->setToolTip(tr("Show the difference to another run of the same sequence"));
    baseline_->addItem(tr("no difference view"));
    connect(baseline_, &QComboBox::activated, this, [this](int i) {
        matrix_->setBaseline(i == 0 ? std::string() : baseline_->itemText(i).toStdString());
        refreshPlots();
    });
    meanOverSeeds_ = new QCheckBox(tr("mean over seeds"));
    meanOverSeeds_->setChecked(true);
    meanOverSeeds_->setToolTip(
        tr("Runs of one variant that differ only in their seed: one mean line with a ± SD band "
           "(accuracy, forgetting) and a matrix of means. Off: the selected seed's runs only"));
    connect(meanOverSeeds_, &QCheckBox::toggled, this, &MainWindow::refreshPlots);
    matrixRow->addWidget(matrixKind_, 1);
    matrixRow->addWidget(baseline_, 1);
    matrixRow->addWidget(meanOverSeeds_);
    matrixLayout->addLayout(matrixRow);
    matrixLayout->addWidget(matrix_, 1);
    grid->addWidget(loss, 0, 0);
    grid->addWidget(accuracy, 0, 1);
    grid->addWidget(matrixBox, 1, 0);
    grid->addWidget(taskId, 1, 1);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    tabs_->addTab(overview, tr("Overview"));

    auto pair = [](QWidget* top, QWidget* bottom) {
        auto* split = new QSplitter(Qt::Vertical);
        split->addWidget(top);
        split->addWidget(bottom);
        return split;
    };
    auto* forgetting = new ForgettingPlot;
    auto* taskAccuracy = new TaskAccuracyPlot;
    tabs_->addTab(pair(forgetting, taskAccuracy), tr("Forgetting"));
    auto* confusion = new MatrixPlot;
    confusion->setKind(MatrixKind::TaskConfusion);
    auto* taskIdCurve = new TaskIdCurvePlot;
    auto* identity = new QWidget;
    auto* identityLayout = new QHBoxLayout(identity);
    identityLayout->addWidget(confusion);
    identityLayout->addWidget(taskIdCurve);
    tabs_->addTab(identity, tr("Task identity"));
    auto* spectra = new SpectraPlot;
    auto* memory = new MemoryPlot;
    auto* spectraBox = new QWidget;
    auto* spectraLayout = new QVBoxLayout(spectraBox);
    spectraLayout->setContentsMargins(0, 0, 0, 0);
    auto* normalized = new QCheckBox(tr("normalise each spectrum by its largest value"));
    connect(normalized, &QCheckBox::toggled, this, [this, spectra](bool on) {
        spectra->setNormalized(on);
        refreshPlots();
    });
    spectraLayout->addWidget(normalized);
    spectraLayout->addWidget(spectra, 1);
    tabs_->addTab(pair(spectraBox, memory), tr("Spectra and memory"));
    auto* calibration = new CalibrationPlot;
    tabs_->addTab(calibration, tr("Calibration"));
    plots_ = {loss,      accuracy,    matrix_, taskId, forgetting, taskAccuracy,
              confusion, taskIdCurve, spectra, memory, calibration};
    connect(tabs_, &QTabWidget::currentChanged, this, &MainWindow::refreshPlots);
    return tabs_;
}

void MainWindow::createMenus() {
    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open runs folder…"), this, [this] {
        const QString dir =
            QFileDialog::getExistingDirectory(this, tr("Runs folder"), options_.runsFolder);
        if (!dir.isEmpty()) {
            options_.runsFolder = dir;
            policy_.setRunsFolder(dir);
            loadPastRuns();
        }
    });
    // Every preset of `dlw run --preset`, its description as the status tip: the literature's
    // ViT-B/16 presets leave data.root to the user, which the setup then asks for.
    auto* presets = file->addMenu(tr("&New from preset"));
    presets->setToolTipsVisible(true);
    for (const auto& name : presetNames()) {
        const QString shown = QString::fromStdString(name);
        auto* action = presets->addAction(shown, this, [this, name, shown] {
            form_->setExperiment(preset(name));
            statusBar()->showMessage(tr("Setup: the %1 preset").arg(shown), 5000);
        });
        action->setObjectName("preset-" + shown);
        action->setToolTip(QString::fromStdString(presetDescription(name)));
        action->setStatusTip(action->toolTip());
    }
    file->addAction(tr("&Export report…"), this, &MainWindow::exportReport);
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    auto* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(tr("&Run queue"), this, [this] { runButton_->click(); });
    run->addAction(tr("&Stop"), this, [this] { stopButton_->click(); });
    run->addAction(tr("Stop after this &task"), this, [this] { stopAfterButton_->click(); });
    run->addAction(tr("&Compare methods"), this, &MainWindow::compareMethods);
    run->addAction(tr("Run on several &processes…"), this, [this] {
        auto e = form_->experiment();
        if (!e) {
            setupError_->setText(form_->error());
            return;
        }
        auto* dialog = new LaunchDialog(*e, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->show();
    });
    run->addSeparator();
    run->addAction(tr("Compare &runs…"), this, [this] {
        auto* dialog = new CompareDialog(queue_, reportedRuns(), this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->show();
    });
    run->addAction(tr("S&plit of this run…"), this, [this] {
        const int row = selectedRow();
        if (row < 0 || queue_.entry(row).runDir.empty()) {
            statusBar()->showMessage(tr("Select a run that has started"), 5000);
            return;
        }
        showSplitDialog(this, queue_.entry(row).runDir);
    });
}

bool MainWindow::addToQueue() {
    auto e = form_->experiment();
    if (!e) {
        setupError_->setText(form_->error());
        return false;
    }
    const int row = policy_.enqueue(*e);
    if (focusRow_ < 0) {
        selectRow(row);
    }
    updateButtons();
    return true;
}

bool MainWindow::compareMethods() {
    auto e = form_->experiment();
    if (!e) {
        setupError_->setText(form_->error());
        return false;
    }
    policy_.enqueueComparison(*e);
    if (!runner_->busy()) {
        runNext();
    }
    return true;
}

void MainWindow::runNext() {
    if (runner_->busy()) {
        return;
    }
    int row = policy_.next();
    if (row < 0) {
        if (policy_.halted() || !addToQueue()) {
            return;
        }
        row = policy_.next();
    }
    startEntry(row);
}

void MainWindow::startEntry(int row) {
    RunRequest request;
    try {
        request = policy_.requestFor(row);
    } catch (const Error& err) {  // the runs folder cannot be made: the row says why
        auto& failed = *queue_.entry(row).data;
        failed.state = RunState::Failed;
        failed.error = err.what();
        queue_.refresh(row);
        statusBar()->showMessage(tr("Run failed: %1").arg(shownText(failed.error)), 15000);
        return;
    }
    runner_->start(request, queue_.entry(row).data);
    runningRow_ = row;
    selectRow(row);
    queue_.refresh(row);
    updateButtons();
    refreshStatus();
}

void MainWindow::selectRow(int row) {
    queueView_->setCurrentIndex(queue_.index(row));
}

void MainWindow::showTab(int index) {
    tabs_->setCurrentIndex(index);
}

int MainWindow::selectedRow() const {
    const QModelIndex index = queueView_->currentIndex();
    return index.isValid() ? index.row() : -1;
}

void MainWindow::onRunnerUpdated() {
    runningRow_ = queue_.rowOf(runner_->data().get());
    queue_.refresh(runningRow_);
    if (runningRow_ == focusRow_) {
        const auto& d = *runner_->data();
        if (!d.evaluations.empty()) {  // a new checkpoint may be there for the predictor
            predict_->setRun(QString::fromStdString(d.runDir));
        }
        refreshPlots();
    }
    refreshStatus();
}

void MainWindow::onRunnerFinished() {
    const int row = queue_.rowOf(runner_->data().get());
    queue_.refresh(row);
    if (row == focusRow_) {
        predict_->setRun(QString::fromStdString(queue_.entry(row).runDir));
        refreshPlots();
    }
    const auto& d = *runner_->data();
    if (d.state == RunState::Failed) {
        statusBar()->showMessage(tr("Run failed: %1").arg(shownText(d.error)), 15000);
        if (row >= 0) {  // refused before it wrote anything: no empty folder left behind (#15)
            releaseRunFolder(queue_.entry(row).runDir);
        }
    }
    runningRow_ = -1;
    pauseButton_->setChecked(false);
    refreshStatus();
    updateButtons();
    if (policy_.continuesAfter(d.state)) {
        QTimer::singleShot(0, this, &MainWindow::runNext);
    }
}

void MainWindow::refreshPlots() {
    const RunData* current = focusRow_ >= 0 && focusRow_ < queue_.rowCount()
                                 ? queue_.entry(focusRow_).data.get()
                                 : nullptr;
    const RunList runs = policy_.sameSequence(current);
    QStringList others;
    for (const auto& r : runs) {
        if (r.get() != current && !r->evaluations.empty()) {
            others << QString::fromStdString(r->label);
        }
    }
    QStringList have;
    for (int i = 1; i < baseline_->count(); ++i) {
        have << baseline_->itemText(i);
    }
    if (have != others) {
        const QString chosen = baseline_->currentText();
        const QSignalBlocker block(baseline_);
        while (baseline_->count() > 1) {
            baseline_->removeItem(1);
        }
        for (const auto& o : others) {
            baseline_->addItem(o);
        }
        const int keep = baseline_->findText(chosen);
        baseline_->setCurrentIndex(keep > 0 ? keep : 0);
        matrix_->setBaseline(keep > 0 ? chosen.toStdString() : std::string());
    }
    const bool mean = meanOverSeeds_->isChecked();
    const RunList anySeed = mean ? policy_.sameSequenceAnySeed(current) : RunList{};
    QWidget* visible = tabs_->currentWidget();
    for (auto* plot : plots_) {
        if (plot->isVisible() || visible == plot || visible->isAncestorOf(plot)) {
            plot->setMeanOverSeeds(mean && plot->aggregatesSeeds());
            plot->refresh(current, plot->meanOverSeeds() ? anySeed : runs);
        }
    }
}

std::vector<std::string> MainWindow::reportedRuns() const {
    const RunData* current = focusRow_ >= 0 && focusRow_ < queue_.rowCount()
                                 ? queue_.entry(focusRow_).data.get()
                                 : nullptr;
    std::vector<std::string> dirs;
    for (const auto& run : policy_.sameSequenceAnySeed(current)) {
        if (!run->runDir.empty() && !run->evaluations.empty()) {
            dirs.push_back(run->runDir);
        }
    }
    return dirs;
}

void MainWindow::exportReport() {
    const auto dirs = reportedRuns();
    if (dirs.empty()) {
        statusBar()->showMessage(
            tr("Select a run that finished a task: the report holds it and every run of its "
               "sequence"),
            8000);
        return;
    }
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export report of %n run(s)", nullptr, static_cast<int>(dirs.size())),
        QStringLiteral("dlw-report.html"), tr("HTML (*.html)"));
    if (path.isEmpty()) {
        return;
    }
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        const ReportResult result = writeReport(dirs, path);
        QApplication::restoreOverrideCursor();
        statusBar()->showMessage(
            tr("Wrote %1: %2 run(s)%3")
                .arg(path)
                .arg(result.runs)
                .arg(result.problems.isEmpty() ? QString()
                                               : tr("; %1 left out").arg(result.problems.size())),
            10000);
    } catch (const Error& err) {
        QApplication::restoreOverrideCursor();
        QMessageBox::warning(this, tr("Export report"), shownText(err.what()));
    }
}

void MainWindow::showPlannedTasks(int tasks) {
    for (auto* plot : plots_) {
        plot->setPlannedTasks(tasks);
    }
    if (focusRow_ < 0 && tabs_ != nullptr) {
        refreshPlots();
    }
}

void MainWindow::refreshStatus() {
    if (!runner_->busy() || !runner_->data()) {
        statusRun_->setText(queue_.rowCount() == 0
                                ? tr("Ready: press Run to train the experiment of the setup")
                                : tr("Idle"));
        return;
    }
    const RunData& d = *runner_->data();
    QString text = QString::fromStdString(d.label);
    if (d.state == RunState::Stopping) {
        text += tr(" · stopping…");
    } else if (runner_->paused()) {
        text += tr(" · paused");
    }
    if (d.currentTask >= 0) {
        text += tr(" · task %1/%2 · epoch %3/%4")
                    .arg(d.currentTask + 1)
                    .arg(d.tasks)
                    .arg(d.currentEpoch + 1)
                    .arg(d.epochs);
    } else {
        text += tr(" · preparing data");
    }
    if (d.imagesPerSecond > 0) {
        text += tr(" · %1 img/s").arg(decimalText(d.imagesPerSecond, 0));
    }
    if (auto eta = d.etaSeconds()) {
        text += tr(" · ETA %1").arg(clock(*eta));
    }
    if (!d.device.empty()) {
        text += tr(" · %1, %2 thread(s)").arg(QString::fromStdString(d.device)).arg(d.threads);
    }
    statusRun_->setText(text);
}

void MainWindow::updateButtons() {
    const bool busy = runner_->busy();
    const bool valid = form_->experiment().has_value();
    runButton_->setEnabled(!busy && (valid || queue_.nextQueued() >= 0));
    pauseButton_->setEnabled(busy);
    stopButton_->setEnabled(busy);
    stopAfterButton_->setEnabled(busy);
    addButton_->setEnabled(valid);
    compareButton_->setEnabled(valid);
    const int row = selectedRow();
    resumeButton_->setEnabled(!busy && row >= 0 &&
                              queue_.entry(row).data->state == RunState::Stopped);
}

void MainWindow::loadPastRuns() {
    policy_.loadPastRuns();
}

}  // namespace dlw::ui
