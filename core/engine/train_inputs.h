#pragma once
// What a task's training and memory passes read (DESIGN §3.2): the pass images in batches, the
// frozen prefix's outputs cached once per task, and the index helpers the engine shares out.

#include "data/batch_loader.h"
#include "engine/continual_model.h"
#include "util/collective.h"

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace dlw {

// Images of some dataset indices (eval transform) in batches, for the memory and statistics
// passes.
struct Passes {
    std::vector<torch::Tensor> images;  // [B, C, S, S] per batch, or prefix outputs [B, N, D]
    std::vector<torch::Tensor> labels;  // global labels, [B] per batch
};
Passes loadPasses(const ImageDataset& data,
                  std::vector<int64_t> indices,
                  const ImageTransform& transform,
                  int batchSize);

// Most memory that a task's frozen-prefix outputs may take (the default preset needs 38 MB; a
// ViT-B/16 task of 5,000 images would need 3 GB and is trained from its images instead).
inline constexpr int64_t kPrefixCacheBudgetBytes = 1LL << 30;

// The frozen prefix's output (ContinualModel::frozenPrefix) for every training image of the
// current task, computed once when training has no augmentation, then read by every epoch and
// by the memory passes instead of running those blocks again for each.
class PrefixCache {
public:
    bool active() const { return rows_.defined(); }
    void clear();
    // Runs the prefix over `indices` of `data` in batches of `batchSize`; each prefix output is
    // `rowShape` {N tokens, D width}. With a process group (#18) each rank runs its contiguous
    // share (shareOf) and the shares are gathered in rank order, so every rank holds them all
    // for the cost of its share. Throws dlw::Error when the gather fails.
    void fill(ContinualModel& model,
              const ImageDataset& data,
              const std::vector<int64_t>& indices,
              const ImageTransform& transform,
              int batchSize,
              std::pair<int64_t, int64_t> rowShape,
              Collective* group);
    // Dataset images `indices` of `data` (the set it was filled from) as a batch whose
    // `images` are their rows [B, N, D], with their global labels.
    Batch batch(const ImageDataset& data, std::vector<int64_t> indices) const;

private:
    torch::Tensor rows_;
    std::unordered_map<int64_t, int64_t> rowOf_;
};

// Up to `count` of `v` from `begin` (< v.size()) on.
std::vector<int64_t> slice(const std::vector<int64_t>& v, std::size_t begin, std::size_t count);

// The first `cap` of a seeded permutation of `indices`, ascending (all when cap is 0 or larger).
std::vector<int64_t> sample(const std::vector<int64_t>& indices, int cap, uint64_t seed);

// Local (within-task) label of each global label [B] int64, given the task's global classes.
torch::Tensor localLabels(const torch::Tensor& global, const std::vector<int64_t>& classes);

}  // namespace dlw
