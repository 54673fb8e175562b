#pragma once
// The subspace memory of DESIGN §3.2 (GPM, Saha et al. 2021) for one adapted-map input:
// M (d × k) with orthonormal columns, partitioned by task, M = [G_1 | … | G_t] (eq. 4). It
// confines the orthogonal adapter and gives each task its residual bases (eq. 3).

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace dlw {

struct MemoryUpdate {
    int64_t added = 0;        // columns appended for this task (size of G_t)
    double energyBefore = 0;  // share of the task's input energy the old memory held, [0, 1]
    double energyAfter = 0;   // share held after the update (≥ threshold unless capped)
    double threshold = 0;     // ε_t used
};

class SubspaceMemory {
public:
    explicit SubspaceMemory(int64_t dim);

    int64_t dim() const { return dim_; }
    int64_t size() const { return basis_.size(1); }
    // M as float32 [d, k] (k may be 0). Columns are orthonormal to ~1e-6.
    const torch::Tensor& basis() const { return basis_; }
    // Column counts per task: task i owns columns [sum of earlier, + taskColumns()[i]).
    const std::vector<int64_t>& taskColumns() const { return taskColumns_; }
    // G_i, the columns task i appended, [d, k_i].
    torch::Tensor taskBlock(int task) const;

    // x (I − M Mᵀ) on the last dimension: the part of rows of x outside the memory.
    torch::Tensor removeFromRows(const torch::Tensor& x) const;

    // Eq. 3: the top-`rank` eigenvectors of (I − MMᵀ) C (I − MMᵀ), [d, rank], orthonormal and
    // orthogonal to M. `cov` is the uncentred input covariance (eq. 2), [d, d].
    torch::Tensor taskBases(const torch::Tensor& cov, int64_t rank) const;

    // Eq. 4: appends eigenvectors of the residual covariance until the captured energy ratio
    // of `cov` reaches `threshold` (capped at d columns); records them as the next task's block.
    MemoryUpdate update(const torch::Tensor& cov, double threshold);

    // For checkpoints: M in float64 and the per-task column counts.
    torch::Tensor state() const { return basis64_; }
    void restore(const torch::Tensor& basis64, std::vector<int64_t> taskColumns);

private:
    int64_t dim_;
    torch::Tensor basis64_;  // [d, k] float64, the master copy
    torch::Tensor basis_;    // float32 copy for the training hot path
    std::vector<int64_t> taskColumns_;
};

// Per-task energy threshold ε_t = ε_begin + (ε_end − ε_begin)·t/T, t = 1..T (DESIGN §3.2 step 4).
double energyThreshold(double begin, double end, int task, int tasks);

}  // namespace dlw
