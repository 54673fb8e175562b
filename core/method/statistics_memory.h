#pragma once
// The statistics memory of DESIGN §3.2 (eq. 6-7): per-class feature sums and one shared
// second-moment matrix, accumulated in float64 as tasks arrive, never a sample. It predicts the
// task of an input with a confidence (a shared-covariance Gaussian model, i.e. LDA).

#include "util/collective.h"

#include <cstdint>
#include <map>
#include <vector>

#include <torch/torch.h>

namespace dlw {

class StatisticsMemory {
public:
    // `dim` = feature size d; `lambda` = shrinkage of eq. 6 (S + λ tr(S)/d I).
    StatisticsMemory(int64_t dim, double lambda);

    // Adds features h [N, d] with their global class labels [N] (eq. 6 sums). Any class, any
    // order; sums only, so the result does not depend on the order of calls.
    void add(const torch::Tensor& features, const torch::Tensor& labels);

    // Recomputes μ_c, S, S_λ and its Cholesky factor from the sums (call after each task).
    void finalize();

    // Classes seen so far, ascending, and their counts.
    std::vector<int64_t> classes() const;
    const torch::Tensor& means() const { return means_; }     // [C, d] float64, classes() order
    const torch::Tensor& covariance() const { return cov_; }  // S [d, d] float64 (unshrunk)

    // Eq. 7: score_c(h) = −½ ‖L⁻¹ (h − μ_c)‖², [B, C] in classes() order, float32.
    torch::Tensor classScores(const torch::Tensor& features) const;

    // Where each task's classes sit among classScores()' columns, worked out once per set of
    // tasks (prediction is called per image; this keeps its cost to a few tensor operations).
    struct TaskColumns {
        torch::Tensor order;         // [C'] columns in task order; undefined = already in order
        std::vector<int64_t> sizes;  // classes per task
    };
    // A class without statistics (no training image) is left out of its task's columns.
    // Throws dlw::Error naming a task none of whose classes has statistics.
    TaskColumns taskColumns(const std::vector<std::vector<int64_t>>& taskClasses) const;

    // Eq. 7: p(t | x) = softmax_t(max_{c ∈ task t} score_c / τ) over `taskClasses` (each task's
    // global labels; classes without statistics left out), [B, T].
    torch::Tensor taskPosterior(const torch::Tensor& features,
                                const std::vector<std::vector<int64_t>>& taskClasses,
                                double tau) const;
    torch::Tensor taskPosterior(const torch::Tensor& features,
                                const TaskColumns& columns,
                                double tau) const;

    // For checkpoints: every sum, so that a reload continues exactly.
    std::vector<std::pair<std::string, torch::Tensor>> state(const std::string& prefix) const;
    void restore(const std::map<std::string, torch::Tensor>& tensors, const std::string& prefix);

    // Data parallel (#18): what each rank add()ed since the last call (or since construction
    // or restore()) becomes the sum over the ranks of those additions, so that every rank holds
    // the sums of the whole task. `classes`: every class any rank may have added (the current
    // task's); the same on every rank. No-op without a group. Call before finalize().
    void allReduceAdded(Collective* group,
                        const std::vector<int64_t>& classes,
                        const std::string& what);

private:
    void markReduced();  // the sums allReduceAdded() counts from
    int64_t dim_;
    double lambda_;
    std::map<int64_t, torch::Tensor> sums_;  // class → Σ h, [d] float64
    std::map<int64_t, int64_t> counts_;      // class → n_c
    torch::Tensor second_;                   // G = Σ h hᵀ, [d, d] float64
    int64_t total_ = 0;                      // N
    // The sums as allReduceAdded() last left them.
    std::map<int64_t, torch::Tensor> reducedSums_;
    std::map<int64_t, int64_t> reducedCounts_;
    torch::Tensor reducedSecond_;
    int64_t reducedTotal_ = 0;
    // Derived by finalize():
    torch::Tensor means_;          // [C, d] float64
    torch::Tensor cov_;            // S, float64
    torch::Tensor whitener_;       // L⁻¹, [d, d] float32
    torch::Tensor whitenedMeans_;  // μ L⁻ᵀ, [C, d] float32
    torch::Tensor halfMeanNorms_;  // −½ ‖L⁻¹ μ_c‖², [C] float32
    // score_c + ½ ‖L⁻¹ h‖² = h · S_λ⁻¹ μ_c − ½ ‖L⁻¹ μ_c‖², linear in h: what eq. 7 needs, as the
    // dropped term is the same for every class and cancels in the softmax over tasks.
    torch::Tensor discriminant_;  // S_λ⁻¹ μ_c as rows, [C, d] float32
};

}  // namespace dlw
