#include "method/statistics_memory.h"

#include "api/error.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace dlw {

StatisticsMemory::StatisticsMemory(int64_t dim, double lambda)
    : dim_(dim), lambda_(lambda), second_(torch::zeros({dim, dim}, torch::kFloat64)) {
    markReduced();
}

void StatisticsMemory::markReduced() {
    reducedSums_.clear();
    for (const auto& [c, sum] : sums_) {
        reducedSums_[c] = sum.clone();
    }
    reducedCounts_ = counts_;
    reducedSecond_ = second_.clone();
    reducedTotal_ = total_;
}

void StatisticsMemory::allReduceAdded(Collective* group,
                                      const std::vector<int64_t>& classes,
                                      const std::string& what) {
    if (group == nullptr) {
        return;
    }
    // This rank's additions (float64 differences of sums in float64: exact to ~1e-16 of them),
    // dense over `classes` so that every rank sends the same shapes.
    const auto k = static_cast<int64_t>(classes.size());
    auto sums = torch::zeros({k, dim_}, torch::kFloat64);
    auto counts = torch::zeros({k + 1}, torch::kInt64);
    for (int64_t i = 0; i < k; ++i) {
        const int64_t c = classes[static_cast<std::size_t>(i)];
        if (const auto it = sums_.find(c); it != sums_.end()) {
            const auto before = reducedSums_.find(c);
            sums[i] = before == reducedSums_.end() ? it->second : it->second - before->second;
            const auto n = reducedCounts_.find(c);
            counts[i] = counts_.at(c) - (n == reducedCounts_.end() ? 0 : n->second);
        }
    }
    counts[k] = total_ - reducedTotal_;
    std::vector<torch::Tensor> added{second_ - reducedSecond_, sums, counts};
    group->allReduceSum(added, what);
    second_ = reducedSecond_ + added[0];
    total_ = reducedTotal_ + added[2][k].item<int64_t>();
    for (int64_t i = 0; i < k; ++i) {
        const int64_t c = classes[static_cast<std::size_t>(i)];
        const int64_t n = added[2][i].item<int64_t>();
        const auto before = reducedSums_.find(c);
        const auto beforeCount = reducedCounts_.find(c);
        const int64_t had = beforeCount == reducedCounts_.end() ? 0 : beforeCount->second;
        if (had + n == 0) {
            sums_.erase(c);
            counts_.erase(c);
            continue;
        }
        sums_[c] =
            before == reducedSums_.end() ? added[1][i].clone() : before->second + added[1][i];
        counts_[c] = had + n;
    }
    markReduced();
}

void StatisticsMemory::add(const torch::Tensor& features, const torch::Tensor& labels) {
    auto h = features.detach().to(torch::kCPU, torch::kFloat64);  // [N, d]
    auto y = labels.to(torch::kCPU, torch::kInt64);
    if (h.dim() != 2 || h.size(1) != dim_ || y.numel() != h.size(0)) {
        throw Error(fmt::format("statistics memory: features must be [N, {}] with N labels", dim_));
    }
    second_.addmm_(h.t(), h);  // in place: no [d, d] temporary per batch
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
    std::vector<double> counts;
    for (const auto& [c, n] : counts_) {
        means.push_back(sums_.at(c) / static_cast<double>(n));
        counts.push_back(static_cast<double>(n));
    }
    means_ = torch::stack(means);  // [C, d]
    // S = (G − Σ_c n_c μ_c μ_cᵀ) / N (eq. 6): the between-class sum as one GEMM, and every
    // [d, d] step in place. At d = 2048 (task_id.projection) per-class outer products and fresh
    // temporaries had made the smoke run (2 tasks, 1 thread) take 5.7 s; now 4.6-4.8 s.
    auto weighted = means_.t() * torch::tensor(counts, torch::kFloat64);  // [d, C]
    cov_ = torch::addmm(second_, weighted, means_, /*beta=*/1, /*alpha=*/-1);
    cov_.div_(static_cast<double>(total_));
    cov_ = cov_.add(cov_.t()).mul_(0.5);  // exactly symmetric (not in place: cov_ᵀ aliases it)
    if (!torch::isfinite(cov_).all().item<bool>()) {
        throw DivergedError(
            "diverged: the statistics memory's feature covariance (DESIGN eq. 6) holds NaN or "
            "Inf");
    }
    const double shrink = lambda_ * cov_.trace().item<double>() / static_cast<double>(dim_);
    auto shrunk = cov_.clone();
    shrunk.diagonal().add_(std::max(shrink, 1e-12));
    auto chol = at::linalg_cholesky(shrunk);  // L, lower
    shrunk.zero_().diagonal().fill_(1.0);     // reused as the identity
    auto inv = at::linalg_solve_triangular(chol, shrunk, /*upper=*/false);  // L⁻¹
    whitener_ = inv.to(torch::kFloat32);
    auto wm = torch::matmul(means_, inv.t());  // rows L⁻¹ μ_c, [C, d]
    whitenedMeans_ = wm.to(torch::kFloat32);
    halfMeanNorms_ = (-0.5 * wm.pow(2).sum(1)).to(torch::kFloat32);
    discriminant_ = torch::matmul(wm, inv).to(torch::kFloat32);  // rows μ_cᵀ L⁻ᵀ L⁻¹
}

torch::Tensor StatisticsMemory::classScores(const torch::Tensor& features) const {
    if (!whitener_.defined()) {
        throw Error("statistics memory: classScores() before finalize()");
    }
    const auto device = features.device();
    auto on = [&](const torch::Tensor& t) { return t.device() == device ? t : t.to(device); };
    auto z = torch::matmul(features.to(torch::kFloat32), on(whitener_).t());  // [B, d]
    // −½ ‖z − m_c‖² = z·m_c − ½ ‖m_c‖² − ½ ‖z‖²
    auto cross = torch::addmm(on(halfMeanNorms_), z, on(whitenedMeans_).t());  // [B, C]
    return cross - 0.5 * z.square().sum(1, /*keepdim=*/true);
}

StatisticsMemory::TaskColumns StatisticsMemory::taskColumns(
    const std::vector<std::vector<int64_t>>& taskClasses) const {
    const auto seen = classes();
    TaskColumns out;
    std::vector<int64_t> order;
    for (std::size_t t = 0; t < taskClasses.size(); ++t) {
        // #16: a class without a training image (one that a dataset's test lists alone hold)
        // has no statistics; its task is scored by its other classes.
        int64_t size = 0;
        for (int64_t c : taskClasses[t]) {
            auto it = std::lower_bound(seen.begin(), seen.end(), c);
            if (it != seen.end() && *it == c) {
                order.push_back(it - seen.begin());
                ++size;
            }
        }
        if (size == 0) {
            throw Error(
                fmt::format("statistics memory: no class of task {} has statistics yet", t + 1));
        }
        out.sizes.push_back(size);
    }
    bool identity = order.size() == seen.size();
    for (std::size_t i = 0; identity && i < order.size(); ++i) {
        identity = order[i] == static_cast<int64_t>(i);
    }
    if (!identity) {
        out.order = torch::tensor(order, torch::kInt64);
    }
    return out;
}

torch::Tensor StatisticsMemory::taskPosterior(const torch::Tensor& features,
                                              const std::vector<std::vector<int64_t>>& taskClasses,
                                              double tau) const {
    return taskPosterior(features, taskColumns(taskClasses), tau);
}

torch::Tensor StatisticsMemory::taskPosterior(const torch::Tensor& features,
                                              const TaskColumns& columns,
                                              double tau) const {
    if (!discriminant_.defined()) {
        throw Error("statistics memory: taskPosterior() before finalize()");
    }
    const auto device = features.device();
    auto on = [&](const torch::Tensor& t) { return t.device() == device ? t : t.to(device); };
    // classScores() up to a per-row constant, which the softmax over tasks drops.
    auto scores = torch::addmm(on(halfMeanNorms_), features.to(torch::kFloat32),
                               on(discriminant_).t());  // [B, C]
    if (columns.order.defined()) {
        scores = scores.index_select(1, columns.order.to(scores.device()));
    }
    const auto& sizes = columns.sizes;
    const auto tasks = static_cast<int64_t>(sizes.size());
    torch::Tensor best;  // [B, T]
    if (tasks > 0 &&
        std::all_of(sizes.begin(), sizes.end(), [&](int64_t n) { return n == sizes.front(); })) {
        best = scores.view({scores.size(0), tasks, sizes.front()}).amax(2);
    } else {
        std::vector<torch::Tensor> perTask;
        for (const auto& part : scores.split_with_sizes(sizes, 1)) {
            perTask.push_back(part.amax(1));
        }
        best = torch::stack(perTask, 1);
    }
    return torch::softmax(best / tau, 1);
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
    // #14: checkpoints are outside data: a missing tensor or a class name without a number is
    // a dlw::Error (map::at and std::stoll threw std::out_of_range / invalid_argument).
    const auto at = [&](const std::string& name) -> const torch::Tensor& {
        const auto it = tensors.find(name);
        if (it == tensors.end()) {
            throw Error(fmt::format("checkpoint lacks tensor '{}'", name));
        }
        return it->second;
    };
    second_ = at(prefix + "second").to(torch::kFloat64);
    total_ = at(prefix + "total").item<int64_t>();
    sums_.clear();
    counts_.clear();
    const std::string classPrefix = prefix + "class.";
    for (const auto& [name, t] : tensors) {
        if (name.rfind(classPrefix, 0) != 0 || name.size() < classPrefix.size() + 4 ||
            name.compare(name.size() - 4, 4, ".sum") != 0) {
            continue;
        }
        const std::string id =
            name.substr(classPrefix.size(), name.size() - classPrefix.size() - 4);
        int64_t c = 0;
        const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), c);
        if (ec != std::errc() || end != id.data() + id.size()) {
            throw Error(fmt::format("checkpoint tensor '{}' names no class number", name));
        }
        sums_[c] = t.to(torch::kFloat64);
        counts_[c] = at(classPrefix + id + ".count").item<int64_t>();
    }
    if (!counts_.empty()) {
        finalize();
    }
    markReduced();
}

}  // namespace dlw
