#pragma once
// Accumulates eq. 2, C = (1/N_tok) Σ x xᵀ over every token, for chosen adapted-map inputs during
// forward passes (the pre- and post-passes of DESIGN §3.2).

#include "model/vision_transformer.h"

#include <map>
#include <utility>

#include <torch/torch.h>

namespace dlw {

using InputKey = std::pair<int, MapInput>;  // (block, which input)

class CovarianceObserver : public ForwardObserver {
public:
    // Watches the given inputs; others are ignored.
    explicit CovarianceObserver(const std::vector<InputKey>& keys);

    void mapInput(int block, MapInput input, const torch::Tensor& x) override;

    // C for a key, [d, d] float64 on the CPU; throws dlw::Error when nothing was seen.
    torch::Tensor covariance(const InputKey& key) const;
    int64_t tokens(const InputKey& key) const;

private:
    struct Sum {
        torch::Tensor xx;  // Σ x xᵀ, float64 (on the device of the activations)
        int64_t tokens = 0;
    };
    std::map<InputKey, Sum> sums_;
};

}  // namespace dlw
