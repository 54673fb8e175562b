#include "method/subspace_memory.h"

#include "api/error.h"

#include <fmt/format.h>

namespace dlw {
namespace {

// (I − M Mᵀ) C (I − M Mᵀ) in float64, symmetrised.
torch::Tensor residualCovariance(const torch::Tensor& cov, const torch::Tensor& m) {
    auto c = cov.to(torch::kFloat64);
    if (!torch::isfinite(c).all().item<bool>()) {  // eigh would fail with an internal error
        throw DivergedError(
            "diverged: an adapted map's input covariance (DESIGN eq. 2) holds NaN or Inf");
    }
    if (m.size(1) == 0) {
        return c;
    }
    auto p = torch::eye(c.size(0), c.options()) - torch::matmul(m, m.t());  // [d, d]
    auto r = torch::matmul(torch::matmul(p, c), p);
    return 0.5 * (r + r.t());
}

// Eigenpairs of a symmetric matrix, largest first.
std::pair<torch::Tensor, torch::Tensor> eigenDescending(const torch::Tensor& sym) {
    auto [values, vectors] = at::linalg_eigh(sym, "L");  // ascending
    return {values.flip(0).clamp_min(0.0), vectors.flip(1)};
}

// Removes from `v`'s columns any component in span(m) and re-orthonormalises them: eigh of a
// projected matrix returns vectors orthogonal to M only up to rounding.
torch::Tensor orthogonalise(const torch::Tensor& v, const torch::Tensor& m) {
    auto u = v;
    if (m.size(1) > 0) {
        u = u - torch::matmul(m, torch::matmul(m.t(), u));
    }
    auto qr = at::linalg_qr(u, "reduced");
    auto q = std::get<0>(qr);
    auto signs = torch::sign(torch::diagonal(std::get<1>(qr))).clamp_min(0.0) * 2 - 1;
    return q * signs;  // keep the eigenvectors' orientation
}

}  // namespace

double energyThreshold(double begin, double end, int task, int tasks) {
    return tasks <= 0 ? end : begin + (end - begin) * task / tasks;
}

SubspaceMemory::SubspaceMemory(int64_t dim)
    : dim_(dim)
    , basis64_(torch::zeros({dim, 0}, torch::kFloat64))
    , basis_(torch::zeros({dim, 0})) {}

torch::Tensor SubspaceMemory::taskBlock(int task) const {
    int64_t begin = 0;
    for (int i = 0; i < task; ++i) {
        begin += taskColumns_.at(static_cast<std::size_t>(i));
    }
    return basis_.narrow(1, begin, taskColumns_.at(static_cast<std::size_t>(task)));
}

torch::Tensor SubspaceMemory::removeFromRows(const torch::Tensor& x) const {
    if (size() == 0) {
        return x;
    }
    const auto& m = basis_.device() == x.device() ? basis_ : basis_.to(x.device());
    return x - torch::matmul(torch::matmul(x, m), m.t());  // x (I − M Mᵀ)
}

torch::Tensor SubspaceMemory::taskBases(const torch::Tensor& cov, int64_t rank) const {
    const int64_t free = dim_ - size();
    if (rank > free) {
        throw Error(
            fmt::format("residual rank {} exceeds the {} dimensions the memory leaves "
                        "free (d = {}, memory {})",
                        rank, free, dim_, size()));
    }
    auto [values, vectors] = eigenDescending(residualCovariance(cov, basis64_));
    return orthogonalise(vectors.narrow(1, 0, rank), basis64_).to(torch::kFloat32);  // [d, r]
}

MemoryUpdate SubspaceMemory::update(const torch::Tensor& cov, double threshold) {
    MemoryUpdate u;
    u.threshold = threshold;
    auto c = cov.to(torch::kFloat64);
    const double total = c.trace().item<double>();
    if (total <= 0) {
        taskColumns_.push_back(0);
        return u;
    }
    const double held =
        size() == 0
            ? 0.0
            : torch::matmul(basis64_.t(), torch::matmul(c, basis64_)).trace().item<double>();
    u.energyBefore = held / total;
    auto [values, vectors] = eigenDescending(residualCovariance(c, basis64_));
    const int64_t free = dim_ - size();
    auto cumulative = (values.cumsum(0) + held) / total;  // [d]
    int64_t k = 0;
    if (u.energyBefore < threshold) {
        // Smallest k with captured energy ≥ threshold; all free directions if never reached.
        k = (cumulative < threshold).sum().item<int64_t>() + 1;
        k = std::min(k, free);
    }
    if (k > 0) {
        auto added = orthogonalise(vectors.narrow(1, 0, k), basis64_);
        basis64_ = torch::cat({basis64_, added}, 1);
        basis_ = basis64_.to(torch::kFloat32);
    }
    u.added = k;
    u.energyAfter = k > 0 ? cumulative[k - 1].item<double>() : u.energyBefore;
    taskColumns_.push_back(k);
    return u;
}

void SubspaceMemory::restore(const torch::Tensor& basis64, std::vector<int64_t> taskColumns) {
    basis64_ = basis64.to(torch::kFloat64).contiguous();
    basis_ = basis64_.to(torch::kFloat32);
    taskColumns_ = std::move(taskColumns);
}

}  // namespace dlw
