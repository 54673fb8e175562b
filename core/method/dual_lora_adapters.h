#pragma once
// The adapters of DESIGN §3.2 eq. 1, beside the frozen maps of a ViT:
//   y = W0 x + B_O A_O x + Σ_{i ≤ t} g_i(x) · V_i U_iᵀ x
// an orthogonal adapter (A_O, B_O; one per map, shared by all tasks) and residual pieces
// (U_i fixed task-specific bases, V_i trained during task i only). The baselines are the same
// module with parts switched off: seq-lora and joint are the orthogonal adapter unconstrained,
// InfLoRA is the residual pieces alone (A_t = U_tᵀ fixed, B_t = V_t trained).
//
// SD-LoRA (Wu et al., ICLR 2025, eq. 3) is the orthogonal slot used as each task's fresh LoRA,
// unconstrained, plus `decoupled` pieces: when task t+1 starts, task t's LoRA B_t A_t becomes a
// frozen direction D_t = B_t A_t / ||B_t A_t||_F with a trained magnitude α_t, initialised to
// ||B_t A_t||_F so that the model is unchanged at the switch:
//   y = W0 x + B A x + Σ_{i < t} α_i D_i x
// The authors' code keeps one α per task shared by all layers and restarts it at 0.8 each
// task; here each (site, task) has its own α and keeps its value (no jump at a task switch).

#include "model/vision_transformer.h"

#include <vector>

#include <torch/torch.h>

namespace dlw {

class SubspaceMemory;

struct AdapterLayout {
    std::vector<AdaptedMap> maps;  // which maps of each adapted block
    std::vector<int> blocks;       // adapted blocks, ascending
    int orthogonalRank = 8;        // r_O; 0 = no orthogonal adapter
    int residualRank = 8;          // r_R; 0 = no residual pieces
    bool decoupled = false;        // SD-LoRA: beginTask freezes the LoRA into α D (above)
};

// One (block, map) site.
struct AdapterSite {
    int block = 0;
    AdaptedMap map = AdaptedMap::K;
};

class DualLoraAdaptersImpl : public torch::nn::Module, public AdapterHook {
public:
    DualLoraAdaptersImpl(const BackboneArch& arch, AdapterLayout layout);

    // Eq. 1 minus W0 x; x [B, N, d_in] → [B, N, d_out]. Residual pieces are weighted by the
    // gate set with setGate() (all ones when none is set).
    torch::Tensor delta(int block, AdaptedMap map, const torch::Tensor& x) override;

    const AdapterLayout& layout() const { return layout_; }
    const std::vector<AdapterSite>& sites() const { return sites_; }
    int tasks() const { return tasks_; }

    // Orthogonal adapter of a site: A_O [r_O, d_in], B_O [d_out, r_O] (undefined when r_O = 0).
    torch::Tensor& orthogonalA(const AdapterSite& site);
    torch::Tensor& orthogonalB(const AdapterSite& site);

    // Starts task `tasks()`: adds a residual piece per site with the given fixed bases
    // U [d_in, r_R] (keyed like sites()), V = 0 trainable; earlier V's are frozen. Decoupled
    // (SD-LoRA) from the second task on: first freezes each site's LoRA into a piece (above).
    void beginTask(const std::vector<torch::Tensor>& bases);
    // Residual piece i of a site: U_i [d_in, r_R] (a buffer) and V_i [d_out, r_R].
    torch::Tensor& residualU(const AdapterSite& site, int task);
    torch::Tensor& residualV(const AdapterSite& site, int task);

    // SD-LoRA piece i of a site (decoupled layouts): the direction as D_i = outᵢ inᵢᵀ with
    // in [d_in, r] = A_iᵀ and out [d_out, r] = B_i / ||B_i A_i||_F (buffers, never trained), and
    // the magnitude α_i [1] (a parameter, trained in every later task).
    int decoupledPieces() const;
    const torch::Tensor& directionIn(const AdapterSite& site, int piece);
    const torch::Tensor& directionOut(const AdapterSite& site, int piece);
    torch::Tensor& magnitude(const AdapterSite& site, int piece);

    // Parameters trained in the current task: every A_O, B_O, the newest V's and (decoupled)
    // every magnitude α_i.
    std::vector<torch::Tensor> trainableParameters();

    // Per-sample gate over residual pieces, [B, T] (T = tasks()); undefined = all ones.
    void setGate(torch::Tensor gate) { gate_ = std::move(gate); }

    // Copies of every A_O and B_O, taken before an optimizer step.
    std::vector<torch::Tensor> snapshotOrthogonal();
    // Projects the optimizer's update of the orthogonal adapters (DESIGN §3.2 step 3):
    // ΔA_O ← ΔA_O (I − MMᵀ), and with `projectB` ΔB_O ← ΔB_O (I − QQᵀ), Q an orthonormal basis
    // of span(A_O M) with A_O before the step. `memoryOf(site)` gives the site's memory.
    void projectOrthogonalUpdate(
        const std::vector<torch::Tensor>& before,
        const std::function<const SubspaceMemory&(const AdapterSite&)>& memoryOf,
        bool projectB);

private:
    struct Site {
        torch::Tensor a;                                      // A_O
        torch::Tensor b;                                      // B_O
        std::vector<torch::Tensor> u;                         // U_i
        std::vector<torch::Tensor> v;                         // V_i
        std::vector<torch::Tensor> dirIn, dirOut, magnitude;  // SD-LoRA pieces
        torch::Tensor uAll;  // [d_in, T·r_R], cached concatenation
        // Without autograd (prediction, evaluation, memory passes) the joined [A_Oᵀ | U] and
        // [B_O | V] are kept until a parameter changes (its version counter moves).
        torch::Tensor joinedIn, joinedOut;
        std::vector<int64_t> joinedVersions;
    };
    Site& site(int block, AdaptedMap map);
    // SD-LoRA's switch to a new task: each site's B A becomes piece P (direction, magnitude),
    // then A and B restart as at construction.
    void freezeIntoDirections();
    Site* find(int block, AdaptedMap map);

    BackboneArch arch_;
    AdapterLayout layout_;
    std::vector<AdapterSite> sites_;
    std::vector<Site> state_;  // parallel to sites_
    std::vector<int> index_;   // block * 6 + map → index into state_, -1 = none
    int tasks_ = 0;
    torch::Tensor gate_;
};
TORCH_MODULE(DualLoraAdapters);

}  // namespace dlw
