#include "api/error.h"
#include "core/data/data_test_support.h"
#include "data/dataset.h"
#include "test_support.h"

#include <fstream>
#include <zlib.h>

namespace dlw {
namespace {

namespace fs = std::filesystem;

using test::bigEndian;

std::string imageFile(uint32_t count, uint32_t rows, uint32_t cols, uint32_t magic = 0x803) {
    std::string bytes = bigEndian(magic) + bigEndian(count) + bigEndian(rows) + bigEndian(cols);
    for (uint32_t i = 0; i < count * rows * cols; ++i) {
        bytes.push_back(static_cast<char>(i % 251));
    }
    return bytes;
}

std::string labelFile(const std::vector<uint8_t>& labels) {
    std::string bytes = bigEndian(0x801) + bigEndian(static_cast<uint32_t>(labels.size()));
    bytes.append(labels.begin(), labels.end());
    return bytes;
}

void writeGz(const fs::path& path, const std::string& bytes) {
    gzFile file = gzopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(file);
}

const std::vector<uint8_t> kLabels = {3, 0, 1, 3, 2};

void expectFiveImages(const ImageDataset& data) {
    ASSERT_EQ(data.size(), 5);
    EXPECT_EQ(data.labels, (std::vector<int64_t>{3, 0, 1, 3, 2}));
    ASSERT_TRUE(data.inMemory());
    EXPECT_EQ(data.pixels.sizes(), (std::vector<int64_t>{5, 4, 3, 1}));
    EXPECT_EQ(data.pixels[0][0][0][0].item<int>(), 0);
    EXPECT_EQ(data.pixels[1][0][1][0].item<int>(), 13);  // byte 12 + 1 of the payload
    EXPECT_EQ(data.pixels[4][3][2][0].item<int>(), 59);
}

TEST(IdxReader, ReadsRawFiles) {
    const auto dir = test::tempDir("idx-raw");
    test::writeBytes(dir / "images", imageFile(5, 4, 3));
    test::writeBytes(dir / "labels", labelFile(kLabels));
    const auto data = readIdx(dir / "images", dir / "labels", {"a", "b", "c", "d"});
    expectFiveImages(data);
    EXPECT_EQ(data.classNames.size(), 4U);
}

TEST(IdxReader, ReadsGzipFiles) {
    const auto dir = test::tempDir("idx-gz");
    writeGz(dir / "images.gz", imageFile(5, 4, 3));
    writeGz(dir / "labels.gz", labelFile(kLabels));
    const auto data = readIdx(dir / "images.gz", dir / "labels.gz", {});
    expectFiveImages(data);
    EXPECT_EQ(data.classNames, (std::vector<std::string>{"0", "1", "2", "3"}));
}

TEST(IdxReader, RejectsTruncatedImages) {
    const auto dir = test::tempDir("idx-truncated");
    auto bytes = imageFile(5, 4, 3);
    bytes.resize(bytes.size() - 10);
    writeGz(dir / "images.gz", bytes);
    test::writeBytes(dir / "labels", labelFile(kLabels));
    DLW_EXPECT_ERROR(readIdx(dir / "images.gz", dir / "labels", {}), (dir / "images.gz").string(),
                     "truncated", "60 bytes", "found 50");
}

TEST(IdxReader, RejectsTrailingBytes) {
    const auto dir = test::tempDir("idx-long");
    test::writeBytes(dir / "images", imageFile(5, 4, 3) + "xyz");
    test::writeBytes(dir / "labels", labelFile(kLabels));
    DLW_EXPECT_ERROR(readIdx(dir / "images", dir / "labels", {}), (dir / "images").string(),
                     "more data than the header promises");
}

TEST(IdxReader, RejectsWrongMagic) {
    const auto dir = test::tempDir("idx-magic");
    test::writeBytes(dir / "images", imageFile(5, 4, 3, /*magic=*/0x801));
    test::writeBytes(dir / "labels", labelFile(kLabels));
    DLW_EXPECT_ERROR(readIdx(dir / "images", dir / "labels", {}), (dir / "images").string(),
                     "magic number 0x00000801", "0x00000803");
}

TEST(IdxReader, RejectsImageLabelCountMismatch) {
    const auto dir = test::tempDir("idx-count");
    test::writeBytes(dir / "images", imageFile(5, 4, 3));
    test::writeBytes(dir / "labels", labelFile({1, 2, 3, 4}));
    DLW_EXPECT_ERROR(readIdx(dir / "images", dir / "labels", {}), (dir / "images").string(),
                     (dir / "labels").string(), "5 images", "4 labels");
}

TEST(IdxReader, RejectsLabelBeyondClassNames) {
    const auto dir = test::tempDir("idx-label");
    test::writeBytes(dir / "images", imageFile(5, 4, 3));
    test::writeBytes(dir / "labels", labelFile(kLabels));
    DLW_EXPECT_ERROR(readIdx(dir / "images", dir / "labels", {"a", "b"}), (dir / "labels").string(),
                     "label 3");
}

TEST(IdxReader, RejectsMissingFile) {
    const auto dir = test::tempDir("idx-missing");
    DLW_EXPECT_ERROR(readIdx(dir / "nope", dir / "labels", {}), (dir / "nope").string(),
                     "not found");
}

TEST(FashionMnist, ReadsFolderOfRawAndGzipFiles) {
    const auto dir = test::tempDir("fashion-small");
    writeGz(dir / "train-images-idx3-ubyte.gz", imageFile(5, 4, 3));
    writeGz(dir / "train-labels-idx1-ubyte.gz", labelFile(kLabels));
    test::writeBytes(dir / "t10k-images-idx3-ubyte", imageFile(2, 4, 3));
    test::writeBytes(dir / "t10k-labels-idx1-ubyte", labelFile({9, 8}));
    const auto data = readFashionMnist(dir);
    expectFiveImages(data.train);
    EXPECT_EQ(data.test.labels, (std::vector<int64_t>{9, 8}));
    ASSERT_EQ(data.train.classNames.size(), 10U);
    EXPECT_EQ(data.train.classNames[0], "T-shirt/top");
    EXPECT_EQ(data.train.classNames[9], "Ankle boot");
}

TEST(FashionMnist, MissingFolderNamesIt) {
    const auto dir = test::tempDir("fashion-missing") / "absent";
    DLW_EXPECT_ERROR(readFashionMnist(dir), dir.string(), "not found");
}

// #14 (fuzz_idx): three sizes of 2^32 - 1 overflowed int64 in the plausibility check.
TEST(IdxReader, RejectsSizesWhoseProductOverflows) {
    const auto dir = test::tempDir("idx-overflow");
    const uint32_t huge = 0xFFFFFFFFU;
    test::writeBytes(dir / "images",
                     bigEndian(0x803) + bigEndian(huge) + bigEndian(huge) + bigEndian(huge));
    test::writeBytes(dir / "labels", labelFile(kLabels));
    DLW_EXPECT_ERROR(readIdx(dir / "images", dir / "labels", {}), (dir / "images").string(),
                     "implausible idx image sizes 4294967295 × 4294967295 × 4294967295");
}

// #14: a header that promises more than the file can hold even as gzip is refused before the
// buffer for it is allocated.
TEST(IdxReader, RejectsHeaderPromisingMoreThanTheFileHolds) {
    const auto dir = test::tempDir("idx-promise");
    test::writeBytes(dir / "images",
                     bigEndian(0x803) + bigEndian(1000) + bigEndian(100) + bigEndian(100));
    test::writeBytes(dir / "labels", labelFile(kLabels));
    DLW_EXPECT_ERROR(readIdx(dir / "images", dir / "labels", {}), (dir / "images").string(),
                     "1000 images of 100×100 = 10000000 bytes", "16-byte file");
    test::writeBytes(dir / "images", imageFile(5, 4, 3));
    test::writeBytes(dir / "labels", bigEndian(0x801) + bigEndian(100000000));
    DLW_EXPECT_ERROR(readIdx(dir / "images", dir / "labels", {}), (dir / "labels").string(),
                     "100000000 labels", "8-byte file");
}

TEST(FashionMnist, MissingFileNamesIt) {
    const auto dir = test::tempDir("fashion-partial");
    DLW_EXPECT_ERROR(readFashionMnist(dir), (dir / "train-images-idx3-ubyte").string(),
                     "not found");
}

TEST(FashionMnist, ReadsInstalledDataset) {
    const fs::path root = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(root / "train-images-idx3-ubyte.gz")) {
        GTEST_SKIP() << "Fashion-MNIST is not installed at " << root;
    }
    const auto data = readFashionMnist(root);
    EXPECT_EQ(data.train.size(), 60000);
    EXPECT_EQ(data.test.size(), 10000);
    EXPECT_EQ(data.train.pixels.sizes(), (std::vector<int64_t>{60000, 28, 28, 1}));
    ASSERT_EQ(data.train.classNames.size(), 10U);
    std::vector<int64_t> train(10, 0);
    std::vector<int64_t> test(10, 0);
    for (const int64_t label : data.train.labels) {
        ++train[static_cast<std::size_t>(label)];
    }
    for (const int64_t label : data.test.labels) {
        ++test[static_cast<std::size_t>(label)];
    }
    EXPECT_EQ(train, std::vector<int64_t>(10, 6000));
    EXPECT_EQ(test, std::vector<int64_t>(10, 1000));
}

}  // namespace
}  // namespace dlw
