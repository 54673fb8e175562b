#pragma once
// FLOPs one training step needs (bench/README.md states the same formula): the forward matmuls,
// the input-gradient matmuls of the backward pass down to the first adapted block (frozen
// weights get no weight gradient), and the adapters' weight gradients. Multiply-add = 2 FLOPs;
// norms, softmax, GELU and the optimizer are left out (under 2 % at these shapes).

#include <cstdint>
#include <vector>

namespace dlw::bench {

struct StepShape {
    int64_t tokens = 197;            // N, with the class token
    int64_t width = 768;             // d
    int64_t mlp = 3072;              // m
    int64_t depth = 12;              // L
    int64_t patchInputs = 768;       // C·p², inputs of the patch-embedding matmul
    std::vector<int> adaptedBlocks;  // ascending
    int64_t mapsPerBlock = 2;        // k and v
    int64_t rank = 8;                // columns of each trainable low-rank pair (A [r, d], B [d, r])
    int64_t frozenResidualColumns = 0;     // duallora: earlier tasks' residual pieces (U, frozen V)
    int64_t trainableResidualColumns = 0;  // duallora: this task's residual piece (trainable V)
};

// Per image.
inline double stepFlops(const StepShape& s) {
    const double n = static_cast<double>(s.tokens);
    const double d = static_cast<double>(s.width);
    const double m = static_cast<double>(s.mlp);
    const double linear = 2 * n * (3 * d * d + d * d + 2 * d * m);  // qkv, proj, fc1, fc2
    const double attention = 2 * (2 * n * n * d);                   // Q Kᵀ and P V
    double forward = 2 * (n - 1) * static_cast<double>(s.patchInputs) * d;
    forward += static_cast<double>(s.depth) * (linear + attention);
    if (s.adaptedBlocks.empty()) {
        return forward;
    }
    const double first = s.adaptedBlocks.front();
    // Blocks after the first adapted one: every matmul's input gradient (linear: as forward;
    // attention: both operands of Q Kᵀ and of P V are activations, so twice the forward).
    double backward = (static_cast<double>(s.depth) - first - 1) * (linear + 2 * attention);
    // The first adapted block: fc2, fc1, proj input gradients, then dP, dK, dV (no dQ, no
    // gradient into the frozen qkv's input: nothing before it trains).
    backward += 2 * n * (d * d + 2 * d * m) + 3 * (2 * n * n * d);
    // Adapters on each adapted map: forward x Aᵀ then Bᵀ (4ndr); backward dB, d(xAᵀ), dA and,
    // after the first adapted block, dx (2ndr each). Residual pieces: x U then Vᵀ (4ndc for c
    // columns), dV for the trainable columns, and d(xU), dx after the first block (U is frozen).
    const double r = static_cast<double>(s.rank);
    const double cf = static_cast<double>(s.frozenResidualColumns);
    const double ct = static_cast<double>(s.trainableResidualColumns);
    double adapters = 0;
    for (int b : s.adaptedBlocks) {
        const bool needsDx = b != s.adaptedBlocks.front();
        const double lowRank = 4 * n * d * r + (needsDx ? 8 : 6) * n * d * r;
        const double residual =
            4 * n * d * (cf + ct) + 2 * n * d * ct + (needsDx ? 4 * n * d * (cf + ct) : 0);
        adapters += static_cast<double>(s.mapsPerBlock) * (lowRank + residual);
    }
    return forward + backward + adapters;
}

}  // namespace dlw::bench
