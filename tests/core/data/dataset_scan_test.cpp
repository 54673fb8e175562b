#include "api/dataset_scan.h"

#include "api/error.h"
#include "core/data/data_test_support.h"
#include "test_support.h"

#include <fstream>

#ifdef DLW_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

namespace dlw {
namespace {

namespace fs = std::filesystem;

using test::bigEndian;

// A Fashion-MNIST-shaped folder of raw idx files: 3 train images, 2 test images of 2×3 pixels.
fs::path writeSmallFashion() {
    const auto dir = test::tempDir("scan-fashion");
    const auto images = [](uint32_t n) {
        return bigEndian(0x803) + bigEndian(n) + bigEndian(2) + bigEndian(3) +
               std::string(n * 6, '\x7f');
    };
    std::ofstream(dir / "train-images-idx3-ubyte", std::ios::binary) << images(3);
    std::ofstream(dir / "train-labels-idx1-ubyte", std::ios::binary)
        << bigEndian(0x801) + bigEndian(3) + std::string{'\x01', '\x01', '\x09'};
    std::ofstream(dir / "t10k-images-idx3-ubyte", std::ios::binary) << images(2);
    std::ofstream(dir / "t10k-labels-idx1-ubyte", std::ios::binary)
        << bigEndian(0x801) + bigEndian(2) + std::string{'\x00', '\x01'};
    return dir;
}

TEST(DataKind, NamesRoundTrip) {
    for (const auto kind : {DataKind::FashionMnist, DataKind::Digits, DataKind::Cifar100,
                            DataKind::ImageFolder, DataKind::FileList}) {
        EXPECT_EQ(parseDataKind(toString(kind)), kind);
    }
    EXPECT_EQ(toString(DataKind::ImageFolder), "image-folder");
    EXPECT_EQ(toString(DataKind::FileList), "file-list");  // #16
    DLW_EXPECT_ERROR(parseDataKind("mnist"), "data.kind", "'mnist'", "fashion-mnist", "file-list");
}

TEST(DataKind, DefaultRootsAreDebianPaths) {
    EXPECT_EQ(defaultDataRoot(DataKind::FashionMnist), "/usr/share/datasets/fashion-mnist");
    EXPECT_EQ(defaultDataRoot(DataKind::Digits).filename(), "digits.png");
    EXPECT_TRUE(defaultDataRoot(DataKind::ImageFolder).empty());
}

TEST(DatasetScan, SummarisesIdxFolder) {
    const auto dir = writeSmallFashion();
    const auto summary = scanDataset(DataKind::FashionMnist, dir);
    EXPECT_EQ(summary.root, dir.string());
    ASSERT_EQ(summary.classNames.size(), 10U);
    EXPECT_EQ(summary.trainCounts, (std::vector<int64_t>{0, 2, 0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(summary.testCounts, (std::vector<int64_t>{1, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(summary.imageHeight, 2);
    EXPECT_EQ(summary.imageWidth, 3);
    EXPECT_EQ(summary.channels, 1);
    EXPECT_TRUE(summary.warnings.empty());
}

TEST(DatasetScan, CancelThrows) {
    const auto dir = writeSmallFashion();
    DLW_EXPECT_ERROR(
        scanDataset(DataKind::FashionMnist, dir, [](int64_t, int64_t) { return false; }),
        "scan cancelled");
}

TEST(DatasetScan, MissingRootNamesIt) {
    const auto dir = test::tempDir("scan-missing") / "absent";
    DLW_EXPECT_ERROR(scanDataset(DataKind::Cifar100, dir), dir.string(), "not found");
    DLW_EXPECT_ERROR(scanDataset(DataKind::ImageFolder, ""), "data.root", "image-folder");
}

#ifdef DLW_WITH_OPENCV
TEST(DatasetScan, SummarisesImageFolderWithWarnings) {
    const auto root = test::tempDir("scan-folder");
    for (const std::string name : {"x", "y"}) {
        fs::create_directories(root / name);
        for (int k = 0; k < 5; ++k) {
            cv::imwrite((root / name / (std::to_string(k) + ".png")).string(),
                        cv::Mat(4, 4, CV_8UC1, cv::Scalar(k)));
        }
    }
    std::ofstream(root / "y" / "bad.png") << "garbage";
    int64_t lastTotal = 0;
    const auto summary = scanDataset(DataKind::ImageFolder, root, [&](int64_t, int64_t total) {
        lastTotal = total;
        return true;
    });
    EXPECT_EQ(summary.classNames, (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(summary.trainCounts, (std::vector<int64_t>{4, 4}));
    EXPECT_EQ(summary.testCounts, (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(summary.imageHeight, 0);  // decoded on demand: sizes may differ
    EXPECT_EQ(lastTotal, 11);
    ASSERT_EQ(summary.warnings.size(), 1U);
    EXPECT_EQ(summary.warnings[0].file, (root / "y" / "bad.png").string());
}
#endif

}  // namespace
}  // namespace dlw
