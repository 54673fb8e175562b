#pragma once
// Reading and writing ViT backbones as safetensors in timm's names (DESIGN §3.1, §6).

#include "api/backbone_info.h"
#include "data/batch_loader.h"
#include "model/vision_transformer.h"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dlw {

using TensorShapes = std::map<std::string, std::vector<int64_t>>;

// Infers the architecture from tensor shapes and the optional metadata (num_heads, img_size,
// patch_size, in_chans, mean, std). Throws dlw::Error naming `file` and the tensor or key.
BackboneArch inferBackboneArch(const TensorShapes& shapes,
                               const std::map<std::string, std::string>& metadata,
                               const std::string& file);

// Every tensor a backbone of `arch` has, with its shape, in timm's order.
std::vector<std::pair<std::string, std::vector<int64_t>>> expectedBackboneShapes(
    const BackboneArch& arch);

// Loads a backbone, frozen (no parameter requires grad) and in eval mode, on the CPU.
// Throws dlw::Error naming the file and tensor for a malformed file, a missing or unknown
// tensor, or a shape that does not fit the inferred architecture.
VisionTransformer loadBackbone(const std::filesystem::path& path, BackboneInfo* info = nullptr);

// The architecture keys of DESIGN §6 as metadata strings (num_heads, img_size, ...).
std::map<std::string, std::string> archMetadata(const BackboneArch& arch);

// Writes the model's parameters (float32) with archMetadata(arch) merged under `provenance`,
// atomically.
void saveBackbone(const std::filesystem::path& path,
                  VisionTransformer& model,
                  const std::map<std::string, std::string>& provenance);

// How images must be prepared for this backbone: its input size, channels and normalisation.
ImageTransform transformFor(const BackboneArch& arch);

}  // namespace dlw
