// #16: the synthetic domains of sequence.domains, each by its defining property, and their
// place in a run's data: every image of a task's classes, training and test, in its domain.
#include "data/image_domain.h"

#include "api/error.h"
#include "api/experiment.h"
#include "core/engine/engine_test_support.h"
#include "data/dataset.h"
#include "engine/run_model.h"
#include "engine/task_data.h"
#include "model/backbone.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

torch::Tensor randomImageTensor(int64_t n, int64_t size, int64_t channels, uint64_t seed) {
    torch::manual_seed(seed);
    return torch::randint(0, 256, {n, size, size, channels}, torch::kUInt8);
}

TEST(ImageDomain, InvertedRotatedAndOriginalAreExactPixelMaps) {
    const auto x = randomImageTensor(3, 8, 1, 1);
    EXPECT_TRUE(torch::equal(applyImageDomain(x, "original", 0), x));
    EXPECT_TRUE(torch::equal(applyImageDomain(x, "inverted", 0), 255 - x));
    const auto r = applyImageDomain(x, "rotated", 0);
    // A quarter turn counter-clockwise: the top row becomes the left column, bottom to top.
    for (int64_t i = 0; i < 8; ++i) {
        EXPECT_EQ(r[0][7 - i][0][0].item<int>(), x[0][0][i][0].item<int>()) << i;
    }
    auto back = r;
    for (int k = 0; k < 3; ++k) {
        back = applyImageDomain(back, "rotated", 0);
    }
    EXPECT_TRUE(torch::equal(back, x));
    const auto colour = randomImageTensor(2, 6, 3, 2);
    EXPECT_TRUE(torch::equal(applyImageDomain(colour, "inverted", 0), 255 - colour));
}

TEST(ImageDomain, BlurredNoisyIsSeededAndHasTheStatedNoise) {
    const auto flat = torch::full({4, 32, 32, 1}, 128, torch::kUInt8);
    const auto a = applyImageDomain(flat, "blurred-noisy", 5);
    EXPECT_TRUE(torch::equal(a, applyImageDomain(flat, "blurred-noisy", 5)));
    EXPECT_FALSE(torch::equal(a, applyImageDomain(flat, "blurred-noisy", 6)));
    // The blur leaves a flat image flat: what is left is the noise, σ 20 grey levels.
    const auto noise = a.to(torch::kFloat64) - 128;
    EXPECT_NEAR(noise.mean().item<double>(), 0.0, 1.0);
    EXPECT_NEAR(noise.std().item<double>(), 20.0, 1.0);
    // A step is smoothed: the column next to it is between its two levels.
    auto step = torch::zeros({1, 16, 16, 1}, torch::kUInt8);
    step.narrow(2, 8, 8).fill_(200);
    const auto blurred = applyImageDomain(step, "blurred-noisy", 1).to(torch::kFloat64);
    const double beside = blurred.select(2, 7).mean().item<double>();
    EXPECT_GT(beside, 30);
    EXPECT_LT(beside, 170);
}

TEST(ImageDomain, EdgesMarkTheStepAndNothingElse) {
    auto step = torch::zeros({2, 16, 16, 3}, torch::kUInt8);
    step.narrow(2, 8, 8).fill_(100);
    const auto e = applyImageDomain(step, "edges", 0);
    ASSERT_EQ(e.sizes(), step.sizes());
    EXPECT_EQ(e.max().item<int>(), 255);              // scaled per image
    EXPECT_EQ(e.select(2, 2).max().item<int>(), 0);   // flat dark part
    EXPECT_EQ(e.select(2, 13).max().item<int>(), 0);  // flat bright part
    EXPECT_EQ(e.select(2, 8).min().item<int>(), 255);
    const auto flat = torch::full({1, 8, 8, 1}, 77, torch::kUInt8);
    EXPECT_EQ(applyImageDomain(flat, "edges", 0).max().item<int>(), 0);
}

TEST(ImageDomain, BadInputIsANamedError) {
    const auto x = randomImageTensor(1, 8, 1, 3);
    EXPECT_THROW(applyImageDomain(x, "sepia", 0), Error);
    EXPECT_THROW(applyImageDomain(x.to(torch::kFloat32), "inverted", 0), Error);
    EXPECT_THROW(applyImageDomain(torch::zeros({1, 8, 6, 1}, torch::kUInt8), "rotated", 0), Error);
    EXPECT_THROW(applyImageDomain(torch::zeros({1, 8, 8, 2}, torch::kUInt8), "edges", 0), Error);
}

TEST(ImageDomain, ExperimentKeyIsCheckedAgainstTheSequenceAndTheDataset) {
    Experiment e = preset("domain-shift");
    EXPECT_EQ(e.sequence.domains.size(), static_cast<std::size_t>(e.sequence.tasks));
    EXPECT_NO_THROW(validateExperiment(e));
    const auto problem = [](Experiment x, const std::string& assignment) -> std::string {
        try {
            applyOverrides(x, {assignment});
        } catch (const Error& err) {
            return err.what();
        }
        return "";
    };
    EXPECT_NE(problem(e, "sequence.tasks=4").find("one entry per task"), std::string::npos);
    EXPECT_NE(problem(e, R"(sequence.domains=["original","sepia"])").find("sepia"),
              std::string::npos);
    EXPECT_NE(problem(e, R"(data.kind="image-folder")").find("held in memory"), std::string::npos);
    EXPECT_EQ(problem(e, "sequence.domains=[]"), "");
    const Experiment parsed = experimentFromJsonText(toJsonText(e), "round trip");
    EXPECT_EQ(parsed, e);
}

// The run's data: task t's classes, in the training and in the test part, are the dataset's
// images rendered in domain t; the other classes are untouched.
TEST(ImageDomain, EveryImageOfATasksClassesIsInItsDomain) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    Experiment e = preset("domain-shift");
    e.sequence.tasks = 3;
    e.sequence.domains = {"inverted", "original", "rotated"};
    BackboneInfo info;
    loadBackbone(runBackbonePath(e), &info);
    const TaskData data = prepareTaskData(e, info.arch);
    const TrainTestData raw = readDataset(DataKind::FashionMnist, "", e.seed);
    for (const auto part : {&TrainTestData::train, &TrainTestData::test}) {
        const ImageDataset& got = data.data.*part;
        const ImageDataset& base = raw.*part;
        ASSERT_EQ(got.size(), base.size());
        for (int64_t i = 0; i < got.size(); i += 97) {
            const int64_t label = got.labels[static_cast<std::size_t>(i)];
            const auto before = base.pixels[i].unsqueeze(0);
            const auto after = got.pixels[i].unsqueeze(0);
            const char* domain = label < 2   ? "inverted"
                                 : label < 4 ? "original"
                                 : label < 6 ? "rotated"
                                             : "original";
            EXPECT_TRUE(torch::equal(after, applyImageDomain(before, domain, 0))) << i;
        }
    }
}

}  // namespace
}  // namespace dlw
