// Readers for the idx format of MNIST and Fashion-MNIST (DESIGN §4), raw or gzip-compressed.
#include "api/error.h"
#include "data/dataset.h"

#include <array>
#include <climits>
#include <memory>
#include <system_error>
#include <zlib.h>

namespace dlw {
namespace {

constexpr uint32_t kImageMagic = 0x00000803;          // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelMagic = 0x00000801;          // unsigned bytes, 1 dimension
constexpr int64_t kMaxPixelBytes = int64_t{1} << 34;  // 16 GiB: beyond it the header is garbage
// Deflate expands at most about 1032:1, so a file cannot hold more data than 1032 × its size.
constexpr int64_t kMaxDeflateRatio = 1032;

// gzopen/gzread read gzip files and, transparently, uncompressed ones.
class GzFile {
public:
    explicit GzFile(const std::filesystem::path& path)
        : path_(path), file_(gzopen(path.c_str(), "rb")) {
        if (file_ == nullptr) {
            std::error_code ec;
            const bool exists = std::filesystem::exists(path, ec);
            throw Error(path.string() + (exists ? ": cannot open the file" : ": file not found"));
        }
        gzbuffer(file_, 1U << 18U);
    }
    ~GzFile() { gzclose(file_); }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;
    GzFile(GzFile&&) = delete;
    GzFile& operator=(GzFile&&) = delete;

    // Reads up to `size` bytes; returns how many were read (fewer only at the end of the data).
    int64_t read(void* data, int64_t size) {
        auto* bytes = static_cast<unsigned char*>(data);
        int64_t total = 0;
        while (total < size) {
            const auto chunk = static_cast<unsigned>(std::min<int64_t>(size - total, INT_MAX / 2));
            const int n = gzread(file_, bytes + total, chunk);
            if (n < 0) {
                int code = 0;
                throw Error(path_.string() + ": read failed (" + gzerror(file_, &code) +
                            "); is the .gz file damaged?");
            }
            if (n == 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    bool atEnd() {
        unsigned char extra = 0;
        return read(&extra, 1) == 0;
    }

private:
    std::filesystem::path path_;
    gzFile file_;
};

uint32_t bigEndian(const unsigned char* bytes) {
    return (uint32_t{bytes[0]} << 24U) | (uint32_t{bytes[1]} << 16U) | (uint32_t{bytes[2]} << 8U) |
           uint32_t{bytes[3]};
}

std::string hex(uint32_t value) {
    std::array<char, 16> text{};
    std::snprintf(text.data(), text.size(), "0x%08X", value);
    return text.data();
}

// Reads the magic number and `dims` sizes; checks the magic.
std::vector<int64_t> readHeader(
    GzFile& file, const std::filesystem::path& path, uint32_t magic, int dims, const char* what) {
    std::array<unsigned char, 16> header{};
    const int64_t wanted = int64_t{4} * (1 + dims);
    const int64_t got = file.read(header.data(), wanted);
    if (got < wanted) {
        throw Error(path.string() + ": truncated idx header: expected " + std::to_string(wanted) +
                    " bytes, found " + std::to_string(got));
    }
    const uint32_t found = bigEndian(header.data());
    if (found != magic) {
        throw Error(path.string() + ": not an idx " + what + " file: magic number " + hex(found) +
                    " where " + hex(magic) + " was expected");
    }
    std::vector<int64_t> sizes(static_cast<std::size_t>(dims));
    for (std::size_t d = 0; d < sizes.size(); ++d) {
        sizes[d] = bigEndian(header.data() + 4 * (d + 1));
    }
    return sizes;
}

// #14: a header that promises more data than the file could hold even as gzip is refused
// before its buffer is allocated (a 40-byte file must not claim gigabytes).
void checkPayloadFits(const std::filesystem::path& path, int64_t size, const std::string& promise) {
    std::error_code ec;
    const auto fileBytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
    if (!ec && size / kMaxDeflateRatio > fileBytes) {
        throw Error(path.string() + ": truncated idx file: the header promises " + promise + " = " +
                    std::to_string(size) + " bytes of data, more than the " +
                    std::to_string(fileBytes) + "-byte file can hold");
    }
}

// Reads exactly `size` bytes of payload and checks that nothing follows.
void readPayload(GzFile& file,
                 const std::filesystem::path& path,
                 void* data,
                 int64_t size,
                 const std::string& promise) {
    const int64_t got = file.read(data, size);
    if (got < size) {
        throw Error(path.string() + ": truncated idx file: the header promises " + promise + " = " +
                    std::to_string(size) + " bytes of data, found " + std::to_string(got));
    }
    if (!file.atEnd()) {
        throw Error(path.string() + ": more data than the header promises (" + promise + " = " +
                    std::to_string(size) + " bytes); is it the right file?");
    }
}

torch::Tensor readImages(const std::filesystem::path& path) {
    GzFile file(path);
    const auto sizes = readHeader(file, path, kImageMagic, 3, "image");
    const int64_t count = sizes[0];
    const int64_t rows = sizes[1];
    const int64_t cols = sizes[2];
    // #14: divisions, not a product that can overflow (each size is up to 2^32 - 1).
    if (rows <= 0 || cols <= 0 || rows > kMaxPixelBytes || cols > kMaxPixelBytes / rows ||
        count > kMaxPixelBytes / (rows * cols)) {
        throw Error(path.string() + ": implausible idx image sizes " + std::to_string(count) +
                    " × " + std::to_string(rows) + " × " + std::to_string(cols));
    }
    const std::string promise =
        std::to_string(count) + " images of " + std::to_string(rows) + "×" + std::to_string(cols);
    checkPayloadFits(path, count * rows * cols, promise);
    auto pixels = torch::empty({count, rows, cols, 1}, torch::kUInt8);  // [N, H, W, 1]
    readPayload(file, path, pixels.data_ptr<uint8_t>(), count * rows * cols, promise);
    return pixels;
}

std::vector<int64_t> readLabels(const std::filesystem::path& path) {
    GzFile file(path);
    const int64_t count = readHeader(file, path, kLabelMagic, 1, "label")[0];
    if (count > kMaxPixelBytes) {
        throw Error(path.string() + ": implausible idx label count " + std::to_string(count));
    }
    checkPayloadFits(path, count, std::to_string(count) + " labels");
    std::vector<unsigned char> bytes(static_cast<std::size_t>(count));
    readPayload(file, path, bytes.data(), count, std::to_string(count) + " labels");
    return {bytes.begin(), bytes.end()};
}

// `root`/name.gz, else `root`/name.
std::filesystem::path findIdxFile(const std::filesystem::path& root, const std::string& name) {
    std::error_code ec;
    for (const auto& candidate : {root / (name + ".gz"), root / name}) {
        if (std::filesystem::is_regular_file(candidate, ec)) {
            return candidate;
        }
    }
    throw Error((root / name).string() +
                "[.gz]: file not found (install the Debian package "
                "dataset-fashion-mnist or set data.root)");
}

ImageDataset readSplit(const std::filesystem::path& root,
                       const std::string& prefix,
                       const std::vector<std::string>& names) {
    // Looked up in sequence so that the first missing file is the one reported.
    const auto images = findIdxFile(root, prefix + "-images-idx3-ubyte");
    const auto labels = findIdxFile(root, prefix + "-labels-idx1-ubyte");
    return readIdx(images, labels, names);
}

}  // namespace

ImageDataset readIdx(const std::filesystem::path& images,
                     const std::filesystem::path& labels,
                     std::vector<std::string> classNames) {
    ImageDataset data;
    data.source = images.string();
    data.pixels = readImages(images);
    data.labels = readLabels(labels);
    if (data.pixels.size(0) != data.size()) {
        throw Error(images.string() + " holds " + std::to_string(data.pixels.size(0)) +
                    " images but " + labels.string() + " holds " + std::to_string(data.size()) +
                    " labels; they must be a matching pair");
    }
    int64_t maxLabel = -1;
    for (const int64_t label : data.labels) {
        maxLabel = std::max(maxLabel, label);
    }
    if (classNames.empty()) {
        for (int64_t c = 0; c <= maxLabel; ++c) {
            classNames.push_back(std::to_string(c));
        }
    }
    if (maxLabel >= static_cast<int64_t>(classNames.size())) {
        throw Error(labels.string() + ": label " + std::to_string(maxLabel) + " found, expected " +
                    "labels below " + std::to_string(classNames.size()));
    }
    data.classNames = std::move(classNames);
    return data;
}

TrainTestData readFashionMnist(const std::filesystem::path& root) {
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) {
        throw Error(root.string() +
                    ": Fashion-MNIST folder not found (install the Debian package "
                    "dataset-fashion-mnist or set data.root)");
    }
    const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                            "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};
    return {readSplit(root, "train", names), readSplit(root, "t10k", names)};
}

}  // namespace dlw
