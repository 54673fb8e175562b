#pragma once
// Procedurally drawn grey images for pre-training the bundled backbone: shapes, outlines,
// strokes and textures, so that its features know edges, regions and periodic patterns and not
// only digit strokes. None of it resembles the default task sequence's data.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dlw {

// Names of the procedural classes, index = label.
const std::vector<std::string>& proceduralClassNames();

// `perClass` images of every procedural class, float [N, 1, size, size] in [0, 1] (bright shape
// on a dark, noisy background), labels int64 [N] in [0, classes). Deterministic for a seed.
std::pair<torch::Tensor, torch::Tensor> drawProceduralImages(int perClass, int size, uint64_t seed);

}  // namespace dlw
