// The defining properties of the published baselines that run in the engine beside DualLoRA
// (#16): RanPAC's ridge head is the batch ridge solution on every image seen so far, whatever
// the order the tasks came in; SD-LoRA's earlier directions never change while their
// magnitudes keep learning, and freezing a task's LoRA into direction and magnitude leaves the
// model as it was. On Fashion-MNIST images through the test backbone.

#include "api/error.h"
#include "engine/continual_model.h"
#include "engine/task_data.h"
#include "engine_test_support.h"
#include "method/ridge_head.h"
#include "model/backbone.h"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

namespace dlw {
namespace {
using test::haveFashionMnist;
using test::smallExperiment;

struct Images {
    torch::Tensor images;  // [N, C, H, W]
    torch::Tensor labels;  // [N] global labels
};

Images load(const TaskData& data, const std::vector<int64_t>& indices) {
    BatchLoader loader(data.data.train, indices, 1024, data.evalTransform, false, 0);
    std::vector<torch::Tensor> images;
    std::vector<torch::Tensor> labels;
    while (auto b = loader.next()) {
        images.push_back(b->images);
        labels.push_back(b->labels);
    }
    return {torch::cat(images), torch::cat(labels)};
}

std::map<std::string, torch::Tensor> stateOf(ContinualModel& model) {
    std::map<std::string, torch::Tensor> out;
    for (auto& [name, tensor] : model.state()) {
        out[name] = tensor.clone();
    }
    return out;
}

// The ridge head fed task by task equals (G + λI)⁻¹ C computed at once from every image, in
// either task order, and its λ comes from RanPAC's grid.
TEST(RanPac, RidgeHeadIsTheBatchSolutionOnEverythingSeen) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const Experiment e = smallExperiment(MethodKind::RanPac);
    BackboneInfo info;
    VisionTransformer backbone = loadBackbone(e.backbone.path, &info);
    const TaskData data = prepareTaskData(e, info.arch);
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> features;
    std::vector<torch::Tensor> columns;  // classes in task order: task t has 2t, 2t + 1
    std::vector<torch::Tensor> valFeatures;
    std::vector<torch::Tensor> valColumns;
    for (std::size_t t = 0; t < data.tasks.size(); ++t) {
        const auto& task = data.tasks[t];
        auto toColumns = [&](const torch::Tensor& labels) {
            return (labels == task.classes[1]).to(torch::kInt64) + 2 * static_cast<int64_t>(t);
        };
        const Images train = load(data, task.train);
        const Images val = load(data, task.val);
        features.push_back(backbone->forwardFeatures(train.images));
        columns.push_back(toColumns(train.labels));
        valFeatures.push_back(backbone->forwardFeatures(val.images));
        valColumns.push_back(toColumns(val.labels));
    }
    const int64_t classes = 6;
    auto stream = [&](const std::vector<std::size_t>& order) {
        torch::manual_seed(3);  // the same W_rand
        RidgeHead head(info.arch.width, 128, classes, torch::kCPU);
        RidgeHead::Fit fit;
        std::vector<torch::Tensor> held;
        for (const auto& v : valFeatures) {
            held.push_back(head.project(v));
        }
        for (std::size_t t : order) {
            head.add(head.project(features[t]), columns[t]);
            fit = head.fit(held, valColumns, {}, {}, classes);
        }
        return std::make_pair(std::move(head), fit);
    };
    auto [head, fit] = stream({0, 1, 2});
    EXPECT_TRUE(fit.validationSplit);
    EXPECT_EQ(fit.heldOut, torch::cat(valFeatures).size(0));
    const auto grid = RidgeHead::lambdaGrid();
    EXPECT_NE(std::find(grid.begin(), grid.end(), fit.lambda), grid.end());
    const auto h = head.project(torch::cat(features)).to(torch::kFloat64);
    const auto y = torch::one_hot(torch::cat(columns), classes).to(torch::kFloat64);
    const auto batch = at::linalg_solve(
        torch::matmul(h.t(), h) + fit.lambda * torch::eye(h.size(1), torch::kFloat64),
        torch::matmul(h.t(), y));
    const auto probe = head.project(torch::cat(valFeatures));
    const auto expected = torch::matmul(probe.to(torch::kFloat64), batch).to(torch::kFloat32);
    const auto got = head.scores(probe, classes);
    EXPECT_LT((got - expected).abs().max().item<double>(),
              1e-3 * expected.abs().max().item<double>());
    // Tasks in reverse order: the same sums, the same λ, the same head.
    auto [reversed, reversedFit] = stream({2, 1, 0});
    EXPECT_EQ(reversedFit.lambda, fit.lambda);
    EXPECT_LT((reversed.scores(probe, classes) - got).abs().max().item<double>(),
              1e-4 * got.abs().max().item<double>());
    // A head that has seen every task predicts the held-out images well above chance (1/6).
    const auto right =
        head.scores(probe, classes).argmax(1).eq(torch::cat(valColumns)).to(torch::kFloat64);
    EXPECT_GT(right.mean().item<double>(), 0.6);
}

// Without a validation split the head falls back on RanPAC's 80/20 rule and says so; a
// checkpoint round trip restores λ, T and the scores, and a damaged temperature is refused.
TEST(RanPac, RidgeHeadFallsBackAndRestores) {
    torch::manual_seed(0);
    const auto f = torch::randn({60, 16});
    const auto cols = torch::arange(60, torch::kInt64).remainder(3);
    RidgeHead head(16, 32, 3, torch::kCPU);
    DLW_EXPECT_ERROR(head.fit({}, {}, {}, {}, 3), "no image was added");
    const auto h = head.project(f + cols.unsqueeze(1).to(torch::kFloat32));
    head.add(h, cols);
    const auto fit = head.fit({}, {}, {h}, {cols}, 3);
    EXPECT_FALSE(fit.validationSplit);
    EXPECT_EQ(fit.heldOut, 12);  // every fifth of 60
    EXPECT_GT(fit.temperature, 0);
    std::map<std::string, torch::Tensor> tensors;
    for (auto& [name, t] : head.state("ranpac.")) {
        tensors[name] = t.clone();
    }
    torch::manual_seed(99);  // another W_rand, overwritten by the restore
    RidgeHead back(16, 32, 3, torch::kCPU);
    back.restore(tensors, "ranpac.");
    EXPECT_EQ(back.lambda(), head.lambda());
    EXPECT_EQ(back.temperature(), head.temperature());
    EXPECT_TRUE(torch::equal(back.scores(back.project(f), 3), head.scores(head.project(f), 3)));
    tensors["ranpac.lambda_temperature"] = torch::tensor({1.0, -2.0}, torch::kFloat64);
    DLW_EXPECT_ERROR(back.restore(tensors, "ranpac."), "lambda_temperature", "damaged");
    tensors.erase("ranpac.G");
    DLW_EXPECT_ERROR(back.restore(tensors, "ranpac."), "lacks tensor 'ranpac.G'");
}

// SD-LoRA over three tasks: when a task starts, the previous LoRA becomes α D with the model
// unchanged; training then moves the new LoRA and every α but no earlier direction.
TEST(SdLora, EarlierDirectionsNeverChangeAndMagnitudesLearn) {
    if (!haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const Experiment e = smallExperiment(MethodKind::SdLora);
    BackboneInfo info;
    VisionTransformer backbone = loadBackbone(e.backbone.path, &info);
    const TaskData data = prepareTaskData(e, info.arch);
    torch::manual_seed(5);
    ContinualModel model(backbone, planMethod(e, info.arch),
                         {data.tasks[0].classes, data.tasks[1].classes, data.tasks[2].classes},
                         torch::kCPU);
    const Images probe = load(data, data.tasks[0].val);
    std::map<std::string, torch::Tensor> before;
    for (int t = 0; t < 3; ++t) {
        const auto& task = data.tasks[static_cast<std::size_t>(t)];
        const Images train = load(data, task.train);
        torch::Tensor logitsBefore;
        if (t > 0) {
            logitsBefore = model.predict(probe.images).logits;
        }
        model.beginTask({train.images});
        if (t > 0) {  // the switch to direction and magnitude changes nothing the model says
            const auto logitsAfter =
                model.predict(probe.images).logits.narrow(1, 0, logitsBefore.size(1));
            EXPECT_TRUE(torch::allclose(logitsAfter, logitsBefore, 1e-4, 1e-5)) << "task " << t;
        }
        const auto atStart = stateOf(model);
        const auto local = (train.labels == task.classes[1]).to(torch::kInt64);
        torch::optim::Adam adam(model.trainableParameters(), torch::optim::AdamOptions(1e-2));
        for (int s = 0; s < 5; ++s) {
            auto loss =
                torch::nn::functional::cross_entropy(model.trainLogits(train.images), local);
            adam.zero_grad();
            loss.backward();
            adam.step();
        }
        model.endTask({train.images}, {train.labels}, 0.95);
        const auto atEnd = stateOf(model);
        int directions = 0;
        int magnitudes = 0;
        for (const auto& [name, value] : atStart) {
            const bool direction =
                name.find("_Din") != std::string::npos || name.find("_Dout") != std::string::npos;
            const bool magnitude = name.find("_alpha") != std::string::npos;
            if (direction) {
                ++directions;
                EXPECT_TRUE(torch::equal(atEnd.at(name), value)) << name << " moved in task " << t;
                if (before.count(name) != 0) {
                    EXPECT_TRUE(torch::equal(before.at(name), value)) << name;
                }
            }
            if (magnitude) {
                ++magnitudes;
                EXPECT_FALSE(torch::equal(atEnd.at(name), value)) << name << " did not learn";
            }
            if (name.find("_A_O") != std::string::npos) {
                EXPECT_FALSE(torch::equal(atEnd.at(name), value)) << "the LoRA did not learn";
            }
        }
        const auto sites = std::count_if(atStart.begin(), atStart.end(), [](const auto& kv) {
            return kv.first.find("_A_O") != std::string::npos;
        });
        ASSERT_GT(sites, 0);
        EXPECT_EQ(directions, 2 * sites * t);
        EXPECT_EQ(magnitudes, sites * t);
        for (const auto& [name, value] : atEnd) {
            if (name.find("_Dout") != std::string::npos) {  // unit Frobenius norm of D = out inᵀ
                const auto in = atEnd.at(name.substr(0, name.size() - 4) + "Din");
                EXPECT_NEAR(torch::matmul(value, in.t()).norm().item<double>(), 1.0, 1e-4);
            }
        }
        before = atEnd;
    }
}

}  // namespace
}  // namespace dlw
