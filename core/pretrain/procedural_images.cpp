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

// Fills: per-pixel intensity in [0.25, 1] that a shape's mask cuts out.
Tensor fill(Canvas& c, int kind) {
    auto [u, v] = c.frame(0.5);
    auto freq = uniform(c.n, 5.0, 14.0, c.gen);
    auto phase = uniform(c.n, 0.0, 2 * M_PI, c.gen);
    Tensor t;
    switch (kind) {
        case 0:  // flat
            return torch::ones_like(u);
        case 1:  // stripes
            t = torch::sigmoid(torch::sin(freq * u + phase) * 4.0);
            break;
        case 2:  // checker
            t = torch::sigmoid(torch::sin(freq * u + phase) * torch::sin(freq * v + phase) * 6.0);
            break;
        default:  // linear gradient
            t = (u + 1.0) * 0.5;
            break;
    }
    return 0.25 + 0.75 * t.clamp(0.0, 1.0);
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

Tensor blob(Canvas& c, int size) {
    auto coarse = torch::rand({c.n, 1, 4, 4}, c.gen);
    auto fine =
        torch::nn::functional::interpolate(coarse, torch::nn::functional::InterpolateFuncOptions()
                                                       .size(std::vector<int64_t>{size, size})
                                                       .mode(torch::kBicubic)
                                                       .align_corners(false));
    return torch::sigmoid((fine.squeeze(1) - 0.55) * 16.0);
}

// Shapes: a soft mask in [0, 1].
Tensor shape(Canvas& c, int kind, int size) {
    switch (kind) {
        case 0:
            return ellipse(c, false);
        case 1:
            return ellipse(c, true);
        case 2:
            return rectangle(c, false);
        case 3:
            return rectangle(c, true);
        case 4:
            return triangle(c);
        case 5:
            return cross(c);
        case 6:
            return strokes(c);
        default:
            return blob(c, size);
    }
}

const std::vector<std::string> kShapes{"ellipse",  "ring",  "rectangle", "frame",
                                       "triangle", "cross", "strokes",   "blob"};
const std::vector<std::string> kFills{"flat", "striped", "checkered", "shaded"};

}  // namespace

const std::vector<std::string>& proceduralClassNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& f : kFills) {
            for (const auto& sh : kShapes) {
                out.push_back(f + " " + sh);
            }
        }
        return out;
    }();
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
    const auto shapes = static_cast<int>(kShapes.size());
    for (int64_t k = 0; k < static_cast<int64_t>(proceduralClassNames().size()); ++k) {
        // Class = (fill, shape): the features must tell both the outline and the texture.
        auto img =
            shape(c, static_cast<int>(k % shapes), size) * fill(c, static_cast<int>(k / shapes));
        auto brightness = uniform(perClass, 0.6, 1.0, gen);
        auto noise = torch::randn({perClass, size, size}, gen) * uniform(perClass, 0.0, 0.06, gen);
        images.push_back((img * brightness + noise).clamp(0.0, 1.0));
        labels.push_back(torch::full({perClass}, k, torch::kInt64));
    }
    return {torch::cat(images).unsqueeze(1), torch::cat(labels)};  // [N, 1, S, S], [N]
}

}  // namespace dlw
