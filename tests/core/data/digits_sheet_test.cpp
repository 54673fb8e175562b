#include "api/error.h"
#include "core/data/class_counts.h"
#include "data/dataset.h"
#include "test_support.h"

#ifdef DLW_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

// A 2000×1000 sheet whose cell (row r, column c) is filled with r * 5 + c % 5.
fs::path writeSheet(const fs::path& dir) {
    cv::Mat sheet(1000, 2000, CV_8UC1);
    for (int y = 0; y < 1000; ++y) {
        for (int x = 0; x < 2000; ++x) {
            sheet.at<uint8_t>(y, x) = static_cast<uint8_t>((y / 20) * 5 + (x / 20) % 5);
        }
    }
    const auto file = dir / "digits.png";
    EXPECT_TRUE(cv::imwrite(file.string(), sheet));
    return file;
}

TEST(DigitsSheet, CutsCellsAndLabelsFiveRowsPerDigit) {
    const auto file = writeSheet(test::tempDir("digits"));
    const auto data = readDigitsSheet(file, 0.2, /*seed=*/1);
    EXPECT_EQ(test::classCounts(data.train), std::vector<int64_t>(10, 400));
    EXPECT_EQ(test::classCounts(data.test), std::vector<int64_t>(10, 100));
    EXPECT_EQ(data.train.pixels.sizes(), (std::vector<int64_t>{4000, 20, 20, 1}));
    EXPECT_EQ(data.train.classNames[3], "3");
    for (const auto* part : {&data.train, &data.test}) {
        for (int64_t i = 0; i < part->size(); i += 97) {
            const int value = (*part).pixels[i][7][11][0].item<int>();
            EXPECT_EQ(value / 25, part->labels[static_cast<std::size_t>(i)]);  // row / 5
            EXPECT_EQ((*part).pixels[i][0][0][0].item<int>(), value);          // a uniform cell
        }
    }
}

TEST(DigitsSheet, SplitIsSeeded) {
    const auto file = writeSheet(test::tempDir("digits-seed"));
    const auto first = readDigitsSheet(file, 0.2, 5);
    EXPECT_TRUE(first.test.pixels.equal(readDigitsSheet(file, 0.2, 5).test.pixels));
    EXPECT_FALSE(first.test.pixels.equal(readDigitsSheet(file, 0.2, 6).test.pixels));
}

TEST(DigitsSheet, RejectsWrongSize) {
    const auto dir = test::tempDir("digits-size");
    ASSERT_TRUE(cv::imwrite((dir / "small.png").string(), cv::Mat(100, 300, CV_8UC1)));
    DLW_EXPECT_ERROR(readDigitsSheet(dir / "small.png", 0.2, 0), (dir / "small.png").string(),
                     "2000×1000", "found 300×100");
}

TEST(DigitsSheet, MissingFileNamesIt) {
    const auto file = test::tempDir("digits-missing") / "digits.png";
    DLW_EXPECT_ERROR(readDigitsSheet(file, 0.2, 0), file.string(), "does not exist");
}

TEST(DigitsSheet, ReadsInstalledSheet) {
    const fs::path file = "/usr/share/doc/opencv-doc/examples/data/digits.png";
    if (!fs::exists(file)) {
        GTEST_SKIP() << "OpenCV's digits sheet is not installed at " << file;
    }
    const auto data = readDigitsSheet(file, 0.2, 0);
    EXPECT_EQ(data.train.size() + data.test.size(), 5000);
    auto all = test::classCounts(data.train);
    const auto test = test::classCounts(data.test);
    for (std::size_t c = 0; c < 10; ++c) {
        all[c] += test[c];
    }
    EXPECT_EQ(all, std::vector<int64_t>(10, 500));
    EXPECT_EQ(data.train.pixels.sizes(), (std::vector<int64_t>{4000, 20, 20, 1}));
    EXPECT_GT(data.train.pixels.max().item<int>(), 200);  // ink is present
}

}  // namespace
}  // namespace dlw

#endif  // DLW_WITH_OPENCV
