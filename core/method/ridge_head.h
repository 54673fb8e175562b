#pragma once
// RanPAC's classifier (McDonnell et al., "RanPAC: Random Projections and Pre-trained Models for
// Continual Learning", NeurIPS 2023, §4 and Algorithm 1): frozen features f [D] go through a
// fixed random projection with a nonlinearity, h = ReLU(f W_rand), W_rand [D, M] ~ N(0, 1), and a
// ridge-regression head fitted in closed form from streaming sums over every image seen:
//   G = Σ h hᵀ [M, M],  C = Σ h yᵀ [M, K] (y one-hot over the sequence's K classes),
//   W_o = (G + λ I)⁻¹ C,  scores s(x) = h(x) W_o.
// No sample is kept and nothing is forgotten: after any number of tasks W_o is the batch ridge
// solution on all data seen so far. λ is chosen from RanPAC's grid 10⁻⁸ … 10⁸ by the mean
// squared error of the one-hot targets on held-out images (the current task's validation split;
// without one, RanPAC's own rule: fit on 80 % of the task's images, test on the other 20 %).
// Calibration (ours; RanPAC does not calibrate): the probabilities are softmax(s / T) with the
// temperature T minimising the negative log-likelihood on the same held-out images.

#include "util/collective.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace dlw {

class RidgeHead {
public:
    // Draws W_rand [featureDim, projectionDim] from torch's default generator (the caller seeds
    // it); projectionDim 0 = no projection (h = f, RanPAC's "M = 0"). `classes` = K, the
    // columns of every task of the sequence in task order. Sums in float64 on `device`.
    RidgeHead(int64_t featureDim, int64_t projectionDim, int64_t classes, torch::Device device);

    int64_t projectionDim() const { return projectionDim_; }
    // h = ReLU(f W_rand) [B, M] (f [B, D] in any float type), float32; f itself when M = 0.
    torch::Tensor project(const torch::Tensor& features) const;

    // Adds images of the current task: projected features h [B, M] (project()) and their class
    // columns [B] (int64, 0 ≤ c < K) to G and C.
    void add(const torch::Tensor& projected, const torch::Tensor& columns);

    // Chooses λ and T on held-out images (projected features and columns; empty = RanPAC's 80/20
    // rule on `current`, the task's own projected training images and their columns, every
    // fifth held out) over the first `seenClasses` columns, then solves W_o from G and C.
    // Throws dlw::Error when nothing was added or a task without validation has < 5 images.
    struct Fit {
        double lambda = 0;            // chosen ridge λ
        double temperature = 1;       // chosen T
        double heldOutMse = 0;        // mean squared error of the one-hot targets at λ
        int64_t heldOut = 0;          // images it was measured on
        bool validationSplit = true;  // false = the 80/20 rule on the task's training images
    };
    Fit fit(const std::vector<torch::Tensor>& heldOut,
            const std::vector<torch::Tensor>& heldOutColumns,
            const std::vector<torch::Tensor>& current,
            const std::vector<torch::Tensor>& currentColumns,
            int64_t seenClasses);

    // s = h W_o over the first `seenClasses` columns, [B, seenClasses] float32 (h: project()).
    torch::Tensor scores(const torch::Tensor& projected, int64_t seenClasses) const;
    double temperature() const { return temperature_; }
    double lambda() const { return lambda_; }
    // Entries of W_o (M × K, or D × K), what the head learns.
    int64_t parameterCount() const;
    // M' of h: the projection's M, or D without one.
    int64_t width() const { return gram_.size(0); }

    // For checkpoints: W_rand, the sums, W_o, λ and T, so that a reload continues exactly.
    std::vector<std::pair<std::string, torch::Tensor>> state(const std::string& prefix) const;
    // Throws dlw::Error naming a missing or mis-shaped tensor.
    void restore(const std::map<std::string, torch::Tensor>& tensors, const std::string& prefix);
    // Data parallel (#18): what each rank add()ed since the last call (or construction, or
    // restore()) becomes the sum over the ranks of those additions. No-op without a group.
    // Call before fit().
    void allReduceAdded(Collective* group, const std::string& what);

    // The λ grid of RanPAC's code: 10⁻⁸, 10⁻⁷, …, 10⁸.
    static std::vector<double> lambdaGrid();

private:
    int64_t featureDim_;
    int64_t projectionDim_;
    int64_t classes_;
    torch::Device device_;
    torch::Tensor wRand_;                       // [D, M] float32, undefined when M = 0
    torch::Tensor gram_;                        // G [M', M'] float64 (M' = M or D)
    torch::Tensor cross_;                       // C [M', K] float64
    torch::Tensor reducedGram_, reducedCross_;  // G and C as allReduceAdded() last left them
    torch::Tensor wOut_;                        // W_o [M', K] float32; zeros before the first fit
    double lambda_ = 0;
    double temperature_ = 1;
};

}  // namespace dlw
