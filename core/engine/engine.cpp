#include "api/engine.h"

#include "api/error.h"
#include "api/runtime.h"
#include "config/experiment_json.h"
#include "data/seeded_random.h"
#include "engine/continual_model.h"
#include "engine/evaluator.h"
#include "engine/run_model.h"
#include "engine/run_store.h"
#include "engine/task_data.h"
#include "engine/training_state.h"
#include "model/backbone.h"
#include "torch_compat.h"
#include "util/json_numbers.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <thread>
#include <unordered_map>

namespace dlw {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Seconds of work between in-task checkpoints when checkpoint.every_steps is 0 (DESIGN §6).
constexpr double kAutoCheckpointSeconds = 120;

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const Experiment& e,
                                                       std::vector<torch::Tensor> params) {
    switch (e.train.optimizer) {
        case OptimizerKind::Adam:
            return std::make_unique<torch::optim::Adam>(
                params, torch::optim::AdamOptions(e.train.lr).weight_decay(e.train.weightDecay));
        case OptimizerKind::AdamW:
            return std::make_unique<torch::optim::AdamW>(
                params, torch::optim::AdamWOptions(e.train.lr).weight_decay(e.train.weightDecay));
        case OptimizerKind::Sgd:
            return std::make_unique<torch::optim::SGD>(
                params, torch::optim::SGDOptions(e.train.lr).weight_decay(e.train.weightDecay));
    }
    throw Error("unknown optimizer");
}

// Images of `indices` (eval transform) in batches, for the memory and statistics passes.
struct Passes {
    std::vector<torch::Tensor> images;
    std::vector<torch::Tensor> labels;  // global labels
};
Passes loadPasses(const ImageDataset& data,
                  std::vector<int64_t> indices,
                  const ImageTransform& transform,
                  int batchSize) {
    Passes p;
    BatchLoader loader(data, std::move(indices), batchSize, transform, false, 0);
    while (auto b = loader.next()) {
        p.images.push_back(b->images);
        p.labels.push_back(b->labels);
    }
    return p;
}

// Most memory that a task's frozen-prefix outputs may take (the default preset needs 38 MB; a
// ViT-B/16 task of 5,000 images would need 3 GB and is trained from its images instead).
constexpr int64_t kPrefixCacheBudgetBytes = 1LL << 30;

// The frozen prefix's output (ContinualModel::frozenPrefix) for every training image of the
// current task, computed once when training has no augmentation, then read by every epoch and
// by the memory passes instead of running those blocks again for each.
class PrefixCache {
public:
    bool active() const { return rows_.defined(); }
    void clear() {
        rows_ = torch::Tensor();
        rowOf_.clear();
    }
    // Runs the prefix over `indices` of `data` in batches of `batchSize`.
    void fill(ContinualModel& model,
              const ImageDataset& data,
              const std::vector<int64_t>& indices,
              const ImageTransform& transform,
              int batchSize) {
        clear();
        BatchLoader loader(data, indices, batchSize, transform, /*augment=*/false, 0);
        int64_t row = 0;
        while (auto b = loader.next()) {
            const auto x = model.frozenPrefix(b->images);  // [B, N, D]
            if (!rows_.defined()) {
                rows_ = torch::empty({static_cast<int64_t>(indices.size()), x.size(1), x.size(2)},
                                     x.options());
            }
            rows_.narrow(0, row, x.size(0)).copy_(x);
            row += x.size(0);
        }
        for (std::size_t i = 0; i < indices.size(); ++i) {
            rowOf_[indices[i]] = static_cast<int64_t>(i);
        }
    }
    // Dataset images `indices` of `data` (the set it was filled from) as a batch whose
    // `images` are their rows [B, N, D], with their global labels.
    Batch batch(const ImageDataset& data, std::vector<int64_t> indices) const {
        std::vector<int64_t> rows;
        std::vector<int64_t> labels;
        for (int64_t i : indices) {
            rows.push_back(rowOf_.at(i));
            labels.push_back(data.labels.at(static_cast<std::size_t>(i)));
        }
        return {rows_.index_select(0, torch::tensor(rows, torch::kInt64).to(rows_.device())),
                torch::tensor(labels, torch::kInt64), std::move(indices)};
    }

private:
    torch::Tensor rows_;
    std::unordered_map<int64_t, int64_t> rowOf_;
};

// Up to `count` of `v` from `begin` (< v.size()) on.
std::vector<int64_t> slice(const std::vector<int64_t>& v, std::size_t begin, std::size_t count) {
    const std::size_t end = std::min(v.size(), begin + count);
    return {v.begin() + static_cast<std::ptrdiff_t>(begin),
            v.begin() + static_cast<std::ptrdiff_t>(end)};
}

// The first `cap` of a seeded permutation of `indices` (all when cap is 0 or larger).
std::vector<int64_t> sample(const std::vector<int64_t>& indices, int cap, uint64_t seed) {
    if (cap <= 0 || static_cast<std::size_t>(cap) >= indices.size()) {
        return indices;
    }
    auto order = detail::seededPermutation(static_cast<int64_t>(indices.size()), seed);
    std::vector<int64_t> out;
    for (int i = 0; i < cap; ++i) {
        out.push_back(indices[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Local (within-task) label of each global label.
torch::Tensor localLabels(const torch::Tensor& global, const std::vector<int64_t>& classes) {
    auto out = torch::empty_like(global);
    auto g = global.accessor<int64_t, 1>();
    auto o = out.accessor<int64_t, 1>();
    for (int64_t i = 0; i < global.size(0); ++i) {
        o[i] = std::find(classes.begin(), classes.end(), g[i]) - classes.begin();
    }
    return out;
}

// One run of an experiment: the model, the data, the run directory and the counters that a
// checkpoint keeps, with the task and epoch loops as member functions.
class RunDriver {
public:
    RunDriver(const RunRequest& request, RunControl& control, const EventCallback& onEvent);
    RunSummary run();

private:
    void emit(const Event& ev);
    // Trains task t from `at` (the start, or an in-task checkpoint). False when stopped.
    bool trainTask(int t, TaskPosition at, bool resumed);
    // The rest of one epoch from at.batch. False when stopped.
    bool trainEpoch(torch::optim::Optimizer& optimizer,
                    const std::vector<int64_t>& trainIdx,
                    TaskPosition& at);
    // A launched step whose loss has not been read yet. On CUDA the loop reads step s's loss
    // after launching step s + 1, so the device never waits for the host (no sync per step).
    struct PendingStep {
        torch::Tensor loss;  // scalar, detached
        Clock::time_point start;
        int64_t images = 0;
        torch::Tensor check;  // scalar: loss + Σ gradients, NaN or Inf when any of them is
    };
    torch::Tensor finiteCheck(const torch::Tensor& loss, torch::optim::Optimizer& optimizer) const;
    // Throws DivergedError naming task, epoch and step when the step's loss or gradients are
    // not finite.
    void checkFinite(const PendingStep& step, const TaskPosition& at) const;
    // Reads the loss, adds the step to the position's sums and emits StepFinished.
    void settleStep(const PendingStep& step, TaskPosition& at);
    void settlePending(TaskPosition& at);
    void checkpoint(int tasksDone,
                    const std::optional<TaskPosition>& at,
                    torch::optim::Optimizer* optimizer);
    std::vector<int64_t> trainIndices(int t) const;
    // Fills prefix_ for task images `trainIdx` when the method and the augmentation allow it
    // and it fits kPrefixCacheBudgetBytes, counting the time as training (it replaces the
    // prefix forward of every step).
    void cachePrefix(const std::vector<int64_t>& trainIdx, TaskPosition& at);
    RunSummary summarize(const std::string& method);
    // Resuming: restores model, evaluator and counters from the latest checkpoint; returns the
    // in-task position when it was taken inside a task.
    std::optional<TaskPosition> restoreCheckpoint(int* tasksDone);
    int reportedTask(int t) const { return joint_ ? tasks_ - 1 : t; }

    const Experiment& e_;
    RunControl& control_;
    const EventCallback& onEvent_;
    int threads_;
    std::string deviceName_;
    torch::Device device_;
    std::string backbonePath_;
    BackboneInfo info_;
    MethodPlan plan_;
    TaskData data_;
    bool joint_;
    int tasks_;
    std::vector<std::vector<int64_t>> evalTasks_;
    std::vector<std::vector<int64_t>> trainTasks_;
    std::unique_ptr<ContinualModel> model_;
    std::unique_ptr<RunStore> store_;
    std::unique_ptr<Evaluator> evaluator_;
    std::vector<std::vector<std::string>> classNames_;
    bool resume_;
    std::map<std::string, torch::Tensor> resumeTensors_;  // until the optimizer is restored
    PrefixCache prefix_;                                  // the current task's, when active

    // Kept by checkpoints.
    double trainSeconds_ = 0;  // training steps only, over the run
    int64_t trainImages_ = 0;
    int64_t step_ = 0;
    std::optional<PendingStep> pending_;
    Clock::time_point lastSettled_;
    // In-task checkpoint cadence.
    int64_t stepsSinceCheckpoint_ = 0;
    Clock::time_point lastCheckpoint_ = Clock::now();
};

RunDriver::RunDriver(const RunRequest& request, RunControl& control, const EventCallback& onEvent)
    : e_(request.experiment)
    , control_(control)
    , onEvent_(onEvent)
    , threads_((validateExperiment(e_), applyThreads(e_.threads)))
    , deviceName_(resolveDevice(e_.device))
    , device_(deviceName_)
    , backbonePath_(runBackbonePath(e_))
    , resume_(request.resume) {
    VisionTransformer backbone = loadBackbone(backbonePath_, &info_);
    data_ = prepareTaskData(e_, info_.arch);
    joint_ = e_.method.name == MethodKind::Joint;
    tasks_ = static_cast<int>(data_.tasks.size());
    for (const auto& t : data_.tasks) {
        evalTasks_.push_back(t.classes);
        std::vector<std::string> names;
        for (int64_t c : t.classes) {
            names.push_back(data_.classNames.at(static_cast<std::size_t>(c)));
        }
        classNames_.push_back(names);
    }
    torch::manual_seed(e_.seed);  // the adapters' initial values
    RunModel built = buildRunModel(e_, backbone, info_, evalTasks_, deviceName_);
    model_ = std::move(built.model);
    plan_ = model_->plan();
    trainTasks_ = model_->taskClasses();

    auto resolved = experimentToJson(e_);
    resolved["threads"] = threads_;
    resolved["device"] = deviceName_;
    resolved["backbone"]["path"] = backbonePath_;
    resolved["task_id"]["block"] = plan_.featureBlock;
    resolved["method"]["blocks"] = plan_.layout.blocks;
    store_ = std::make_unique<RunStore>(request.runDir, resolved.dump(2) + "\n", request.resume);
    evaluator_ = std::make_unique<Evaluator>(evalTasks_, joint_);
}

void RunDriver::emit(const Event& ev) {
    store_->append(ev);
    if (onEvent_) {
        onEvent_(ev);
    }
}

std::vector<int64_t> RunDriver::trainIndices(int t) const {
    if (!joint_) {
        return data_.tasks[static_cast<std::size_t>(t)].train;
    }
    std::vector<int64_t> all;
    for (const auto& s : data_.tasks) {
        all.insert(all.end(), s.train.begin(), s.train.end());
    }
    std::sort(all.begin(), all.end());
    return all;
}

void RunDriver::checkpoint(int tasksDone,
                           const std::optional<TaskPosition>& at,
                           torch::optim::Optimizer* optimizer) {
    auto tensors = model_->state();
    tensors.emplace_back(kRngStateTensor, cpuRngState());
    nlohmann::json state;
    state["tasks_done"] = tasksDone;
    state["train_seconds"] = trainSeconds_;
    state["train_images"] = trainImages_;
    state["step"] = step_;
    state["evaluator"] = evaluator_->state();
    state["task_classes"] = classNames_;  // for prediction without the dataset
    state["task_class_ids"] = evalTasks_;
    state["model"] = modelSignature(e_, info_.arch);  // checked before a restore
    if (!at) {
        state["after_task"] = reportedTask(tasksDone - 1) + 1;  // 1-based; joint: T
    }
    if (at) {
        state["position"] = at->toJson();
        tensors.emplace_back(kOptimizerStateTensor, optimizerState(*optimizer));
        store_->checkpointInTask(at->task, tensors, state);
    } else {
        store_->checkpoint(tasksDone - 1, tensors, state);
    }
    stepsSinceCheckpoint_ = 0;
    lastCheckpoint_ = Clock::now();
}

bool RunDriver::trainEpoch(torch::optim::Optimizer& optimizer,
                           const std::vector<int64_t>& trainIdx,
                           TaskPosition& at) {
    const int t = at.task;
    const auto& classes = trainTasks_[static_cast<std::size_t>(t)];
    const int batchSize = e_.train.batchSize;
    const uint64_t epochSeed = detail::hashCombine(detail::hashCombine(e_.seed, t), at.epoch);
    auto permutation = detail::seededPermutation(static_cast<int64_t>(trainIdx.size()), epochSeed);
    // Augmentation derives from (epochSeed, image index), so skipping the batches done before
    // a checkpoint leaves the rest exactly as they were.
    std::vector<int64_t> order;
    for (std::size_t i = static_cast<std::size_t>(at.batch * batchSize); i < permutation.size();
         ++i) {
        order.push_back(trainIdx[static_cast<std::size_t>(permutation[i])]);
    }
    // From the cached prefix outputs when there are some, else images from the loader thread.
    std::optional<BatchLoader> loader;
    if (!prefix_.active()) {
        loader.emplace(data_.data.train, order, batchSize, data_.trainTransform,
                       /*augment=*/true, epochSeed);
    }
    std::size_t next = 0;  // into `order`, when batches come from the cache
    for (;;) {
        while (control_.pause.load() && !control_.stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (control_.stop.load()) {
            settlePending(at);
            return false;
        }
        auto t0 = Clock::now();
        std::optional<Batch> batch;
        if (loader) {
            batch = loader->next();
            t0 = Clock::now();  // the loader's wait is not training
        } else if (next < order.size()) {
            batch = prefix_.batch(data_.data.train,
                                  slice(order, next, static_cast<std::size_t>(batchSize)));
            next += batch->indices.size();
        }
        if (!batch) {
            break;
        }
        const int64_t images = batch->images.size(0);
        auto logits = model_->trainLogits(batch->images.to(device_), /*prefixed=*/!loader);
        auto loss = torch::nn::functional::cross_entropy(
            logits, localLabels(batch->labels, classes).to(device_));
        optimizer.zero_grad();
        loss.backward();
        // NaN or Inf in the loss or any gradient makes this sum so (#14). On CPU it is read
        // before the step, which then never lands; on CUDA with the loss, one step later, and
        // still before any checkpoint could keep the damaged weights.
        PendingStep current{loss.detach(), t0, images, finiteCheck(loss, optimizer)};
        if (!device_.is_cuda()) {
            checkFinite(current, at);
        }
        const auto snapshot = model_->beforeStep();  // DESIGN §3.2 step 3: project the update
        optimizer.step();
        model_->afterStep(snapshot);
        ++at.batch;
        if (device_.is_cuda()) {  // read the previous step's loss while this one runs
            settlePending(at);
            pending_ = std::move(current);
        } else {
            settleStep(current, at);
        }
        ++stepsSinceCheckpoint_;
        const bool due = e_.checkpoint.everySteps > 0
                             ? stepsSinceCheckpoint_ >= e_.checkpoint.everySteps
                             : since(lastCheckpoint_) >= kAutoCheckpointSeconds;
        if (due && at.batch * batchSize < static_cast<int64_t>(trainIdx.size())) {
            settlePending(at);
            checkpoint(t, at, &optimizer);  // not at an epoch's end: that position follows
        }
    }
    settlePending(at);
    return true;
}

torch::Tensor RunDriver::finiteCheck(const torch::Tensor& loss,
                                     torch::optim::Optimizer& optimizer) const {
    auto sum = loss.detach().to(torch::kFloat64);
    for (const auto& group : optimizer.param_groups()) {
        for (const auto& p : group.params()) {
            if (p.grad().defined()) {
                sum = sum + p.grad().sum().to(torch::kFloat64);
            }
        }
    }
    return sum;
}

void RunDriver::checkFinite(const PendingStep& step, const TaskPosition& at) const {
    const double loss = step.loss.item<double>();
    if (std::isfinite(loss) && std::isfinite(step.check.item<double>())) {
        return;
    }
    throw DivergedError(fmt::format(
        "task {}, epoch {}, step {}: diverged: {} is not finite ({}); lower train.lr (now {:g})",
        reportedTask(at.task) + 1, at.epoch + 1, step_ + 1,
        std::isfinite(loss) ? "a gradient" : "the loss",
        std::isfinite(loss) ? "NaN or Inf"
        : std::isnan(loss)  ? "NaN"
        : loss > 0          ? "+Inf"
                            : "-Inf",
        e_.train.lr));
}

void RunDriver::settleStep(const PendingStep& step, TaskPosition& at) {
    checkFinite(step, at);  // no NaN reaches events.jsonl, the plots or a checkpoint
    const double value = step.loss.item<double>();  // on CUDA, waits for that step only
    const auto now = Clock::now();
    const double seconds =
        std::chrono::duration<double>(now - std::max(step.start, lastSettled_)).count();
    lastSettled_ = now;
    at.taskTrainSeconds += seconds;
    at.epochSeconds += seconds;
    at.epochLossSum += value;
    at.epochImages += step.images;
    trainSeconds_ += seconds;
    trainImages_ += step.images;
    emit(StepFinished{reportedTask(at.task), at.epoch, step_++, value, e_.train.lr});
}

void RunDriver::settlePending(TaskPosition& at) {
    if (pending_) {
        settleStep(*pending_, at);
        pending_.reset();
    }
}

void RunDriver::cachePrefix(const std::vector<int64_t>& trainIdx, TaskPosition& at) {
    prefix_.clear();
    const ImageTransform& train = data_.trainTransform;
    const int64_t bytes = static_cast<int64_t>(trainIdx.size()) * info_.arch.tokens() *
                          info_.arch.width * static_cast<int64_t>(sizeof(float));
    if (train.flip || train.randomResizedCrop || !model_->hasFrozenPrefix() ||
        bytes > kPrefixCacheBudgetBytes) {
        return;
    }
    const auto t0 = Clock::now();
    prefix_.fill(*model_, data_.data.train, trainIdx, data_.evalTransform, e_.train.evalBatchSize);
    const double seconds = since(t0);
    at.taskTrainSeconds += seconds;
    at.epochSeconds += seconds;
    trainSeconds_ += seconds;
}

bool RunDriver::trainTask(int t, TaskPosition at, bool resumed) {
    const auto taskStart = Clock::now();
    const std::vector<int64_t> trainIdx = trainIndices(t);
    const int64_t stepsPerEpoch =
        (static_cast<int64_t>(trainIdx.size()) + e_.train.batchSize - 1) / e_.train.batchSize;
    const int reported = reportedTask(t);
    // ranpac trains task 1 at most (first-session adaptation); its head is solved below.
    const int epochs = model_->trainsTask(t) ? e_.train.epochs : 0;
    emit(TaskStarted{reported, static_cast<int64_t>(trainIdx.size()), stepsPerEpoch, epochs,
                     resumed, at.epoch, at.batch});
    torch::manual_seed(detail::hashCombine(e_.seed, static_cast<uint64_t>(t)));
    // ranpac's head takes every training image below, and so do the statistics and familiarity
    // memories of every method when passIdx is a sample.
    const bool ridge = plan_.kind == MethodKind::RanPac;
    const auto passIdx = sample(trainIdx, e_.memory.sample, detail::hashCombine(e_.seed, 77 + t));
    cachePrefix(trainIdx, at);
    Passes passes;
    if (prefix_.active()) {  // the memory passes start from the cached prefix outputs too
        const auto size = static_cast<std::size_t>(e_.train.evalBatchSize);
        for (std::size_t i = 0; i < passIdx.size(); i += size) {
            Batch b = prefix_.batch(data_.data.train, slice(passIdx, i, size));
            passes.images.push_back(std::move(b.images));
            passes.labels.push_back(std::move(b.labels));
        }
    } else {
        passes = loadPasses(data_.data.train, passIdx, data_.evalTransform, e_.train.evalBatchSize);
    }
    if (!resumed) {
        const auto t0 = Clock::now();
        for (const auto& w : model_->beginTask(passes.images, prefix_.active())) {
            emit(Warning{w});
        }
        at.memorySeconds = since(t0);
    }
    const auto trainable = model_->trainableParameters();
    auto optimizer = makeOptimizer(
        e_, trainable.empty() ? std::vector<torch::Tensor>{torch::zeros({1})} : trainable);
    if (resumed) {  // where the checkpoint left the optimizer and the generator
        try {
            loadOptimizerState(*optimizer, resumeTensors_.at(kOptimizerStateTensor), device_);
            if (resumeTensors_.count(kRngStateTensor) != 0) {
                setCpuRngState(resumeTensors_.at(kRngStateTensor));
            }
        } catch (const Error& err) {  // name the file (#14)
            throw Error(fmt::format("{}: {}", store_->latestCheckpointPath().string(), err.what()));
        }
        resumeTensors_.clear();
    }
    for (; at.epoch < epochs; ++at.epoch, at.startEpoch()) {
        if (!trainEpoch(*optimizer, trainIdx, at)) {
            checkpoint(t, at, optimizer.get());  // a stop resumes exactly here
            return false;
        }
        emit(EpochFinished{reported, at.epoch,
                           at.epochLossSum / static_cast<double>(std::max<int64_t>(at.batch, 1)),
                           at.epochSeconds,
                           static_cast<double>(at.epochImages) / std::max(at.epochSeconds, 1e-9)});
    }
    const double threshold = energyThreshold(e_.memory.epsBegin, e_.memory.epsEnd, t + 1,
                                             static_cast<int>(trainTasks_.size()));
    const auto memoryStart = Clock::now();
    // The task's validation split: ranpac chooses λ and T on it, and every method's OOD
    // threshold θ_t (Prediction::ood) is fitted on it.
    const auto& val = data_.tasks[static_cast<std::size_t>(t)].val;
    const Passes heldOut =
        loadPasses(data_.data.train, val, data_.evalTransform, e_.train.evalBatchSize);
    // Every training image, a batch at a time, into ranpac's ridge sums and, when the covariance
    // pass is a sample (memory.sample), into the class statistics and familiarity memories: a
    // sample of 40 images cannot estimate a covariance of width 192 (#16).
    const bool sampled = passIdx.size() < trainIdx.size();
    if (ridge || sampled) {
        const auto add = [&](const torch::Tensor& images, const torch::Tensor& labels,
                             bool prefixed) {
            if (ridge) {
                model_->addToRidge(images, labels, prefixed, val.empty());
            }
            if (sampled) {
                model_->addToStatistics(images, labels, prefixed, val.empty());
            }
        };
        const auto size = static_cast<std::size_t>(e_.train.evalBatchSize);
        if (prefix_.active()) {
            for (std::size_t i = 0; i < trainIdx.size(); i += size) {
                const Batch b = prefix_.batch(data_.data.train, slice(trainIdx, i, size));
                add(b.images, b.labels, true);
            }
        } else {
            BatchLoader loader(data_.data.train, trainIdx, e_.train.evalBatchSize,
                               data_.evalTransform, /*augment=*/false, 0);
            while (auto b = loader.next()) {
                add(b->images, b->labels, false);
            }
        }
    }
    auto memoryStats = model_->endTask(passes.images, passes.labels, threshold, prefix_.active(),
                                       heldOut.images, heldOut.labels);
    if (const auto fit = model_->ridgeFit(); fit && !fit->validationSplit) {
        emit(Warning{fmt::format(
            "task {}: data.val_per_class is 0, so the ridge head chose lambda {:g} and "
            "temperature {:.3g} on a fifth of the task's training images (RanPAC's own rule)",
            reported + 1, fit->lambda, fit->temperature)});
    }
    at.memorySeconds += since(memoryStart);
    prefix_.clear();
    passes = {};
    // Evaluated after the memory update: the statistics memory then knows task t.
    Evaluation ev = evaluator_->evaluate(*model_, data_, reported, e_.train.evalBatchSize);
    ev.memory = std::move(memoryStats);
    ev.spectra = model_->spectra();
    emit(ev);
    emit(TaskFinished{reported, at.taskTrainSeconds, since(taskStart), at.memorySeconds});
    checkpoint(t + 1, std::nullopt, nullptr);
    return true;
}

std::optional<TaskPosition> RunDriver::restoreCheckpoint(int* tasksDone) {
    auto [state, tensors] = store_->latestCheckpoint();
    std::optional<TaskPosition> position;
    try {
        *tasksDone = state.at("tasks_done").get<int>();
        if (state.contains("position")) {
            position = TaskPosition::fromJson(state.at("position"));
            if (tensors.count(kOptimizerStateTensor) == 0) {
                throw Error(fmt::format("checkpoint lacks tensor '{}'", kOptimizerStateTensor));
            }
        }
        checkModelSignature(state, modelSignature(e_, info_.arch));
        restoreModel(*model_, tensors, *tasksDone + (position ? 1 : 0), *tasksDone);
        evaluator_->restore(state.at("evaluator"));
        trainSeconds_ = state.at("train_seconds").get<double>();
        trainImages_ = detail::numberAt<int64_t>(state, "train_images");
        step_ = detail::numberAt<int64_t>(state, "step");
    } catch (const nlohmann::json::exception& err) {
        throw Error(fmt::format("{}: checkpoint state is not readable ({})",
                                store_->latestCheckpointPath().string(), err.what()));
    } catch (const Error& err) {
        throw Error(fmt::format("{}: {}", store_->latestCheckpointPath().string(), err.what()));
    }
    if (position) {
        resumeTensors_ = std::move(tensors);  // the optimizer is built when the task resumes
    }
    return position;
}

RunSummary RunDriver::run() {
    int firstTask = 0;
    std::optional<TaskPosition> position;
    int64_t plannedParameters = model_->plannedParameterCount();
    const bool fromCheckpoint = resume_ && store_->hasCheckpoint();
    if (fromCheckpoint) {
        position = restoreCheckpoint(&firstTask);
        store_->cutEventsToCheckpoint();
    }
    // Only now: a resume that fails (a corrupt checkpoint) leaves the folder as it was.
    store_->writeSplit(splitManifest(e_, data_));  // a resumed run cuts the same split
    auto facts = environmentFacts();
    facts.emplace_back("device", deviceName_);
    facts.emplace_back("threads", std::to_string(threads_));
    store_->recordEnvironment(facts);
    const std::string method = toString(e_.method.name);
    emit(RunStarted{store_->dir().string(), method, deviceName_, threads_, tasks_, classNames_,
                    plannedParameters, fromCheckpoint ? firstTask : -1});
    if (!data_.skipped.empty()) {
        emit(FilesSkipped{data_.skipped});
    }
    for (const auto& line : data_.warnings) {
        emit(Warning{line});
    }
    if (resume_ && !fromCheckpoint) {
        emit(Warning{"no checkpoint yet: the run starts again from its beginning"});
    }

    bool stopped = false;
    const int trainingTasks = static_cast<int>(trainTasks_.size());
    try {
        for (int t = firstTask; t < trainingTasks && !stopped; ++t) {
            const bool resumed = position.has_value();
            TaskPosition at = resumed ? *position : TaskPosition{t};
            position.reset();
            try {
                stopped = !trainTask(t, at, resumed);
            } catch (const DivergedError& err) {  // from a memory pass: say where and why
                if (std::string(err.what()).rfind("task ", 0) == 0) {
                    throw;
                }
                throw DivergedError(fmt::format("task {}: {}; lower train.lr (now {:g})",
                                                reportedTask(t) + 1, err.what(), e_.train.lr));
            }
            if (!stopped && control_.stopAfterTask.load() && t + 1 < trainingTasks) {
                stopped = true;
            }
        }
    } catch (const std::exception& err) {
        // The last checkpoint stays whole and resumable; the listeners learn why it ended.
        const RunSummary partial = summarize(method);
        const bool evaluated = std::any_of(
            partial.accuracyMatrix.begin(), partial.accuracyMatrix.end(), [](const auto& row) {
                return std::any_of(row.begin(), row.end(), [](const auto& v) { return v; });
            });
        if (evaluated) {  // tasks that finished are results: `dlw compare` shows them (#14)
            try {
                store_->writeSummary(partial, /*completed=*/false);
            } catch (const Error&) {  // the disk that failed may fail again: the cause is told
            }
        }
        const Event finished = RunFinished{partial, false, false, err.what()};
        try {
            store_->append(finished);
        } catch (const Error&) {  // (idem) the listeners still learn why the run ended
        }
        if (onEvent_) {
            onEvent_(finished);
        }
        throw;
    }
    RunSummary summary = summarize(method);
    store_->writeSummary(summary, !stopped);
    emit(RunFinished{summary, !stopped, stopped, ""});
    return summary;
}

RunSummary RunDriver::summarize(const std::string& method) {
    RunSummary summary = evaluator_->summary(store_->dir().string(), method);
    summary.trainSeconds = trainSeconds_;
    summary.trainableParameters = model_->parameterCount();
    summary.imagesPerSecond =
        trainSeconds_ > 0 ? static_cast<double>(trainImages_) / trainSeconds_ : 0;
    summary.skippedFiles = static_cast<int64_t>(data_.skipped.size());
    return summary;
}

}  // namespace

RunSummary runExperiment(const RunRequest& request,
                         RunControl& control,
                         const EventCallback& onEvent) {
    try {
        RunDriver driver(request, control, onEvent);
        return driver.run();
    } catch (const std::filesystem::filesystem_error& err) {
        // A folder that cannot be listed or created (a permission, a file in the way): the
        // user's problem to fix, named like every other input error (#14).
        throw Error(fmt::format("{}: {}", err.path1().string(), err.code().message()));
    }
}

}  // namespace dlw
