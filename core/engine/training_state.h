#pragma once
// What an in-task checkpoint keeps besides the model (DESIGN §6): where training stands inside
// the task, the optimizer's moments and the CPU generator, so that a resumed run is bit-identical.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace dlw {

// Names of the extra tensors in a checkpoint's safetensors file.
inline constexpr const char* kOptimizerStateTensor = "training.optimizer";
inline constexpr const char* kRngStateTensor = "training.cpu_rng";

struct TaskPosition {
    int task = 0;
    int epoch = 0;      // 0-based
    int64_t batch = 0;  // batches done in this epoch
    double taskTrainSeconds = 0;
    double memorySeconds = 0;  // the task's pre-pass (the post-pass comes after the position)
    double epochLossSum = 0;
    int64_t epochImages = 0;
    double epochSeconds = 0;

    void startEpoch();  // resets the per-epoch fields
    nlohmann::json toJson() const;
    static TaskPosition fromJson(const nlohmann::json& json);
};

// The optimizer's state (moments, step counts) as serialized bytes in a uint8 tensor, and back
// into an optimizer built over the same parameters in the same order.
torch::Tensor optimizerState(torch::optim::Optimizer& optimizer);
void loadOptimizerState(torch::optim::Optimizer& optimizer,
                        const torch::Tensor& bytes,
                        const torch::Device& device);

torch::Tensor cpuRngState();
void setCpuRngState(const torch::Tensor& state);

}  // namespace dlw
