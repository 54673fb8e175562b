#pragma once
// Small experiments and a run helper shared by the engine and predictor tests.

#include "api/dataset_scan.h"
#include "api/engine.h"
#include "test_support.h"

#include <filesystem>
#include <vector>

namespace dlw {
namespace test {

// A small, fast experiment: the torchvision-made 28×28 grey fixture backbone, Fashion-MNIST,
// 3 tasks × 2 classes, 30 training images per class, one epoch.
inline Experiment smallExperiment(MethodKind method) {
    Experiment e;
    e.backbone.path = (fixturesDir() / "vit_reference" / "tiny_gray.safetensors").string();
    e.threads = 1;
    e.device = "cpu";
    e.data.trainPerClass = 30;
    e.data.valPerClass = 10;
    e.data.testPerClass = 30;
    e.sequence.tasks = 3;
    e.sequence.classesPerTask = 2;
    e.method.name = method;
    e.method.rank = 4;
    e.method.residualRank = 4;
    e.train.epochs = 1;
    e.train.batchSize = 16;
    e.memory.sample = 40;
    // M = 256 rather than the default 2048: the statistics memory's [M, M] covariance and its
    // Cholesky factor dominate a run this small (the smoke experiment: 4.8 s at 2048, 2.0 s at
    // 256). The default M runs in the learning check.
    e.taskId.projection = 256;
    return e;
}

inline bool haveFashionMnist() {
    return std::filesystem::exists(defaultDataRoot(DataKind::FashionMnist));
}

// Runs `e` into `dir` (created, or resumed), passing every event to `onEvent`.
inline RunSummary runWith(const Experiment& e,
                          const std::filesystem::path& dir,
                          RunControl& control,
                          bool resume,
                          const EventCallback& onEvent) {
    RunRequest r;
    r.experiment = e;
    r.runDir = dir.string();
    r.resume = resume;
    return runExperiment(r, control, onEvent);
}

// The same, keeping the events in `events` when given.
inline RunSummary run(const Experiment& e,
                      const std::filesystem::path& dir,
                      RunControl& control,
                      bool resume = false,
                      std::vector<Event>* events = nullptr) {
    return runWith(e, dir, control, resume, [&](const Event& ev) {
        if (events != nullptr) {
            events->push_back(ev);
        }
    });
}

// The loss of every StepFinished in `events`, in order.
inline std::vector<double> stepLosses(const std::vector<Event>& events) {
    std::vector<double> losses;
    for (const auto& ev : events) {
        if (const auto* st = std::get_if<StepFinished>(&ev)) {
            losses.push_back(st->loss);
        }
    }
    return losses;
}

}  // namespace test
}  // namespace dlw
