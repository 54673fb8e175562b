#include "data/image_transform.h"

#include "api/error.h"
#include "core/data/data_test_support.h"
#include "data/batch_loader.h"
#include "test_support.h"

#include <array>
#include <fstream>

#ifdef DLW_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

namespace dlw {
namespace {

namespace F = torch::nn::functional;

using test::sized;

// An in-memory dataset of `count` random images [H, W, C].
ImageDataset randomImages(int64_t count, int64_t height, int64_t width, int64_t channels) {
    torch::manual_seed(0);
    ImageDataset data;
    data.source = "memory";
    data.pixels = torch::randint(0, 256, {count, height, width, channels}, torch::kUInt8);
    data.labels.assign(static_cast<std::size_t>(count), 0);
    data.classNames = {"only"};
    return data;
}

torch::Tensor asFloat(const ImageDataset& data, int64_t index) {
    return data.pixels[index].permute({2, 0, 1}).to(torch::kFloat) / 255.0;  // [C, H, W]
}

TEST(LoadImage, RepeatsGreyIntoThreeChannels) {
    const auto data = randomImages(2, 28, 28, 1);
    const auto image = loadImage(data, 1, sized(28, 3), false, 0);
    ASSERT_EQ(image.sizes(), (std::vector<int64_t>{3, 28, 28}));
    EXPECT_TRUE(image[0].equal(image[1]));
    EXPECT_TRUE(image[0].equal(image[2]));
    EXPECT_TRUE(torch::allclose(image[0], asFloat(data, 1)[0]));
}

TEST(LoadImage, ReducesRgbToGreyByLuminance) {
    const auto data = randomImages(1, 5, 5, 3);
    const auto image = loadImage(data, 0, sized(5, 1), false, 0);
    const auto rgb = asFloat(data, 0);
    const auto expected = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
    ASSERT_EQ(image.sizes(), (std::vector<int64_t>{1, 5, 5}));
    EXPECT_TRUE(torch::allclose(image[0], expected, /*rtol=*/1e-5, /*atol=*/1e-6));
}

TEST(LoadImage, GrowsBilinearly20To28) {
    const auto data = randomImages(1, 20, 20, 1);
    const auto image = loadImage(data, 0, sized(28, 1), false, 0);
    const auto expected =
        F::interpolate(asFloat(data, 0).unsqueeze(0), F::InterpolateFuncOptions()
                                                          .size(std::vector<int64_t>{28, 28})
                                                          .mode(torch::kBilinear)
                                                          .align_corners(false));
    EXPECT_TRUE(torch::allclose(image, expected[0], 1e-5, 1e-6));
}

TEST(LoadImage, ShrinksByArea32To28) {
    const auto data = randomImages(1, 32, 32, 3);
    const auto image = loadImage(data, 0, sized(28, 3), false, 0);
    const auto expected = F::interpolate(
        asFloat(data, 0).unsqueeze(0),
        F::InterpolateFuncOptions().size(std::vector<int64_t>{28, 28}).mode(torch::kArea));
    EXPECT_TRUE(torch::allclose(image, expected[0], 1e-5, 1e-6));
}

TEST(LoadImage, ResizeMatchesTorchForOddShapes) {
    torch::manual_seed(1);
    const std::vector<std::array<int64_t, 4>> shapes = {
        {7, 13, 5, 4}, {9, 9, 9, 9}, {3, 5, 11, 12}, {224, 187, 32, 32}, {1, 1, 4, 4}};
    for (const auto& [inH, inW, outH, outW] : shapes) {
        const auto input = torch::rand({1, 1, inH, inW});
        const bool area = outH <= inH && outW <= inW;
        auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{outH, outW});
        if (area) {
            options.mode(torch::kArea);
        } else {
            options.mode(torch::kBilinear).align_corners(false);
        }
        const auto expected = F::interpolate(input, options);
        auto output = torch::empty({1, 1, outH, outW});
        detail::resizePlane(input.data_ptr<float>(), inH, inW, output.data_ptr<float>(), outH, outW,
                            area);
        EXPECT_TRUE(torch::allclose(output, expected, 1e-5, 1e-6))
            << inH << "×" << inW << " → " << outH << "×" << outW;
    }
}

TEST(LoadImage, ValuesStayInUnitRange) {
    const auto data = randomImages(3, 32, 20, 3);
    for (const bool augment : {false, true}) {
        ImageTransform transform = sized(24, 3);
        transform.flip = true;
        transform.randomResizedCrop = true;
        const auto image = loadImage(data, 2, transform, augment, 9);
        EXPECT_GE(image.min().item<float>(), 0.0F);
        EXPECT_LE(image.max().item<float>(), 1.0F);
    }
}

TEST(LoadImage, NormalisesWithMeanAndStd) {
    const auto data = randomImages(1, 8, 8, 1);
    ImageTransform transform = sized(8, 1);
    transform.mean = {0.5F};
    transform.std = {0.25F};
    const auto image = loadImage(data, 0, transform, false, 0);
    EXPECT_TRUE(torch::allclose(image, (asFloat(data, 0) - 0.5) / 0.25, 1e-5, 1e-5));
}

TEST(LoadImage, AugmentationDependsOnlyOnSeedAndIndex) {
    const auto data = randomImages(8, 16, 16, 1);
    ImageTransform transform = sized(16, 1);
    transform.flip = true;
    transform.randomResizedCrop = true;
    int differing = 0;
    for (int64_t i = 0; i < data.size(); ++i) {
        const auto first = loadImage(data, i, transform, true, 42);
        EXPECT_TRUE(first.equal(loadImage(data, i, transform, true, 42)));
        differing += first.equal(loadImage(data, i, transform, true, 43)) ? 0 : 1;
    }
    EXPECT_GT(differing, 4);
    // Without augment the seed is irrelevant.
    EXPECT_TRUE(
        loadImage(data, 3, transform, false, 1).equal(loadImage(data, 3, transform, false, 2)));
}

TEST(LoadImage, FlipMirrorsRows) {
    const auto data = randomImages(16, 6, 6, 1);
    ImageTransform transform = sized(6, 1);
    transform.flip = true;
    int flipped = 0;
    for (int64_t i = 0; i < data.size(); ++i) {
        const auto plain = loadImage(data, i, transform, false, 0);
        const auto augmented = loadImage(data, i, transform, true, 5);
        if (!augmented.equal(plain)) {
            EXPECT_TRUE(augmented.equal(plain.flip({2})));
            ++flipped;
        }
    }
    EXPECT_GT(flipped, 2);
    EXPECT_LT(flipped, 14);
}

TEST(LoadImage, RejectsBadTransformAndIndex) {
    const auto data = randomImages(2, 4, 4, 1);
    DLW_EXPECT_ERROR(loadImage(data, 0, sized(0, 1), false, 0), "size 0");
    DLW_EXPECT_ERROR(loadImage(data, 0, sized(4, 2), false, 0), "2 channels");
    ImageTransform transform = sized(4, 3);
    transform.mean = {0.5F};
    transform.std = {0.5F};
    DLW_EXPECT_ERROR(loadImage(data, 0, transform, false, 0), "mean and std", "(3)");
    DLW_EXPECT_ERROR(loadImage(data, 2, sized(4, 1), false, 0), "memory", "index 2");
}

#ifdef DLW_WITH_OPENCV
TEST(LoadImage, DecodesFilesAsRgb) {
    const auto dir = test::tempDir("load-file");
    cv::Mat bgr(10, 12, CV_8UC3, cv::Scalar(255, 0, 0));  // pure blue in OpenCV's BGR order
    ASSERT_TRUE(cv::imwrite((dir / "blue.png").string(), bgr));
    ImageDataset data;
    data.source = dir.string();
    data.files = {dir / "blue.png"};
    data.labels = {0};
    const auto image = loadImage(data, 0, sized(10, 3), false, 0);
    EXPECT_FLOAT_EQ(image[0].max().item<float>(), 0.0F);
    EXPECT_FLOAT_EQ(image[2].min().item<float>(), 1.0F);
}

// #14 (fuzz_image): 234 bytes of JPEG that declare 8488×10270 pixels are refused, not decoded
// and copied to a gigabyte of floats.
TEST(LoadImage, RefusesImagesOfMoreThan2To26Pixels) {
    const std::filesystem::path bomb = std::filesystem::path(DLW_TEST_FIXTURES) /
                                       "fuzz/image/timeout-jpeg-8488x10270-from-234-bytes";
    ImageDataset data;
    data.files = {bomb};
    data.labels = {0};
    DLW_EXPECT_ERROR(loadImage(data, 0, sized(28, 1), false, 0), bomb.string(), "8488×10270 pixels",
                     "67108864");
}
#endif

TEST(LoadImage, UnreadableFileErrorNamesIt) {
    const auto dir = test::tempDir("load-bad");
    std::ofstream(dir / "bad.png") << "garbage";
    ImageDataset data;
    data.source = dir.string();
    data.files = {dir / "bad.png"};
    data.labels = {0};
    DLW_EXPECT_ERROR(loadImage(data, 0, sized(10, 3), false, 0), (dir / "bad.png").string());
    // #14: what is there instead of an image is said, not "does not exist".
    std::filesystem::create_directories(dir / "folder.png");
    data.files = {dir / "folder.png"};
    DLW_EXPECT_ERROR(loadImage(data, 0, sized(10, 3), false, 0), "folder.png: is a folder");
    data.files = {dir / "missing.png"};
    DLW_EXPECT_ERROR(loadImage(data, 0, sized(10, 3), false, 0),
                     "missing.png: image file does not exist");
}

}  // namespace
}  // namespace dlw
