#include "api/error.h"
#include "data/dataset.h"
#include "test_support.h"

#include <fstream>

namespace dlw {
namespace {

namespace fs = std::filesystem;

constexpr int kPlane = 32 * 32;

// Record i: coarse label 7, the given fine label, R = (i + p) % 256, G = 100 + i, B = p / 32.
std::string record(int i, int fine) {
    std::string bytes = {static_cast<char>(7), static_cast<char>(fine)};
    for (int p = 0; p < kPlane; ++p) {
        bytes.push_back(static_cast<char>((i + p) % 256));
    }
    bytes.append(kPlane, static_cast<char>(100 + i));
    for (int p = 0; p < kPlane; ++p) {
        bytes.push_back(static_cast<char>(p / 32));
    }
    return bytes;
}

TEST(Cifar100Reader, ReadsRecordsAsRgbImages) {
    const auto dir = test::tempDir("cifar-file");
    test::writeBytes(dir / "train.bin", record(0, 5) + record(1, 99) + record(2, 0));
    const auto data = readCifar100File(dir / "train.bin", {});
    ASSERT_EQ(data.size(), 3);
    EXPECT_EQ(data.labels, (std::vector<int64_t>{5, 99, 0}));
    EXPECT_EQ(data.pixels.sizes(), (std::vector<int64_t>{3, 32, 32, 3}));
    ASSERT_EQ(data.classNames.size(), 100U);
    EXPECT_EQ(data.classNames[99], "class_99");
    // Pixel (y = 2, x = 5) of record 1 is plane position p = 69.
    EXPECT_EQ(data.pixels[1][2][5][0].item<int>(), 70);
    EXPECT_EQ(data.pixels[1][2][5][1].item<int>(), 101);
    EXPECT_EQ(data.pixels[1][2][5][2].item<int>(), 2);
}

TEST(Cifar100Reader, ReadsTrainTestAndFineLabelNames) {
    const auto dir = test::tempDir("cifar-root");
    test::writeBytes(dir / "train.bin", record(0, 1) + record(1, 2) + record(2, 3));
    test::writeBytes(dir / "test.bin", record(3, 4));
    std::ofstream names(dir / "fine_label_names.txt");
    for (int c = 0; c < 100; ++c) {
        names << "name" << c << "\n";
    }
    names << "\n";
    names.close();
    const auto data = readCifar100(dir);
    EXPECT_EQ(data.train.size(), 3);
    EXPECT_EQ(data.test.labels, (std::vector<int64_t>{4}));
    EXPECT_EQ(data.train.classNames[4], "name4");
    EXPECT_EQ(data.test.classNames.size(), 100U);
}

TEST(Cifar100Reader, RejectsSizeNotMultipleOfRecord) {
    const auto dir = test::tempDir("cifar-size");
    test::writeBytes(dir / "train.bin", record(0, 1) + record(1, 2).substr(0, 1000));
    DLW_EXPECT_ERROR(readCifar100File(dir / "train.bin", {}), (dir / "train.bin").string(),
                     "4074 bytes", "3074-byte");
}

TEST(Cifar100Reader, RejectsFineLabelOutOfRange) {
    const auto dir = test::tempDir("cifar-label");
    test::writeBytes(dir / "train.bin", record(0, 1) + record(1, 120));
    DLW_EXPECT_ERROR(readCifar100File(dir / "train.bin", {}), (dir / "train.bin").string(),
                     "record 1", "fine label 120");
}

TEST(Cifar100Reader, RejectsWrongNumberOfNames) {
    const auto dir = test::tempDir("cifar-names");
    test::writeBytes(dir / "train.bin", record(0, 1));
    test::writeBytes(dir / "test.bin", record(0, 1));
    test::writeBytes(dir / "fine_label_names.txt", "apple\nbanana\n");
    DLW_EXPECT_ERROR(readCifar100(dir), (dir / "fine_label_names.txt").string(), "found 2");
}

TEST(Cifar100Reader, MissingRootNamesIt) {
    const auto dir = test::tempDir("cifar-missing") / "absent";
    DLW_EXPECT_ERROR(readCifar100(dir), dir.string(), "not found");
}

}  // namespace
}  // namespace dlw
