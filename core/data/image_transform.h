#pragma once
// The per-image transform behind loadImage (internal), in plain single-threaded loops: the loader
// thread must not start LibTorch's intra-op thread pool, which the training step uses.

#include "data/batch_loader.h"

#include <cstdint>

namespace dlw::detail {

// Resizes one float plane [inH, inW] to [outH, outW] as torch::nn::functional::interpolate does
// with align_corners = false: mode "area" (adaptive average pooling) when `area`, else
// "bilinear" (no antialiasing).
void resizePlane(
    const float* in, int64_t inH, int64_t inW, float* out, int64_t outH, int64_t outW, bool area);

// Writes image `index` of `data`, transformed as loadImage describes, to `out`
// (float [C, S, S], contiguous). Throws dlw::Error naming the file or index.
void transformImageInto(const ImageDataset& data,
                        int64_t index,
                        const ImageTransform& transform,
                        bool augment,
                        uint64_t augmentSeed,
                        float* out);

// Throws dlw::Error when `transform` is unusable (size, channels, mean/std lengths).
void checkTransform(const ImageTransform& transform);

}  // namespace dlw::detail
