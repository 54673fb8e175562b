#include "io/safetensors.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "util/strict_json.h"

#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace dlw {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100ULL * 1024 * 1024;  // as the reference implementation
// Elements of one tensor: its byte count (8 bytes at most per element) then fits in int64.
constexpr uint64_t kMaxElements = static_cast<uint64_t>(INT64_MAX) / 8;

struct DtypeInfo {
    const char* name;
    std::size_t size;
    torch::ScalarType type;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", 8, torch::kFloat64},   {"F32", 4, torch::kFloat32}, {"F16", 2, torch::kFloat16},
    {"BF16", 2, torch::kBFloat16}, {"I64", 8, torch::kInt64},   {"I32", 4, torch::kInt32},
    {"I16", 2, torch::kInt16},     {"I8", 1, torch::kInt8},     {"U8", 1, torch::kUInt8},
    {"BOOL", 1, torch::kBool},
};

const DtypeInfo* findDtype(const std::string& name) {
    for (const auto& d : kDtypes) {
        if (name == d.name) {
            return &d;
        }
    }
    return nullptr;
}

const DtypeInfo& dtypeFor(torch::ScalarType type) {
    for (const auto& d : kDtypes) {
        if (d.type == type) {
            return d;
        }
    }
    throw Error(fmt::format("safetensors: cannot store tensors of type {}", c10::toString(type)));
}

// An open, read-only memory map of a whole file; unmapped on destruction.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) {
            throw Error(fmt::format("{}: cannot open ({})", path.string(), std::strerror(errno)));
        }
        struct stat st {};
        ::fstat(fd_, &st);
        size_ = static_cast<uint64_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
            if (p == MAP_FAILED) {
                ::close(fd_);
                throw Error(
                    fmt::format("{}: cannot map ({})", path.string(), std::strerror(errno)));
            }
            data_ = static_cast<const uint8_t*>(p);
        }
    }
    ~MappedFile() {
        if (data_ != nullptr) {
            ::munmap(const_cast<uint8_t*>(data_), size_);
        }
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&&) = delete;
    MappedFile& operator=(MappedFile&&) = delete;

    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }

private:
    int fd_ = -1;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

SafetensorsEntry parseEntry(const std::string& file,
                            const std::string& name,
                            const nlohmann::json& j,
                            uint64_t dataBytes) {
    if (!j.is_object() || !j.contains("dtype") || !j.contains("shape") ||
        !j.contains("data_offsets")) {
        throw Error(fmt::format("{}: tensor '{}': header entry needs dtype, shape and data_offsets",
                                file, name));
    }
    SafetensorsEntry e;
    e.name = name;
    if (!j["dtype"].is_string()) {
        throw Error(fmt::format("{}: tensor '{}': dtype is not a string", file, name));
    }
    e.dtype = j["dtype"].get<std::string>();
    const DtypeInfo* info = findDtype(e.dtype);
    if (info == nullptr) {
        throw Error(
            fmt::format("{}: tensor '{}': unknown dtype '{}' (supported: F64, F32, F16, "
                        "BF16, I64, I32, I16, I8, U8, BOOL)",
                        file, name, e.dtype));
    }
    const auto& shape = j["shape"];
    const auto& offsets = j["data_offsets"];
    if (!shape.is_array() || !offsets.is_array() || offsets.size() != 2) {
        throw Error(fmt::format("{}: tensor '{}': shape must be an array and data_offsets a pair",
                                file, name));
    }
    uint64_t count = 1;
    for (const auto& d : shape) {
        if (!d.is_number_unsigned()) {
            throw Error(fmt::format("{}: tensor '{}': shape entries must be non-negative integers",
                                    file, name));
        }
        // #14: every partial product must fit (as in the reference implementation), or the
        // count wraps and a tensor of 2^62 × 4 floats passes as 0 bytes.
        const auto dim = d.get<uint64_t>();
        if (dim > kMaxElements || (dim != 0 && count > kMaxElements / dim)) {
            throw Error(
                fmt::format("{}: tensor '{}': shape {} has more elements than a file can hold",
                            file, name, shape.dump()));
        }
        e.shape.push_back(static_cast<int64_t>(dim));
        count *= dim;
    }
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
        throw Error(
            fmt::format("{}: tensor '{}': data_offsets must be non-negative integers", file, name));
    }
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > dataBytes) {
        throw Error(
            fmt::format("{}: tensor '{}': data_offsets [{}, {}] lie outside the {}-byte "
                        "data section (truncated file?)",
                        file, name, e.begin, e.end, dataBytes));
    }
    if (count * info->size != e.end - e.begin) {
        throw Error(fmt::format(
            "{}: tensor '{}': shape {} of {} needs {} bytes but data_offsets "
            "span {}",
            file, name, j["shape"].dump(), e.dtype, count * info->size, e.end - e.begin));
    }
    return e;
}

SafetensorsHeader parseHeader(const std::string& file, const uint8_t* bytes, uint64_t fileSize) {
    if (fileSize < 8) {
        throw Error(
            fmt::format("{}: not a safetensors file: {} bytes, shorter than the 8-byte "
                        "header length",
                        file, fileSize));
    }
    uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i) {
        headerLen = (headerLen << 8U) | bytes[i];
    }
    if (headerLen > kMaxHeaderBytes || 8 + headerLen > fileSize) {
        throw Error(
            fmt::format("{}: header length {} runs past the end of the {}-byte file "
                        "(truncated or not safetensors)",
                        file, headerLen, fileSize));
    }
    // Duplicate keys, depth and syntax, each named with its line ("FILE (header): ...").
    const nlohmann::json j =
        parseOutsideJson(std::string_view(reinterpret_cast<const char*>(bytes + 8),
                                          static_cast<std::size_t>(headerLen)),
                         file + " (header)");
    if (!j.is_object()) {
        throw Error(fmt::format("{}: header is not a JSON object", file));
    }

    SafetensorsHeader h;
    h.dataStart = 8 + headerLen;
    h.fileSize = fileSize;
    const uint64_t dataBytes = fileSize - h.dataStart;
    for (const auto& [name, value] : j.items()) {
        if (name == "__metadata__") {
            if (value.is_null()) {
                continue;  // #14: the reference implementation writes and accepts null
            }
            if (!value.is_object()) {
                throw Error(fmt::format("{}: __metadata__ must be an object of strings", file));
            }
            for (const auto& [k, v] : value.items()) {
                if (!v.is_string()) {
                    throw Error(fmt::format("{}: __metadata__ key '{}' is not a string", file, k));
                }
                h.metadata[k] = v.get<std::string>();
            }
            continue;
        }
        h.entries.push_back(parseEntry(file, name, value, dataBytes));
    }
    std::sort(h.entries.begin(), h.entries.end(),
              [](const auto& a, const auto& b) { return a.begin < b.begin; });
    for (std::size_t i = 1; i < h.entries.size(); ++i) {
        const auto& prev = h.entries[i - 1];
        const auto& cur = h.entries[i];
        if (cur.begin < prev.end) {
            throw Error(
                fmt::format("{}: tensors '{}' and '{}' overlap (bytes [{}, {}) and "
                            "[{}, {}))",
                            file, prev.name, cur.name, prev.begin, prev.end, cur.begin, cur.end));
        }
    }
    return h;
}

}  // namespace

std::size_t safetensorsDtypeSize(const std::string& dtype) {
    const DtypeInfo* info = findDtype(dtype);
    return info == nullptr ? 0 : info->size;
}

SafetensorsHeader readSafetensorsHeader(const std::filesystem::path& path) {
    MappedFile file(path);
    return parseHeader(path.string(), file.data(), file.size());
}

SafetensorsFile loadSafetensors(const std::filesystem::path& path) {
    MappedFile file(path);
    const SafetensorsHeader header = parseHeader(path.string(), file.data(), file.size());
    SafetensorsFile out;
    out.metadata = header.metadata;
    for (const auto& e : header.entries) {
        const DtypeInfo* info = findDtype(e.dtype);
        const void* src = file.data() + header.dataStart + e.begin;
        // The map is read-only and goes away: from_blob views it, clone() copies it out.
        auto view = torch::from_blob(const_cast<void*>(src), e.shape,
                                     torch::TensorOptions().dtype(info->type));
        torch::Tensor t = view.clone();
        if (t.is_floating_point() && t.scalar_type() != torch::kFloat64) {
            t = t.to(torch::kFloat32);
        }
        out.tensors.emplace(e.name, std::move(t));
    }
    return out;
}

void saveSafetensors(const std::filesystem::path& path,
                     const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) {
        header["__metadata__"] = metadata;
    }
    std::vector<torch::Tensor> contiguous;
    contiguous.reserve(tensors.size());
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (name == "__metadata__" || header.contains(name)) {
            throw Error(fmt::format("{}: cannot write tensor name '{}' (reserved or repeated)",
                                    path.string(), name));
        }
        torch::Tensor t = tensor.detach().to(torch::kCPU);
        if (t.is_floating_point() && t.scalar_type() != torch::kFloat64) {
            t = t.to(torch::kFloat32);
        }
        t = t.contiguous();
        const DtypeInfo& info = dtypeFor(t.scalar_type());
        const uint64_t bytes = static_cast<uint64_t>(t.numel()) * info.size;
        header[name] = {{"dtype", info.name},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        contiguous.push_back(std::move(t));
    }
    std::string text = dumpJson(header);          // metadata text need not be UTF-8
    text.append((8 - text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
    uint8_t lengthBytes[8];
    uint64_t len = text.size();
    for (auto& b : lengthBytes) {
        b = static_cast<uint8_t>(len & 0xFFU);
        len >>= 8U;
    }
    AtomicFile out(path);
    out.write(lengthBytes, sizeof lengthBytes);
    out.write(text);
    for (const auto& t : contiguous) {
        out.write(t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    }
    out.commit();
}

}  // namespace dlw
