#include "pretrain/procedural_images.h"

#include <cmath>

namespace dlw {
namespace {

using torch::Tensor;

// Per-image random parameters: uniform in [lo, hi), shape [N, 1, 1] to broadcast over pixels.
Tensor uniform(int64_t n, double lo, double hi, torch::Generator& gen) {
    return torch::rand({n, 1, 1}, gen) * (hi - lo) + lo;
}

// Soft inside-indicator of a signed distance (negative inside), about one pixel of blur.
Tensor soft(const Tensor& signedDistance, double pixel) {
    return torch::sigmoid(-signedDistance / pixel);
}

struct Canvas {
    Tensor x;  // [1, S, S] coordinates in [-1, 1]
    Tensor y;
    double pixel;  // one pixel in coordinate units
    int64_t n;
    torch::Generator& gen;

    // Coordinates rotated by a random angle about a random centre: [N, S, S] each.
    std::pair<Tensor, Tensor> frame(double spread) {
        auto cx = uniform(n, -spread, spread, gen);
        auto cy = uniform(n, -spread, spread, gen);
        auto theta = uniform(n, 0.0, M_PI, gen);
        auto dx = x - cx;
        auto dy = y - cy;
        return {dx * torch::cos(theta) + dy * torch::sin(theta),
                -dx * torch::sin(theta) + dy * torch::cos(theta)};
    }
};

Tensor ellipse(Canvas& c, bool ring) {
    auto [u, v] = c.frame(0.3);
    auto a = uniform(c.n, 0.3, 0.8, c.gen);
    auto b = uniform(c.n, 0.2, 0.7, c.gen);
    auto r = torch::sqrt((u / a).pow(2) + (v / b).pow(2));  // 1 on the boundary
    auto d = (r - 1.0) * torch::min(a, b);
    if (ring) {
        return soft(d.abs() - uniform(c.n, 0.05, 0.12, c.gen), c.pixel);
    }
    return soft(d, c.pixel);
}

Tensor rectangle(Canvas& c, bool outline) {
    auto [u, v] = c.frame(0.3);
    auto a = uniform(c.n, 0.25, 0.75, c.gen);
    auto b = uniform(c.n, 0.2, 0.7, c.gen);
    auto d = torch::max((u.abs() - a), (v.abs() - b));
    if (outline) {
        return soft(d.abs() - uniform(c.n, 0.05, 0.12, c.gen), c.pixel);
    }
    return soft(d, c.pixel);
}

Tensor triangle(Canvas& c) {
    auto [u, v] = c.frame(0.25);
    auto s = uniform(c.n, 0.35, 0.8, c.gen);
    Tensor d;
    for (int k = 0; k < 3; ++k) {  // three half-planes of an equilateral triangle
        const double phi = M_PI / 2 + 2 * M_PI * k / 3;
        auto edge = u * std::cos(phi) + v * std::sin(phi) - s * 0.5;
        d = d.defined() ? torch::max(d, edge) : edge;
    }
    return soft(d, c.pixel);
}

Tensor cross(Canvas& c) {
    auto [u, v] = c.frame(0.25);
    auto len = uniform(c.n, 0.4, 0.85, c.gen);
    auto t = uniform(c.n, 0.07, 0.18, c.gen);
    auto bar1 = torch::max(u.abs() - len, v.abs() - t);
    auto bar2 = torch::max(v.abs() - len, u.abs() - t);
    return soft(torch::min(bar1, bar2), c.pixel);
}

Tensor stripes(Canvas& c, bool checker) {
    auto [u, v] = c.frame(0.5);
    auto freq = uniform(c.n, 5.0, 14.0, c.gen);
    auto phase = uniform(c.n, 0.0, 2 * M_PI, c.gen);
    auto wave = torch::sin(freq * u + phase);
    if (checker) {
        wave = wave * torch::sin(freq * v + phase);
    }
    auto mask = ellipse(c, false).clamp_min(0.0);  // textures fill a random region
    return torch::sigmoid(wave * 4.0) * (0.4 + 0.6 * mask);
}

Tensor strokes(Canvas& c) {
    Tensor img = torch::zeros_like(c.x.expand({c.n, -1, -1}));
    for (int k = 0; k < 3; ++k) {
        auto x0 = uniform(c.n, -0.8, 0.8, c.gen);
        auto y0 = uniform(c.n, -0.8, 0.8, c.gen);
        auto x1 = uniform(c.n, -0.8, 0.8, c.gen);
        auto y1 = uniform(c.n, -0.8, 0.8, c.gen);
        auto dx = x1 - x0;
        auto dy = y1 - y0;
        auto t = (((c.x - x0) * dx + (c.y - y0) * dy) / (dx * dx + dy * dy + 1e-6)).clamp(0, 1);
        auto dist = torch::sqrt((c.x - x0 - t * dx).pow(2) + (c.y - y0 - t * dy).pow(2));
        img = torch::max(img, soft(dist - uniform(c.n, 0.04, 0.1, c.gen), c.pixel));
    }
    return img;
}

Tensor blobs(Canvas& c, int size) {
    auto coarse = torch::rand({c.n, 1, 5, 5}, c.gen);
    auto fine =
        torch::nn::functional::interpolate(coarse, torch::nn::functional::InterpolateFuncOptions()
                                                       .size(std::vector<int64_t>{size, size})
                                                       .mode(torch::kBicubic)
                                                       .align_corners(false));
    return torch::sigmoid((fine.squeeze(1) - 0.5) * 12.0);
}

}  // namespace

const std::vector<std::string>& proceduralClassNames() {
    static const std::vector<std::string> names{"ellipse",  "ring",  "rectangle", "frame",
                                                "triangle", "cross", "stripes",   "checker",
                                                "strokes",  "blobs"};
    return names;
}

std::pair<torch::Tensor, torch::Tensor> drawProceduralImages(int perClass,
                                                             int size,
                                                             uint64_t seed) {
    torch::NoGradGuard noGrad;
    auto gen = at::detail::createCPUGenerator(seed);
    auto axis = (torch::arange(size, torch::kFloat32) + 0.5) / size * 2.0 - 1.0;  // [S]
    Canvas c{axis.view({1, 1, size}), axis.view({1, size, 1}), 2.0 / size, perClass, gen};
    std::vector<Tensor> images;
    std::vector<Tensor> labels;
    for (int64_t k = 0; k < static_cast<int64_t>(proceduralClassNames().size()); ++k) {
        Tensor img;
        switch (k) {
            case 0:
                img = ellipse(c, false);
                break;
            case 1:
                img = ellipse(c, true);
                break;
            case 2:
                img = rectangle(c, false);
                break;
            case 3:
                img = rectangle(c, true);
                break;
            case 4:
                img = triangle(c);
                break;
            case 5:
                img = cross(c);
                break;
            case 6:
                img = stripes(c, false);
                break;
            case 7:
                img = stripes(c, true);
                break;
            case 8:
                img = strokes(c);
                break;
            default:
                img = blobs(c, size);
                break;
        }
        auto brightness = uniform(perClass, 0.5, 1.0, gen);
        auto noise = torch::randn({perClass, size, size}, gen) * uniform(perClass, 0.0, 0.08, gen);
        images.push_back((img * brightness + noise).clamp(0.0, 1.0));
        labels.push_back(torch::full({perClass}, k, torch::kInt64));
    }
    return {torch::cat(images).unsqueeze(1), torch::cat(labels)};  // [N, 1, S, S], [N]
}

}  // namespace dlw
