#include "data/image_domain.h"

#include "api/error.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <random>

namespace dlw {
namespace {

// [N, C, H, W] float → the same blurred by a separable Gaussian (σ `sigma`, radius 3σ rounded
// up, at most 3), edges replicated.
torch::Tensor gaussianBlur(const torch::Tensor& x, double sigma) {
    const int radius = std::min(3, static_cast<int>(std::ceil(2 * sigma)));
    std::vector<float> taps;
    double sum = 0;
    for (int i = -radius; i <= radius; ++i) {
        taps.push_back(static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma))));
        sum += taps.back();
    }
    for (auto& t : taps) {
        t = static_cast<float>(t / sum);
    }
    const auto k = torch::tensor(taps);
    const int64_t c = x.size(1);
    const auto horizontal = k.view({1, 1, 1, -1}).repeat({c, 1, 1, 1});
    const auto vertical = k.view({1, 1, -1, 1}).repeat({c, 1, 1, 1});
    namespace F = torch::nn::functional;
    auto y = F::pad(x, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReplicate));
    y = F::conv2d(y, horizontal, F::Conv2dFuncOptions().groups(c));
    return F::conv2d(y, vertical, F::Conv2dFuncOptions().groups(c));
}

torch::Tensor sobelMagnitude(const torch::Tensor& grey) {  // [N, 1, H, W] float
    const auto gx =
        torch::tensor({-1.F, 0.F, 1.F, -2.F, 0.F, 2.F, -1.F, 0.F, 1.F}).view({1, 1, 3, 3});
    const auto gy = gx.transpose(2, 3).contiguous();
    namespace F = torch::nn::functional;
    const auto padded = F::pad(grey, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
    const auto dx = F::conv2d(padded, gx);
    const auto dy = F::conv2d(padded, gy);
    return torch::sqrt(dx.square() + dy.square());
}

}  // namespace

const std::vector<std::string>& imageDomainNames() {
    static const std::vector<std::string> names{"original", "inverted", "rotated", "blurred-noisy",
                                                "edges"};
    return names;
}

torch::Tensor applyImageDomain(const torch::Tensor& pixels,
                               const std::string& name,
                               uint64_t seed) {
    const auto& names = imageDomainNames();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        throw Error(fmt::format("unknown image domain \"{}\"", name));
    }
    if (pixels.scalar_type() != torch::kUInt8 || pixels.dim() != 4 ||
        (pixels.size(3) != 1 && pixels.size(3) != 3)) {
        throw Error("image domains need uint8 pixels [N, H, W, 1 or 3]");
    }
    if (name == "original" || pixels.size(0) == 0) {
        return pixels.clone();
    }
    if (name == "inverted") {
        return 255 - pixels;
    }
    if (name == "rotated") {
        if (pixels.size(1) != pixels.size(2)) {
            throw Error(fmt::format("the \"rotated\" domain needs square images, found {}x{}",
                                    pixels.size(2), pixels.size(1)));
        }
        return torch::rot90(pixels, 1, {1, 2}).contiguous();
    }
    const auto x = pixels.permute({0, 3, 1, 2}).to(torch::kFloat32);  // [N, C, H, W]
    torch::Tensor y;
    if (name == "blurred-noisy") {
        y = gaussianBlur(x, 1.5).contiguous();
        std::mt19937_64 random(seed);
        std::normal_distribution<float> noise(0.F, 20.F);
        float* data = y.data_ptr<float>();
        for (int64_t i = 0; i < y.numel(); ++i) {
            data[i] += noise(random);
        }
    } else {  // edges
        const auto magnitude = sobelMagnitude(x.mean(1, /*keepdim=*/true));
        const auto peak = magnitude.amax({1, 2, 3}, /*keepdim=*/true).clamp_min(1e-6);
        y = (magnitude * (255.0 / peak)).expand_as(x);
    }
    return y.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

}  // namespace dlw
