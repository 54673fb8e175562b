#include "model/lora.h"

#include "api/error.h"

#include <fmt/format.h>

namespace dlw {

std::pair<int64_t, int64_t> mapShape(const BackboneArch& arch, AdaptedMap map) {
    switch (map) {
        case AdaptedMap::Fc1:
            return {arch.width, arch.mlpHidden};
        case AdaptedMap::Fc2:
            return {arch.mlpHidden, arch.width};
        default:
            return {arch.width, arch.width};
    }
}

LoraAdaptersImpl::LoraAdaptersImpl(const BackboneArch& arch,
                                   const std::vector<AdaptedMap>& maps,
                                   std::vector<int> blocks,
                                   int rank)
    : pairs_(static_cast<std::size_t>(arch.depth) * 6), rank_(rank) {
    if (rank <= 0) {
        throw Error(fmt::format("LoRA rank must be positive, got {}", rank));
    }
    if (blocks.empty()) {
        for (int i = 0; i < arch.depth; ++i) {
            blocks.push_back(i);
        }
    }
    for (int block : blocks) {
        if (block < 0 || block >= arch.depth) {
            throw Error(fmt::format("LoRA block {} does not exist (the backbone has {} blocks)",
                                    block, arch.depth));
        }
        for (AdaptedMap map : maps) {
            const auto [dIn, dOut] = mapShape(arch, map);
            if (rank > std::min(dIn, dOut)) {
                throw Error(fmt::format("LoRA rank {} exceeds the size of map {} ({}x{})", rank,
                                        toString(map), dOut, dIn));
            }
            // Module parameter names cannot contain dots: "blocks_3_k_lora_A".
            const std::string name = fmt::format("blocks_{}_{}", block, toString(map));
            const double bound = 1.0 / std::sqrt(static_cast<double>(dIn));  // kaiming a=√5
            Pair& p = pairs_[static_cast<std::size_t>(block) * 6 + static_cast<std::size_t>(map)];
            p.a = register_parameter(name + "_lora_A",
                                     torch::empty({rank, dIn}).uniform_(-bound, bound));
            p.b = register_parameter(name + "_lora_B", torch::zeros({dOut, rank}));
        }
    }
}

torch::Tensor LoraAdaptersImpl::delta(int block, AdaptedMap map, const torch::Tensor& x) {
    const Pair& p = pairs_[static_cast<std::size_t>(block) * 6 + static_cast<std::size_t>(map)];
    if (!p.a.defined()) {
        return {};
    }
    return torch::matmul(torch::matmul(x, p.a.t()), p.b.t());  // [B, N, r] → [B, N, d_out]
}

}  // namespace dlw
