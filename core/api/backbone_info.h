#pragma once
// Public (no LibTorch) description of a ViT backbone file, and image embedding for `dlw embed`.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace dlw {

// A ViT's architecture in timm's layout (DESIGN §3.1), read from tensor shapes and metadata.
struct BackboneArch {
    int imgSize = 224;             // square input side in pixels
    int patchSize = 16;            // square patch side
    int inChans = 3;               // 1 (grey) or 3 (RGB)
    int width = 768;               // embedding dimension D
    int depth = 12;                // number of blocks
    int heads = 12;                // attention heads; D must divide evenly
    int mlpHidden = 3072;          // fc1 output size
    int numClasses = 0;            // rows of `head`, 0 when the file has no head
    bool classToken = true;        // a cls_token is prepended
    bool posEmbedHasClass = true;  // pos_embed covers the class token position (timm default)
    bool qkvBias = true;      // attn.qkv has a bias (timm's qkv_bias, True but in a few models)
    bool layerScale = false;  // blocks scale each branch by a learned [D] gamma (ls1, ls2): timm's
                              // init_values (Touvron et al., "Going deeper with image
                              // transformers", 2021, eq. 1); DINOv2, DeiT III
    std::vector<float> mean;  // per-channel input normalisation; empty = pixels in [0, 1]
    std::vector<float> std;

    int tokens() const {
        const int side = imgSize / patchSize;
        return side * side + (classToken ? 1 : 0);
    }
};

struct BackboneInfo {
    std::string path;
    BackboneArch arch;
    int64_t parameters = 0;      // every tensor of the file, head included
    int64_t headParameters = 0;  // of those, in `head`
    std::string dtype;           // storage type(s) in the file, e.g. "F32"
    int64_t fileBytes = 0;
    std::map<std::string, std::string> metadata;  // the file's __metadata__
};

// Reads only the header of a backbone file (fast even for ViT-B/16) and infers the architecture.
// Throws dlw::Error naming the file and the tensor for a malformed file or unknown/missing
// tensors. Any thread.
BackboneInfo inspectBackbone(const std::filesystem::path& path);

// The bundled backbone (resources/backbones/dlw-vit-tiny.safetensors): under $DLW_RESOURCES when
// set, next to an installed binary (../share/dlw/), else in the source tree it was built from.
std::filesystem::path bundledBackbonePath();

// The pooled feature of one image file (the final-norm class token, or the token mean without
// one), or the reason it failed.
struct ImageEmbedding {
    std::string file;
    std::vector<float> feature;  // width values; empty when `error` is set
    std::string error;
};

// Embeds image files with the backbone, resized as it expects (DESIGN §6). A file that cannot be
// read gets its error and the others are still embedded. Throws dlw::Error only for the backbone.
std::vector<ImageEmbedding> embedImageFiles(const std::filesystem::path& backbone,
                                            const std::vector<std::filesystem::path>& images,
                                            int batchSize = 64);

}  // namespace dlw
