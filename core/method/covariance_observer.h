#pragma once
// Accumulates eq. 2, C = (1/N_tok) Σ x xᵀ over every token, for chosen adapted-map inputs during
// forward passes (the pre- and post-passes of DESIGN §3.2).

#include "model/vision_transformer.h"
#include "util/collective.h"

#include <functional>
#include <map>
#include <string>
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
    // Data parallel (#18): every rank's Σ x xᵀ and token count summed, so that covariance() is
    // that of all ranks' passes. `dim(key)`: the width of an input this rank saw none of. The
    // same keys on every rank (the constructor's). No-op without a group.
    void allReduce(Collective* group,
                   const std::function<int64_t(const InputKey&)>& dim,
                   const std::string& what);

private:
    struct Sum {
        torch::Tensor xx;  // Σ x xᵀ, float64 (on the device of the activations)
        int64_t tokens = 0;
    };
    std::map<InputKey, Sum> sums_;
};

}  // namespace dlw
