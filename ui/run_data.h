#pragma once
// Everything the window shows about one run, accumulated from the engine's events on the GUI
// thread (or read back from a run directory's events.jsonl). Plain C++: the plots and tests read
// it.

#include "api/events.h"

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

}  // namespace dlw::ui
