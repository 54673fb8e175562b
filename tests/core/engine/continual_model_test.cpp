#include "engine/continual_model.h"

#include "api/error.h"
#include "engine_test_support.h"
#include "model/backbone.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

const std::vector<std::vector<int64_t>> kTasks{{0, 1}, {2, 3}};

ContinualModel makeModel(const Experiment& e) {
    BackboneInfo info;
    VisionTransformer backbone = loadBackbone(e.backbone.path, &info);
    torch::manual_seed(5);  // the same A_O draw for every model made here
    return ContinualModel(backbone, planMethod(e, info.arch), kTasks, torch::Device("cpu"));
}

// A few Adam steps on the current task, from images or from their prefix outputs.
void trainSteps(ContinualModel& model,
                const torch::Tensor& input,
                const torch::Tensor& labels,
                bool prefixed) {
    torch::optim::Adam adam(model.trainableParameters(), torch::optim::AdamOptions(1e-2));
    for (int s = 0; s < 4; ++s) {
        auto loss =
            torch::nn::functional::cross_entropy(model.trainLogits(input, prefixed), labels);
        adam.zero_grad();
        loss.backward();
        const auto snapshot = model.beforeStep();
        adam.step();
        model.afterStep(snapshot);
    }
}

// The run trains and evaluates from the frozen prefix's outputs when it can: training, both
// memory passes, the statistics memory and prediction must then come out as they do from the
// images, over two tasks (so the projection, the second task's bases and the task posterior all
// take part).
TEST(ContinualModel, FrozenPrefixStandsInForTheImages) {
    const Experiment e = test::smallExperiment(MethodKind::DualLora);
    ContinualModel fromImages = makeModel(e);
    ContinualModel fromPrefix = makeModel(e);
    ASSERT_TRUE(fromPrefix.hasFrozenPrefix());
    torch::manual_seed(6);
    for (int t = 0; t < 2; ++t) {
        const auto images = torch::rand({24, 1, 28, 28});
        const auto labels = torch::randint(0, 2, {24}, torch::kInt64);
        const auto global = labels + 2 * t;
        const auto prefix = fromPrefix.frozenPrefix(images);
        EXPECT_FALSE(prefix.requires_grad());
        torch::manual_seed(7 + t);  // the new head's draw
        const auto warningsA = fromImages.beginTask({images});
        torch::manual_seed(7 + t);
        EXPECT_EQ(warningsA, fromPrefix.beginTask({prefix}, true));
        EXPECT_TRUE(torch::allclose(fromImages.trainLogits(images),
                                    fromPrefix.trainLogits(prefix, true), 1e-5, 1e-5));
        trainSteps(fromImages, images, labels, false);
        trainSteps(fromPrefix, prefix, labels, true);
        const auto a = fromImages.endTask({images}, {global}, 0.95);
        const auto b = fromPrefix.endTask({prefix}, {global}, 0.95, true);
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].size, b[i].size);
            EXPECT_NEAR(a[i].energyAfter, b[i].energyAfter, 1e-5);
        }
        const auto test = torch::rand({8, 1, 28, 28});
        const Prediction pa = fromImages.predict(test);
        const Prediction pb = fromPrefix.predict(test);
        EXPECT_TRUE(torch::allclose(pa.logits, pb.logits, 1e-4, 1e-4));
        EXPECT_TRUE(torch::allclose(pa.taskPosterior, pb.taskPosterior, 1e-4, 1e-4));
        EXPECT_TRUE(torch::allclose(pa.calibrated, pb.calibrated, 1e-4, 1e-4));
        // Evaluation keeps test images' prefix outputs across tasks: same numbers, bit for bit.
        const Prediction pc = fromPrefix.predict(fromPrefix.frozenPrefix(test), true);
        EXPECT_TRUE(torch::equal(pc.logits, pb.logits));
        EXPECT_TRUE(torch::equal(pc.taskPosterior, pb.taskPosterior));
        EXPECT_TRUE(torch::equal(pc.calibrated, pb.calibrated));
    }
}

// The evaluator keeps each test batch's task feature h from its first evaluation and passes it
// back to predict(): h must not change as tasks train (frozen weights alone make it), and a
// prediction with the kept h must equal one that computes it, bit for bit, for every feature.
TEST(ContinualModel, AKeptTaskFeatureGivesTheSamePrediction) {
    for (const auto feature : {TaskIdFeature::BlockInputAndCls, TaskIdFeature::BlockInput,
                               TaskIdFeature::ClsFrozenPass}) {
        SCOPED_TRACE(toString(feature));
        Experiment e = test::smallExperiment(MethodKind::DualLora);
        e.taskId.feature = feature;
        ContinualModel model = makeModel(e);
        torch::manual_seed(6);
        const auto test = torch::rand({8, 1, 28, 28});
        torch::Tensor kept;
        for (int t = 0; t < 2; ++t) {
            const auto images = torch::rand({24, 1, 28, 28});
            const auto labels = torch::randint(0, 2, {24}, torch::kInt64);
            model.beginTask({images});
            trainSteps(model, images, labels, false);
            model.endTask({images}, {labels + 2 * t}, 0.95);
            const auto h = model.frozenTaskFeature(test);
            ASSERT_TRUE(h.defined());
            if (!kept.defined()) {
                kept = h;
            }
            EXPECT_TRUE(torch::equal(h, kept));  // unchanged by task 2's training
            const Prediction computed = model.predict(test);
            const Prediction given = model.predict(test, false, kept);
            EXPECT_TRUE(torch::equal(given.logits, computed.logits));
            EXPECT_TRUE(torch::equal(given.taskPosterior, computed.taskPosterior));
            EXPECT_TRUE(torch::equal(given.calibrated, computed.calibrated));
            EXPECT_TRUE(torch::equal(given.ood, computed.ood));
            // The h given is the one used: another h is another distance to the classes.
            EXPECT_FALSE(torch::equal(model.predict(test, false, kept * 2).ood, computed.ood));
            if (model.hasFrozenPrefix()) {  // the evaluator's prefixed batches keep h too
                const auto prefix = model.frozenPrefix(test);
                const Prediction both =
                    model.predict(prefix, true, model.frozenTaskFeature(prefix, true));
                EXPECT_TRUE(torch::equal(both.calibrated, computed.calibrated));
            }
        }
    }
}

// With h from a second, adapter-free pass every block is adapted: nothing is frozen below the
// adapters, and asking for the prefix is an error rather than a wrong answer.
TEST(ContinualModel, NoFrozenPrefixWhenEveryBlockIsAdapted) {
    Experiment e = test::smallExperiment(MethodKind::DualLora);
    e.taskId.feature = TaskIdFeature::ClsFrozenPass;
    ContinualModel model = makeModel(e);
    EXPECT_FALSE(model.hasFrozenPrefix());
    const auto images = torch::rand({4, 1, 28, 28});
    DLW_EXPECT_ERROR(model.frozenPrefix(images), "no frozen prefix");
    DLW_EXPECT_ERROR(model.beginTask({images}, true), "without a frozen prefix");
    DLW_EXPECT_ERROR(model.predict(images, true), "without a frozen prefix");
}

}  // namespace
}  // namespace dlw
