#include "model/lora.h"

#include "api/error.h"
#include "model/backbone.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

VisionTransformer tinyModel() {
    return loadBackbone(test::fixturesDir() / "vit_reference" / "tiny.safetensors");
}

TEST(LoraAdapters, UntrainedAdapterChangesNothingAndTrainsOnlyItself) {
    VisionTransformer model = tinyModel();
    const std::vector<AdaptedMap> maps{AdaptedMap::K, AdaptedMap::V};
    LoraAdapters lora(model->arch(), maps, std::vector<int>{1}, 4);
    EXPECT_EQ(lora->parameters().size(), 4U);  // A and B for k and v of block 1
    ForwardOptions options;
    options.adapters = lora.get();
    const auto x = torch::rand({2, 3, 32, 32});
    torch::Tensor base;
    {
        torch::NoGradGuard noGrad;
        base = model->forwardFeatures(x);
        EXPECT_TRUE(torch::equal(model->forwardFeatures(x, options), base));  // B = 0
    }
    auto before = model->named_parameters()["blocks.1.attn.qkv.weight"].clone();
    torch::optim::SGD sgd(lora->parameters(), torch::optim::SGDOptions(0.5));
    for (int step = 0; step < 3; ++step) {
        auto loss = model->forwardFeatures(x, options).pow(2).sum();
        sgd.zero_grad();
        loss.backward();
        sgd.step();
    }
    torch::NoGradGuard noGrad;
    EXPECT_GT((model->forwardFeatures(x, options) - base).abs().max().item<double>(), 1e-4);
    EXPECT_TRUE(torch::equal(model->named_parameters()["blocks.1.attn.qkv.weight"], before));
}

TEST(LoraAdapters, RejectsRankAboveMapSizeAndMissingBlocks) {
    VisionTransformer model = tinyModel();
    const std::vector<AdaptedMap> maps{AdaptedMap::Q};
    DLW_EXPECT_ERROR(LoraAdapters(model->arch(), maps, std::vector<int>{}, 64), "rank 64");
    DLW_EXPECT_ERROR(LoraAdapters(model->arch(), maps, std::vector<int>{5}, 4), "block 5",
                     "2 blocks");
}

}  // namespace
}  // namespace dlw
