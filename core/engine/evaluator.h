#pragma once
// Evaluation after each task (DESIGN §5): the rows of the class-incremental, task-aware and
// task-identity matrices, calibration, and the run summary built from them.

#include "api/events.h"
#include "engine/continual_model.h"
#include "engine/task_data.h"
#include "util/collective.h"

#include <vector>

#include <nlohmann/json.hpp>

namespace dlw {

class Evaluator {
public:
    // `tasks`: each task's global classes, in the order of the concatenated heads. `joint`: the
    // model was trained once on all of them (only the last row is filled).
    Evaluator(std::vector<std::vector<int64_t>> tasks, bool joint);

    // Evaluates tasks 0..afterTask on their evaluation images and records the rows. With a
    // process group (#18) each rank predicts its share of every task's images (shareOf) and
    // the per-image results are gathered, so every rank returns the whole Evaluation.
    Evaluation evaluate(ContinualModel& model,
                        const TaskData& data,
                        int afterTask,
                        int batchSize,
                        Collective* group = nullptr);

    RunSummary summary(const std::string& runDir, const std::string& method) const;

    nlohmann::json state() const;
    void restore(const nlohmann::json& state);

private:
    struct TaskCounts;
    struct Confidences;
    // One batch of task j's evaluation images as kRowWidth values per image: max softmax,
    // raw argmax right, calibrated max (NaN without calibration), prediction right, max p(t|x)
    // (NaN without task identity), predicted task, task-aware right, unfamiliar (NaN without
    // an OOD score). Rows travel between ranks (#18), so everything evaluate() reports derives
    // from them.
    static constexpr std::size_t kRowWidth = 8;
    std::vector<double> rowsOf(const Prediction& p,
                               const torch::Tensor& labels,
                               int j,
                               const std::vector<int64_t>& taskStart) const;
    // Adds task j's rows [n, kRowWidth] (every rank's, in image order) to the counts and `ev`.
    void tally(const torch::Tensor& rows,
               int j,
               Evaluation* ev,
               TaskCounts* counts,
               Confidences* conf) const;
    std::vector<std::vector<int64_t>> tasks_;
    bool joint_;
    // Each task's evaluation batches as frozen-prefix outputs (ContinualModel::frozenPrefix)
    // with their labels, made at the task's first evaluation and read by every later one, so
    // that the frozen blocks run once per evaluation image in the run; up to kCacheBudgetBytes.
    // Each batch's frozen task feature h (ContinualModel::frozenTaskFeature) is kept too,
    // with or without the prefix (h is a few hundred bytes an image), so that no evaluation
    // after the first runs the frozen pass of block_input_and_cls or cls_frozen_pass again.
    struct CachedTask {
        std::vector<torch::Tensor> prefix;    // [B, N, D] per batch
        std::vector<torch::Tensor> labels;    // [B] per batch
        std::vector<torch::Tensor> features;  // h [B, D'] per batch, or none
    };
    static constexpr int64_t kCacheBudgetBytes = 1LL << 30;
    std::vector<CachedTask> cache_;
    int64_t cacheBytes_ = 0;
    std::vector<int64_t> columnOf_;  // global class → column of the concatenated logits
    std::vector<int> taskOf_;        // global class → task
    AccuracyMatrix accuracy_;
    AccuracyMatrix taskAware_;
    std::optional<double> taskIdAccuracy_;
    std::optional<double> eceRaw_;
    std::optional<double> eceCalibrated_;
    std::optional<double> unfamiliarShare_;
};

}  // namespace dlw
