#include "pretrain/fractal_images.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

FractalOptions small() {
    FractalOptions o;
    o.classes = 6;
    o.perClass = 5;
    o.size = 28;
    o.seed = 3;
    return o;
}

TEST(FractalImages, ShapesLabelsRangeAndDeterminism) {
    auto [images, labels] = drawFractalImages(small());
    ASSERT_EQ(images.sizes(), (std::vector<int64_t>{30, 1, 28, 28}));
    ASSERT_EQ(labels.sizes(), (std::vector<int64_t>{30}));
    EXPECT_EQ(labels[0].item<int64_t>(), 0);
    EXPECT_EQ(labels[29].item<int64_t>(), 5);
    EXPECT_GE(images.min().item<float>(), 0.0F);
    EXPECT_LE(images.max().item<float>(), 1.0F);
    auto again = drawFractalImages(small()).first;
    EXPECT_TRUE(torch::equal(images, again));
    auto other = small();
    other.seed = 4;
    EXPECT_FALSE(torch::equal(images, drawFractalImages(other).first));
}

TEST(FractalImages, EachImageIsAnAttractorNotNoiseOrAnEmptyCanvas) {
    auto [images, labels] = drawFractalImages(small());
    auto fill = images.gt(0.5).to(torch::kFloat32).mean({1, 2, 3});  // [N]
    // Categories are accepted at 8-50 % fill; a perturbed instance may drift a little.
    EXPECT_GT(fill.min().item<float>(), 0.02F);
    EXPECT_LT(fill.max().item<float>(), 0.7F);
}

TEST(FractalImages, ImagesOfOneClassResembleEachOtherMoreThanOtherClasses) {
    auto o = small();
    o.perClass = 8;
    auto [images, labels] = drawFractalImages(o);
    auto flat = images.flatten(1);                                           // [N, S²]
    auto d = torch::cdist(flat.unsqueeze(0), flat.unsqueeze(0)).squeeze(0);  // [N, N]
    auto same = labels.unsqueeze(0).eq(labels.unsqueeze(1));
    auto offDiagonal = torch::eye(flat.size(0)).logical_not();
    const double within = d.masked_select(same.logical_and(offDiagonal)).mean().item<double>();
    const double between = d.masked_select(same.logical_not()).mean().item<double>();
    EXPECT_LT(within, 0.8 * between) << "within " << within << " between " << between;
}

TEST(FractalImages, VariedStylesInkTheSameCloudsDifferently) {
    auto o = small();
    o.perClass = 8;
    auto [plain, labels] = drawFractalImages(o);
    o.varyStyle = true;
    auto [styled, styledLabels] = drawFractalImages(o);
    ASSERT_TRUE(torch::equal(labels, styledLabels));
    ASSERT_FALSE(torch::equal(plain, styled));
    // Same categories and points: every pixel the plain set inks, the styled set inks too
    // (ink density only scales what is there, thickening only adds).
    EXPECT_TRUE(styled.gt(0).logical_or(plain.eq(0)).all().item<bool>());
    // Brightness varies much more from image to image than in the plain style.
    auto meanInk = [](const torch::Tensor& x) { return x.mean({1, 2, 3}); };
    const double plainSpread = (meanInk(plain) / meanInk(plain).mean()).std().item<double>();
    const double styledSpread = (meanInk(styled) / meanInk(styled).mean()).std().item<double>();
    EXPECT_GT(styledSpread, 1.5 * plainSpread) << plainSpread << " vs " << styledSpread;
    // Still recognisably one category per class.
    auto flat = styled.flatten(1);
    auto d = torch::cdist(flat.unsqueeze(0), flat.unsqueeze(0)).squeeze(0);
    auto same = labels.unsqueeze(0).eq(labels.unsqueeze(1));
    auto offDiagonal = torch::eye(flat.size(0)).logical_not();
    const double within = d.masked_select(same.logical_and(offDiagonal)).mean().item<double>();
    const double between = d.masked_select(same.logical_not()).mean().item<double>();
    EXPECT_LT(within, between) << "within " << within << " between " << between;
}

}  // namespace
}  // namespace dlw
