#pragma once
// One continual learner: the frozen backbone, the adapters of its method, one head per task, the
// subspace memories and the statistics memory, with the per-task passes of DESIGN §3.2. The
// engine drives it; it knows nothing of files, events or threads.

#include "api/events.h"
#include "api/experiment.h"
#include "method/covariance_observer.h"
#include "method/dual_lora_adapters.h"
#include "method/ridge_head.h"
#include "method/statistics_memory.h"
#include "method/subspace_memory.h"
#include "model/vision_transformer.h"

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <torch/torch.h>

namespace dlw {

// What a method is made of (DESIGN §3.3), derived from the experiment.
struct MethodPlan {
    MethodKind kind = MethodKind::DualLora;
    AdapterLayout layout;
    bool subspaceMemory = false;  // GPM memory kept (residual bases, projection)
    bool projectOrthogonal = false;
    bool projectB = true;
    bool eigenInitOrthogonal = false;  // A_O from task 1's covariance (DualLoRA)
    double basisScale = 0.57735;
    TaskIdMode taskId = TaskIdMode::None;
    TaskIdFeature feature = TaskIdFeature::BlockInput;
    int featureBlock = 0;  // l_f
    double lambda = 1e-3;
    double tau = 2.0;
    int64_t taskIdProjection = 0;  // M of ReLU(h W) before the statistics memory; 0 = none
    GateMode gate = GateMode::None;
    int64_t ranpacDim = 0;         // ranpac: M of the random projection
    bool ranpacAdaptFirst = true;  // ranpac: LoRA trained on task 1, then frozen
};
MethodPlan planMethod(const Experiment& experiment, const BackboneArch& arch);

// The outputs of one evaluation forward pass over a batch.
struct Prediction {
    torch::Tensor logits;         // [B, C] concatenated heads (global class order of the tasks)
    torch::Tensor taskPosterior;  // [B, T] p(t|x), undefined without task identity
    torch::Tensor calibrated;     // [B, C] P(k|x) (eq. 8), undefined without task identity
    // [B] OOD score: min over learned classes c of d²_c(h) / θ_task(c), the squared
    // Mahalanobis distance of h (eq. 5's feature) to class mean μ_c under the familiarity
    // memory's shared covariance, over the 95 % quantile θ_t of that distance on task t's
    // validation images (Lee et al., NeurIPS 2018, with a fitted threshold). > 1 = unfamiliar.
    // `calibrated` of an unfamiliar input is then mixed toward uniform over its C columns,
    // p ← p / score + (1 − 1 / score) / C, and `taskPosterior` alike toward n_t / C. Undefined
    // when the model has no familiarity memory (a checkpoint from before it).
    torch::Tensor ood;
};

// A prediction is unfamiliar when its OOD score exceeds this: the familiar images of the
// validation split pass at kFamiliarQuantile.
inline constexpr double kUnfamiliarAbove = 1.0;
inline constexpr double kFamiliarQuantile = 0.95;

class ContinualModel {
public:
    ContinualModel(VisionTransformer backbone,
                   MethodPlan plan,
                   std::vector<std::vector<int64_t>> taskClasses,
                   torch::Device device);

    const MethodPlan& plan() const { return plan_; }
    // Where the model's tensors and outputs live.
    torch::Device device() const { return device_; }
    // Data parallel (#18): the process group whose ranks each pass a share of the images to
    // beginTask, addToRidge, addToStatistics and endTask; the sums those passes make (eq. 2
    // covariances, eq. 6 class statistics, RanPAC's G and C) are summed over the ranks before
    // they are used, so every rank ends each task with the same memories and bases. Null (the
    // default): one process. The `heldOut` images of endTask are every rank's whole set.
    void setGroup(Collective* group) { group_ = group; }
    // The classes of each training task (global labels), as given to the constructor.
    const std::vector<std::vector<int64_t>>& taskClasses() const { return taskClasses_; }
    int tasksStarted() const { return started_; }
    // Whether task t (0-based) has gradient steps: every task, except for ranpac, which trains
    // only task 1 and only with first-session adaptation (its head is solved in endTask).
    bool trainsTask(int task) const;

    // The frozen prefix: the blocks below the first adapted one. No adapter sits there, so its
    // output for an image never changes; when it also carries h of eq. 5 (or no task identity
    // is kept), that output can stand in for the image in training and in the memory passes
    // (`prefixed` below), and a run without augmentation computes it once per task.
    bool hasFrozenPrefix() const;
    // Its output for `images` [B, C, H, W]: [B, N, D], fp32, no autograd.
    torch::Tensor frozenPrefix(const torch::Tensor& images);

    // Pre-pass and start of task t (steps 1-2 of §3.2): covariance of `batches` (images, or
    // frozenPrefix() outputs when `prefixed`), task bases, a fresh head. Returns warnings
    // (rank clamped).
    std::vector<std::string> beginTask(const std::vector<torch::Tensor>& batches,
                                       bool prefixed = false);
    // Parameters the optimizer trains in the current task.
    std::vector<torch::Tensor> trainableParameters();
    // bf16 autocast of the backbone's forward in trainLogits() and predict() (experiment key
    // `precision`); heads, losses, task identity and the memory passes stay fp32.
    void setBf16Autocast(bool on) { bf16_ = on; }
    // Training forward of the current task: logits of its head [B, classes_t] (fp32), from
    // images or (`prefixed`) from frozenPrefix() outputs.
    torch::Tensor trainLogits(const torch::Tensor& images, bool prefixed = false);
    // Called around optimizer.step(): snapshot before, projection after (step 3 of §3.2).
    std::vector<torch::Tensor> beforeStep();
    void afterStep(const std::vector<torch::Tensor>& snapshot);
    // ranpac, between the task's last step and endTask: adds a batch of its training images
    // (or frozenPrefix() outputs when `prefixed`) with their global labels to the ridge head's
    // sums, streamed so that no task's images need to be held at once. `keep` keeps their
    // projected features for RanPAC's 80/20 rule (a task without a validation split).
    void addToRidge(const torch::Tensor& batch,
                    const torch::Tensor& labels,
                    bool prefixed,
                    bool keep);
    // Every method with a class statistics or familiarity memory, between the task's last step
    // and endTask: adds a batch of the task's training images (or frozenPrefix() outputs when
    // `prefixed`) with their global labels to those memories' sums (eq. 6; h of eq. 5, no image
    // kept), so that they learn from the whole task when the covariance pass is a sample
    // (memory.sample). `keep` keeps h for θ_t (a task without a validation split). Once called,
    // endTask takes no statistics from its `batches`. No-op for a model without those memories.
    void addToStatistics(const torch::Tensor& batch,
                         const torch::Tensor& labels,
                         bool prefixed,
                         bool keep);
    // Post-pass (step 4): memory update with the trained model and the statistics memory from
    // the task's training images with their global labels (or from what addToStatistics
    // added). ranpac: fits the ridge head on what addToRidge() added, choosing λ and T on
    // `heldOut` images (the task's validation split, never prefixed; empty = RanPAC's 80/20
    // rule on the kept features), see ridgeFit(). Every method: the familiarity memory takes
    // the same images' h and θ_t of Prediction::ood comes from `heldOut` (empty: from the
    // images it took, which it has seen, so the threshold is then tighter).
    std::vector<MemoryStat> endTask(const std::vector<torch::Tensor>& batches,
                                    const std::vector<torch::Tensor>& labels,
                                    double threshold,
                                    bool prefixed = false,
                                    const std::vector<torch::Tensor>& heldOut = {},
                                    const std::vector<torch::Tensor>& heldOutLabels = {});
    // θ_t of Prediction::ood for each finished task (squared Mahalanobis units); empty when
    // the model has no familiarity memory.
    const std::vector<double>& oodThresholds() const { return oodThreshold_; }
    // ranpac: the last endTask's choice of λ and T; nullopt for the other methods.
    std::optional<RidgeHead::Fit> ridgeFit() const { return ridgeFit_; }

    // Evaluation forward over the tasks started so far (single pass when possible), from
    // images or (`prefixed`) from frozenPrefix() outputs. ranpac: logits are the ridge scores,
    // calibrated = softmax(scores / T), taskPosterior = its sum over each task's classes.
    // `frozenFeature`: this batch's frozenTaskFeature(), kept from an earlier call, so that
    // its frozen pass does not run again; undefined: computed here.
    Prediction predict(const torch::Tensor& images,
                       bool prefixed = false,
                       const torch::Tensor& frozenFeature = {});
    // The task feature h of eq. 5 for `images` (or, `prefixed`, frozenPrefix() outputs), as
    // predict() computes it: [B, D] or [B, 2D] (block_input_and_cls), float32 (bfloat16 under
    // bf16 precision). Made by frozen weights alone, so a batch's h never changes over a run: an
    // evaluation that sees the batch again passes it back to predict(). Undefined when the
    // method keeps no statistics of h (no task identity and no familiarity memory).
    torch::Tensor frozenTaskFeature(const torch::Tensor& images, bool prefixed = false);
    // Singular values of each adapter's ΔW (DESIGN §5).
    std::vector<AdapterSpectrum> spectra();
    // Trainable parameters over the whole run so far (adapters and heads).
    int64_t parameterCount();
    // What parameterCount() will be once every task has started (before rank clamping).
    int64_t plannedParameterCount();

    // Checkpoint tensors (adapters, heads, memories) and their restoration into a freshly built
    // model with the same plan: restore() replays beginTask's structure for `tasksStarted`
    // tasks (one more than `tasksDone` inside a task), then copies every tensor in. Throws
    // dlw::Error naming a missing or mis-shaped tensor, or saying why LibTorch refused one.
    std::vector<std::pair<std::string, torch::Tensor>> state();
    void restore(const std::map<std::string, torch::Tensor>& tensors,
                 int tasksStarted,
                 int tasksDone);

private:
    // restore() without turning LibTorch's errors into dlw::Error.
    void restoreTensors(const std::map<std::string, torch::Tensor>& tensors,
                        int tasksStarted,
                        int tasksDone);
    // h of `images` (`known` when defined: its frozen pass is skipped) and, when `features` is
    // given, the adapted pooled features in the same pass.
    torch::Tensor taskFeature(const torch::Tensor& images,
                              ForwardOptions options,
                              torch::Tensor* features,
                              bool prefixed = false,
                              const torch::Tensor& known = {});
    // Throws dlw::Error naming `caller` when `prefixed` input comes for a method without a
    // frozen prefix.
    void checkPrefixed(const char* caller, bool prefixed) const;
    // The residual stream entering the first adapted block: `batch` itself when `prefixed`,
    // else the images run through the blocks below it (no adapter, no observed input there).
    torch::Tensor atFirstAdapted(const torch::Tensor& batch, bool prefixed);
    // From there through the adapted blocks, the final norm and pooling: features [B, D].
    torch::Tensor adaptedFeatures(const torch::Tensor& batch,
                                  bool prefixed,
                                  const ForwardOptions& options);
    // The structure of the next task, from its residual bases (empty without residual pieces):
    // its adapter pieces and head. beginTask and restore's replay share it.
    void startTask(const std::vector<torch::Tensor>& bases);
    std::vector<InputKey> memoryKeys() const;
    bool hasHead(int task) const;  // a linear head per task; ranpac: task 1's while adapting
    int64_t seenClassCount() const;
    torch::Tensor columnsOf(const torch::Tensor& labels) const;  // global label → column
    SubspaceMemory& memoryOf(const AdapterSite& site);
    // What the statistics memory sees of h (eq. 5): ReLU(h W) with task_id.projection, else h;
    // float32.
    torch::Tensor taskIdInput(const torch::Tensor& h) const;
    // The statistics memory's columns of the tasks started so far, kept between predictions.
    const StatisticsMemory::TaskColumns& seenTaskColumns();

    // The width of an adapted map's input (D, or the MLP's hidden size for fc2).
    int64_t inputWidth(const InputKey& key) const;
    Collective* group_ = nullptr;
    VisionTransformer backbone_;
    MethodPlan plan_;
    std::vector<std::vector<int64_t>> taskClasses_;
    torch::Device device_;
    DualLoraAdapters adapters_{nullptr};
    std::vector<torch::nn::Linear> heads_;
    int started_ = 0;
    std::unique_ptr<RidgeHead> ridge_;  // ranpac
    std::optional<RidgeHead::Fit> ridgeFit_;
    std::vector<torch::Tensor> ridgeKept_, ridgeKeptColumns_;  // addToRidge's `keep`
    bool statisticsAdded_ = false;          // addToStatistics called since the task began
    std::vector<torch::Tensor> statsKept_;  // addToStatistics's `keep`: h, float32
    torch::Tensor labelColumn_;  // [max label + 1] int64: column of each label in task order
    std::map<InputKey, SubspaceMemory> memories_;
    std::unique_ptr<StatisticsMemory> statistics_;
    // Class statistics of h itself (unprojected) for every method, for Prediction::ood; the
    // same for every method on one sequence, as h is frozen. Null for an older checkpoint.
    std::unique_ptr<StatisticsMemory> familiarity_;
    std::vector<double> oodThreshold_;        // θ_t per finished task
    torch::Tensor oodClassThreshold_;         // θ of each of familiarity_->classes(), [C] float32
    std::size_t oodClassThresholdTasks_ = 0;  // oodThreshold_.size() it was made for
    bool hasFeature() const { return statistics_ || familiarity_; }
    int64_t featureDim() const;                      // of h: D, or 2D for block_input_and_cls
    torch::Tensor oodScore(const torch::Tensor& h);  // [B], Prediction::ood
    // θ_t: kFamiliarQuantile of min over task t's classes of d²_c on `h` [N, D]; the largest
    // double when none of them has statistics or `h` is empty (nothing is unfamiliar to it).
    double fitOodThreshold(const torch::Tensor& h, int task) const;
    torch::Tensor taskIdProjection_;  // W [D, M] of task_id.projection, undefined when 0
    StatisticsMemory::TaskColumns seenColumns_;
    int seenColumnsTasks_ = -1;  // tasks seenColumns_ is for; -1 = to be worked out
    bool bf16_ = false;
    // From beginTask's pre-pass to endTask's post-pass over the same images: the residual
    // stream entering the first adapted block (frozen below it, so training leaves it
    // unchanged) and h of eq. 5. Each post-pass then runs only the adapted blocks and the
    // statistics memory needs no pass of its own. Empty for a resumed task (recomputed).
    static constexpr int64_t kPassPrefixBudgetBytes = 256LL << 20;
    std::vector<torch::Tensor> passPrefix_;   // [B, N, D] per pass batch
    std::vector<torch::Tensor> passFeature_;  // [B, D] per pass batch
    int prefixBlocks() const;                 // blocks below the first adapted one
    // End (exclusive) of the blocks a memory pass runs; sets where in the last one it stops.
    int observedBlocks(ForwardOptions* options) const;
    void prePass(const std::vector<torch::Tensor>& batches, bool prefixed, const ForwardOptions& o);
};

}  // namespace dlw
