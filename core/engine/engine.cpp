#include "api/engine.h"

#include "api/error.h"
#include "api/runtime.h"
#include "config/experiment_json.h"
#include "data/seeded_random.h"
#include "engine/continual_model.h"
#include "engine/evaluator.h"
#include "engine/run_store.h"
#include "engine/task_data.h"
#include "model/backbone.h"

#include <chrono>
#include <fmt/format.h>
#include <thread>

namespace dlw {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

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

// One epoch of training steps over `order` (global train indices, already shuffled). Stops
// between batches when control.stop is set; waits while control.pause is set.
struct EpochResult {
    double lossSum = 0;
    int64_t batches = 0;
    int64_t images = 0;
    double seconds = 0;  // training steps only
    bool stopped = false;
};
EpochResult trainEpoch(ContinualModel& model,
                       torch::optim::Optimizer& optimizer,
                       const TaskData& data,
                       std::vector<int64_t> order,
                       const std::vector<int64_t>& classes,
                       int batchSize,
                       uint64_t epochSeed,
                       const torch::Device& device,
                       RunControl& control,
                       const std::function<void(double)>& onStep) {
    EpochResult r;
    BatchLoader loader(data.data.train, std::move(order), batchSize, data.trainTransform,
                       /*augment=*/true, epochSeed);
    while (auto batch = loader.next()) {
        while (control.pause.load() && !control.stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (control.stop.load()) {
            r.stopped = true;
            break;
        }
        const auto t0 = Clock::now();
        auto logits = model.trainLogits(batch->images.to(device));
        auto loss = torch::nn::functional::cross_entropy(
            logits, localLabels(batch->labels, classes).to(device));
        optimizer.zero_grad();
        loss.backward();
        const auto snapshot = model.beforeStep();  // DESIGN §3.2 step 3: project the update
        optimizer.step();
        model.afterStep(snapshot);
        const double value = loss.item<double>();
        r.seconds += since(t0);
        r.lossSum += value;
        ++r.batches;
        r.images += batch->images.size(0);
        onStep(value);
    }
    return r;
}

}  // namespace

RunSummary runExperiment(const RunRequest& request,
                         RunControl& control,
                         const EventCallback& onEvent) {
    const Experiment& e = request.experiment;
    validateExperiment(e);
    const int threads = applyThreads(e.threads);
    const std::string deviceName = resolveDevice(e.device);
    const torch::Device device(deviceName);
    const std::string backbonePath =
        e.backbone.path.empty() ? bundledBackbonePath().string() : e.backbone.path;
    BackboneInfo info;
    VisionTransformer backbone = loadBackbone(backbonePath, &info);
    const MethodPlan plan = planMethod(e, info.arch);
    const TaskData data = prepareTaskData(e, info.arch);
    const bool joint = e.method.name == MethodKind::Joint;
    const int tasks = static_cast<int>(data.tasks.size());

    std::vector<std::vector<int64_t>> evalTasks;
    for (const auto& t : data.tasks) {
        evalTasks.push_back(t.classes);
    }
    std::vector<std::vector<int64_t>> trainTasks = evalTasks;
    if (joint) {  // one task of every class, in sequence order
        std::vector<int64_t> all;
        for (const auto& t : evalTasks) {
            all.insert(all.end(), t.begin(), t.end());
        }
        trainTasks = {all};
    }
    torch::manual_seed(e.seed);
    ContinualModel model(backbone, plan, trainTasks, device);

    auto resolved = experimentToJson(e);
    resolved["threads"] = threads;
    resolved["device"] = deviceName;
    resolved["backbone"]["path"] = backbonePath;
    resolved["task_id"]["block"] = plan.featureBlock;
    resolved["method"]["blocks"] = plan.layout.blocks;
    RunStore store(request.runDir, resolved.dump(2) + "\n", request.resume);
    auto emit = [&](const Event& ev) {
        store.append(ev);
        if (onEvent) {
            onEvent(ev);
        }
    };

    Evaluator evaluator(evalTasks, joint);
    RunSummary summary;
    summary.runDir = store.dir().string();
    summary.method = toString(e.method.name);
    int firstTask = 0;
    double trainSeconds = 0;
    int64_t trainImages = 0;
    int64_t step = 0;
    if (request.resume) {
        auto [state, tensors] = store.latestCheckpoint();
        firstTask = state.at("tasks_done").get<int>();
        model.restore(tensors, firstTask);
        evaluator.restore(state.at("evaluator"));
        trainSeconds = state.at("train_seconds").get<double>();
        trainImages = state.at("train_images").get<int64_t>();
        step = state.at("step").get<int64_t>();
    }

    std::vector<std::vector<std::string>> classNames;
    for (const auto& t : evalTasks) {
        std::vector<std::string> names;
        for (int64_t c : t) {
            names.push_back(data.classNames.at(static_cast<std::size_t>(c)));
        }
        classNames.push_back(names);
    }
    emit(RunStarted{store.dir().string(), summary.method, deviceName, threads, tasks, classNames, 0,
                    request.resume ? firstTask : -1});

    bool stopped = false;
    const int trainingTasks = static_cast<int>(trainTasks.size());
    for (int t = firstTask; t < trainingTasks && !stopped; ++t) {
        const auto taskStart = Clock::now();
        std::vector<int64_t> trainIdx;
        if (joint) {
            for (const auto& s : data.tasks) {
                trainIdx.insert(trainIdx.end(), s.train.begin(), s.train.end());
            }
            std::sort(trainIdx.begin(), trainIdx.end());
        } else {
            trainIdx = data.tasks[static_cast<std::size_t>(t)].train;
        }
        const auto& classes = trainTasks[static_cast<std::size_t>(t)];
        const int64_t stepsPerEpoch =
            (static_cast<int64_t>(trainIdx.size()) + e.train.batchSize - 1) / e.train.batchSize;
        const int reported = joint ? tasks - 1 : t;  // joint trains once, as the last task
        emit(TaskStarted{reported, static_cast<int64_t>(trainIdx.size()), stepsPerEpoch,
                         e.train.epochs});
        torch::manual_seed(detail::hashCombine(e.seed, static_cast<uint64_t>(t)));
        const auto passIdx = sample(trainIdx, e.memory.sample, detail::hashCombine(e.seed, 77 + t));
        const Passes passes =
            loadPasses(data.data.train, passIdx, data.evalTransform, e.train.evalBatchSize);
        for (const auto& w : model.beginTask(passes.images)) {
            emit(Warning{w});
        }
        auto optimizer = makeOptimizer(e, model.trainableParameters());
        double taskTrainSeconds = 0;
        for (int epoch = 0; epoch < e.train.epochs && !stopped; ++epoch) {
            const uint64_t epochSeed = detail::hashCombine(detail::hashCombine(e.seed, t), epoch);
            auto order =
                detail::seededPermutation(static_cast<int64_t>(trainIdx.size()), epochSeed);
            for (auto& i : order) {
                i = trainIdx[static_cast<std::size_t>(i)];
            }
            const EpochResult r =
                trainEpoch(model, *optimizer, data, std::move(order), classes, e.train.batchSize,
                           epochSeed, device, control, [&](double loss) {
                               emit(StepFinished{reported, epoch, step++, loss, e.train.lr});
                           });
            stopped = r.stopped;
            taskTrainSeconds += r.seconds;
            trainImages += r.images;
            if (!stopped) {
                emit(EpochFinished{reported, epoch, r.lossSum / std::max<int64_t>(r.batches, 1),
                                   r.seconds,
                                   static_cast<double>(r.images) / std::max(r.seconds, 1e-9)});
            }
        }
        if (stopped) {
            break;
        }
        trainSeconds += taskTrainSeconds;
        const double threshold =
            energyThreshold(e.memory.epsBegin, e.memory.epsEnd, t + 1, trainingTasks);
        auto memoryStats = model.endTask(passes.images, passes.labels, threshold);
        // Evaluated after the memory update: the statistics memory then knows task t.
        Evaluation ev = evaluator.evaluate(model, data, reported, e.train.evalBatchSize);
        ev.memory = std::move(memoryStats);
        ev.spectra = model.spectra();
        emit(ev);
        emit(TaskFinished{reported, taskTrainSeconds, since(taskStart)});
        store.checkpoint(t, model.state(),
                         {{"tasks_done", t + 1},
                          {"train_seconds", trainSeconds},
                          {"train_images", trainImages},
                          {"step", step},
                          {"evaluator", evaluator.state()}});
        if (control.stopAfterTask.load() && t + 1 < trainingTasks) {
            stopped = true;
        }
    }
    summary = evaluator.summary(summary.runDir, summary.method);
    summary.trainSeconds = trainSeconds;
    summary.trainableParameters = model.parameterCount();
    summary.imagesPerSecond =
        trainSeconds > 0 ? static_cast<double>(trainImages) / trainSeconds : 0;
    store.writeSummary(summary, !stopped);
    emit(RunFinished{summary, !stopped, stopped, ""});
    return summary;
}

}  // namespace dlw
