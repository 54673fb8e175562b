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

void CovarianceObserver::allReduce(Collective* group,
                                   const std::function<int64_t(const InputKey&)>& dim,
                                   const std::string& what) {
    if (group == nullptr) {
        return;
    }
    std::vector<torch::Tensor> parts;
    for (auto& [key, sum] : sums_) {
        const int64_t d = dim(key);
        parts.push_back(sum.xx.defined() ? sum.xx : torch::zeros({d, d}, torch::kFloat64));
        parts.push_back(torch::tensor({sum.tokens}, torch::kInt64));
    }
    group->allReduceSum(parts, what);
    std::size_t i = 0;
    for (auto& [key, sum] : sums_) {
        sum.tokens = parts[i + 1].item<int64_t>();
        sum.xx = sum.tokens > 0 ? parts[i] : torch::Tensor();
        i += 2;
    }
}

int64_t CovarianceObserver::tokens(const InputKey& key) const {
    auto it = sums_.find(key);
    return it == sums_.end() ? 0 : it->second.tokens;
}

}  // namespace dlw
