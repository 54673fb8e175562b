#pragma once
// The workbench window (DESIGN §7): setup and queue on the left, live plots in the middle,
// prediction on the right, run state in the status bar. It drives the engine through
// EngineRunner (core/api only) and opens on the runnable `default` experiment. GUI thread only.

#include "ui/queue_model.h"
#include "ui/queue_policy.h"

#include <atomic>
#include <memory>

#include <QMainWindow>

class QCheckBox;
class QComboBox;
class QLabel;
class QListView;
class QPushButton;
class QTabWidget;
class QTimer;

namespace dlw::ui {

class EngineRunner;
class ExperimentForm;
class MatrixPlot;
class Plot;
class PredictPanel;

struct WindowOptions {
    QString backbonePath;  // the setup's backbone ("" = bundled)
    QString runsFolder = QStringLiteral("runs");
    // The command line's --threads: what a run started here uses when its experiment leaves
    // `threads` at 0 (auto); 0 = the experiment decides. An experiment's own count wins.
    int threads = 0;
};

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(WindowOptions options, QWidget* parent = nullptr);
    ~MainWindow() override;

    // For tests and scripted screenshots.
    QueueModel& queue() { return queue_; }
    QueuePolicy& policy() { return policy_; }
    ExperimentForm& form() { return *form_; }
    PredictPanel& predictPanel() { return *predict_; }
    EngineRunner& runner() { return *runner_; }
    MatrixPlot& matrixPlot() { return *matrix_; }
    // Adds the setup's experiment to the queue (false with the reason shown when invalid).
    bool addToQueue();
    // Queues the setup's sequence once per method: duallora, inflora, sd-lora, ranpac, seq-lora,
    // joint.
    bool compareMethods();
    // Runs the next queued experiment (adding the setup's one when the queue has none).
    void runNext();
    void selectRow(int row);
    void showTab(int index);
    // Lists the runs found in the runs folder (past runs, reopened with all their plots).
    void loadPastRuns();
    // A dataset folder dropped on the setup: data.root, and data.kind guessed from its files.
    void useDatasetFolder(const QString& folder);
    // Opens an experiment file into the setup; a file that does not load leaves the setup as it
    // was and says why beneath it (named file, line and key).
    bool openExperiment(const QString& path);
    // The run folders "Export report…" writes: the focused run and every run of its sequence
    // (all methods and seeds) that finished a task.
    std::vector<std::string> reportedRuns() const;
    void exportReport();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    QWidget* createSetupPanel();
    QWidget* createQueuePanel();
    void connectQueueButtons(QPushButton* duplicate, QPushButton* remove);
    QWidget* createPlots();
    void createMenus();
    void startEntry(int row);
    void onRunnerUpdated();
    void onRunnerFinished();
    void refreshPlots();
    void refreshStatus();
    void refreshDatasetInfo();
    void refreshBackboneInfo(const Experiment& experiment);
    // The setup's task count for the plots sized by tasks while no run is in focus.
    void showPlannedTasks(int tasks);
    void updateButtons();
    int selectedRow() const;

    WindowOptions options_;
    QueueModel queue_;
    QueuePolicy policy_;
    std::unique_ptr<EngineRunner> runner_;
    ExperimentForm* form_ = nullptr;
    QLabel* datasetInfo_ = nullptr;
    QLabel* backboneInfo_ = nullptr;
    QString describedBackbone_;
    QLabel* setupError_ = nullptr;
    QListView* queueView_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    std::vector<Plot*> plots_;
    MatrixPlot* matrix_ = nullptr;
    QComboBox* matrixKind_ = nullptr;
    QComboBox* baseline_ = nullptr;
    QCheckBox* meanOverSeeds_ = nullptr;
    PredictPanel* predict_ = nullptr;
    QLabel* statusRun_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QPushButton* pauseButton_ = nullptr;
    QPushButton* stopButton_ = nullptr;
    QPushButton* stopAfterButton_ = nullptr;
    QPushButton* resumeButton_ = nullptr;
    QPushButton* addButton_ = nullptr;
    QPushButton* compareButton_ = nullptr;
    int focusRow_ = -1;  // the run the plots show
    int runningRow_ = -1;
    QTimer* datasetTimer_ = nullptr;
    QWidget* setupBox_ = nullptr;
    // The latest dataset scan; older ones (and all, once the window is gone) cancel. Shared with
    // the scans' threads, which may outlive the window.
    std::shared_ptr<std::atomic<int>> scanGeneration_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace dlw::ui
