// #17: the split manifest (split.json) names the exact images of each task, so that a reader can
// rebuild the split without the program: record numbers in the source file for data held in
// memory, checked here against OpenCV's own reading of the digits sheet.
#include "api/dataset_scan.h"
#include "api/error.h"
#include "api/run_folder.h"
#include "engine/task_data.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

TEST(SplitManifest, RecordNumbersPointAtTheSheetCellsTheRunUsed) {
    const auto sheet = defaultDataRoot(DataKind::Digits);
    if (!std::filesystem::exists(sheet)) {
        GTEST_SKIP() << "OpenCV's digits.png is not installed";
    }
    Experiment e;
    e.data.kind = DataKind::Digits;
    e.seed = 3;
    e.data.trainPerClass = 20;
    e.data.valPerClass = 5;
    e.data.testPerClass = 10;
    e.sequence.tasks = 2;
    e.sequence.classesPerTask = 3;
    e.sequence.classOrder = ClassOrder::Shuffle;
    BackboneArch arch;
    arch.imgSize = 28;
    arch.patchSize = 4;
    arch.inChans = 1;
    const TaskData data = prepareTaskData(e, arch);
    const auto manifest = splitManifest(e, data);
    EXPECT_EQ(manifest.at("data").at("images_as"), "records");
    EXPECT_EQ(manifest.at("evaluated_on"), "test");
    const cv::Mat cells = cv::imread(sheet.string(), cv::IMREAD_GRAYSCALE);  // the reference
    ASSERT_EQ(cells.cols, 2000);
    ASSERT_EQ(manifest.at("tasks").size(), 2U);
    for (std::size_t t = 0; t < 2; ++t) {
        const auto& task = manifest.at("tasks").at(t);
        const TaskSplit& split = data.tasks[t];
        ASSERT_EQ(task.at("classes").size(), 3U);
        for (std::size_t k = 0; k < 3; ++k) {
            EXPECT_EQ(task.at("classes").at(k).at("label").get<int64_t>(), split.classes[k]);
        }
        ASSERT_EQ(task.at("train").size(), 60U);
        ASSERT_EQ(task.at("val").size(), 15U);
        ASSERT_EQ(task.at("test").size(), 30U);
        const auto check = [&](const char* part, const ImageDataset& set,
                               const std::vector<int64_t>& indices) {
            for (std::size_t i = 0; i < indices.size(); ++i) {
                const auto record = task.at(part).at(i).get<int64_t>();
                ASSERT_GE(record, 0);
                ASSERT_LT(record, 5000);
                // Cell r of the sheet: row r / 100, column r % 100, digit row / 5.
                const int row = static_cast<int>(record / 100);
                const int column = static_cast<int>(record % 100);
                EXPECT_EQ(row / 5, set.labels[static_cast<std::size_t>(indices[i])]);
                const cv::Mat cell = cells(cv::Rect(column * 20, row * 20, 20, 20));
                const auto pixels = set.pixels[indices[i]];  // [20, 20, 1] uint8
                int worst = 0;
                for (int y = 0; y < 20; ++y) {
                    for (int x = 0; x < 20; ++x) {
                        worst = std::max(
                            worst, std::abs(cell.at<uint8_t>(y, x) - pixels[y][x][0].item<int>()));
                    }
                }
                EXPECT_LE(worst, 1) << part << " record " << record;  // grey conversions round
            }
        };
        check("train", data.data.train, split.train);
        check("val", data.data.train, split.val);
        check("test", data.data.test, split.test);
    }

    // What the window and reports read back from a run folder.
    const auto dir = test::tempDir("split-manifest");
    test::writeBytes(dir / run_files::kSplit, manifest.dump());
    const auto back = readRunSplit(dir);
    ASSERT_TRUE(back.has_value());
    EXPECT_FALSE(back->paths);
    EXPECT_EQ(back->trainSource, sheet.string());
    ASSERT_EQ(back->tasks.size(), 2U);
    EXPECT_EQ(back->tasks[1].train.front(),
              std::to_string(manifest["tasks"][1]["train"][0].get<int64_t>()));
    EXPECT_EQ(back->tasks[0].classNames.size(), 3U);

    EXPECT_FALSE(readRunSplit(test::tempDir("split-none")).has_value());  // an older run
    test::writeBytes(dir / run_files::kSplit, R"({"format": 1, "data": {}})");
    try {
        readRunSplit(dir);
        ADD_FAILURE() << "a malformed manifest was read";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("split.json"), std::string::npos) << err.what();
    }
}

}  // namespace
}  // namespace dlw
