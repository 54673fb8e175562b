#pragma once
// Plain LoRA adapters (Hu et al. 2021) beside the frozen maps of a ViT: ΔW = B A, A [r, d_in],
// B [d_out, r] zero-initialised, so an untrained adapter changes nothing. One pair per
// (block, map), kept in this module and keyed by name; the backbone is never written.

#include "model/vision_transformer.h"

#include <vector>

#include <torch/torch.h>

namespace dlw {

class LoraAdaptersImpl : public torch::nn::Module, public AdapterHook {
public:
    // Adapters on `maps` of every block in `blocks` (empty = all blocks), rank `rank`.
    // A is drawn like PyTorch's Linear init (Kaiming-uniform, a = √5); B starts at zero.
    LoraAdaptersImpl(const BackboneArch& arch,
                     const std::vector<AdaptedMap>& maps,
                     std::vector<int> blocks,
                     int rank);

    torch::Tensor delta(int block, AdaptedMap map, const torch::Tensor& x) override;

    int rank() const { return rank_; }

private:
    struct Pair {
        torch::Tensor a;  // [r, d_in]
        torch::Tensor b;  // [d_out, r]
    };
    // pairs_[block * 6 + map]; undefined tensors where no adapter sits.
    std::vector<Pair> pairs_;
    int rank_;
};
TORCH_MODULE(LoraAdapters);

// Input and output sizes of `map` in a ViT of `arch`.
std::pair<int64_t, int64_t> mapShape(const BackboneArch& arch, AdaptedMap map);

}  // namespace dlw
