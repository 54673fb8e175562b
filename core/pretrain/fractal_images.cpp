#include "pretrain/fractal_images.h"

#include <cmath>

namespace dlw {
namespace {

using torch::Tensor;
namespace F = torch::nn::functional;

constexpr double kMaxContraction = 0.9;  // largest singular value of every map's linear part

// Largest singular value of each 2×2 linear part [a b; c d], params [..., 6] → [...].
Tensor largestSingularValue(const Tensor& p) {
    auto a = p.select(-1, 0);
    auto b = p.select(-1, 1);
    auto c = p.select(-1, 2);
    auto d = p.select(-1, 3);
    auto s = a * a + b * b + c * c + d * d;
    auto det = a * d - b * c;
    return torch::sqrt((s + torch::sqrt((s * s - 4 * det * det).clamp_min(0.0))) / 2);
}

// Scales each map's linear part down to the contraction limit where it exceeds it.
Tensor contract(Tensor params) {
    auto factor = (kMaxContraction / largestSingularValue(params).clamp_min(1e-12)).clamp_max(1.0);
    auto linear = params.slice(-1, 0, 4) * factor.unsqueeze(-1);
    return torch::cat({linear, params.slice(-1, 4, 6)}, -1);
}

// How a point cloud becomes ink, per image (undefined = the plain style for all images).
struct InkStyle {
    Tensor hitsScale;  // float [N]: a pixel hit h times gets 1 - exp(-h / scale); plain: 2
    Tensor thicken;    // bool [N]: strokes dilated by a 3×3 maximum before averaging down
};

// The chaos game: params [N, M, 6] (x' = a x + b y + e, y' = c x + d y + f), probabilities
// [N, M] → images [N, 1, size, size], drawn at twice the size and averaged down (anti-aliasing).
Tensor render(const Tensor& params,
              const Tensor& probs,
              int size,
              int points,
              torch::Generator& gen,
              const InkStyle& style = {}) {
    const int64_t n = params.size(0);
    auto x = torch::rand({n, points}, gen) * 2 - 1;  // [N, P]
    auto y = torch::rand({n, points}, gen) * 2 - 1;
    for (int step = 0; step < 40; ++step) {  // 0.9^40 < 0.015 of the start's distance remains
        auto pick = torch::multinomial(probs, points, /*replacement=*/true, gen);  // [N, P]
        auto p = params.gather(1, pick.unsqueeze(-1).expand({n, points, 6}));      // [N, P, 6]
        auto nx = p.select(2, 0) * x + p.select(2, 1) * y + p.select(2, 4);
        y = p.select(2, 2) * x + p.select(2, 3) * y + p.select(2, 5);
        x = nx;
    }
    // Fit the attractor into the canvas with a 10 % margin, keeping its aspect ratio.
    auto lo = torch::stack({std::get<0>(x.min(1)), std::get<0>(y.min(1))}, 1);  // [N, 2]
    auto hi = torch::stack({std::get<0>(x.max(1)), std::get<0>(y.max(1))}, 1);
    auto extent = std::get<0>((hi - lo).max(1)).clamp_min(1e-6).unsqueeze(1);  // [N, 1]
    auto centre = (lo + hi) / 2;
    const int64_t big = 2 * static_cast<int64_t>(size);
    auto toPixel = [&](const Tensor& v, int64_t axis) {
        auto unit = (v - centre.select(1, axis).unsqueeze(1)) / extent * 0.8 + 0.5;  // [0.1, 0.9]
        return (unit * static_cast<double>(big)).floor().clamp(0, big - 1).to(torch::kInt64);
    };
    auto index = toPixel(y, 1) * big + toPixel(x, 0);  // [N, P]
    auto counts = torch::zeros({n, big * big}).scatter_add_(1, index, torch::ones({n, points}));
    auto scale =
        style.hitsScale.defined() ? style.hitsScale.unsqueeze(1) : torch::full({n, 1}, 2.0);
    auto ink = (1 - torch::exp(-counts / scale)).view({n, 1, big, big});  // plain: 2 hits → 63 %
    if (style.thicken.defined()) {
        auto thick = F::max_pool2d(ink, F::MaxPool2dFuncOptions(3).stride(1).padding(1));
        ink = torch::where(style.thicken.view({n, 1, 1, 1}), thick, ink);
    }
    return F::avg_pool2d(ink, F::AvgPool2dFuncOptions(2));
}

// Each map is chosen in proportion to the area it keeps (|det|), so the attractor fills evenly.
Tensor mapProbabilities(const Tensor& params) {
    auto det =
        params.select(-1, 0) * params.select(-1, 3) - params.select(-1, 1) * params.select(-1, 2);
    auto w = det.abs() + 0.02;  // [N, M]
    return w / w.sum(-1, /*keepdim=*/true);
}

// One category: 2-4 contractive maps whose attractor fills 8-50 % of the canvas.
Tensor randomSystem(int size, torch::Generator& gen) {
    for (;;) {
        const int64_t maps = 2 + torch::randint(3, {1}, gen).item<int64_t>();
        auto params = contract(torch::rand({1, maps, 6}, gen) * 2 - 1);  // [1, M, 6]
        auto probs = mapProbabilities(params);
        auto image = render(params, probs, size, 3000, gen);
        const double fill = image.gt(0.5).to(torch::kFloat32).mean().item<double>();
        if (fill >= 0.08 && fill <= 0.5) {
            return params.squeeze(0);  // [M, 6]
        }
    }
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> drawFractalImages(const FractalOptions& o) {
    torch::NoGradGuard noGrad;
    auto gen = at::detail::createCPUGenerator(o.seed);
    // Styles have a stream of their own: categories and point clouds stay the plain set's.
    auto styleGen = at::detail::createCPUGenerator(o.seed ^ 0x5eedf00dULL);
    std::vector<Tensor> images;
    std::vector<Tensor> labels;
    for (int64_t k = 0; k < o.classes; ++k) {
        auto system = randomSystem(o.size, gen);  // [M, 6]
        auto params = system.unsqueeze(0).expand({o.perClass, -1, -1});
        params = contract(params + torch::randn(params.sizes(), gen) * o.jitter);  // [N, M, 6]
        InkStyle style;
        if (o.varyStyle) {
            style.hitsScale =
                torch::exp(torch::rand({o.perClass}, styleGen) * std::log(16.0)) * 0.5;
            style.thicken = torch::rand({o.perClass}, styleGen).lt(0.5);
        }
        images.push_back(render(params, mapProbabilities(params), o.size, o.points, gen, style));
        labels.push_back(torch::full({o.perClass}, k, torch::kInt64));
    }
    return {torch::cat(images), torch::cat(labels)};  // [C·N, 1, S, S], [C·N]
}

}  // namespace dlw
