#include "method/covariance_observer.h"

#include "api/error.h"

#include <fmt/format.h>

namespace dlw {

CovarianceObserver::CovarianceObserver(const std::vector<InputKey>& keys) {
    for (const auto& k : keys) {
        sums_[k];
    }
}

void CovarianceObserver::mapInput(int block, MapInput input, const torch::Tensor& x) {
    auto it = sums_.find({block, input});
    if (it == sums_.end()) {
        return;
    }
    torch::NoGradGuard noGrad;
    auto flat = x.detach().reshape({-1, x.size(-1)});  // [B·N, d]
    // float32 product per batch (fast), float64 accumulation across batches (exact enough).
    auto xx = torch::matmul(flat.t(), flat).to(torch::kFloat64);
    Sum& s = it->second;
    s.xx = s.xx.defined() ? s.xx + xx : xx;
    s.tokens += flat.size(0);
}

torch::Tensor CovarianceObserver::covariance(const InputKey& key) const {
    auto it = sums_.find(key);
    if (it == sums_.end() || it->second.tokens == 0) {
        throw Error(fmt::format("no activations of {} in block {} were observed",
                                toString(key.second), key.first));
    }
    return (it->second.xx / static_cast<double>(it->second.tokens)).to(torch::kCPU);
}

int64_t CovarianceObserver::tokens(const InputKey& key) const {
    auto it = sums_.find(key);
    return it == sums_.end() ? 0 : it->second.tokens;
}

}  // namespace dlw
