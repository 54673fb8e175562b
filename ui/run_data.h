#pragma once
// Everything the window shows about one run, accumulated from the engine's events on the GUI
// thread (or read back from a run directory's events.jsonl). Plain C++: the plots and tests read
// it.

#include "api/events.h"
#include "api/run_table.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dlw::ui {

enum class RunState { Queued, Running, Stopping, Done, Stopped, Failed };

struct StepPoint {
    int64_t step = 0;
    int task = 0;
    int epoch = 0;
    double loss = 0;
    double lr = 0;
};

// Which of the per-task matrices a view shows. TaskConfusion: rows are the true task, columns the
// predicted task, percent of the row, after the last evaluated task.
enum class MatrixKind { ClassIncremental, TaskAware, TaskIdentity, TaskConfusion };

class RunData {
public:
    void apply(const Event& event);

    // Identity.
    std::string runDir;
    std::string label;        // the method variant, e.g. "duallora -task-id"
    std::string sequenceKey;  // runs with equal keys learned the same sequence (plots overlay)
    // The same key without the seed: runs with equal keys differ in their seed at most, so
    // that runs of one variant can be shown as a mean ± SD over seeds (#17).
    std::string seedlessKey;
    uint64_t seed = 0;
    // The experiment apart from its seed and where it runs (device, threads, checkpoint
    // cadence), as experiment JSON: runs with equal keys are seeds of one experiment, as in
    // `dlw compare --group`.
    std::string experimentKey;
    int tasks = 0;
    std::vector<std::vector<std::string>> taskClasses;
    std::string device;
    int threads = 0;

    // Progress.
    RunState state = RunState::Queued;
    std::string error;
    int currentTask = -1;
    int currentEpoch = 0;
    int epochs = 0;
    int64_t stepsPerEpoch = 0;
    int64_t taskSteps = 0;  // steps done in the current task
    double imagesPerSecond = 0;
    double secondsPerStep = 0;  // recent, for the ETA

    std::vector<StepPoint> steps;
    std::vector<int64_t> taskFirstStep;   // first global step of each task started
    std::vector<Evaluation> evaluations;  // one per finished task, in order
    // Seconds of the finished tasks (TaskFinished): all of each task, and its memory passes.
    double taskSeconds = 0;
    double memorySeconds = 0;
    std::optional<RunSummary> summary;
    std::vector<std::string> warnings;  // the engine's Warning events, in order
    std::vector<LoadWarning> skipped;   // dataset files the run left out, with reasons

    // The T×T matrix of `kind` (percent; nullopt where not yet trained), from the evaluations.
    AccuracyMatrix matrix(MatrixKind kind) const;
    // Mean task-identity accuracy over the seen tasks after each evaluated task.
    std::vector<std::pair<int, double>> taskIdCurve() const;
    // Mean accuracy of the seen tasks after each evaluated task (the accuracy-vs-tasks curve).
    std::vector<std::pair<int, double>> accuracyCurve() const;
    // Remaining seconds of the run, from the recent step time; nullopt before the first steps.
    std::optional<double> etaSeconds() const;
    bool finished() const {
        return state == RunState::Done || state == RunState::Stopped || state == RunState::Failed;
    }
};

// Runs shown together: the focused run and those of the same sequence.
using RunList = std::vector<std::shared_ptr<const RunData>>;

// The runs of one experiment among `runs` (equal experimentKey; equal label when a run has no
// key), in the order first seen; `label` is their method variant, and where two experiments
// share it, experimentLabels' name for each.
struct VariantRuns {
    std::string label;
    std::vector<const RunData*> runs;
};
std::vector<VariantRuns> groupByVariant(const RunList& runs);

// Cell by cell over `runs`: the mean and SD of matrix `kind` where every run has the cell
// (nullopt elsewhere, so a mean never mixes finished and unfinished seeds). T is the largest
// task count among the runs.
struct MatrixStats {
    AccuracyMatrix mean;
    AccuracyMatrix sd;
};
MatrixStats matrixStats(const std::vector<const RunData*>& runs, MatrixKind kind);

}  // namespace dlw::ui
