// BatchLoader: one producer thread prepares batches ahead of the training step (DESIGN §2).
#include "data/batch_loader.h"

#include "api/error.h"
#include "data/image_transform.h"

#include <exception>

namespace dlw {
namespace {

std::string messageOf(const std::exception& e) {
    if (const auto* torchError = dynamic_cast<const c10::Error*>(&e)) {
        return torchError->what_without_backtrace();
    }
    return e.what();
}

}  // namespace

BatchLoader::BatchLoader(const ImageDataset& data,
                         std::vector<int64_t> order,
                         int batchSize,
                         ImageTransform transform,
                         bool augment,
                         uint64_t augmentSeed,
                         int prefetch,
                         const std::vector<int64_t>& sizes)
    : data_(data)
    , order_(std::move(order))
    , batchSize_(batchSize)
    , transform_(std::move(transform))
    , augment_(augment)
    , augmentSeed_(augmentSeed)
    , prefetch_(static_cast<std::size_t>(std::max(prefetch, 1))) {
    if (batchSize_ <= 0) {
        throw Error("train.batch_size: must be positive, found " + std::to_string(batchSize_));
    }
    detail::checkTransform(transform_);
    starts_.push_back(0);
    if (sizes.empty()) {
        for (std::size_t at = 0; at < order_.size(); at += static_cast<std::size_t>(batchSize_)) {
            starts_.push_back(std::min(order_.size(), at + static_cast<std::size_t>(batchSize_)));
        }
    } else {
        for (const int64_t n : sizes) {
            if (n <= 0) {
                throw Error("batch loader: a batch size of " + std::to_string(n) +
                            " among the given sizes");
            }
            starts_.push_back(starts_.back() + static_cast<std::size_t>(n));
        }
        if (starts_.back() != order_.size()) {
            throw Error("batch loader: the given batch sizes add up to " +
                        std::to_string(starts_.back()) + " images, the order holds " +
                        std::to_string(order_.size()));
        }
    }
    for (const int64_t index : order_) {
        if (index < 0 || index >= data_.size()) {
            throw Error(data_.source + ": image index " + std::to_string(index) +
                        " out of range (the dataset holds " + std::to_string(data_.size()) +
                        " images)");
        }
    }
    worker_ = std::thread(&BatchLoader::work, this);
}

BatchLoader::~BatchLoader() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    worker_.join();
}

int64_t BatchLoader::batchCount() const {
    return static_cast<int64_t>(starts_.size()) - 1;
}

std::optional<Batch> BatchLoader::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(
        lock, [this] { return !ready_.empty() || !error_.empty() || produced_ == batchCount(); });
    // Batches finished before a failure are still handed out, in order; then the error.
    if (!ready_.empty()) {
        Batch batch = std::move(ready_.front());
        ready_.pop_front();
        lock.unlock();
        changed_.notify_all();
        return batch;
    }
    if (!error_.empty()) {
        throw Error(error_);
    }
    return std::nullopt;
}

void BatchLoader::fail(std::string message) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        error_ = message.empty() ? "batch loader: error without a message" : std::move(message);
    }
    changed_.notify_all();
}

void BatchLoader::work() {
    const int64_t count = batchCount();
    const int64_t side = transform_.size;
    const int64_t imageFloats = transform_.channels * side * side;
    for (int64_t b = 0; b < count; ++b) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [this] { return stop_ || ready_.size() < prefetch_; });
            if (stop_) {
                return;
            }
        }
        const std::size_t first = starts_[static_cast<std::size_t>(b)];
        const std::size_t last = starts_[static_cast<std::size_t>(b) + 1];
        Batch batch;
        batch.indices.assign(order_.begin() + static_cast<std::ptrdiff_t>(first),
                             order_.begin() + static_cast<std::ptrdiff_t>(last));
        const auto size = static_cast<int64_t>(batch.indices.size());
        try {
            batch.images = torch::empty({size, transform_.channels, side, side});  // [B, C, S, S]
            batch.labels = torch::empty({size}, torch::kLong);                     // [B]
            auto* images = batch.images.data_ptr<float>();
            auto* labels = batch.labels.data_ptr<int64_t>();
            for (int64_t i = 0; i < size; ++i) {
                const int64_t index = batch.indices[static_cast<std::size_t>(i)];
                detail::transformImageInto(data_, index, transform_, augment_, augmentSeed_,
                                           images + i * imageFloats);
                labels[i] = data_.labels[static_cast<std::size_t>(index)];
                // An early stop must not wait for a whole batch of large JPEGs to decode.
                const std::lock_guard<std::mutex> lock(mutex_);
                if (stop_) {
                    return;
                }
            }
        } catch (const std::exception& e) {
            fail(messageOf(e));
            return;
        } catch (...) {
            fail("batch loader: unknown error while preparing batch " + std::to_string(b));
            return;
        }
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            ready_.push_back(std::move(batch));
            ++produced_;
        }
        changed_.notify_all();
    }
}

LoadedFiles loadImageFiles(const std::vector<std::filesystem::path>& files,
                           std::size_t begin,
                           std::size_t end,
                           const ImageTransform& transform) {
    ImageDataset set;  // decoded on demand, one file at a time
    set.files.assign(files.begin() + static_cast<std::ptrdiff_t>(begin),
                     files.begin() + static_cast<std::ptrdiff_t>(end));
    set.labels.assign(set.files.size(), 0);
    set.classNames = {"?"};
    LoadedFiles out;
    out.errors.resize(set.files.size());
    for (std::size_t i = 0; i < set.files.size(); ++i) {
        try {
            out.images.push_back(loadImage(set, static_cast<int64_t>(i), transform,
                                           /*augment=*/false, /*augmentSeed=*/0));
            out.indices.push_back(begin + i);
        } catch (const Error& err) {
            out.errors[i] = err.what();
        }
    }
    return out;
}

}  // namespace dlw
