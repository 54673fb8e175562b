// Experiment: enum names, equality, validation across keys and the run-time resolution of
// "auto" values.
#include "api/experiment.h"

#include "api/error.h"
#include "config/experiment_keys.h"
#include "config/key_builders.h"
#include "util/strict_json.h"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>
#include <tuple>

namespace dlw {

std::string toString(PixelNormalization value) {
    return detail::enumName(value);
}
std::string toString(EvalSplit value) {
    return detail::enumName(value);
}
std::string toString(ClassOrder value) {
    return detail::enumName(value);
}
std::string toString(MethodKind value) {
    return detail::enumName(value);
}
std::string toString(GateMode value) {
    return detail::enumName(value);
}
std::string toString(TaskIdMode value) {
    return detail::enumName(value);
}
std::string toString(TaskIdFeature value) {
    return detail::enumName(value);
}
std::string toString(Precision value) {
    return detail::enumName(value);
}
std::string toString(OptimizerKind value) {
    return detail::enumName(value);
}

namespace {

// Each section's fields as a tuple, in declaration order; a new field must be added here.
auto fields(const BackboneSettings& s) {
    return std::tie(s.path);
}
auto fields(const DataSettings& s) {
    return std::tie(s.kind, s.root, s.trainPerClass, s.valPerClass, s.testPerClass, s.testFraction,
                    s.flip, s.randomResizedCrop, s.normalize, s.evalSplit, s.domains);
}
auto fields(const SequenceSettings& s) {
    return std::tie(s.tasks, s.classesPerTask, s.taskSizes, s.classOrder, s.classList, s.domains);
}
auto fields(const MethodSettings& s) {
    return std::tie(s.name, s.targets, s.blocks, s.rank, s.residualRank, s.orthogonal, s.projectB,
                    s.basisScale, s.gate, s.ranpacDim, s.ranpacAdaptFirst);
}
auto fields(const TaskIdSettings& s) {
    return std::tie(s.mode, s.feature, s.block, s.lambda, s.tau, s.projection);
}
auto fields(const MemorySettings& s) {
    return std::tie(s.epsBegin, s.epsEnd, s.sample);
}
auto fields(const TrainSettings& s) {
    return std::tie(s.epochs, s.batchSize, s.lr, s.optimizer, s.weightDecay, s.evalBatchSize);
}
auto fields(const CheckpointSettings& s) {
    return std::tie(s.everySteps);
}

[[noreturn]] void fail(const std::string& sourceName,
                       const std::string& key,
                       const std::string& problem) {
    throw Error(fmt::format("{}: '{}' {}", sourceName, key, problem));
}

// The rules that tie keys together (each key's own range is in the key table).
void validateAcrossKeys(const Experiment& e, const std::string& sourceName) {
    if (e.memory.epsBegin > e.memory.epsEnd) {
        fail(sourceName, "memory.eps_begin",
             fmt::format("must be <= memory.eps_end ({}), found {}", e.memory.epsEnd,
                         e.memory.epsBegin));
    }
    const auto& sizes = e.sequence.taskSizes;
    if (!sizes.empty() && static_cast<int>(sizes.size()) != e.sequence.tasks) {
        fail(sourceName, "sequence.task_sizes",
             fmt::format("must have one entry per task (sequence.tasks = {}), found {} entries",
                         e.sequence.tasks, sizes.size()));
    }
    const auto& domains = e.sequence.domains;
    if (!domains.empty() && static_cast<int>(domains.size()) != e.sequence.tasks) {
        fail(sourceName, "sequence.domains",
             fmt::format("must have one entry per task (sequence.tasks = {}), found {} entries",
                         e.sequence.tasks, domains.size()));
    }
    const DataKind kind = e.data.kind;
    if (!domains.empty() && kind != DataKind::FashionMnist && kind != DataKind::Digits &&
        kind != DataKind::Cifar100) {
        fail(sourceName, "sequence.domains",
             fmt::format("needs a dataset held in memory (fashion-mnist, digits, cifar100), not "
                         "data.kind \"{}\"",
                         toString(kind)));
    }
    const int64_t needed = sizes.empty() ? int64_t{e.sequence.tasks} * e.sequence.classesPerTask
                                         : std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
    const auto listed = static_cast<int64_t>(e.sequence.classList.size());
    if (e.sequence.classOrder == ClassOrder::Explicit && listed < needed) {
        fail(sourceName, "sequence.class_order",
             fmt::format("must list at least the {} classes the tasks use, found {}", needed,
                         listed));
    }
    if (e.method.name == MethodKind::RanPac && e.taskId.mode == TaskIdMode::Lda) {
        fail(sourceName, "task_id.mode",
             "\"lda\" does not apply to ranpac, whose one ridge head scores every class seen "
             "(no per-task heads to choose between); set task_id.mode to \"auto\" or \"none\"");
    }
    if (e.method.gate != GateMode::None && effectiveTaskIdMode(e) == TaskIdMode::None) {
        fail(
            sourceName, "method.gate",
            fmt::format("\"{}\" needs a task predictor, but task_id.mode is \"{}\" for {}; set "
                        "task_id.mode to \"lda\" or the gate to \"none\"",
                        toString(e.method.gate), toString(e.taskId.mode), toString(e.method.name)));
    }
}

}  // namespace

bool operator==(const Experiment& a, const Experiment& b) {
    return std::tie(a.name, a.seed, a.device, a.threads, a.precision) ==
               std::tie(b.name, b.seed, b.device, b.threads, b.precision) &&
           fields(a.backbone) == fields(b.backbone) && fields(a.data) == fields(b.data) &&
           fields(a.sequence) == fields(b.sequence) && fields(a.method) == fields(b.method) &&
           fields(a.taskId) == fields(b.taskId) && fields(a.memory) == fields(b.memory) &&
           fields(a.train) == fields(b.train) && fields(a.checkpoint) == fields(b.checkpoint);
}

void validateExperiment(const Experiment& experiment, const std::string& sourceName) {
    for (const auto& key : detail::experimentKeys()) {
        const std::string problem = key.check(experiment);
        if (!problem.empty()) {
            fail(sourceName, key.key, problem);
        }
        // #14: experiment files are JSON, which holds UTF-8 only; a path that is not cannot be
        // recorded for a resume, so it is refused here by name instead of failing mid-run.
        const auto value = key.write(experiment);
        if (value.is_string() && !isValidUtf8(value.get_ref<const std::string&>())) {
            fail(sourceName, key.key,
                 fmt::format("'{}' is not valid UTF-8 (experiment files are JSON); {}",
                             escapeInvalidUtf8(value.get_ref<const std::string&>()),
                             key.key == "name" ? "choose a UTF-8 name"
                                               : "rename it or give a link to it with a UTF-8 "
                                                 "name"));
        }
    }
    validateAcrossKeys(experiment, sourceName);
}

std::string methodVariant(const Experiment& e) {
    std::string label = toString(e.method.name);
    const bool taskId = effectiveTaskIdMode(e) == TaskIdMode::Lda;
    const bool ownsTaskId = e.method.name == MethodKind::DualLora;
    if (taskId != ownsTaskId) {
        label += taskId ? " +task-id" : " -task-id";
    }
    if (e.method.gate != GateMode::None) {
        // (fmt: GCC 12's -Wstringop-overflow misfires on " " + std::string&& in C++20)
        label += fmt::format(" {}-gate", toString(e.method.gate));
    }
    if (taskId && e.taskId.projection == 0 && e.method.name != MethodKind::RanPac) {
        label += " -projection";  // the task feature without its random projection
    }
    if (e.method.name == MethodKind::DualLora && !e.method.orthogonal) {
        label += " -orthogonal";
    }
    if (e.method.name == MethodKind::RanPac) {
        if (!e.method.ranpacAdaptFirst) {
            label += " -adapt";
        }
        if (e.method.ranpacDim == 0) {
            label += " -projection";
        }
    }
    return label;
}

TaskIdMode effectiveTaskIdMode(const Experiment& experiment) {
    if (experiment.taskId.mode != TaskIdMode::Auto) {
        return experiment.taskId.mode;
    }
    return experiment.method.name == MethodKind::DualLora ? TaskIdMode::Lda : TaskIdMode::None;
}

int effectiveTaskIdBlock(const Experiment& experiment, int depth) {
    const int block = experiment.taskId.block < 0 ? depth / 2 : experiment.taskId.block;
    if (block >= depth) {
        throw Error(fmt::format("'task_id.block' must be below the backbone's depth {}, found {}",
                                depth, block));
    }
    return block;
}

std::vector<int> effectiveAdaptedBlocks(const Experiment& experiment, int depth) {
    std::vector<int> blocks = experiment.method.blocks;
    if (blocks.empty()) {
        const int first = experiment.taskId.feature != TaskIdFeature::ClsFrozenPass
                              ? effectiveTaskIdBlock(experiment, depth)
                              : 0;
        for (int b = first; b < depth; ++b) {
            blocks.push_back(b);
        }
    }
    std::sort(blocks.begin(), blocks.end());
    if (!blocks.empty() && blocks.back() >= depth) {
        throw Error(fmt::format("'method.blocks' must be below the backbone's depth {}, found {}",
                                depth, blocks.back()));
    }
    return blocks;
}

}  // namespace dlw
