#include "data/batch_loader.h"

#include "api/error.h"
#include "core/data/data_test_support.h"
#include "test_support.h"

#include <chrono>
#include <fstream>
#include <numeric>
#include <thread>

namespace dlw {
namespace {

using Clock = std::chrono::steady_clock;

using test::sized;

// `count` images of 6×6 grey, image i filled with the value i, label i % 3.
ImageDataset numberedImages(int64_t count) {
    ImageDataset data;
    data.source = "numbered";
    data.classNames = {"a", "b", "c"};
    data.pixels = torch::arange(count, torch::kUInt8)
                      .view({count, 1, 1, 1})
                      .expand({count, 6, 6, 1})
                      .contiguous();
    for (int64_t i = 0; i < count; ++i) {
        data.labels.push_back(i % 3);
    }
    return data;
}

std::vector<Batch> drain(BatchLoader& loader) {
    std::vector<Batch> batches;
    while (auto batch = loader.next()) {
        batches.push_back(std::move(*batch));
    }
    return batches;
}

TEST(BatchLoader, YieldsEveryIndexOnceInOrder) {
    const auto data = numberedImages(10);
    const std::vector<int64_t> order = {9, 2, 5, 0, 1, 3, 4, 6, 7, 8};
    BatchLoader loader(data, order, 4, sized(6, 1), false, 0);
    EXPECT_EQ(loader.batchCount(), 3);
    const auto batches = drain(loader);
    ASSERT_EQ(batches.size(), 3U);
    std::vector<int64_t> seen;
    for (const auto& batch : batches) {
        ASSERT_EQ(batch.images.size(0), static_cast<int64_t>(batch.indices.size()));
        for (std::size_t i = 0; i < batch.indices.size(); ++i) {
            const int64_t index = batch.indices[i];
            EXPECT_EQ(batch.labels[static_cast<int64_t>(i)].item<int64_t>(), index % 3);
            EXPECT_FLOAT_EQ(batch.images[static_cast<int64_t>(i)][0][3][3].item<float>(),
                            static_cast<float>(index) / 255.0F);
            seen.push_back(index);
        }
    }
    EXPECT_EQ(seen, order);
    EXPECT_FALSE(loader.next().has_value());  // stays at the end
}

TEST(BatchLoader, LastBatchIsShort) {
    const auto data = numberedImages(10);
    std::vector<int64_t> order(10);
    std::iota(order.begin(), order.end(), 0);
    BatchLoader loader(data, order, 4, sized(8, 3), false, 0);
    const auto batches = drain(loader);
    ASSERT_EQ(batches.size(), 3U);
    EXPECT_EQ(batches[2].images.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
    EXPECT_EQ(batches[2].labels.scalar_type(), torch::kLong);
    EXPECT_EQ(batches[0].images.scalar_type(), torch::kFloat);
}

TEST(BatchLoader, SameInputGivesSameBatches) {
    torch::manual_seed(0);
    ImageDataset data = numberedImages(20);
    data.pixels = torch::randint(0, 256, {20, 12, 12, 1}, torch::kUInt8);
    std::vector<int64_t> order(20);
    std::iota(order.begin(), order.end(), 0);
    ImageTransform transform = sized(10, 3);
    transform.flip = true;
    transform.randomResizedCrop = true;
    BatchLoader first(data, order, 6, transform, true, 77, 1);
    BatchLoader second(data, order, 6, transform, true, 77, 3);
    const auto a = drain(first);
    const auto b = drain(second);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(a[i].images.equal(b[i].images));
        EXPECT_TRUE(a[i].labels.equal(b[i].labels));
        EXPECT_TRUE(a[i].images[0].equal(loadImage(data, a[i].indices[0], transform, true, 77)));
    }
}

// The worker fills `prefetch` batches while the consumer is away: those keep the pixels they
// were made from when the data changes afterwards; later batches see the change.
TEST(BatchLoader, PreparesBatchesAheadWhileConsumerWaits) {
    ImageDataset data = numberedImages(12);
    std::vector<int64_t> order(12);
    std::iota(order.begin(), order.end(), 0);
    BatchLoader loader(data, order, 2, sized(6, 1), false, 0, /*prefetch=*/3);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    data.pixels.fill_(255);  // the worker is blocked on a full queue: no race
    const auto batches = drain(loader);
    ASSERT_EQ(batches.size(), 6U);
    for (std::size_t b = 0; b < batches.size(); ++b) {
        const float value = batches[b].images[1][0][0][0].item<float>();
        if (b < 3) {
            EXPECT_FLOAT_EQ(value, static_cast<float>(2 * b + 1) / 255.0F) << "batch " << b;
        } else {
            EXPECT_FLOAT_EQ(value, 1.0F) << "batch " << b;
        }
    }
}

TEST(BatchLoader, StopsPromptlyWhenDestroyedEarly) {
    const auto data = numberedImages(50);
    std::vector<int64_t> order(200000);
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = static_cast<int64_t>(i % 50);
    }
    const auto start = Clock::now();
    {
        BatchLoader loader(data, order, 1, sized(64, 3), false, 0);
        ASSERT_TRUE(loader.next().has_value());
    }
    { BatchLoader untouched(data, order, 64, sized(64, 3), false, 0); }
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST(BatchLoader, ErrorFromBadFileSurfacesInNext) {
    const auto dir = test::tempDir("loader-bad");
    std::ofstream(dir / "bad.png") << "garbage";
    ImageDataset data;
    data.source = dir.string();
    data.classNames = {"a"};
    data.files = {dir / "bad.png", dir / "bad.png"};
    data.labels = {0, 0};
    BatchLoader loader(data, {0, 1}, 1, sized(8, 1), false, 0);
    DLW_EXPECT_ERROR(loader.next(), (dir / "bad.png").string());
    DLW_EXPECT_ERROR(loader.next(), (dir / "bad.png").string());  // and stays failed
}

TEST(BatchLoader, RejectsBadArguments) {
    const auto data = numberedImages(4);
    DLW_EXPECT_ERROR(BatchLoader(data, {0, 4}, 2, sized(6, 1), false, 0), "index 4", "holds 4");
    DLW_EXPECT_ERROR(BatchLoader(data, {0}, 0, sized(6, 1), false, 0), "batch_size");
}

TEST(BatchLoader, EmptyOrderEndsAtOnce) {
    const auto data = numberedImages(4);
    BatchLoader loader(data, {}, 2, sized(6, 1), false, 0);
    EXPECT_EQ(loader.batchCount(), 0);
    EXPECT_FALSE(loader.next().has_value());
}

}  // namespace
}  // namespace dlw
