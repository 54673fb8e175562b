#pragma once
// Synthetic image domains for the `domain-shift` preset (#16): each task of a class-incremental
// sequence sees its classes rendered in its own domain (experiment key sequence.domains), the
// shift of representation that DualLoRA's adapters are meant to absorb (arXiv 2411.00623, §1).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dlw {

// "original", "inverted", "rotated", "blurred-noisy", "edges": the values of sequence.domains.
const std::vector<std::string>& imageDomainNames();

// Renders `pixels` (uint8 [N, H, W, C], C = 1 or 3, the layout of in-memory datasets) in domain
// `name`; returns a new tensor of the same shape and dtype.
// - original: unchanged;
// - inverted: 255 − x (a light object on a dark ground becomes a dark one on a light ground);
// - rotated: a quarter turn counter-clockwise (needs H = W);
// - blurred-noisy: Gaussian blur (σ 1.5 px, 7-tap, edges replicated), then Gaussian noise of
//   σ 20 grey levels drawn from std::mt19937_64 seeded by `seed` (identical under every
//   LibTorch version), rounded and clipped to [0, 255];
// - edges: Sobel gradient magnitude of the grey image, scaled so each image's largest is 255.
// Throws dlw::Error for an unknown name, a tensor that is not uint8 [N, H, W, 1|3], or a
// non-square image to rotate.
torch::Tensor applyImageDomain(const torch::Tensor& pixels, const std::string& name, uint64_t seed);

}  // namespace dlw
