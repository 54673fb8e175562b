#pragma once
// Formula-driven pre-training images (FractalDB, Kataoka et al. 2020; Nakashima et al. 2022:
// vision transformers pre-trained on fractals alone transfer to natural images). Each class is
// one iterated function system (2-4 contractive affine maps); its images are that system's
// attractor drawn by the chaos game, each with its maps slightly perturbed. Many classes that
// differ only in geometry make the backbone learn shape, edge and texture features that none
// of the default task sequence's classes show.

#include <cstdint>

#include <torch/torch.h>

namespace dlw {

struct FractalOptions {
    int classes = 100;     // IFS categories
    int perClass = 200;    // images per category
    int size = 28;         // image side
    int points = 3000;     // chaos-game points per image
    double jitter = 0.05;  // per-image perturbation of each map's six parameters (std. dev.)
    uint64_t seed = 0;     // the categories and their images are a function of it
    // Vary how each image is inked: a pixel hit h times gets 1 - exp(-h / s) with s log-uniform
    // in [0.5, 8] (faint, textured clouds to solid ones; plain: s = 2), and half the images get
    // strokes thickened by a 3×3 dilation (filled regions, as in the default sequence's
    // garments). Categories and point clouds are those of the plain set.
    bool varyStyle = false;
};

// Float [classes × perClass, 1, size, size] in [0, 1] (bright attractor on black) and int64
// labels [classes × perClass] in [0, classes). Every category's attractor fills between 8 % and
// 50 % of the canvas (rejection sampling). Deterministic for the options; CPU; any thread.
std::pair<torch::Tensor, torch::Tensor> drawFractalImages(const FractalOptions& options);

}  // namespace dlw
