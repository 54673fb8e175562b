#pragma once
// A ViT in timm's layout and parameter names (DESIGN §3.1): patch_embed.proj, cls_token,
// pos_embed, blocks.{i}.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head.
// Pre-norm blocks, LayerNorm eps 1e-6, exact GELU; after the final norm the class token is the
// feature, or the token mean when the model has none (timm's global_pool='avg').

#include "api/backbone_info.h"

#include <torch/torch.h>

namespace dlw {

// The linear maps that adapters may attach to (DESIGN §3.2).
enum class AdaptedMap { Q, K, V, Proj, Fc1, Fc2 };
// The inputs of those maps: q, k, v read norm1's output; proj the attention output; fc1
// norm2's output; fc2 the MLP hidden layer (after GELU).
enum class MapInput { Norm1, AttnOut, Norm2, MlpHidden };

MapInput inputOf(AdaptedMap map);
const char* toString(AdaptedMap map);
const char* toString(MapInput input);
// "q","k","v","proj","fc1","fc2"; throws dlw::Error for anything else.
AdaptedMap parseAdaptedMap(const std::string& name);

// Adds trainable low-rank pieces to the frozen maps without touching their weights.
class AdapterHook {
public:
    virtual ~AdapterHook() = default;
    // The additive contribution to map `map` of block `block` for input x [B, N, d_in], shape
    // [B, N, d_out]; an undefined tensor when that map has no adapter.
    virtual torch::Tensor delta(int block, AdaptedMap map, const torch::Tensor& x) = 0;
};

// Sees intermediate activations (for covariance passes and the task-identity feature).
class ForwardObserver {
public:
    virtual ~ForwardObserver() = default;
    // The residual stream entering block `block`, [B, N, D].
    virtual void blockInput(int block, const torch::Tensor& x) {}
    // The input of the maps that read `input` in block `block`, [B, N, d_in].
    virtual void mapInput(int block, MapInput input, const torch::Tensor& x) {}
};

struct ForwardOptions {
    AdapterHook* adapters = nullptr;      // not owned
    ForwardObserver* observer = nullptr;  // not owned
    int lastBlock = -1;                   // stop after this block (-1 = run all); then no feature
    // Observation passes: in block `stopBlock`, return as soon as the observer has seen its
    // `stopAfter` input (Norm1 or Norm2); the returned tensor is then meaningless. -1 = off.
    int stopBlock = -1;
    MapInput stopAfter = MapInput::Norm1;
};

class PatchEmbedImpl : public torch::nn::Module {
public:
    PatchEmbedImpl(int inChans, int width, int patch);
    torch::Tensor forward(const torch::Tensor& images);  // [B,C,H,W] → [B, N, D]

    torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(int width, int numHeads, bool qkvBias = true);
    torch::Tensor forward(const torch::Tensor& x, int block, const ForwardOptions& options);

    torch::nn::Linear qkv{nullptr};  // rows q, k, v: [3D, D]
    torch::nn::Linear proj{nullptr};
    int heads;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(int width, int hidden);
    torch::Tensor forward(const torch::Tensor& x, int block, const ForwardOptions& options);

    torch::nn::Linear fc1{nullptr};
    torch::nn::Linear fc2{nullptr};
};
TORCH_MODULE(Mlp);

// LayerScale: x · gamma per channel, gamma [D] (timm's `ls1` / `ls2`, parameter `gamma`).
class LayerScaleImpl : public torch::nn::Module {
public:
    explicit LayerScaleImpl(int width);
    torch::Tensor forward(const torch::Tensor& x) { return x * gamma; }
    torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

class BlockImpl : public torch::nn::Module {
public:
    // layerScale: x + ls1(attn(norm1 x)), then + ls2(mlp(norm2 ·)), as timm's Block.
    BlockImpl(int width, int heads, int mlpHidden, bool layerScale = false, bool qkvBias = true);
    torch::Tensor forward(const torch::Tensor& x, int block, const ForwardOptions& options);

    torch::nn::LayerNorm norm1{nullptr};
    Attention attn{nullptr};
    LayerScale ls1{nullptr};  // null without LayerScale
    torch::nn::LayerNorm norm2{nullptr};
    Mlp mlp{nullptr};
    LayerScale ls2{nullptr};
};
TORCH_MODULE(Block);

class VisionTransformerImpl : public torch::nn::Module {
public:
    explicit VisionTransformerImpl(BackboneArch arch);

    // Images float [B, C, img, img] (already normalised) → final-norm class-token feature
    // [B, D] (mean of the tokens when the model has no class token). With
    // options.lastBlock ≥ 0 the pass stops after that block and returns the residual stream.
    torch::Tensor forwardFeatures(const torch::Tensor& images, const ForwardOptions& options = {});
    // Feature → head logits [B, numClasses]; the model must have a head.
    torch::Tensor forwardHead(const torch::Tensor& feature);

    // Runs `blocks` [from, to) on a residual stream (for passes that reuse a prefix).
    torch::Tensor runBlocks(torch::Tensor x, int from, int to, const ForwardOptions& options);
    // Patch embedding, class token and position embedding: images → [B, N, D].
    torch::Tensor embedTokens(const torch::Tensor& images);
    // Final norm and pooling of a residual stream [B, N, D] → [B, D].
    torch::Tensor pool(const torch::Tensor& x);

    const BackboneArch& arch() const { return arch_; }

    PatchEmbed patch_embed{nullptr};  // NOLINT(readability-identifier-naming): timm's names
    torch::Tensor cls_token;          // NOLINT(readability-identifier-naming)
    torch::Tensor pos_embed;          // NOLINT(readability-identifier-naming)
    torch::nn::ModuleList blocks{nullptr};
    torch::nn::LayerNorm norm{nullptr};
    torch::nn::Linear head{nullptr};

private:
    BackboneArch arch_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace dlw
