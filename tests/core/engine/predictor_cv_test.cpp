#include "api/error.h"
#include "api/predictor.h"
#include "core/engine/engine_test_support.h"
#include "engine/task_data.h"
#include "model/backbone.h"

#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

// Writes test images of a run's tasks as PNG files, in the evaluator's order.
std::vector<std::filesystem::path> writeTaskImages(const Experiment& e,
                                                   int task,
                                                   const std::filesystem::path& dir) {
    BackboneInfo info;
    loadBackbone(e.backbone.path, &info);
    const TaskData data = prepareTaskData(e, info.arch);
    std::vector<std::filesystem::path> files;
    std::filesystem::create_directories(dir);
    for (int64_t index : data.evalIndices(task)) {
        const auto image = data.evalSet().pixels[index].contiguous();  // [H, W, 1] uint8
        const cv::Mat mat(static_cast<int>(image.size(0)), static_cast<int>(image.size(1)), CV_8UC1,
                          image.data_ptr<uint8_t>());
        files.push_back(dir / fmt::format("t{}-{}.png", task, index));
        EXPECT_TRUE(cv::imwrite(files.back().string(), mat));
    }
    return files;
}

struct Finished {
    std::filesystem::path dir;
    Experiment experiment;
    std::vector<Evaluation> evaluations;
};

const Finished& finishedRun() {
    static const Finished run = [] {
        Finished f;
        f.dir = test::tempDir("predictor") / "run";
        f.experiment = test::smallExperiment(MethodKind::DualLora);
        RunControl control;
        test::runWith(f.experiment, f.dir, control, false, [&](const Event& ev) {
            if (const auto* e = std::get_if<Evaluation>(&ev)) {
                f.evaluations.push_back(*e);
            }
        });
        return f;
    }();
    return run;
}

// The model reloaded from a task's checkpoint predicts exactly what the run measured with it:
// the same task confidence, bit for bit, for every test image of task 1.
TEST(Predictor, ReloadedCheckpointPredictsBitIdentically) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto& run = finishedRun();
    const auto files = writeTaskImages(run.experiment, 0, test::tempDir("predictor") / "t0");
    ASSERT_EQ(Predictor::availableTasks(run.dir), (std::vector<int>{1, 2, 3}));
    for (int after : {1, 3}) {
        Predictor predictor(run.dir, after);
        EXPECT_EQ(predictor.afterTask(), after);
        const auto predictions = predictor.predictFiles(files, 3);
        const Evaluation& ev = run.evaluations.at(static_cast<std::size_t>(after - 1));
        ASSERT_EQ(predictions.size(), files.size());
        for (std::size_t i = 0; i < files.size(); ++i) {
            const auto& p = predictions[i];
            ASSERT_TRUE(p.error.empty()) << p.error;
            EXPECT_TRUE(p.hasTaskIdentity);
            ASSERT_EQ(p.taskPosterior.size(), static_cast<std::size_t>(after));
            EXPECT_EQ(static_cast<float>(p.taskConfidence), ev.taskConfidence.at(i)) << i;
            EXPECT_EQ(p.predictedTask == 0, ev.taskCorrect.at(i)) << i;
            ASSERT_EQ(p.top.size(), std::min<std::size_t>(3, 2 * after));
            double calibrated = 0;
            for (const auto& c : p.top) {
                calibrated += c.calibrated.value();
            }
            EXPECT_LE(calibrated, 1 + 1e-6);
            EXPECT_GE(p.top[0].calibrated.value(), p.top.back().calibrated.value());
        }
    }
}

TEST(Predictor, AnUnreadableFileGetsAnErrorAndTheOthersArePredicted) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto& run = finishedRun();
    Predictor predictor(run.dir);
    EXPECT_EQ(predictor.afterTask(), 3);
    const auto images = test::fixturesDir() / "images";
    const auto p = predictor.predictFiles(
        {images / "not_an_image.png", images / "shirt_like.png", images / "missing.png"});
    ASSERT_EQ(p.size(), 3U);
    EXPECT_NE(p[0].error.find("not_an_image.png"), std::string::npos);
    EXPECT_TRUE(p[1].error.empty());
    EXPECT_EQ(p[1].top.size(), 5U);
    EXPECT_EQ(p[1].taskPosterior.size(), 3U);
    EXPECT_NE(p[2].error.find("missing.png"), std::string::npos);
}

TEST(Predictor, BadRunDirectoriesAndCheckpointsAreNamedErrors) {
    if (!test::haveFashionMnist()) {
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    const auto& run = finishedRun();
    DLW_EXPECT_ERROR(Predictor(run.dir, 4), "no checkpoint after task 4", "1, 2, 3");
    DLW_EXPECT_ERROR(Predictor(test::tempDir("predictor")), "not a run directory");
    // A truncated checkpoint: an error naming the file, and the run directory otherwise intact.
    const auto copy = test::tempDir("predictor") / "copy";
    std::filesystem::copy(run.dir, copy, std::filesystem::copy_options::recursive);
    const auto file = copy / "checkpoints" / "task-002.safetensors";
    std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
    DLW_EXPECT_ERROR(Predictor(copy, 2), "task-002.safetensors");
    Predictor stillFine(copy, 3);
    EXPECT_EQ(stillFine.afterTask(), 3);
}

}  // namespace
}  // namespace dlw
