#pragma once
// The class-incremental split of DESIGN §4: a class order cut into T tasks.

#include <cstdint>
#include <string>
#include <vector>

namespace dlw {

struct ClassSequenceConfig {
    int tasks = 5;                       // T
    int classesPerTask = 2;              // used when taskSizes is empty
    std::vector<int> taskSizes;          // explicit class counts per task (sum ≤ classes)
    std::string order = "identity";      // "identity", "shuffle" or "explicit"
    std::vector<int64_t> explicitOrder;  // the class order when order == "explicit"
    uint64_t seed = 0;                   // for "shuffle"
};

// taskClasses[t] = the dataset labels of task t, in order. Throws dlw::Error when more classes
// are asked than `numClasses`, a label repeats or is out of range, or sizes are not positive.
std::vector<std::vector<int64_t>> makeClassSequence(int64_t numClasses,
                                                    const ClassSequenceConfig& config);

// Indices of `labels` whose label is in `classes`, at most `perClass` of each (0 = all),
// chosen by a seeded draw and returned in ascending index order. `skipPerClass` first sets aside
// that many of each class (same seeded permutation), so that a validation draw
// (skip = 0, take = val) and a training draw (skip = val, take = train) are disjoint.
std::vector<int64_t> selectPerClass(const std::vector<int64_t>& labels,
                                    const std::vector<int64_t>& classes,
                                    int64_t perClass,
                                    int64_t skipPerClass,
                                    uint64_t seed);

}  // namespace dlw
