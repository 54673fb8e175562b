#pragma once
// safetensors (https://github.com/huggingface/safetensors): 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}} plus optional "__metadata__" (string to
// string), then the raw little-endian data. DESIGN §3.1.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace dlw {

struct SafetensorsEntry {
    std::string name;
    std::string dtype;           // as in the file: "F32", "F16", "BF16", "I64", ...
    std::vector<int64_t> shape;  // row-major
    uint64_t begin = 0;          // byte offsets relative to the start of the data section
    uint64_t end = 0;
};

struct SafetensorsHeader {
    std::vector<SafetensorsEntry> entries;        // in data order
    std::map<std::string, std::string> metadata;  // "__metadata__", may be empty
    uint64_t dataStart = 0;                       // absolute offset of the data section
    uint64_t fileSize = 0;
};

// Tensors by name plus the file's metadata; float data converted to float32 on read.
struct SafetensorsFile {
    std::map<std::string, torch::Tensor> tensors;
    std::map<std::string, std::string> metadata;
};

// Reads and validates the header: the length fits the file, the JSON parses, every entry has a
// known dtype, a shape and offsets inside the data section, shape × dtype size equals the byte
// length, and no two entries overlap. Throws dlw::Error naming the file (and tensor).
SafetensorsHeader readSafetensorsHeader(const std::filesystem::path& path);

// Reads every tensor (F32, F16, BF16 become float32; F64, I64, I32, U8, BOOL keep their type),
// on the CPU. Throws dlw::Error naming the file and tensor on any problem.
SafetensorsFile loadSafetensors(const std::filesystem::path& path);

// Writes tensors (float32, float64, int64, int32, uint8 or bool; other float types are converted to
// float32) in the given order, atomically. Names must be unique and not "__metadata__".
void saveSafetensors(const std::filesystem::path& path,
                     const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata = {});

// Bytes per element of a safetensors dtype name; 0 for a name we do not know.
std::size_t safetensorsDtypeSize(const std::string& dtype);

}  // namespace dlw
