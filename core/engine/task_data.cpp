#include "engine/task_data.h"

#include "api/error.h"
#include "data/class_sequence.h"
#include "model/backbone.h"

#include <fmt/format.h>

namespace dlw {
namespace {

ClassSequenceConfig sequenceConfig(const Experiment& e) {
    ClassSequenceConfig c;
    c.tasks = e.sequence.tasks;
    c.classesPerTask = e.sequence.classesPerTask;
    c.taskSizes = e.sequence.taskSizes;
    c.seed = e.seed;
    switch (e.sequence.classOrder) {
        case ClassOrder::Identity:
            c.order = "identity";
            break;
        case ClassOrder::Shuffle:
            c.order = "shuffle";
            break;
        case ClassOrder::Explicit:
            c.order = "explicit";
            c.explicitOrder.assign(e.sequence.classList.begin(), e.sequence.classList.end());
            break;
    }
    return c;
}

}  // namespace

std::vector<std::vector<int64_t>> taskClassSequence(const Experiment& e, int64_t numClasses) {
    return makeClassSequence(numClasses, sequenceConfig(e));
}

TaskData prepareTaskData(const Experiment& e, const BackboneArch& arch) {
    TaskData out;
    out.data = readDataset(e.data.kind, e.data.root, e.seed);
    out.classNames = out.data.train.classNames;
    const auto numClasses = static_cast<int64_t>(out.classNames.size());
    std::vector<std::vector<int64_t>> sequence;
    try {
        sequence = makeClassSequence(numClasses, sequenceConfig(e));
    } catch (const Error& err) {
        throw Error(fmt::format("{} (dataset {})", err.what(), out.data.train.source));
    }
    const int64_t trainPer = e.data.trainPerClass;
    const int64_t valPer = e.data.valPerClass;
    for (std::size_t t = 0; t < sequence.size(); ++t) {
        TaskSplit split;
        split.classes = sequence[t];
        // Validation first (the first valPer of each class's seeded order), training after it.
        if (valPer > 0) {
            split.val = selectPerClass(out.data.train.labels, split.classes, valPer, 0, e.seed);
        }
        split.train =
            selectPerClass(out.data.train.labels, split.classes, trainPer, valPer, e.seed);
        split.test =
            selectPerClass(out.data.test.labels, split.classes, e.data.testPerClass, 0, e.seed);
        if (split.train.empty() || split.test.empty()) {
            throw Error(fmt::format("data: task {} has no {} images (classes {}; dataset {})",
                                    t + 1, split.train.empty() ? "training" : "test",
                                    fmt::join(split.classes, ","), out.data.train.source));
        }
        out.tasks.push_back(std::move(split));
    }
    out.evalOnVal = e.data.evalSplit == EvalSplit::Val;
    if (out.evalOnVal && valPer == 0) {
        throw Error("data.eval_split is \"val\" but data.val_per_class is 0");
    }
    out.evalTransform = transformFor(arch);
    if (e.data.normalize == PixelNormalization::None) {
        out.evalTransform.mean.clear();
        out.evalTransform.std.clear();
    }
    out.trainTransform = out.evalTransform;
    out.trainTransform.flip = e.data.flip;
    out.trainTransform.randomResizedCrop = e.data.randomResizedCrop;
    return out;
}

}  // namespace dlw
