#include "engine/train_inputs.h"

#include "data/seeded_random.h"

#include <algorithm>

namespace dlw {

Passes loadPasses(const ImageDataset& data,
                  std::vector<int64_t> indices,
                  const ImageTransform& transform,
                  int batchSize) {
    Passes p;
    BatchLoader loader(data, std::move(indices), batchSize, transform, false, 0);
    while (auto b = loader.next()) {
        p.images.push_back(b->images);
        p.labels.push_back(b->labels);
    }
    return p;
}

void PrefixCache::clear() {
    rows_ = torch::Tensor();
    rowOf_.clear();
}

void PrefixCache::fill(ContinualModel& model,
                       const ImageDataset& data,
                       const std::vector<int64_t>& indices,
                       const ImageTransform& transform,
                       int batchSize,
                       std::pair<int64_t, int64_t> rowShape,
                       Collective* group) {
    clear();
    const auto mine = shareOf(indices, group);
    auto local = torch::empty({static_cast<int64_t>(mine.size()), rowShape.first, rowShape.second},
                              torch::TensorOptions(torch::kFloat32).device(model.device()));
    BatchLoader loader(data, mine, batchSize, transform, /*augment=*/false, 0);
    int64_t row = 0;
    while (auto b = loader.next()) {
        const auto x = model.frozenPrefix(b->images);  // [B, N, D]
        local.narrow(0, row, x.size(0)).copy_(x);
        row += x.size(0);
    }
    rows_ = gatherRows(group, local, "the frozen prefix's outputs");
    for (std::size_t i = 0; i < indices.size(); ++i) {
        rowOf_[indices[i]] = static_cast<int64_t>(i);
    }
}

Batch PrefixCache::batch(const ImageDataset& data, std::vector<int64_t> indices) const {
    std::vector<int64_t> rows;
    std::vector<int64_t> labels;
    for (int64_t i : indices) {
        rows.push_back(rowOf_.at(i));
        labels.push_back(data.labels.at(static_cast<std::size_t>(i)));
    }
    return {rows_.index_select(0, torch::tensor(rows, torch::kInt64).to(rows_.device())),
            torch::tensor(labels, torch::kInt64), std::move(indices)};
}

// Up to `count` of `v` from `begin` (< v.size()) on.
std::vector<int64_t> slice(const std::vector<int64_t>& v, std::size_t begin, std::size_t count) {
    const std::size_t end = std::min(v.size(), begin + count);
    return {v.begin() + static_cast<std::ptrdiff_t>(begin),
            v.begin() + static_cast<std::ptrdiff_t>(end)};
}

// The first `cap` of a seeded permutation of `indices` (all when cap is 0 or larger).
std::vector<int64_t> sample(const std::vector<int64_t>& indices, int cap, uint64_t seed) {
    if (cap <= 0 || static_cast<std::size_t>(cap) >= indices.size()) {
        return indices;
    }
    auto order = detail::seededPermutation(static_cast<int64_t>(indices.size()), seed);
    std::vector<int64_t> out;
    for (int i = 0; i < cap; ++i) {
        out.push_back(indices[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Local (within-task) label of each global label.
torch::Tensor localLabels(const torch::Tensor& global, const std::vector<int64_t>& classes) {
    auto out = torch::empty_like(global);
    auto g = global.accessor<int64_t, 1>();
    auto o = out.accessor<int64_t, 1>();
    for (int64_t i = 0; i < global.size(0); ++i) {
        o[i] = std::find(classes.begin(), classes.end(), g[i]) - classes.begin();
    }
    return out;
}

}  // namespace dlw
