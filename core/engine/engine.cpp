#include "api/engine.h"

#include "api/error.h"
#include "api/runtime.h"
#include "config/experiment_json.h"
#include "data/seeded_random.h"
#include "engine/continual_model.h"
#include "engine/data_parallel.h"
#include "engine/evaluator.h"
#include "engine/run_model.h"
#include "engine/run_store.h"
#include "engine/task_data.h"
#include "engine/train_inputs.h"
#include "engine/training_state.h"
#include "model/backbone.h"
#include "torch_compat.h"
#include "util/collective.h"
#include "util/json_numbers.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <functional>
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

// The run's device: with several processes on one machine, "auto" and "cuda" mean
// cuda:LOCAL_RANK, torchrun's convention (#18).
std::string runDevice(const std::string& requested, const std::optional<DistributedOptions>& d) {
    const std::string device = resolveDevice(requested);
    // Any CUDA device: experiment.json keeps rank 0's ("cuda:0"), which a resume reads back.
    if (!d || d->worldSize <= 1 || device.rfind("cuda", 0) != 0) {
        return device;
    }
    return resolveDevice(fmt::format("cuda:{}", d->localRank));
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
    // The latest checkpoint (rank 0's, shared with every rank) and its name for messages.
    Checkpoint latestCheckpoint();
    std::string checkpointName() const;
    // This rank's images of each global batch of `order` (all of them in one process), and how
    // many of each batch that is.
    void shareBatches(const std::vector<int64_t>& order,
                      std::vector<int64_t>* mine,
                      std::vector<int64_t>* counts) const;
    // Resuming: restores model, evaluator and counters from the latest checkpoint; returns the
    // in-task position when it was taken inside a task.
    std::optional<TaskPosition> restoreCheckpoint(int* tasksDone);
    int reportedTask(int t) const { return joint_ ? tasks_ - 1 : t; }

    const Experiment& e_;
    RunControl& control_;
    const EventCallback& onEvent_;
    std::string runDir_;
    // Data parallel (#18): the process group (null in one process); only the lead (rank 0)
    // writes the run folder and emits events.
    std::unique_ptr<Collective> group_;
    bool lead_ = true;
    double syncSeconds_ = 0;  // the current task's steps in sumGradients
    int threads_;
    std::string deviceName_;
    torch::Device device_;
    std::string backbonePath_;
    BackboneInfo info_;
    MethodPlan plan_;
    TaskData data_;
    nlohmann::json split_;  // splitManifest(e_, data_): split.json, and checked across ranks
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
    , runDir_(request.runDir)
    , threads_((validateExperiment(e_), applyThreads(e_.threads)))
    , deviceName_(runDevice(e_.device, request.distributed))
    , device_(deviceName_)
    , backbonePath_(runBackbonePath(e_))
    , resume_(request.resume) {
    if (request.distributed) {  // a world of one too: torchrun --nproc_per_node=1 (#18)
        group_ = joinProcessGroup(*request.distributed, deviceName_);
        lead_ = group_->rank() == 0;
    }
    VisionTransformer backbone = loadBackbone(backbonePath_, &info_);
    data_ = prepareTaskData(e_, info_.arch);
    split_ = splitManifest(e_, data_);
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
    model_->setGroup(group_.get());
    plan_ = model_->plan();
    trainTasks_ = model_->taskClasses();

    auto resolved = experimentToJson(e_);
    resolved["threads"] = threads_;
    resolved["device"] = deviceName_;
    resolved["backbone"]["path"] = backbonePath_;
    resolved["task_id"]["block"] = plan_.featureBlock;
    resolved["method"]["blocks"] = plan_.layout.blocks;
    const auto createStore = [&] {
        store_ =
            std::make_unique<RunStore>(request.runDir, resolved.dump(2) + "\n", request.resume);
    };
    if (group_) {
        auto shared = resolved;  // what may differ between ranks
        shared.erase("threads");
        shared.erase("device");
        // The same split too (a machine whose data folder differs would take other steps), and
        // all resuming or none.
        checkSameExperiment(
            *group_, fmt::format("{}\ndlw {}, LibTorch {}\nsplit {:x}\nresume {}", shared.dump(),
                                 DLW_VERSION, TORCH_VERSION,
                                 std::hash<std::string>{}(split_.dump()), request.resume));
        onRankZero(*group_, "the run folder", createStore);
    } else {
        createStore();
    }
    evaluator_ = std::make_unique<Evaluator>(evalTasks_, joint_);
}

void RunDriver::emit(const Event& ev) {
    if (!lead_) {
        return;
    }
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
    if (!lead_) {  // rank 0's checkpoint is the run's
        stepsSinceCheckpoint_ = 0;
        lastCheckpoint_ = Clock::now();
        return;
    }
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
    // Data parallel (#18): each global batch of `order` is shared out over the ranks; a rank
    // trains on its share and the gradients are summed (sumGradients), so every rank takes
    // the step that one process takes on the whole batch.
    std::vector<int64_t> mine;
    std::vector<int64_t> counts;
    shareBatches(order, &mine, &counts);
    std::vector<int64_t> loaded;  // the loader's batches: the shares that hold images
    std::copy_if(counts.begin(), counts.end(), std::back_inserter(loaded),
                 [](int64_t n) { return n > 0; });
    // From the cached prefix outputs when there are some, else images from the loader thread.
    std::optional<BatchLoader> loader;
    if (!prefix_.active()) {
        loader.emplace(data_.data.train, mine, batchSize, data_.trainTransform,
                       /*augment=*/true, epochSeed, 2, loaded);
    }
    std::size_t next = 0;  // into `mine`, when batches come from the cache
    for (std::size_t g = 0; g < counts.size(); ++g) {
        while (!group_ && control_.pause.load() && !control_.stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        bool stop = control_.stop.load();
        if (stop && !group_) {  // several ranks stop together, after the step they agree on
            settlePending(at);
            return false;
        }
        auto t0 = Clock::now();
        const int64_t global = std::min<int64_t>(
            batchSize, static_cast<int64_t>(order.size()) - static_cast<int64_t>(g) * batchSize);
        std::optional<Batch> batch;
        if (counts[g] > 0 && loader) {
            batch = loader->next();
            t0 = Clock::now();  // the loader's wait is not training
        } else if (counts[g] > 0) {
            batch = prefix_.batch(data_.data.train,
                                  slice(mine, next, static_cast<std::size_t>(counts[g])));
            next += batch->indices.size();
        }
        optimizer.zero_grad();
        torch::Tensor loss;
        if (batch) {
            auto logits = model_->trainLogits(batch->images.to(device_), /*prefixed=*/!loader);
            const auto target = localLabels(batch->labels, classes).to(device_);
            namespace F = torch::nn::functional;
            // With several ranks each takes Σ ℓ_i / N over its share of the N images: the
            // shares' gradients then add up to those of the batch mean.
            loss = group_ ? F::cross_entropy(logits, target,
                                             F::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                                static_cast<double>(global)
                          : F::cross_entropy(logits, target);
            loss.backward();
        } else {  // a batch smaller than the number of ranks: nothing here, still summed
            loss = torch::zeros({}, torch::TensorOptions().device(device_));
        }
        if (group_) {
            const auto s0 = Clock::now();
            stop = sumGradients(
                *group_, optimizer, loss, stop,
                fmt::format("the gradients of task {}, step {}", reportedTask(t) + 1, step_ + 1));
            syncSeconds_ += since(s0);
        }
        // NaN or Inf in the loss or any gradient makes this sum so (#14). On CPU it is read
        // before the step, which then never lands; on CUDA with the loss, one step later, and
        // still before any checkpoint could keep the damaged weights.
        PendingStep current{loss.detach(), t0, global, finiteCheck(loss, optimizer)};
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
        if (stop) {  // the ranks agreed: the caller's checkpoint resumes after this step
            settlePending(at);
            return false;
        }
        if (due && at.batch * batchSize < static_cast<int64_t>(trainIdx.size())) {
            settlePending(at);
            checkpoint(t, at, &optimizer);  // not at an epoch's end: that position follows
        }
    }
    while (!group_ && control_.pause.load() && !control_.stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    settlePending(at);
    return group_ || !control_.stop.load();  // one process: a stop in the last step holds
}

void RunDriver::shareBatches(const std::vector<int64_t>& order,
                             std::vector<int64_t>* mine,
                             std::vector<int64_t>* counts) const {
    const auto n = static_cast<int64_t>(order.size());
    const int64_t batchSize = e_.train.batchSize;
    for (int64_t first = 0; first < n; first += batchSize) {
        const int64_t size = std::min(batchSize, n - first);
        const auto [lo, hi] = group_ ? shareOf(size, group_->rank(), group_->size())
                                     : std::pair<int64_t, int64_t>{0, size};
        mine->insert(mine->end(), order.begin() + first + lo, order.begin() + first + hi);
        counts->push_back(hi - lo);
    }
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
    prefix_.fill(*model_, data_.data.train, trainIdx, data_.evalTransform, e_.train.evalBatchSize,
                 {info_.arch.tokens(), info_.arch.width}, group_.get());
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
    syncSeconds_ = 0;
    torch::manual_seed(detail::hashCombine(e_.seed, static_cast<uint64_t>(t)));
    // ranpac's head takes every training image below, and so do the statistics and familiarity
    // memories of every method when passIdx is a sample.
    const bool ridge = plan_.kind == MethodKind::RanPac;
    const auto passIdx = sample(trainIdx, e_.memory.sample, detail::hashCombine(e_.seed, 77 + t));
    // Data parallel (#18): each rank passes its share of the images; the model sums the ranks'
    // covariances and statistics (ContinualModel::setGroup). The validation split stays whole.
    const auto myPassIdx = shareOf(passIdx, group_.get());
    const auto myTrainIdx = shareOf(trainIdx, group_.get());
    cachePrefix(trainIdx, at);
    Passes passes;
    if (prefix_.active()) {  // the memory passes start from the cached prefix outputs too
        const auto size = static_cast<std::size_t>(e_.train.evalBatchSize);
        for (std::size_t i = 0; i < myPassIdx.size(); i += size) {
            Batch b = prefix_.batch(data_.data.train, slice(myPassIdx, i, size));
            passes.images.push_back(std::move(b.images));
            passes.labels.push_back(std::move(b.labels));
        }
    } else {
        passes =
            loadPasses(data_.data.train, myPassIdx, data_.evalTransform, e_.train.evalBatchSize);
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
            throw Error(fmt::format("{}: {}", checkpointName(), err.what()));
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
            for (std::size_t i = 0; i < myTrainIdx.size(); i += size) {
                const Batch b = prefix_.batch(data_.data.train, slice(myTrainIdx, i, size));
                add(b.images, b.labels, true);
            }
        } else {
            BatchLoader loader(data_.data.train, myTrainIdx, e_.train.evalBatchSize,
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
    Evaluation ev =
        evaluator_->evaluate(*model_, data_, reported, e_.train.evalBatchSize, group_.get());
    ev.memory = std::move(memoryStats);
    ev.spectra = model_->spectra();
    emit(ev);
    emit(TaskFinished{reported, at.taskTrainSeconds, since(taskStart), at.memorySeconds,
                      syncSeconds_});
    checkpoint(t + 1, std::nullopt, nullptr);
    return true;
}

std::optional<TaskPosition> RunDriver::restoreCheckpoint(int* tasksDone) {
    auto [state, tensors] = latestCheckpoint();
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
        throw Error(
            fmt::format("{}: checkpoint state is not readable ({})", checkpointName(), err.what()));
    } catch (const Error& err) {
        throw Error(fmt::format("{}: {}", checkpointName(), err.what()));
    }
    if (position) {
        resumeTensors_ = std::move(tensors);  // the optimizer is built when the task resumes
    }
    return position;
}

Checkpoint RunDriver::latestCheckpoint() {
    if (!group_) {
        return store_->latestCheckpoint();
    }
    return shareCheckpoint(*group_, [this] { return store_->latestCheckpoint(); });
}

std::string RunDriver::checkpointName() const {
    return lead_ ? store_->latestCheckpointPath().string()
                 : fmt::format("{} (rank 0's latest checkpoint)", runDir_);
}

RunSummary RunDriver::run() {
    int firstTask = 0;
    std::optional<TaskPosition> position;
    int64_t plannedParameters = model_->plannedParameterCount();
    bool hasCheckpoint = lead_ && store_->hasCheckpoint();
    if (group_) {
        hasCheckpoint = anyOf(group_.get(), hasCheckpoint, "the resume");
    }
    const bool fromCheckpoint = resume_ && hasCheckpoint;
    if (fromCheckpoint) {
        position = restoreCheckpoint(&firstTask);
        if (lead_) {
            store_->cutEventsToCheckpoint();
        }
    }
    if (lead_) {
        // Only now: a resume that fails (a corrupt checkpoint) leaves the folder as it was.
        store_->writeSplit(split_);  // a resumed run cuts the same split
        auto facts = environmentFacts();
        facts.emplace_back("device", deviceName_);
        facts.emplace_back("threads", std::to_string(threads_));
        if (group_) {  // #18: the whole process group, as rank 0 saw it
            facts.emplace_back("processes", std::to_string(group_->size()));
            facts.emplace_back("process_group", group_->backend());
        }
        store_->recordEnvironment(facts);
    }
    const std::string method = toString(e_.method.name);
    emit(RunStarted{runDir_, method, deviceName_, threads_, tasks_, classNames_, plannedParameters,
                    fromCheckpoint ? firstTask : -1});
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
            bool stopAfter = control_.stopAfterTask.load();
            if (group_) {  // the ranks stop together
                stopAfter = anyOf(group_.get(), stopAfter, "the stop after a task");
            }
            if (!stopped && stopAfter && t + 1 < trainingTasks) {
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
        if (evaluated && lead_) {  // tasks that finished are results: `dlw compare` shows them
            try {
                store_->writeSummary(partial, /*completed=*/false);
            } catch (const Error&) {  // the disk that failed may fail again: the cause is told
            }
        }
        const Event finished = RunFinished{partial, false, false, err.what()};
        try {
            if (lead_) {
                store_->append(finished);
            }
        } catch (const Error&) {  // (idem) the listeners still learn why the run ended
        }
        if (onEvent_) {  // on every rank: RunFinished is the one event the others deliver
            onEvent_(finished);
        }
        throw;
    }
    RunSummary summary = summarize(method);
    if (lead_) {
        store_->writeSummary(summary, !stopped);
    }
    const Event finished = RunFinished{summary, !stopped, stopped, ""};
    emit(finished);
    if (!lead_ && onEvent_) {  // every rank's caller learns how the run ended (a stop: 130)
        onEvent_(finished);
    }
    return summary;
}

RunSummary RunDriver::summarize(const std::string& method) {
    RunSummary summary = evaluator_->summary(runDir_, method);
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
