// timm itself as the judge of the backbone loader (#15). The fixtures are made at build time by
// tests/reference/make_timm_reference.py with timm and safetensors (the project's virtual
// environment, CMake's DLW_PYTHON): hub-style files of every standard ViT size with random
// weights, no metadata but {"format": "pt"}, and timm's own pooled pre-logits features.
#include "api/error.h"
#include "io/safetensors.h"
#include "model/backbone.h"
#include "model/vision_transformer.h"
#include "test_support.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

// The folder the build wrote the fixtures to; empty when CMake had no DLW_PYTHON.
fs::path referenceDir() {
#ifdef DLW_TIMM_REFERENCE
    return DLW_TIMM_REFERENCE;
#else
    return {};
#endif
}

// manifest.json of the fixtures, or a skip naming how to get them.
#define DLW_TIMM_MANIFEST(var)                                                             \
    if (referenceDir().empty()) {                                                          \
        GTEST_SKIP() << "no timm reference: configure with -DDLW_PYTHON=.venv-torch2/bin/" \
                        "python (scripts/build-torch2.sh makes that environment)";         \
    }                                                                                      \
    std::ifstream manifestStream(referenceDir() / "manifest.json");                        \
    ASSERT_TRUE(manifestStream) << referenceDir() / "manifest.json"                        \
                                << " is missing: build "                                   \
                                << "the timm_reference target";                            \
    const auto var = nlohmann::json::parse(manifestStream)

double maxAbsDifference(const torch::Tensor& a, const torch::Tensor& b) {
    EXPECT_EQ(a.sizes(), b.sizes());
    return (a - b).abs().max().item<double>();
}

// Every model of the manifest: the loader infers timm's architecture from the hub file alone,
// counts its parameters, and computes timm's pooled pre-logits features and logits to 1e-4.
TEST(TimmReference, EveryStandardSizeLoadsAndMatchesTimmsFeatures) {
    DLW_TIMM_MANIFEST(manifest);
    ASSERT_GE(manifest.at("models").size(), 7U);
    torch::NoGradGuard noGrad;
    for (const auto& m : manifest.at("models")) {
        const std::string name = m.at("name");
        SCOPED_TRACE(name);
        BackboneInfo info;
        VisionTransformer model = loadBackbone(referenceDir() / (name + ".safetensors"), &info);
        EXPECT_EQ(info.arch.width, m.at("width").get<int>());
        EXPECT_EQ(info.arch.heads, m.at("heads").get<int>());
        EXPECT_EQ(info.arch.patchSize, m.at("patch").get<int>());
        EXPECT_EQ(info.arch.imgSize, m.at("img_size").get<int>());
        EXPECT_EQ(info.arch.depth, m.at("depth").get<int>());
        EXPECT_EQ(info.arch.classToken, m.at("class_token").get<bool>());
        EXPECT_EQ(info.parameters, m.at("parameters").get<int64_t>());
        const auto io = loadSafetensors(referenceDir() / (name + "_io.safetensors"));
        const auto feature = model->forwardFeatures(io.tensors.at("inputs"));
        const double featureError = maxAbsDifference(feature, io.tensors.at("feature"));
        EXPECT_LT(featureError, 1e-4);
        double logitError = 0;
        EXPECT_EQ(io.tensors.count("logits") != 0, info.arch.numClasses > 0);
        if (io.tensors.count("logits") != 0) {
            logitError = maxAbsDifference(model->forwardHead(feature), io.tensors.at("logits"));
            EXPECT_LT(logitError, 1e-4);
        }
        std::cout << name << ": largest difference from timm " << featureError << " (features), "
                  << logitError << " (logits); timm's own float32 error "
                  << m.at("float32_error_of_timm").get<double>() << "\n";
    }
}

// More sizes by their tensor shapes alone (timm on the meta device): the same width, heads,
// patch, image size and class token as timm, or a refusal naming the unsupported part.
TEST(TimmReference, ArchitectureInferenceAgreesWithTimmForMoreSizes) {
    DLW_TIMM_MANIFEST(manifest);
    ASSERT_GE(manifest.at("shapes").size(), 9U);
    for (const auto& [name, m] : manifest.at("shapes").items()) {
        SCOPED_TRACE(name);
        TensorShapes shapes;
        for (const auto& [tensor, shape] : m.at("tensors").items()) {
            shapes[tensor] = shape.get<std::vector<int64_t>>();
        }
        if (shapes.count("norm_pre.weight") != 0 || shapes.count("attn_pool.latent") != 0) {
            DLW_EXPECT_ERROR(inferBackboneArch(shapes, {}, name), name, "unsupported ViT variant",
                             shapes.count("norm_pre.weight") != 0 ? "norm_pre" : "attn_pool");
            continue;
        }
        const auto arch = inferBackboneArch(shapes, {}, name);
        EXPECT_EQ(arch.width, m.at("width").get<int>());
        EXPECT_EQ(arch.heads, m.at("heads").get<int>());
        EXPECT_EQ(arch.patchSize, m.at("patch").get<int>());
        EXPECT_EQ(arch.imgSize, m.at("img_size").get<int>());
        EXPECT_EQ(arch.classToken, m.at("class_token").get<bool>());
        EXPECT_EQ(arch.depth, m.at("depth").get<int>());
    }
}

// timm models with tokens the loader does not implement are refused, by name (LayerScale, which
// it does implement, is in the models compared above: vit_medium_patch16_gap_256).
TEST(TimmReference, ExtraTokensAreRefusedByName) {
    DLW_TIMM_MANIFEST(manifest);
    ASSERT_GE(manifest.at("unsupported").size(), 2U);
    for (const auto& [stem, m] : manifest.at("unsupported").items()) {
        SCOPED_TRACE(stem);
        const auto path = referenceDir() / (stem + ".safetensors");
        DLW_EXPECT_ERROR(loadBackbone(path), path.string(), "unsupported ViT variant",
                         m.at("names").get<std::string>());
    }
}

}  // namespace
}  // namespace dlw
