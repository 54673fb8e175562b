#pragma once
// What the two long-queue soaks (engine API: queue_soak_bench.cpp; the window:
// gui_queue_soak_bench.cpp) share: the experiments, resident memory, and the lost-event check.
// Public core API only.

#include "api/engine.h"
#include "api/run_folder.h"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <string>
#include <unistd.h>

namespace dlw::bench {

// Resident memory now, MiB (not the peak: a leak shows as growth run after run).
inline double residentMiB() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0;
    long resident = 0;
    statm >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}

// Experiment `i` of the queue: the six methods in turn, 2 or 3 tasks, Fashion-MNIST at 60
// training images per class on the 28×28 fixture backbone (about a second each on 2 cores),
// an in-task checkpoint every 5 steps so that stops resume inside tasks.
inline Experiment queueExperiment(int i, int threads) {
    static const MethodKind kMethods[] = {MethodKind::DualLora, MethodKind::InfLora,
                                          MethodKind::SeqLora,  MethodKind::Joint,
                                          MethodKind::SdLora,   MethodKind::RanPac};
    Experiment e;
    e.name = fmt::format("queue-{:02d}", i);
    e.backbone.path =
        std::string(DLW_SOURCE_DIR) + "/tests/fixtures/vit_reference/tiny_gray.safetensors";
    e.threads = threads;
    e.device = "cpu";
    e.seed = static_cast<uint64_t>(i % 3);
    e.method.name = kMethods[i % 6];
    e.method.rank = 4;
    e.method.residualRank = 4;
    e.data.trainPerClass = 60;
    e.data.valPerClass = 10;
    e.data.testPerClass = 30;
    e.sequence.tasks = 2 + i % 2;
    e.sequence.classesPerTask = 2;
    e.train.epochs = 2;
    e.train.batchSize = 16;
    e.memory.sample = 40;
    e.checkpoint.everySteps = 5;
    return e;
}

// "" when every step of the run folder's events.jsonl reached the listener (`delivered` holds
// the step numbers it got) and the file's steps run 0, 1, ... with none twice and at least one
// evaluation; else what is wrong.
inline std::string checkDelivered(const std::filesystem::path& runDir,
                                  const std::set<int64_t>& delivered) {
    int64_t expected = 0;
    int evaluations = 0;
    for (const auto& ev : readRunEvents(runDir)) {
        if (const auto* s = std::get_if<StepFinished>(&ev)) {
            if (s->step != expected) {
                return fmt::format("events.jsonl: step {} where {} was due", s->step, expected);
            }
            if (delivered.count(s->step) == 0) {
                return fmt::format("step {} is in events.jsonl but never reached the listener",
                                   s->step);
            }
            ++expected;
        }
        evaluations += std::holds_alternative<Evaluation>(ev) ? 1 : 0;
    }
    return evaluations > 0 ? "" : "no evaluation in events.jsonl";
}

}  // namespace dlw::bench
