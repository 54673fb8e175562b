#include "model/backbone.h"

#include "api/error.h"
#include "io/safetensors.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>
#include <sstream>

namespace dlw {
namespace {

const std::vector<int64_t>& requireShape(const TensorShapes& shapes,
                                         const std::string& name,
                                         std::size_t rank,
                                         const std::string& file) {
    auto it = shapes.find(name);
    if (it == shapes.end()) {
        throw Error(fmt::format("{}: missing tensor '{}' (not a timm-style ViT?)", file, name));
    }
    if (it->second.size() != rank) {
        throw Error(fmt::format("{}: tensor '{}' has shape [{}], expected {} dimensions", file,
                                name, fmt::join(it->second, ", "), rank));
    }
    return it->second;
}

int metadataInt(const std::map<std::string, std::string>& metadata,
                const std::string& key,
                const std::string& file) {
    const std::string& text = metadata.at(key);
    try {
        std::size_t used = 0;
        const int value = std::stoi(text, &used);
        if (used != text.size() || value <= 0) {
            throw std::invalid_argument(text);
        }
        return value;
    } catch (const std::exception&) {
        throw Error(
            fmt::format("{}: __metadata__ '{}' = '{}' is not a positive integer", file, key, text));
    }
}

// "0.5,0.5,0.5" or "[0.5, 0.5, 0.5]".
std::vector<float> metadataFloats(const std::string& text,
                                  const std::string& key,
                                  const std::string& file) {
    std::string cleaned;
    for (char c : text) {
        cleaned += (c == '[' || c == ']' || c == ',') ? ' ' : c;
    }
    std::istringstream in(cleaned);
    std::vector<float> values;
    float v = 0;
    while (in >> v) {
        values.push_back(v);
    }
    if (!in.eof() || values.empty()) {
        throw Error(
            fmt::format("{}: __metadata__ '{}' = '{}' is not a list of numbers", file, key, text));
    }
    return values;
}

bool isSquare(int64_t n, int64_t* side) {
    const auto s = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
    *side = s;
    return s > 0 && s * s == n;
}

void checkAgrees(const std::map<std::string, std::string>& metadata,
                 const std::string& key,
                 int inferred,
                 const std::string& file) {
    if (metadata.count(key) != 0 && metadataInt(metadata, key, file) != inferred) {
        throw Error(fmt::format("{}: __metadata__ {} = {} disagrees with the tensor shapes ({})",
                                file, key, metadata.at(key), inferred));
    }
}

// Sets imgSize and posEmbedHasClass from pos_embed's token count.
void inferGrid(BackboneArch& arch,
               int64_t posTokens,
               const std::map<std::string, std::string>& metadata,
               const std::string& file) {
    int64_t side = 0;
    if (metadata.count("img_size") != 0) {
        side = metadataInt(metadata, "img_size", file) / arch.patchSize;
        arch.posEmbedHasClass = arch.classToken && posTokens == side * side + 1;
        if (posTokens != side * side + (arch.posEmbedHasClass ? 1 : 0)) {
            throw Error(
                fmt::format("{}: pos_embed has {} tokens, but img_size {} / patch {} "
                            "gives a {}x{} grid",
                            file, posTokens, metadata.at("img_size"), arch.patchSize, side, side));
        }
    } else if (arch.classToken && isSquare(posTokens - 1, &side)) {
        arch.posEmbedHasClass = true;
    } else if (isSquare(posTokens, &side)) {
        arch.posEmbedHasClass = false;
    } else {
        throw Error(
            fmt::format("{}: pos_embed has {} tokens, not a square grid (plus a class "
                        "token); add __metadata__ img_size",
                        file, posTokens));
    }
    arch.imgSize = static_cast<int>(side) * arch.patchSize;
}

// Heads of timm's ViTs by width when a file does not say (#14): 64-wide heads, except the
// models that keep 16 wider heads (vit_huge_patch14: 1280, vit_so400m_patch14_siglip: 1152,
// vit_giant_patch14: 1408, vit_gigantic_patch14: 1664); 0 when timm has no rule for the width.
int timmHeadsForWidth(int width) {
    switch (width) {
        case 1152:
        case 1280:
        case 1408:
        case 1664:
            return 16;
        default:
            return width % 64 == 0 ? width / 64 : 0;
    }
}

// The tokens and layers timm adds to its plain ViT in other families, each recognised by the
// tensor that carries it (#15): a file with any of them is refused naming them all, before a
// confusing message about a grid or a missing tensor could.
void refuseUnsupportedVariants(const TensorShapes& shapes, const std::string& file) {
    struct Variant {
        const char* tensor;  // present in the file = the feature is used
        const char* what;
    };
    static const Variant kVariants[] = {
        {"reg_token", "register tokens (timm's *_reg* models, e.g. DINOv2 with registers)"},
        {"dist_token", "a distillation token (DeiT distilled)"},
        {"norm_pre.weight", "a norm before the blocks (CLIP-style pre-norm)"},
        {"fc_norm.weight", "average pooling with fc_norm (global_pool='avg'; MAE, BEiT)"},
        {"attn_pool.latent", "attention pooling (a MAP head; SigLIP)"},
        {"blocks.0.attn.q_norm.weight", "QK normalisation (qk_norm=True)"},
        {"blocks.0.mlp.fc1_g.weight", "a gated (SwiGLU) MLP"},
        {"blocks.0.mlp.w12.weight", "a gated (SwiGLU) MLP"},
        {"blocks.0.attn.q_bias", "BEiT-style q/v biases and relative positions"},
    };
    std::vector<std::string> found;
    for (const auto& v : kVariants) {
        if (shapes.count(v.tensor) != 0) {
            found.push_back(fmt::format("{} ('{}')", v.what, v.tensor));
        }
    }
    if (!found.empty()) {
        throw Error(fmt::format(
            "{}: unsupported ViT variant: {}; dlw loads timm's plain VisionTransformer (pos_embed, "
            "pre-norm blocks, final norm, then the class token or, without one, the token mean)",
            file, fmt::join(found, "; ")));
    }
}

}  // namespace

BackboneArch inferBackboneArch(const TensorShapes& shapes,
                               const std::map<std::string, std::string>& metadata,
                               const std::string& file) {
    refuseUnsupportedVariants(shapes, file);
    BackboneArch arch;
    const auto& patch = requireShape(shapes, "patch_embed.proj.weight", 4, file);  // [D,C,p,p]
    arch.width = static_cast<int>(patch[0]);
    arch.inChans = static_cast<int>(patch[1]);
    arch.patchSize = static_cast<int>(patch[2]);
    if (patch[2] != patch[3]) {
        throw Error(fmt::format("{}: patch_embed.proj.weight has non-square patches {}x{}", file,
                                patch[2], patch[3]));
    }
    arch.classToken = shapes.count("cls_token") != 0;
    const auto& pos = requireShape(shapes, "pos_embed", 3, file);  // [1, T, D]
    inferGrid(arch, pos[1], metadata, file);
    arch.depth = 0;
    while (shapes.count(fmt::format("blocks.{}.norm1.weight", arch.depth)) != 0) {
        ++arch.depth;
    }
    if (arch.depth == 0) {
        throw Error(fmt::format("{}: missing tensor 'blocks.0.norm1.weight' (no blocks)", file));
    }
    arch.mlpHidden = static_cast<int>(requireShape(shapes, "blocks.0.mlp.fc1.weight", 2, file)[0]);
    arch.layerScale = shapes.count("blocks.0.ls1.gamma") != 0;
    arch.qkvBias = shapes.count("blocks.0.attn.qkv.bias") != 0;
    if (metadata.count("num_heads") != 0) {
        arch.heads = metadataInt(metadata, "num_heads", file);
    } else if (const int heads = timmHeadsForWidth(arch.width); heads > 0) {
        arch.heads = heads;
    } else {
        throw Error(
            fmt::format("{}: cannot infer the number of heads for width {}; add "
                        "__metadata__ num_heads",
                        file, arch.width));
    }
    if (arch.width % arch.heads != 0) {
        throw Error(fmt::format("{}: width {} is not divisible by num_heads {}", file, arch.width,
                                arch.heads));
    }
    checkAgrees(metadata, "patch_size", arch.patchSize, file);
    checkAgrees(metadata, "in_chans", arch.inChans, file);
    if (shapes.count("head.weight") != 0) {
        arch.numClasses = static_cast<int>(requireShape(shapes, "head.weight", 2, file)[0]);
    }
    for (const char* key : {"mean", "std"}) {
        if (metadata.count(key) == 0) {
            continue;
        }
        auto values = metadataFloats(metadata.at(key), key, file);
        if (static_cast<int>(values.size()) != arch.inChans) {
            throw Error(fmt::format("{}: __metadata__ {} has {} values for {} input channels", file,
                                    key, values.size(), arch.inChans));
        }
        for (const float v : values) {  // #14: std 0 failed later, in the middle of a run
            const bool ok = std::isfinite(v) && (std::string(key) == "mean" || v >= 1e-6F);
            if (!ok) {
                throw Error(fmt::format(
                    "{}: __metadata__ {} = '{}': {}", file, key, metadata.at(key),
                    std::string(key) == "std" ? "every value must be a finite number >= 1e-6"
                                              : "every value must be a finite number"));
            }
        }
        (std::string(key) == "mean" ? arch.mean : arch.std) = std::move(values);
    }
    if (arch.mean.empty() != arch.std.empty()) {
        throw Error(fmt::format("{}: __metadata__ has only one of mean and std", file));
    }
    return arch;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expectedBackboneShapes(
    const BackboneArch& a) {
    const int64_t d = a.width;
    const int64_t side = a.imgSize / a.patchSize;
    const int64_t posTokens = side * side + (a.classToken && a.posEmbedHasClass ? 1 : 0);
    std::vector<std::pair<std::string, std::vector<int64_t>>> out;
    if (a.classToken) {
        out.push_back({"cls_token", {1, 1, d}});
    }
    out.push_back({"pos_embed", {1, posTokens, d}});
    out.push_back({"patch_embed.proj.weight", {d, a.inChans, a.patchSize, a.patchSize}});
    out.push_back({"patch_embed.proj.bias", {d}});
    for (int i = 0; i < a.depth; ++i) {
        const std::string b = fmt::format("blocks.{}.", i);
        out.push_back({b + "norm1.weight", {d}});
        out.push_back({b + "norm1.bias", {d}});
        out.push_back({b + "attn.qkv.weight", {3 * d, d}});
        if (a.qkvBias) {
            out.push_back({b + "attn.qkv.bias", {3 * d}});
        }
        out.push_back({b + "attn.proj.weight", {d, d}});
        out.push_back({b + "attn.proj.bias", {d}});
        if (a.layerScale) {
            out.push_back({b + "ls1.gamma", {d}});
            out.push_back({b + "ls2.gamma", {d}});
        }
        out.push_back({b + "norm2.weight", {d}});
        out.push_back({b + "norm2.bias", {d}});
        out.push_back({b + "mlp.fc1.weight", {a.mlpHidden, d}});
        out.push_back({b + "mlp.fc1.bias", {a.mlpHidden}});
        out.push_back({b + "mlp.fc2.weight", {d, a.mlpHidden}});
        out.push_back({b + "mlp.fc2.bias", {d}});
    }
    out.push_back({"norm.weight", {d}});
    out.push_back({"norm.bias", {d}});
    if (a.numClasses > 0) {
        out.push_back({"head.weight", {a.numClasses, d}});
        out.push_back({"head.bias", {a.numClasses}});
    }
    return out;
}

namespace {

// Every expected tensor present with its shape, and nothing else in the file.
void verifyShapes(const BackboneArch& arch, const TensorShapes& shapes, const std::string& file) {
    std::set<std::string> expectedNames;
    for (const auto& [name, shape] : expectedBackboneShapes(arch)) {
        expectedNames.insert(name);
        auto it = shapes.find(name);
        if (it == shapes.end()) {
            throw Error(
                fmt::format("{}: missing tensor '{}' for a {}-block ViT", file, name, arch.depth));
        }
        if (it->second != shape && name == "head.weight") {  // its rows were taken as the classes
            throw Error(
                fmt::format("{}: tensor 'head.weight' has shape [{}], expected [classes, {}]", file,
                            fmt::join(it->second, ", "), arch.width));
        }
        if (it->second != shape) {
            throw Error(
                fmt::format("{}: tensor '{}' has shape [{}], expected [{}] for this "
                            "architecture",
                            file, name, fmt::join(it->second, ", "), fmt::join(shape, ", ")));
        }
    }
    for (const auto& [name, shape] : shapes) {
        if (expectedNames.count(name) == 0) {
            throw Error(
                fmt::format("{}: unknown tensor '{}' (not part of a timm ViT of this "
                            "architecture)",
                            file, name));
        }
    }
}

BackboneInfo describe(const std::filesystem::path& path, const SafetensorsHeader& header) {
    TensorShapes shapes;
    BackboneInfo info;
    info.path = path.string();
    std::set<std::string> dtypes;
    for (const auto& e : header.entries) {
        shapes[e.name] = e.shape;
        int64_t n = 1;
        for (auto s : e.shape) {
            n *= s;
        }
        info.parameters += n;
        if (e.name.rfind("head.", 0) == 0) {
            info.headParameters += n;
        }
        dtypes.insert(e.dtype);
    }
    info.arch = inferBackboneArch(shapes, header.metadata, info.path);
    verifyShapes(info.arch, shapes, info.path);
    // Weights are floating point; an integer or boolean tensor cast to float32 loaded and trained
    // silently (a qkv stored as I32: mostly zeros) (#15). F64 narrows to float32. Checked after
    // the names, so that a file that is no backbone (a checkpoint) is called that first.
    for (const auto& e : header.entries) {
        if (e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16" && e.dtype != "F64") {
            throw Error(fmt::format(
                "{}: tensor '{}' is stored as {}; backbone weights must be floating point (F32, "
                "F16, BF16 or F64): re-save it without converting to an integer type",
                info.path, e.name, e.dtype));
        }
    }
    info.dtype = fmt::format("{}", fmt::join(dtypes, ","));
    info.fileBytes = static_cast<int64_t>(header.fileSize);
    info.metadata = header.metadata;
    return info;
}

}  // namespace

std::filesystem::path bundledBackbonePath() {
    const std::filesystem::path name = "backbones/dlw-vit-tiny.safetensors";
    if (const char* env = std::getenv("DLW_RESOURCES"); env != nullptr && *env != '\0') {
        return std::filesystem::path(env) / name;
    }
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto installed = exe.parent_path().parent_path() / "share/dlw" / name;
        if (std::filesystem::exists(installed)) {
            return installed;
        }
    }
    return std::filesystem::path(DLW_SOURCE_DIR) / "resources" / name;
}

BackboneInfo inspectBackbone(const std::filesystem::path& path) {
    return describe(path, readSafetensorsHeader(path));
}

VisionTransformer loadBackbone(const std::filesystem::path& path, BackboneInfo* info) {
    BackboneInfo described = inspectBackbone(path);
    SafetensorsFile file = loadSafetensors(path);
    VisionTransformer model(described.arch);
    torch::NoGradGuard noGrad;
    for (auto& param : model->named_parameters()) {
        const torch::Tensor& src = file.tensors.at(param.key());
        param.value().copy_(src.to(torch::kFloat32));
        if (!torch::isfinite(param.value()).all().item<bool>()) {  // #14: was blamed on train.lr
            throw Error(fmt::format("{}: tensor '{}' holds NaN or Inf{}", path.string(),
                                    param.key(),
                                    torch::isfinite(src).all().item<bool>()
                                        ? " once converted to float32 (a value beyond its range)"
                                        : ""));
        }
        param.value().set_requires_grad(false);
    }
    model->eval();
    if (info != nullptr) {
        *info = std::move(described);
    }
    return model;
}

std::map<std::string, std::string> archMetadata(const BackboneArch& arch) {
    std::map<std::string, std::string> m{
        {"num_heads", std::to_string(arch.heads)},
        {"img_size", std::to_string(arch.imgSize)},
        {"patch_size", std::to_string(arch.patchSize)},
        {"in_chans", std::to_string(arch.inChans)},
    };
    if (!arch.mean.empty()) {
        m["mean"] = fmt::format("{}", fmt::join(arch.mean, ","));
        m["std"] = fmt::format("{}", fmt::join(arch.std, ","));
    }
    return m;
}

void saveBackbone(const std::filesystem::path& path,
                  VisionTransformer& model,
                  const std::map<std::string, std::string>& provenance) {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& param : model->named_parameters()) {
        tensors.emplace_back(param.key(), param.value().detach());
    }
    auto metadata = provenance;
    for (auto& [k, v] : archMetadata(model->arch())) {
        metadata[k] = v;
    }
    saveSafetensors(path, tensors, metadata);
}

}  // namespace dlw
