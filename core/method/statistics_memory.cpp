#include "method/statistics_memory.h"

#include "api/error.h"

#include <fmt/format.h>

namespace dlw {

StatisticsMemory::StatisticsMemory(int64_t dim, double lambda)
    : dim_(dim), lambda_(lambda), second_(torch::zeros({dim, dim}, torch::kFloat64)) {}

void StatisticsMemory::add(const torch::Tensor& features, const torch::Tensor& labels) {
    auto h = features.detach().to(torch::kCPU, torch::kFloat64);  // [N, d]
    auto y = labels.to(torch::kCPU, torch::kInt64);
    if (h.dim() != 2 || h.size(1) != dim_ || y.numel() != h.size(0)) {
        throw Error(fmt::format("statistics memory: features must be [N, {}] with N labels", dim_));
    }
    second_ += torch::matmul(h.t(), h);
    total_ += h.size(0);
    auto unique = std::get<0>(torch::_unique(y, /*sorted=*/true));
    for (int64_t i = 0; i < unique.numel(); ++i) {
        const int64_t c = unique[i].item<int64_t>();
        auto rows = h.index({y.eq(c)});
        auto& sum = sums_[c];
        sum = sum.defined() ? sum + rows.sum(0) : rows.sum(0);
        counts_[c] += rows.size(0);
    }
}

std::vector<int64_t> StatisticsMemory::classes() const {
    std::vector<int64_t> out;
    for (const auto& [c, n] : counts_) {
        out.push_back(c);
    }
    return out;
}

void StatisticsMemory::finalize() {
    if (counts_.empty()) {
        throw Error("statistics memory: finalize() before any feature was added");
    }
    std::vector<torch::Tensor> means;
    auto between = torch::zeros({dim_, dim_}, torch::kFloat64);
    for (const auto& [c, n] : counts_) {
        auto mu = sums_.at(c) / static_cast<double>(n);
        between += static_cast<double>(n) * torch::outer(mu, mu);
        means.push_back(mu);
    }
    means_ = torch::stack(means);                              // [C, d]
    cov_ = (second_ - between) / static_cast<double>(total_);  // eq. 6
    cov_ = 0.5 * (cov_ + cov_.t());
    const double shrink = lambda_ * cov_.trace().item<double>() / static_cast<double>(dim_);
    auto shrunk = cov_ + torch::eye(dim_, torch::kFloat64) * std::max(shrink, 1e-12);
    auto chol = torch::linalg::cholesky(shrunk);  // L, lower
    auto inv = at::linalg_solve_triangular(chol, torch::eye(dim_, torch::kFloat64),
                                           /*upper=*/false);  // L⁻¹
    whitener_ = inv.to(torch::kFloat32);
    auto wm = torch::matmul(means_, inv.t());  // rows L⁻¹ μ_c, [C, d]
    whitenedMeans_ = wm.to(torch::kFloat32);
    meanNorms_ = wm.pow(2).sum(1).to(torch::kFloat32);
}

torch::Tensor StatisticsMemory::classScores(const torch::Tensor& features) const {
    if (!whitener_.defined()) {
        throw Error("statistics memory: classScores() before finalize()");
    }
    const auto device = features.device();
    auto z = torch::matmul(features.to(torch::kFloat32), whitener_.to(device).t());  // [B, d]
    auto cross = torch::matmul(z, whitenedMeans_.to(device).t());                    // [B, C]
    auto dist = z.pow(2).sum(1, /*keepdim=*/true) - 2 * cross + meanNorms_.to(device);
    return -0.5 * dist;
}

torch::Tensor StatisticsMemory::taskPosterior(const torch::Tensor& features,
                                              const std::vector<std::vector<int64_t>>& taskClasses,
                                              double tau) const {
    auto scores = classScores(features);  // [B, C]
    const auto seen = classes();
    std::vector<torch::Tensor> perTask;
    for (const auto& task : taskClasses) {
        std::vector<int64_t> columns;
        for (int64_t c : task) {
            auto it = std::lower_bound(seen.begin(), seen.end(), c);
            if (it == seen.end() || *it != c) {
                throw Error(fmt::format("statistics memory: class {} has no statistics yet", c));
            }
            columns.push_back(it - seen.begin());
        }
        auto index = torch::tensor(columns, torch::kInt64).to(scores.device());
        perTask.push_back(std::get<0>(scores.index_select(1, index).max(1)));  // [B]
    }
    return torch::softmax(torch::stack(perTask, 1) / tau, 1);  // [B, T]
}

std::vector<std::pair<std::string, torch::Tensor>> StatisticsMemory::state(
    const std::string& prefix) const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    out.emplace_back(prefix + "second", second_);
    out.emplace_back(prefix + "total", torch::tensor({total_}, torch::kInt64));
    for (const auto& [c, n] : counts_) {
        out.emplace_back(fmt::format("{}class.{}.sum", prefix, c), sums_.at(c));
        out.emplace_back(fmt::format("{}class.{}.count", prefix, c),
                         torch::tensor({n}, torch::kInt64));
    }
    return out;
}

void StatisticsMemory::restore(const std::map<std::string, torch::Tensor>& tensors,
                               const std::string& prefix) {
    second_ = tensors.at(prefix + "second").to(torch::kFloat64);
    total_ = tensors.at(prefix + "total").item<int64_t>();
    sums_.clear();
    counts_.clear();
    const std::string classPrefix = prefix + "class.";
    for (const auto& [name, t] : tensors) {
        if (name.rfind(classPrefix, 0) != 0 || name.size() < 4 ||
            name.compare(name.size() - 4, 4, ".sum") != 0) {
            continue;
        }
        const std::string id =
            name.substr(classPrefix.size(), name.size() - classPrefix.size() - 4);
        const int64_t c = std::stoll(id);
        sums_[c] = t.to(torch::kFloat64);
        counts_[c] = tensors.at(classPrefix + id + ".count").item<int64_t>();
    }
    if (!counts_.empty()) {
        finalize();
    }
}

}  // namespace dlw
