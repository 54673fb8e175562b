#pragma once
// Turns images into model input and prepares batches ahead of the training step.

#include "data/dataset.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <torch/torch.h>

namespace dlw {

// How an image becomes model input (DESIGN §4, §6 "Backbone metadata").
struct ImageTransform {
    int size = 28;            // square output side (the backbone's img_size)
    int channels = 1;         // the backbone's in_chans: 1 (luminance) or 3
    std::vector<float> mean;  // per channel; empty = no normalisation
    std::vector<float> std;
    bool flip = false;               // train-time horizontal flip with p = 0.5
    bool randomResizedCrop = false;  // train-time crop, scale [0.6, 1], ratio [3/4, 4/3]
};

// One batch: images float [B, C, size, size] and labels int64 [B], plus dataset indices.
struct Batch {
    torch::Tensor images;
    torch::Tensor labels;
    std::vector<int64_t> indices;
};

// Decodes (for on-demand datasets) and converts image `index` of `data` to float [C, S, S]
// in [0, 1] then normalised: area interpolation when shrinking, bilinear when growing, luminance
// for RGB→grey, repetition for grey→RGB. Augmentation randomness derives only from
// (augmentSeed, index), so it never depends on thread timing. Throws dlw::Error naming the file.
torch::Tensor loadImage(const ImageDataset& data,
                        int64_t index,
                        const ImageTransform& transform,
                        bool augment,
                        uint64_t augmentSeed);

// Image files [begin, end) of `files` as model input, each through loadImage (no augmentation):
// the images that could be read, with their indices into `files`, and for every file an error
// message ("" when it loaded; a message names the file). Used to embed or predict files.
struct LoadedFiles {
    std::vector<torch::Tensor> images;  // [C, S, S] each
    std::vector<std::size_t> indices;   // of images[k] into `files`
    std::vector<std::string> errors;    // one per file of the range
};
LoadedFiles loadImageFiles(const std::vector<std::filesystem::path>& files,
                           std::size_t begin,
                           std::size_t end,
                           const ImageTransform& transform);

// Iterates `order` in batches of `batchSize` (the last may be short), or of `sizes` when given
// (each positive, adding up to order's size: a rank's shares of global batches, #18), preparing up
// to `prefetch` batches ahead on its own thread. next() returns std::nullopt at the end; an image
// that fails to load is rethrown from next() as dlw::Error. `data` must outlive the loader.
// The owning thread calls next(); the destructor stops and joins the worker.
class BatchLoader {
public:
    BatchLoader(const ImageDataset& data,
                std::vector<int64_t> order,
                int batchSize,
                ImageTransform transform,
                bool augment,
                uint64_t augmentSeed,
                int prefetch = 2,
                const std::vector<int64_t>& sizes = {});
    ~BatchLoader();
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;
    BatchLoader(BatchLoader&&) = delete;
    BatchLoader& operator=(BatchLoader&&) = delete;

    std::optional<Batch> next();
    int64_t batchCount() const;

private:
    void work();
    void fail(std::string message);  // worker thread: records the error and wakes next()

    const ImageDataset& data_;
    std::vector<int64_t> order_;
    int batchSize_;
    std::vector<std::size_t> starts_;  // batch b is order_[starts_[b], starts_[b + 1])
    ImageTransform transform_;
    bool augment_;
    uint64_t augmentSeed_;
    std::size_t prefetch_;

    // mutex_ guards ready_, produced_, error_ and stop_; the worker fills, next() drains.
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> ready_;
    int64_t produced_ = 0;
    std::string error_;
    bool stop_ = false;
    std::thread worker_;
};

}  // namespace dlw
