#include "model/vision_transformer.h"

#include "api/error.h"
#include "torch_compat.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dlw {
namespace {

namespace F = torch::nn::functional;

torch::nn::LayerNorm makeNorm(int width) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-6));
}

// y + adapter delta, when the hook has one for this map.
torch::Tensor withDelta(torch::Tensor y,
                        const ForwardOptions& options,
                        int block,
                        AdaptedMap map,
                        const torch::Tensor& x) {
    if (options.adapters == nullptr) {
        return y;
    }
    torch::Tensor d = options.adapters->delta(block, map, x);
    return d.defined() ? y + d : y;
}

// x·Wᵀ + b through ATen's linear operator, not torch::nn::Linear::forward: the C++ frontend's
// functional linear does matmul then an in-place bias add for inputs of more than two
// dimensions, so under bf16 autocast every map cast its transposed (strided) weight and added the
// float32 bias to a bfloat16 output as a separate pass. aten::linear casts the contiguous weight
// and fuses the bias into one addmm, as PyTorch's F.linear does (#15: 0.92x Python eager on
// ViT-B/16 bf16 before, bench/README.md).
torch::Tensor linear(const torch::nn::Linear& map, const torch::Tensor& x) {
    return torch::linear(x, map->weight, map->bias);
}

}  // namespace

MapInput inputOf(AdaptedMap map) {
    switch (map) {
        case AdaptedMap::Q:
        case AdaptedMap::K:
        case AdaptedMap::V:
            return MapInput::Norm1;
        case AdaptedMap::Proj:
            return MapInput::AttnOut;
        case AdaptedMap::Fc1:
            return MapInput::Norm2;
        case AdaptedMap::Fc2:
            return MapInput::MlpHidden;
    }
    return MapInput::Norm1;
}

const char* toString(AdaptedMap map) {
    switch (map) {
        case AdaptedMap::Q:
            return "q";
        case AdaptedMap::K:
            return "k";
        case AdaptedMap::V:
            return "v";
        case AdaptedMap::Proj:
            return "proj";
        case AdaptedMap::Fc1:
            return "fc1";
        case AdaptedMap::Fc2:
            return "fc2";
    }
    return "?";
}

const char* toString(MapInput input) {
    switch (input) {
        case MapInput::Norm1:
            return "norm1";
        case MapInput::AttnOut:
            return "attn_out";
        case MapInput::Norm2:
            return "norm2";
        case MapInput::MlpHidden:
            return "mlp_hidden";
    }
    return "?";
}

AdaptedMap parseAdaptedMap(const std::string& name) {
    for (AdaptedMap m : {AdaptedMap::Q, AdaptedMap::K, AdaptedMap::V, AdaptedMap::Proj,
                         AdaptedMap::Fc1, AdaptedMap::Fc2}) {
        if (name == toString(m)) {
            return m;
        }
    }
    throw Error(
        fmt::format("unknown adapted map '{}' (expected one of q, k, v, proj, fc1, fc2)", name));
}

PatchEmbedImpl::PatchEmbedImpl(int inChans, int width, int patch) {
    proj = register_module(
        "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(inChans, width, patch).stride(patch)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& images) {
    auto x = proj->forward(images);       // [B, D, H/p, W/p]
    return x.flatten(2).transpose(1, 2);  // [B, N, D]
}

AttentionImpl::AttentionImpl(int width, int numHeads, bool qkvBias) : heads(numHeads) {
    qkv = register_module(
        "qkv", torch::nn::Linear(torch::nn::LinearOptions(width, 3 * width).bias(qkvBias)));
    proj = register_module("proj", torch::nn::Linear(width, width));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x,
                                     int block,
                                     const ForwardOptions& options) {
    const int64_t batch = x.size(0);
    const int64_t tokens = x.size(1);
    const int64_t width = x.size(2);
    const int64_t headDim = width / heads;
    auto qkvOut = linear(qkv, x);  // [B, N, 3D], rows q, k, v
    auto parts = qkvOut.chunk(3, -1);
    torch::Tensor q = withDelta(parts[0], options, block, AdaptedMap::Q, x);
    torch::Tensor k = withDelta(parts[1], options, block, AdaptedMap::K, x);
    torch::Tensor v = withDelta(parts[2], options, block, AdaptedMap::V, x);
    auto split = [&](const torch::Tensor& t) {
        return t.reshape({batch, tokens, heads, headDim}).transpose(1, 2);  // [B, H, N, hd]
    };
    auto out = compat::attention(split(q), split(k), split(v));  // [B, H, N, hd]
    out = out.transpose(1, 2).reshape({batch, tokens, width});   // [B, N, D]
    if (options.observer != nullptr) {
        options.observer->mapInput(block, MapInput::AttnOut, out);
    }
    return withDelta(linear(proj, out), options, block, AdaptedMap::Proj, out);
}

MlpImpl::MlpImpl(int width, int hidden) {
    fc1 = register_module("fc1", torch::nn::Linear(width, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, width));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x, int block, const ForwardOptions& options) {
    auto h = torch::gelu(withDelta(linear(fc1, x), options, block, AdaptedMap::Fc1, x));
    if (options.observer != nullptr) {
        options.observer->mapInput(block, MapInput::MlpHidden, h);  // [B, N, hidden]
    }
    return withDelta(linear(fc2, h), options, block, AdaptedMap::Fc2, h);
}

LayerScaleImpl::LayerScaleImpl(int width) {
    gamma = register_parameter("gamma", torch::ones({width}));
}

BlockImpl::BlockImpl(int width, int heads, int mlpHidden, bool layerScale, bool qkvBias) {
    norm1 = register_module("norm1", makeNorm(width));
    attn = register_module("attn", Attention(width, heads, qkvBias));
    norm2 = register_module("norm2", makeNorm(width));
    mlp = register_module("mlp", Mlp(width, mlpHidden));
    if (layerScale) {
        ls1 = register_module("ls1", LayerScale(width));
        ls2 = register_module("ls2", LayerScale(width));
    }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, int block, const ForwardOptions& options) {
    if (options.observer != nullptr) {
        options.observer->blockInput(block, x);
    }
    auto h = norm1->forward(x);
    if (options.observer != nullptr) {
        options.observer->mapInput(block, MapInput::Norm1, h);
    }
    if (block == options.stopBlock && options.stopAfter == MapInput::Norm1) {
        return x;
    }
    auto a = attn->forward(h, block, options);
    auto y = x + (ls1 ? ls1->forward(a) : a);
    auto h2 = norm2->forward(y);
    if (options.observer != nullptr) {
        options.observer->mapInput(block, MapInput::Norm2, h2);
    }
    if (block == options.stopBlock && options.stopAfter == MapInput::Norm2) {
        return y;
    }
    auto m = mlp->forward(h2, block, options);
    return y + (ls2 ? ls2->forward(m) : m);
}

VisionTransformerImpl::VisionTransformerImpl(BackboneArch arch) : arch_(std::move(arch)) {
    if (arch_.heads <= 0 || arch_.width % arch_.heads != 0) {
        throw Error(
            fmt::format("ViT width {} is not divisible into {} heads", arch_.width, arch_.heads));
    }
    if (arch_.patchSize <= 0 || arch_.imgSize % arch_.patchSize != 0) {
        throw Error(fmt::format("ViT image size {} is not a multiple of the patch size {}",
                                arch_.imgSize, arch_.patchSize));
    }
    patch_embed =
        register_module("patch_embed", PatchEmbed(arch_.inChans, arch_.width, arch_.patchSize));
    const int side = arch_.imgSize / arch_.patchSize;
    const int posTokens = side * side + (arch_.classToken && arch_.posEmbedHasClass ? 1 : 0);
    if (arch_.classToken) {
        cls_token = register_parameter("cls_token", torch::zeros({1, 1, arch_.width}));
    }
    pos_embed = register_parameter("pos_embed", torch::zeros({1, posTokens, arch_.width}));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < arch_.depth; ++i) {
        blocks->push_back(
            Block(arch_.width, arch_.heads, arch_.mlpHidden, arch_.layerScale, arch_.qkvBias));
    }
    norm = register_module("norm", makeNorm(arch_.width));
    if (arch_.numClasses > 0) {
        head = register_module("head", torch::nn::Linear(arch_.width, arch_.numClasses));
    }
}

torch::Tensor VisionTransformerImpl::embedTokens(const torch::Tensor& images) {
    if (images.dim() != 4 || images.size(1) != arch_.inChans || images.size(2) != arch_.imgSize ||
        images.size(3) != arch_.imgSize) {
        throw Error(fmt::format("ViT input must be [B, {}, {}, {}], got {}", arch_.inChans,
                                arch_.imgSize, arch_.imgSize, fmt::join(images.sizes(), "x")));
    }
    auto x = patch_embed->forward(images);  // [B, N, D]
    if (!arch_.classToken) {
        return x + pos_embed;
    }
    auto cls = cls_token.expand({x.size(0), 1, arch_.width});
    if (arch_.posEmbedHasClass) {
        return torch::cat({cls, x}, 1) + pos_embed;  // [B, 1 + N, D]
    }
    return torch::cat({cls, x + pos_embed}, 1);
}

torch::Tensor VisionTransformerImpl::runBlocks(torch::Tensor x,
                                               int from,
                                               int to,
                                               const ForwardOptions& options) {
    for (int i = from; i < to; ++i) {
        x = blocks[i]->as<BlockImpl>()->forward(x, i, options);
    }
    return x;
}

torch::Tensor VisionTransformerImpl::pool(const torch::Tensor& x) {
    auto y = norm->forward(x);
    return arch_.classToken ? y.select(1, 0) : y.mean(1);  // [B, D]
}

torch::Tensor VisionTransformerImpl::forwardFeatures(const torch::Tensor& images,
                                                     const ForwardOptions& options) {
    auto x = embedTokens(images);
    if (options.lastBlock >= 0) {
        return runBlocks(x, 0, std::min(options.lastBlock + 1, arch_.depth), options);
    }
    return pool(runBlocks(x, 0, arch_.depth, options));
}

torch::Tensor VisionTransformerImpl::forwardHead(const torch::Tensor& feature) {
    if (!head) {
        throw Error("this backbone has no classification head");
    }
    return head->forward(feature);
}

}  // namespace dlw
