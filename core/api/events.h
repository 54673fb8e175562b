#pragma once
// What the engine reports while it runs: value structs passed through one callback, on the
// engine's thread (DESIGN §2). The GUI re-emits them as queued Qt signals; the CLI prints them;
// the run store appends them to events.jsonl. No LibTorch.

#include "api/dataset_scan.h"
#include "api/metrics.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace dlw {

struct RunStarted {
    std::string runDir;
    std::string method;                                 // "duallora", ...
    std::string device;                                 // resolved, e.g. "cpu"
    int threads = 0;                                    // resolved
    int tasks = 0;                                      // T
    std::vector<std::vector<std::string>> taskClasses;  // class names per task
    int64_t trainableParameters = 0;                    // adapters + heads, after the last task
    int resumedFromTask = -1;                           // ≥ 0 when resuming
};

struct TaskStarted {
    int task = 0;  // 0-based
    int64_t trainImages = 0;
    int64_t stepsPerEpoch = 0;
    int epochs = 0;
    // A run resumed from an in-task checkpoint announces the task again, from where it stands.
    bool resumed = false;
    int epoch = 0;      // first epoch to run, 0-based
    int64_t batch = 0;  // batches of that epoch already done
};

struct StepFinished {
    int task = 0;
    int epoch = 0;     // 0-based
    int64_t step = 0;  // global over the run, 0-based
    double loss = 0;
    double lr = 0;
};

struct EpochFinished {
    int task = 0;
    int epoch = 0;
    double meanLoss = 0;
    double seconds = 0;
    double imagesPerSecond = 0;  // training steps only
};

// Per-input memory after a task (eq. 4), and adapter spectra (DESIGN §5).
struct MemoryStat {
    int block = 0;
    std::string input;  // "norm1", "attn_out", "norm2", "mlp_hidden"
    int64_t size = 0;   // k_l after the task
    int64_t added = 0;
    double energyBefore = 0;
    double energyAfter = 0;
    double threshold = 0;
};
struct AdapterSpectrum {
    int block = 0;
    std::string map;                     // "k", "v", ...
    std::string kind;                    // "orthogonal" (B_O A_O) or "residual" (Σ V_i U_iᵀ)
    std::vector<double> singularValues;  // descending
};

// The evaluation after task `afterTask`: one row of each matrix (tasks 0..afterTask).
struct Evaluation {
    int afterTask = 0;
    std::vector<double> accuracy;                     // class-incremental, percent
    std::vector<double> taskAwareAccuracy;            // task given
    std::vector<double> taskIdAccuracy;               // predicted task right, percent
    std::vector<std::vector<int64_t>> taskConfusion;  // [true task][predicted task] counts
    std::optional<double> eceRaw;                     // percent, 15 bins
    std::optional<double> eceCalibrated;              // only when the method calibrates
    // Percent of the evaluated images whose OOD score exceeds 1 ("unfamiliar"; the threshold
    // passes 95 % of each task's validation images); nullopt when the model keeps no
    // familiarity memory.
    std::optional<double> unfamiliarShare;
    std::vector<ReliabilityBin> reliabilityRaw;
    std::vector<ReliabilityBin> reliabilityCalibrated;
    std::vector<float> taskConfidence;  // per test image: max p(t|x) (empty without task id)
    std::vector<bool> taskCorrect;      // per test image: predicted task right
    std::vector<MemoryStat> memory;
    std::vector<AdapterSpectrum> spectra;
    double seconds = 0;
};

struct TaskFinished {
    int task = 0;
    double trainSeconds = 0;   // training steps of this task
    double seconds = 0;        // all of it: passes, training, evaluation
    double memorySeconds = 0;  // memory passes: covariance, eigendecomposition, class statistics
    // Data parallel (#18): of trainSeconds, the time the steps spent summing gradients over the
    // processes (since the task's start or its resume); 0 in one process.
    double syncSeconds = 0;
};

struct Warning {
    std::string message;
};

// Every file or record of the dataset that the run leaves out, with its reason (#14): hidden
// entries, files of other types, images that cannot be decoded. Sent once, after RunStarted,
// when there are any.
struct FilesSkipped {
    std::vector<LoadWarning> files;
};

struct RunSummary {
    std::string runDir;
    std::string method;
    AccuracyMatrix accuracyMatrix;
    AccuracyMatrix taskAwareMatrix;
    ContinualMetrics metrics;
    std::optional<double> taskIdAccuracy;  // last row, all seen tasks
    std::optional<double> eceRaw;
    std::optional<double> eceCalibrated;
    std::optional<double> unfamiliarShare;  // last evaluation's, percent (Evaluation)
    double trainSeconds = 0;
    int64_t trainableParameters = 0;
    double imagesPerSecond = 0;
    int64_t skippedFiles = 0;  // dataset files or records left out (FilesSkipped)
};

struct RunFinished {
    RunSummary summary;
    bool completed = false;  // all tasks trained
    bool stopped = false;    // by the user; resumable
    std::string error;       // non-empty when the run failed
};

using Event = std::variant<RunStarted,
                           TaskStarted,
                           StepFinished,
                           EpochFinished,
                           Evaluation,
                           TaskFinished,
                           Warning,
                           RunFinished,
                           FilesSkipped>;

// Called on the engine's thread for every event; must not throw and should return quickly.
using EventCallback = std::function<void(const Event&)>;

}  // namespace dlw
