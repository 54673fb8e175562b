// The class-incremental split (DESIGN §4) and the seeded per-class draws of train/val images.
#include "data/class_sequence.h"

#include "api/error.h"
#include "data/seeded_random.h"

#include <algorithm>
#include <numeric>

namespace dlw {
namespace {

std::vector<int> taskSizesOf(const ClassSequenceConfig& config) {
    if (config.taskSizes.empty()) {
        if (config.tasks <= 0 || config.classesPerTask <= 0) {
            throw Error("sequence: tasks (" + std::to_string(config.tasks) +
                        ") and classes_per_task (" + std::to_string(config.classesPerTask) +
                        ") must be positive");
        }
        // Parentheses, not braces: {n, v} would be a two-element list.
        return std::vector<int>(static_cast<std::size_t>(config.tasks),  // NOLINT
                                config.classesPerTask);
    }
    if (config.tasks != static_cast<int>(config.taskSizes.size())) {
        throw Error("sequence: " + std::to_string(config.taskSizes.size()) +
                    " task sizes given but tasks = " + std::to_string(config.tasks));
    }
    for (const int size : config.taskSizes) {
        if (size <= 0) {
            throw Error("sequence: task size " + std::to_string(size) + " must be positive");
        }
    }
    return config.taskSizes;
}

// Checks an explicit order: labels in range, none twice, enough of them.
void checkExplicitOrder(const std::vector<int64_t>& order, int64_t numClasses, int64_t needed) {
    std::vector<bool> seen(static_cast<std::size_t>(numClasses), false);
    for (const int64_t label : order) {
        if (label < 0 || label >= numClasses) {
            throw Error("sequence.class_order: class " + std::to_string(label) +
                        " is out of range; the dataset has classes 0.." +
                        std::to_string(numClasses - 1));
        }
        if (seen[static_cast<std::size_t>(label)]) {
            throw Error("sequence.class_order: class " + std::to_string(label) +
                        " is listed twice");
        }
        seen[static_cast<std::size_t>(label)] = true;
    }
    if (static_cast<int64_t>(order.size()) < needed) {
        throw Error("sequence.class_order: lists " + std::to_string(order.size()) +
                    " classes but the tasks need " + std::to_string(needed));
    }
}

std::vector<int64_t> classOrder(int64_t numClasses,
                                const ClassSequenceConfig& config,
                                int64_t needed) {
    if (config.order == "identity") {
        std::vector<int64_t> order(static_cast<std::size_t>(numClasses));
        std::iota(order.begin(), order.end(), int64_t{0});
        return order;
    }
    if (config.order == "shuffle") {
        return detail::seededPermutation(numClasses, config.seed);
    }
    if (config.order == "explicit") {
        checkExplicitOrder(config.explicitOrder, numClasses, needed);
        return config.explicitOrder;
    }
    throw Error("sequence.class_order: unknown order '" + config.order +
                "' (expected identity, shuffle or a list of classes)");
}

}  // namespace

std::vector<std::vector<int64_t>> makeClassSequence(int64_t numClasses,
                                                    const ClassSequenceConfig& config) {
    const auto sizes = taskSizesOf(config);
    const int64_t needed = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
    if (needed > numClasses) {
        throw Error("sequence: the tasks ask for " + std::to_string(needed) +
                    " classes but the dataset has " + std::to_string(numClasses));
    }
    const auto order = classOrder(numClasses, config, needed);
    std::vector<std::vector<int64_t>> tasks;
    auto next = order.begin();
    for (const int size : sizes) {
        tasks.emplace_back(next, next + size);
        next += size;
    }
    return tasks;
}

std::vector<int64_t> selectPerClass(const std::vector<int64_t>& labels,
                                    const std::vector<int64_t>& classes,
                                    int64_t perClass,
                                    int64_t skipPerClass,
                                    uint64_t seed) {
    if (perClass < 0 || skipPerClass < 0) {
        throw Error("selectPerClass: per-class counts must not be negative (take " +
                    std::to_string(perClass) + ", skip " + std::to_string(skipPerClass) + ")");
    }
    std::vector<int64_t> selected;
    for (std::size_t k = 0; k < classes.size(); ++k) {
        const int64_t cls = classes[k];
        if (std::find(classes.begin(), classes.begin() + static_cast<std::ptrdiff_t>(k), cls) !=
            classes.begin() + static_cast<std::ptrdiff_t>(k)) {
            throw Error("selectPerClass: class " + std::to_string(cls) + " is listed twice");
        }
        std::vector<int64_t> members;
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (labels[i] == cls) {
                members.push_back(static_cast<int64_t>(i));
            }
        }
        // The permutation depends on (seed, class) only, so a class draws the same images
        // whatever other classes share its task.
        detail::SeededRng rng(detail::hashCombine(seed, static_cast<uint64_t>(cls)));
        detail::seededShuffle(members, rng);
        const auto begin =
            std::min<std::size_t>(static_cast<std::size_t>(skipPerClass), members.size());
        auto end = members.size();
        if (perClass > 0) {
            end = std::min(end, begin + static_cast<std::size_t>(perClass));
        }
        selected.insert(selected.end(), members.begin() + static_cast<std::ptrdiff_t>(begin),
                        members.begin() + static_cast<std::ptrdiff_t>(end));
    }
    std::sort(selected.begin(), selected.end());
    return selected;
}

}  // namespace dlw
