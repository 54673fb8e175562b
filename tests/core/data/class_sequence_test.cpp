#include "data/class_sequence.h"

#include "api/error.h"
#include "test_support.h"

#include <algorithm>
#include <set>

namespace dlw {
namespace {

using Tasks = std::vector<std::vector<int64_t>>;

ClassSequenceConfig shuffled(uint64_t seed) {
    ClassSequenceConfig config;
    config.order = "shuffle";
    config.seed = seed;
    return config;
}

TEST(ClassSequence, IdentityCutsClassesIntoTasks) {
    EXPECT_EQ(makeClassSequence(10, {}), (Tasks{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}}));
}

TEST(ClassSequence, ShuffleIsDeterministicForASeed) {
    const auto first = makeClassSequence(100, shuffled(7));
    EXPECT_EQ(first, makeClassSequence(100, shuffled(7)));
    std::set<int64_t> used;
    for (const auto& task : first) {
        used.insert(task.begin(), task.end());
    }
    EXPECT_EQ(used.size(), 10U);
}

// Pinned so that a change of generator (which would change every published run) is noticed.
TEST(ClassSequence, ShuffleOfSeedZeroIsPinned) {
    ClassSequenceConfig config = shuffled(0);
    config.tasks = 1;
    config.classesPerTask = 10;
    const auto order = makeClassSequence(10, config)[0];
    EXPECT_EQ(order, (std::vector<int64_t>{6, 3, 2, 9, 8, 1, 4, 7, 0, 5}));
}

TEST(ClassSequence, DifferentSeedsGiveDifferentOrders) {
    EXPECT_NE(makeClassSequence(100, shuffled(1)), makeClassSequence(100, shuffled(2)));
}

TEST(ClassSequence, ExplicitOrderIsKept) {
    ClassSequenceConfig config;
    config.order = "explicit";
    config.tasks = 2;
    config.explicitOrder = {9, 3, 4, 0};
    EXPECT_EQ(makeClassSequence(10, config), (Tasks{{9, 3}, {4, 0}}));
}

TEST(ClassSequence, ExplicitTaskSizes) {
    ClassSequenceConfig config;
    config.tasks = 3;
    config.taskSizes = {4, 1, 2};
    EXPECT_EQ(makeClassSequence(7, config), (Tasks{{0, 1, 2, 3}, {4}, {5, 6}}));
}

TEST(ClassSequence, RejectsMoreClassesThanTheDatasetHas) {
    ClassSequenceConfig config;
    config.tasks = 6;
    DLW_EXPECT_ERROR(makeClassSequence(10, config), "12 classes", "has 10");
}

TEST(ClassSequence, RejectsDuplicateClass) {
    ClassSequenceConfig config;
    config.order = "explicit";
    config.tasks = 2;
    config.explicitOrder = {1, 2, 3, 2};
    DLW_EXPECT_ERROR(makeClassSequence(10, config), "class 2", "twice");
}

TEST(ClassSequence, RejectsOutOfRangeClass) {
    ClassSequenceConfig config;
    config.order = "explicit";
    config.tasks = 1;
    config.explicitOrder = {1, 10};
    DLW_EXPECT_ERROR(makeClassSequence(10, config), "class 10", "out of range", "0..9");
}

TEST(ClassSequence, RejectsTooShortExplicitOrder) {
    ClassSequenceConfig config;
    config.order = "explicit";
    config.explicitOrder = {1, 2, 3};
    DLW_EXPECT_ERROR(makeClassSequence(10, config), "lists 3 classes", "need 10");
}

TEST(ClassSequence, RejectsUnknownOrderAndBadSizes) {
    ClassSequenceConfig config;
    config.order = "random";
    DLW_EXPECT_ERROR(makeClassSequence(10, config), "random");
    config = {};
    config.taskSizes = {2, 0};
    config.tasks = 2;
    DLW_EXPECT_ERROR(makeClassSequence(10, config), "task size 0");
    config.taskSizes = {2, 2};
    config.tasks = 5;
    DLW_EXPECT_ERROR(makeClassSequence(10, config), "2 task sizes", "tasks = 5");
}

std::vector<int64_t> labelsOf(int classes, int perClass) {
    std::vector<int64_t> labels;
    for (int i = 0; i < classes * perClass; ++i) {
        labels.push_back(i % classes);
    }
    return labels;
}

std::vector<int64_t> countPerClass(const std::vector<int64_t>& labels,
                                   const std::vector<int64_t>& indices,
                                   int classes) {
    std::vector<int64_t> counts(static_cast<std::size_t>(classes), 0);
    for (const int64_t i : indices) {
        ++counts[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])];
    }
    return counts;
}

TEST(SelectPerClass, TakesPerClassCountsInAscendingOrder) {
    const auto labels = labelsOf(4, 30);
    const auto picked = selectPerClass(labels, {1, 3}, 10, 0, 5);
    EXPECT_EQ(countPerClass(labels, picked, 4), (std::vector<int64_t>{0, 10, 0, 10}));
    EXPECT_TRUE(std::is_sorted(picked.begin(), picked.end()));
    EXPECT_EQ(selectPerClass(labels, {2}, 0, 0, 5).size(), 30U);   // 0 = all
    EXPECT_EQ(selectPerClass(labels, {2}, 50, 0, 5).size(), 30U);  // at most what there is
}

TEST(SelectPerClass, ValidationAndTrainingDrawsAreDisjoint) {
    const auto labels = labelsOf(3, 40);
    const std::vector<int64_t> classes = {0, 1, 2};
    const auto val = selectPerClass(labels, classes, 8, 0, 11);
    const auto train = selectPerClass(labels, classes, 0, 8, 11);
    EXPECT_EQ(countPerClass(labels, val, 3), (std::vector<int64_t>{8, 8, 8}));
    EXPECT_EQ(countPerClass(labels, train, 3), (std::vector<int64_t>{32, 32, 32}));
    std::vector<int64_t> both;
    std::set_intersection(val.begin(), val.end(), train.begin(), train.end(),
                          std::back_inserter(both));
    EXPECT_TRUE(both.empty());
}

TEST(SelectPerClass, DrawIsSeededAndIndependentOfOtherClasses) {
    const auto labels = labelsOf(3, 40);
    const auto alone = selectPerClass(labels, {1}, 5, 0, 3);
    const auto together = selectPerClass(labels, {0, 1, 2}, 5, 0, 3);
    for (const int64_t i : alone) {
        EXPECT_TRUE(std::binary_search(together.begin(), together.end(), i));
    }
    EXPECT_EQ(alone, selectPerClass(labels, {1}, 5, 0, 3));
    EXPECT_NE(alone, selectPerClass(labels, {1}, 5, 0, 4));
}

TEST(SelectPerClass, RejectsNegativeCountsAndRepeatedClasses) {
    const auto labels = labelsOf(3, 4);
    DLW_EXPECT_ERROR(selectPerClass(labels, {0}, -1, 0, 0), "negative");
    DLW_EXPECT_ERROR(selectPerClass(labels, {0, 2, 0}, 1, 0, 0), "class 0", "twice");
}

}  // namespace
}  // namespace dlw
