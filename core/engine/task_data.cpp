#include "engine/task_data.h"

#include "api/error.h"
#include "data/class_sequence.h"
#include "data/image_domain.h"
#include "data/image_transform.h"
#include "data/seeded_random.h"
#include "engine/run_model.h"
#include "model/backbone.h"

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>
#include <thread>

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

namespace {

// The tasks' train / validation / test indices of `data` for `sequence` (DESIGN §4).
std::vector<TaskSplit> cutTasks(const Experiment& e,
                                const TrainTestData& data,
                                const std::vector<std::vector<int64_t>>& sequence) {
    const int64_t trainPer = e.data.trainPerClass;
    const int64_t valPer = e.data.valPerClass;
    std::vector<TaskSplit> tasks;
    for (std::size_t t = 0; t < sequence.size(); ++t) {
        TaskSplit split;
        split.classes = sequence[t];
        // Validation first (the first valPer of each class's seeded order), training after it.
        if (valPer > 0) {
            split.val = selectPerClass(data.train.labels, split.classes, valPer, 0, e.seed);
        }
        split.train = selectPerClass(data.train.labels, split.classes, trainPer, valPer, e.seed);
        split.test =
            selectPerClass(data.test.labels, split.classes, e.data.testPerClass, 0, e.seed);
        if (split.train.empty() || split.test.empty()) {
            throw Error(fmt::format("data: task {} has no {} images (classes {}; dataset {})",
                                    t + 1, split.train.empty() ? "training" : "test",
                                    fmt::join(split.classes, ","), data.train.source));
        }
        tasks.push_back(std::move(split));
    }
    return tasks;
}

// Decodes every file of `set` at `indices` that is not in `verified` yet, on all cores; drops
// those that fail from `set` (a warning each in `skipped`) and adds the others to `verified`.
// True when something was dropped. A file that passes the reader's header probe can still be
// truncated or of an unsupported layout: found here, it is skipped and reported, not fatal in
// the middle of training, evaluation or a memory pass (#14).
bool dropUndecodable(ImageDataset& set,
                     const std::vector<int64_t>& indices,
                     const ImageTransform& transform,
                     std::set<std::string>& verified,
                     std::vector<LoadWarning>& skipped) {
    std::vector<int64_t> todo;
    for (const int64_t i : indices) {
        if (verified.count(set.files[static_cast<std::size_t>(i)].string()) == 0) {
            todo.push_back(i);
        }
    }
    std::sort(todo.begin(), todo.end());
    todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
    std::vector<std::string> reasons(todo.size());
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
        std::vector<float> buffer(static_cast<std::size_t>(transform.channels) * transform.size *
                                  transform.size);
        for (std::size_t k = next++; k < todo.size(); k = next++) {
            try {
                detail::transformImageInto(set, todo[k], transform, /*augment=*/false, 0,
                                           buffer.data());
            } catch (const std::exception& err) {
                reasons[k] = err.what();
                if (reasons[k].empty()) {
                    reasons[k] = "cannot be decoded";
                }
            }
        }
    };
    std::vector<std::thread> threads;
    const unsigned count = std::max(1U, std::min(8U, std::thread::hardware_concurrency()));
    for (unsigned w = 1; w < count && todo.size() > 64; ++w) {
        threads.emplace_back(work);
    }
    work();
    for (auto& t : threads) {
        t.join();
    }
    std::set<int64_t> bad;
    for (std::size_t k = 0; k < todo.size(); ++k) {
        const std::string file = set.files[static_cast<std::size_t>(todo[k])].string();
        if (reasons[k].empty()) {
            verified.insert(file);
        } else {
            const std::string prefix = file + ": ";  // the decoder's message names the file
            const bool named = reasons[k].rfind(prefix, 0) == 0;
            skipped.push_back({file, -1, named ? reasons[k].substr(prefix.size()) : reasons[k]});
            bad.insert(todo[k]);
        }
    }
    if (bad.empty()) {
        return false;
    }
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < set.size(); ++i) {
        if (bad.count(i) == 0) {
            kept.push_back(i);
        }
    }
    set = selectImages(set, kept);  // every per-image field (file, label, domain) in step
    return true;
}

// sequence.domains: every image of task t's classes, in the training and the test part, is
// rendered in task t's domain (classes belong to one task each, so each image to one domain).
void renderDomains(const Experiment& e,
                   TrainTestData& data,
                   const std::vector<std::vector<int64_t>>& sequence) {
    for (std::size_t t = 0; t < e.sequence.domains.size() && t < sequence.size(); ++t) {
        const std::string& domain = e.sequence.domains[t];
        if (domain == "original") {
            continue;
        }
        const auto classes = torch::tensor(sequence[t], torch::kInt64);
        uint64_t part = 0;
        for (ImageDataset* set : {&data.train, &data.test}) {
            if (!set->inMemory()) {
                throw Error(fmt::format(
                    "sequence.domains: dataset {} is read from files, not held in memory",
                    set->source));
            }
            const auto labels = torch::tensor(set->labels, torch::kInt64);
            const auto rows = torch::nonzero(torch::isin(labels, classes)).flatten();
            const uint64_t seed = detail::hashCombine(detail::hashCombine(e.seed, t), part++);
            set->pixels.index_put_(
                {rows}, applyImageDomain(set->pixels.index_select(0, rows), domain, seed));
        }
    }
}

// #16: a class of a task without a training image (a file-list class whose images are all in
// test lists, or one whose few images all went to validation) is learnt from nothing. The run
// goes on; each such class is said once, naming its task.
std::vector<std::string> untrainedClasses(const Experiment& e, const TaskData& out) {
    const auto count = [&](const std::vector<int64_t>& labels) {
        std::vector<int64_t> n(out.classNames.size(), 0);
        for (const int64_t label : labels) {
            ++n[static_cast<std::size_t>(label)];
        }
        return n;
    };
    const auto inTrain = count(out.data.train.labels);
    const auto inTest = count(out.data.test.labels);
    std::vector<int64_t> picked(out.classNames.size(), 0);
    for (const auto& t : out.tasks) {
        for (const int64_t i : t.train) {
            ++picked[static_cast<std::size_t>(out.data.train.labels[static_cast<std::size_t>(i)])];
        }
    }
    std::vector<std::string> lines;
    for (std::size_t t = 0; t < out.tasks.size(); ++t) {
        for (const int64_t c : out.tasks[t].classes) {
            const auto k = static_cast<std::size_t>(c);
            if (picked[k] > 0) {
                continue;
            }
            const std::string why =
                inTrain[k] == 0 ? fmt::format("has no training image in {}", out.data.train.source)
                                : fmt::format(
                                      "has no training image left: all {} went to validation "
                                      "(data.val_per_class = {})",
                                      inTrain[k], e.data.valPerClass);
            lines.push_back(fmt::format(
                "task {}: class {} ({}) {}; it is learnt from nothing, and its {} test images "
                "count against the task",
                t + 1, c, out.classNames[k], why, inTest[k]));
        }
    }
    return lines;
}

}  // namespace

TaskData prepareTaskData(const Experiment& e, const BackboneArch& arch) {
    TaskData out;
    out.data = readDataset(e.data.kind, e.data.root, e.seed, e.data.testFraction, e.data.domains);
    out.classNames = out.data.train.classNames;
    const auto numClasses = static_cast<int64_t>(out.classNames.size());
    std::vector<std::vector<int64_t>> sequence;
    try {
        sequence = makeClassSequence(numClasses, sequenceConfig(e));
    } catch (const Error& err) {
        throw Error(fmt::format("{} (dataset {})", err.what(), out.data.train.source));
    }
    renderDomains(e, out.data, sequence);
    out.evalTransform = evalTransformFor(e, arch);  // the one the predictor uses too
    out.trainTransform = out.evalTransform;
    out.trainTransform.flip = e.data.flip;
    out.trainTransform.randomResizedCrop = e.data.randomResizedCrop;
    out.skipped = out.data.train.warnings;
    out.skipped.insert(out.skipped.end(), out.data.test.warnings.begin(),
                       out.data.test.warnings.end());
    // Files decoded on demand are decoded once here, those the run uses: a bad one is dropped
    // and the cut made again without it (deterministic, so a resumed run cuts the same way).
    std::set<std::string> verified;
    for (;;) {
        out.tasks = cutTasks(e, out.data, sequence);
        if (out.data.train.inMemory()) {
            break;
        }
        std::vector<int64_t> trainUsed;
        std::vector<int64_t> testUsed;
        for (const auto& t : out.tasks) {
            trainUsed.insert(trainUsed.end(), t.train.begin(), t.train.end());
            trainUsed.insert(trainUsed.end(), t.val.begin(), t.val.end());
            testUsed.insert(testUsed.end(), t.test.begin(), t.test.end());
        }
        const bool trainChanged =
            dropUndecodable(out.data.train, trainUsed, out.evalTransform, verified, out.skipped);
        const bool testChanged =
            dropUndecodable(out.data.test, testUsed, out.evalTransform, verified, out.skipped);
        if (!trainChanged && !testChanged) {
            break;
        }
    }
    out.warnings = untrainedClasses(e, out);
    out.evalOnVal = e.data.evalSplit == EvalSplit::Val;
    if (out.evalOnVal && e.data.valPerClass == 0) {
        throw Error("data.eval_split is \"val\" but data.val_per_class is 0");
    }
    return out;
}

namespace {

// An image as the manifest names it: its path (relative to `root` when under it) or its record.
nlohmann::json imageRef(const ImageDataset& set, int64_t index, const std::filesystem::path& root) {
    if (set.inMemory()) {
        return set.record(index);
    }
    const auto& file = set.files[static_cast<std::size_t>(index)];
    if (!root.empty()) {
        const auto relative = file.lexically_relative(root);
        if (!relative.empty() && *relative.begin() != "..") {
            return relative.generic_string();
        }
    }
    return file.generic_string();
}

}  // namespace

nlohmann::json splitManifest(const Experiment& e, const TaskData& data) {
    const std::filesystem::path root = e.data.root;
    nlohmann::json out;
    out["format"] = 1;
    out["about"] =
        "The images of each task: paths relative to data.root for data read from files, else "
        "record numbers (0-based) in the source file, train and val from train_source, test "
        "from test_source.";
    out["data"] = {{"kind", toString(e.data.kind)},
                   {"root", e.data.root},
                   {"train_source", data.data.train.source},
                   {"test_source", data.data.test.source},
                   {"classes", data.classNames.size()},
                   {"images_as", data.data.train.inMemory() ? "records" : "paths"}};
    out["evaluated_on"] = data.evalOnVal ? "val" : "test";
    out["tasks"] = nlohmann::json::array();
    for (std::size_t t = 0; t < data.tasks.size(); ++t) {
        const TaskSplit& split = data.tasks[t];
        nlohmann::json task;
        task["task"] = t + 1;
        if (t < e.sequence.domains.size()) {
            task["domain"] = e.sequence.domains[t];
        }
        task["classes"] = nlohmann::json::array();
        for (const int64_t c : split.classes) {
            task["classes"].push_back(
                {{"label", c}, {"name", data.classNames.at(static_cast<std::size_t>(c))}});
        }
        const auto list = [&](const ImageDataset& set, const std::vector<int64_t>& indices) {
            auto refs = nlohmann::json::array();
            for (const int64_t i : indices) {
                refs.push_back(imageRef(set, i, root));
            }
            return refs;
        };
        task["train"] = list(data.data.train, split.train);
        task["val"] = list(data.data.train, split.val);
        task["test"] = list(data.data.test, split.test);
        out["tasks"].push_back(std::move(task));
    }
    out["skipped"] = nlohmann::json::array();
    for (const auto& w : data.skipped) {
        out["skipped"].push_back({{"file", w.file}, {"index", w.index}, {"reason", w.reason}});
    }
    return out;
}

}  // namespace dlw
