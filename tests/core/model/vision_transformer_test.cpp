#include "model/vision_transformer.h"

#include "api/error.h"
#include "io/safetensors.h"
#include "model/backbone.h"
#include "test_support.h"

#include <iostream>
#include <limits>

#include <gtest/gtest.h>

namespace dlw {
namespace {

// Records what the forward pass exposes, for comparison with torchvision's hooks.
struct Recorder : ForwardObserver {
    std::map<std::string, torch::Tensor> seen;
    void blockInput(int block, const torch::Tensor& x) override {
        seen["block_input." + std::to_string(block)] = x.clone();
    }
    void mapInput(int block, MapInput input, const torch::Tensor& x) override {
        if (input == MapInput::Norm1 || input == MapInput::Norm2) {
            seen[std::string(input == MapInput::Norm1 ? "norm1_out." : "norm2_out.") +
                 std::to_string(block)] = x.clone();
        }
    }
};

// A small architecture for shape-level tests; MLP hidden = 2 × width, RGB input, no head.
BackboneArch smallArch(int imgSize, int patchSize, int width, int depth, int heads) {
    BackboneArch arch;
    arch.imgSize = imgSize;
    arch.patchSize = patchSize;
    arch.width = width;
    arch.depth = depth;
    arch.heads = heads;
    arch.mlpHidden = 2 * width;
    return arch;
}

double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

// The fixtures come from torchvision's VisionTransformer with random weights, mapped to timm's
// names by tests/reference/make_vit_reference.py: an implementation that is not ours.
class TorchvisionReference : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchvisionReference, MatchesFeaturesLogitsAndIntermediates) {
    const auto dir = test::fixturesDir() / "vit_reference";
    const std::string name = GetParam();
    BackboneInfo info;
    VisionTransformer model = loadBackbone(dir / (name + ".safetensors"), &info);
    const auto io = loadSafetensors(dir / (name + "_io.safetensors"));
    Recorder recorder;
    ForwardOptions options;
    options.observer = &recorder;
    torch::NoGradGuard noGrad;
    const auto feature = model->forwardFeatures(io.tensors.at("inputs"), options);
    EXPECT_LT(maxAbsDiff(feature, io.tensors.at("feature")), 1e-4);
    EXPECT_LT(maxAbsDiff(model->forwardHead(feature), io.tensors.at("logits")), 1e-4);
    for (int b = 0; b < info.arch.depth; ++b) {
        for (const char* what : {"block_input.", "norm1_out.", "norm2_out."}) {
            const std::string key = what + std::to_string(b);
            EXPECT_LT(maxAbsDiff(recorder.seen.at(key), io.tensors.at(key)), 1e-4) << key;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchvisionReference, ::testing::Values("tiny", "tiny_gray"));

TEST(Backbone, InfersArchitectureFromShapesAndMetadata) {
    const auto info = inspectBackbone(test::fixturesDir() / "vit_reference" / "tiny.safetensors");
    EXPECT_EQ(info.arch.imgSize, 32);
    EXPECT_EQ(info.arch.patchSize, 8);
    EXPECT_EQ(info.arch.inChans, 3);
    EXPECT_EQ(info.arch.width, 48);
    EXPECT_EQ(info.arch.depth, 2);
    EXPECT_EQ(info.arch.heads, 3);
    EXPECT_EQ(info.arch.mlpHidden, 192);
    EXPECT_EQ(info.arch.numClasses, 10);
    EXPECT_EQ(info.dtype, "F32");
}

TEST(Backbone, PlainTimmFileWithoutMetadataUsesWidthOver64Heads) {
    const BackboneArch arch = smallArch(/*imgSize=*/32, /*patchSize=*/16, /*width=*/128,
                                        /*depth=*/1, /*heads=*/2);
    TensorShapes shapes;
    for (const auto& [name, shape] : expectedBackboneShapes(arch)) {
        shapes[name] = shape;
    }
    const auto inferred = inferBackboneArch(shapes, {}, "plain.safetensors");
    EXPECT_EQ(inferred.heads, 2);
    EXPECT_EQ(inferred.imgSize, 32);
    EXPECT_TRUE(inferred.posEmbedHasClass);
    EXPECT_TRUE(inferred.mean.empty());
}

// #14: timm's huge and giant ViTs keep 16 heads of more than 64 channels; width / 64 loaded
// them with the wrong attention, silently. A width timm has no rule for is refused, naming the
// metadata key to add.
TEST(Backbone, HeadsFollowTimmForWideModelsOrAskForTheMetadataKey) {
    const std::vector<std::pair<int, int>> timm = {{192, 3},   {384, 6},   {768, 12},  {1024, 16},
                                                   {1152, 16}, {1280, 16}, {1408, 16}, {1664, 16}};
    for (const auto& [width, heads] : timm) {
        TensorShapes shapes;
        for (const auto& [name, shape] :
             expectedBackboneShapes(smallArch(/*imgSize=*/28, /*patchSize=*/14, width,
                                              /*depth=*/1, /*heads=*/1))) {
            shapes[name] = shape;
        }
        EXPECT_EQ(inferBackboneArch(shapes, {}, "m.safetensors").heads, heads) << width;
    }
    TensorShapes odd;
    for (const auto& [name, shape] : expectedBackboneShapes(smallArch(28, 14, 200, 1, 1))) {
        odd[name] = shape;
    }
    DLW_EXPECT_ERROR(inferBackboneArch(odd, {}, "odd.safetensors"), "odd.safetensors", "width 200",
                     "add __metadata__ num_heads");
    EXPECT_EQ(inferBackboneArch(odd, {{"num_heads", "5"}}, "odd.safetensors").heads, 5);
}

// #14: a backbone whose std is 0 (or negative, or not finite) was accepted by `dlw info` and
// failed mid-run with "transform: std values must be positive"; now the loader names the key.
TEST(Backbone, MeanAndStdMustBeUsableNumbers) {
    BackboneArch grey = smallArch(28, 14, 128, 1, 2);
    grey.inChans = 1;
    TensorShapes shapes;
    for (const auto& [name, shape] : expectedBackboneShapes(grey)) {
        shapes[name] = shape;
    }
    for (const std::string std : {"0", "-1", "1e-9"}) {
        DLW_EXPECT_ERROR(inferBackboneArch(shapes, {{"mean", "0.5"}, {"std", std}}, "b.st"),
                         "b.st: __metadata__ std = '" + std + "'", ">= 1e-6");
    }
    for (const std::string bad : {"1e-300", "nan", "inf", "x"}) {  // not read as a number at all
        DLW_EXPECT_ERROR(inferBackboneArch(shapes, {{"mean", "0.5"}, {"std", bad}}, "b.st"),
                         "b.st: __metadata__", "std");
    }
    EXPECT_EQ(inferBackboneArch(shapes, {{"mean", "0.5"}, {"std", "0.25"}}, "b.st").std,
              std::vector<float>{0.25F});
}

TEST(Backbone, SaveLoadRoundTripIsExact) {
    BackboneArch arch = smallArch(/*imgSize=*/16, /*patchSize=*/4, /*width=*/32, /*depth=*/2,
                                  /*heads=*/4);
    arch.inChans = 1;
    arch.numClasses = 3;
    arch.mean = {0.5F};
    arch.std = {0.25F};
    VisionTransformer model(arch);
    const auto path = test::tempDir("bb") / "b.safetensors";
    saveBackbone(path, model, {{"pretrained_on", "test"}});
    BackboneInfo info;
    VisionTransformer loaded = loadBackbone(path, &info);
    EXPECT_EQ(info.metadata.at("pretrained_on"), "test");
    EXPECT_EQ(info.arch.mean, arch.mean);
    model->eval();
    torch::NoGradGuard noGrad;
    const auto x = torch::rand({2, 1, 16, 16});
    EXPECT_TRUE(torch::equal(model->forwardFeatures(x), loaded->forwardFeatures(x)));
    for (const auto& p : loaded->parameters()) {
        EXPECT_FALSE(p.requires_grad());  // frozen
    }
}

// A copy of the tiny fixture with one tensor changed, renamed, added or removed.
std::filesystem::path alteredFixture(const std::function<void(SafetensorsFile&)>& change) {
    auto file = loadSafetensors(test::fixturesDir() / "vit_reference" / "tiny.safetensors");
    change(file);
    const auto path = test::tempDir("bb") / "altered.safetensors";
    std::vector<std::pair<std::string, torch::Tensor>> tensors(file.tensors.begin(),
                                                               file.tensors.end());
    saveSafetensors(path, tensors, file.metadata);
    return path;
}

TEST(Backbone, UnknownTensorIsNamed) {
    const auto path =
        alteredFixture([](auto& f) { f.tensors["blocks.0.attn.extra.weight"] = torch::ones(16); });
    DLW_EXPECT_ERROR(loadBackbone(path), path.string(),
                     "unknown tensor 'blocks.0.attn.extra.weight'");
}

// #14: a NaN weight in the backbone was first noticed as a "divergence, lower train.lr".
TEST(Backbone, ANonFiniteWeightIsNamed) {
    const auto path = alteredFixture([](auto& f) {
        f.tensors["cls_token"] = f.tensors["cls_token"].clone();
        f.tensors["cls_token"].view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
    });
    DLW_EXPECT_ERROR(loadBackbone(path), path.string(), "tensor 'cls_token' holds NaN or Inf");
}

// #15: an integer or boolean tensor was cast to float32 and trained: a qkv stored as I32 loaded
// as mostly zeros. Refused, naming the file, the tensor and its dtype; F64 narrows to float32.
TEST(Backbone, NonFloatTensorsAreRefusedNamingTheirDtype) {
    const auto asI32 = alteredFixture([](auto& f) {
        f.tensors["blocks.0.attn.qkv.weight"] =
            (f.tensors["blocks.0.attn.qkv.weight"] * 100).to(torch::kInt32);
    });
    DLW_EXPECT_ERROR(loadBackbone(asI32), asI32.string(), "tensor 'blocks.0.attn.qkv.weight'",
                     "stored as I32", "floating point");
    DLW_EXPECT_ERROR(inspectBackbone(asI32), asI32.string(), "stored as I32");
    const auto asBool =
        alteredFixture([](auto& f) { f.tensors["norm.weight"] = f.tensors["norm.weight"] > 0; });
    DLW_EXPECT_ERROR(loadBackbone(asBool), asBool.string(), "tensor 'norm.weight'",
                     "stored as BOOL");
    const auto asF64 = alteredFixture(
        [](auto& f) { f.tensors["cls_token"] = f.tensors["cls_token"].to(torch::kFloat64); });
    BackboneInfo info;
    VisionTransformer model = loadBackbone(asF64, &info);
    EXPECT_EQ(info.dtype, "F32,F64");
    const auto original =
        loadSafetensors(test::fixturesDir() / "vit_reference" / "tiny.safetensors");
    EXPECT_TRUE(torch::equal(model->cls_token, original.tensors.at("cls_token")));
}

TEST(Backbone, MissingTensorIsNamed) {
    const auto path = alteredFixture([](auto& f) { f.tensors.erase("blocks.1.mlp.fc2.bias"); });
    DLW_EXPECT_ERROR(loadBackbone(path), path.string(), "missing tensor 'blocks.1.mlp.fc2.bias'");
}

TEST(Backbone, ShapeThatDoesNotFitTheArchitecture) {
    const auto path = alteredFixture([](auto& f) {
        f.tensors["blocks.1.attn.qkv.weight"] = torch::zeros({144, 40});
    });
    DLW_EXPECT_ERROR(loadBackbone(path), path.string(), "'blocks.1.attn.qkv.weight'",
                     "expected [144, 48]");
}

TEST(Backbone, MetadataThatContradictsShapes) {
    const auto path = alteredFixture([](auto& f) { f.metadata["in_chans"] = "1"; });
    DLW_EXPECT_ERROR(loadBackbone(path), path.string(), "in_chans");
}

TEST(VisionTransformer, RejectsWrongInputShape) {
    VisionTransformer model(smallArch(/*imgSize=*/16, /*patchSize=*/4, /*width=*/32, /*depth=*/1,
                                      /*heads=*/2));
    DLW_EXPECT_ERROR(model->forwardFeatures(torch::zeros({1, 3, 28, 28})), "[B, 3, 16, 16]",
                     "1x3x28x28");
}

// An observation pass that stops in its last block once norm1 (or norm2) is seen records the
// same inputs as the whole forward, and nothing after them.
TEST(VisionTransformer, ObservationPassStopsAfterTheLastObservedInput) {
    VisionTransformer model(smallArch(/*imgSize=*/16, /*patchSize=*/4, /*width=*/32, /*depth=*/3,
                                      /*heads=*/2));
    torch::NoGradGuard noGrad;
    const auto images = torch::rand({2, 3, 16, 16});
    Recorder full;
    ForwardOptions all;
    all.observer = &full;
    model->forwardFeatures(images, all);
    for (MapInput stop : {MapInput::Norm1, MapInput::Norm2}) {
        Recorder part;
        ForwardOptions o;
        o.observer = &part;
        o.stopBlock = 1;
        o.stopAfter = stop;
        model->runBlocks(model->embedTokens(images), 0, 2, o);
        EXPECT_TRUE(torch::equal(part.seen.at("norm1_out.1"), full.seen.at("norm1_out.1")));
        EXPECT_EQ(part.seen.count("norm2_out.1"), stop == MapInput::Norm2 ? 1U : 0U);
        EXPECT_EQ(part.seen.count("block_input.2"), 0U);
    }
}

// Adapters add to the frozen maps without writing them: a hook that returns zeros changes
// nothing, and a non-zero one on any single map changes the output.
struct ScaledHook : AdapterHook {
    AdaptedMap only;
    float scale;
    ScaledHook(AdaptedMap m, float s) : only(m), scale(s) {}
    torch::Tensor delta(int /*block*/, AdaptedMap map, const torch::Tensor& x) override {
        if (map != only) {
            return {};
        }
        const int64_t dOut = map == AdaptedMap::Fc1 ? 192 : 48;  // the tiny fixture's sizes
        auto ramp = torch::linspace(-1.0, 1.0, dOut);
        return scale * x.sum(-1, /*keepdim=*/true) * ramp;  // [B, N, d_out], input-dependent
    }
};

TEST(VisionTransformer, AdapterHooksAddWithoutTouchingWeights) {
    VisionTransformer model =
        loadBackbone(test::fixturesDir() / "vit_reference" / "tiny.safetensors");
    torch::NoGradGuard noGrad;
    const auto x = torch::rand({2, 3, 32, 32});
    const auto base = model->forwardFeatures(x);
    for (AdaptedMap m : {AdaptedMap::Q, AdaptedMap::K, AdaptedMap::V, AdaptedMap::Proj,
                         AdaptedMap::Fc1, AdaptedMap::Fc2}) {
        ScaledHook zero(m, 0.0F);
        ScaledHook one(m, 0.5F);
        ForwardOptions o;
        o.adapters = &zero;
        EXPECT_TRUE(torch::allclose(model->forwardFeatures(x, o), base)) << toString(m);
        o.adapters = &one;
        EXPECT_GT(maxAbsDiff(model->forwardFeatures(x, o), base), 1e-3) << toString(m);
    }
    EXPECT_TRUE(torch::equal(model->forwardFeatures(x), base));
}

}  // namespace
}  // namespace dlw

namespace dlw {
namespace {

// ViT-B/16 at full size (timm's vit_base_patch16_224.augreg_in21k layout, 21843-class head) is
// ~400 MB, too big to commit: this runs when tests/reference/make_vit_reference.py has written
// it to $DLW_VITB16_REF (see tests/reference/README.md) and is skipped otherwise.
TEST(TorchvisionReference, VitB16WhenGenerated) {
    const char* dir = std::getenv("DLW_VITB16_REF");
    if (dir == nullptr) {
        GTEST_SKIP() << "set DLW_VITB16_REF to the folder of vitb16.safetensors";
    }
    BackboneInfo info;
    VisionTransformer model =
        loadBackbone(std::filesystem::path(dir) / "vitb16.safetensors", &info);
    EXPECT_EQ(info.parameters, 102595923);
    const auto io = loadSafetensors(std::filesystem::path(dir) / "vitb16_io.safetensors");
    torch::NoGradGuard noGrad;
    const auto feature = model->forwardFeatures(io.tensors.at("inputs"));
    const double featureError = maxAbsDiff(feature, io.tensors.at("feature"));
    const double logitError = maxAbsDiff(model->forwardHead(feature), io.tensors.at("logits"));
    EXPECT_LT(featureError, 1e-4);
    EXPECT_LT(logitError, 1e-4);
    std::cout << "full ViT-B/16: largest difference " << featureError << " (features), "
              << logitError << " (logits)\n";
}

}  // namespace
}  // namespace dlw
