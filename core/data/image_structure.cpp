// Structure checks of image files before decoding (see image_structure.h). Plain byte parsing,
// no OpenCV: the files are read through a small buffered reader that seeks past the data it
// does not need.
#include "data/image_structure.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>
#include <vector>

namespace dlw::detail {
namespace {

namespace fs = std::filesystem;

// Reads a file front to back through a 64 KiB buffer; skips seek past what is not needed.
class ByteReader {
public:
    explicit ByteReader(const fs::path& file) : in_(file, std::ios::binary) {
        std::error_code ec;
        size_ = fs::file_size(file, ec);
        if (ec || !in_) {
            size_ = 0;
        }
    }

    // Bytes after the read position (by the size the file had when opened).
    uint64_t remaining() const { return offset_ < size_ ? size_ - offset_ : 0; }

    // The next byte, or -1 at the end of the file.
    int get() {
        if (pos_ == end_ && !refill()) {
            return -1;
        }
        ++offset_;
        return buffer_[pos_++];
    }

    // Moves past the next byte equal to `value`; false when the file ends first.
    bool skipPast(unsigned char value) {
        for (;;) {
            if (pos_ == end_ && !refill()) {
                return false;
            }
            const auto* start = buffer_.data() + pos_;
            const auto* found =
                static_cast<const unsigned char*>(std::memchr(start, value, end_ - pos_));
            const std::size_t moved = found == nullptr ? end_ - pos_ : found - start + 1;
            pos_ += moved;
            offset_ += moved;
            if (found != nullptr) {
                return true;
            }
        }
    }

    // Fills `out` with the next `count` bytes; false when the file ends first.
    bool read(unsigned char* out, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            const int b = get();
            if (b < 0) {
                return false;
            }
            out[i] = static_cast<unsigned char>(b);
        }
        return true;
    }

    // Moves `count` bytes on; false (and no move) when fewer remain.
    bool skip(uint64_t count) {
        if (count > remaining()) {
            return false;
        }
        if (count <= end_ - pos_) {
            pos_ += static_cast<std::size_t>(count);
        } else {
            in_.clear();
            in_.seekg(static_cast<std::streamoff>(offset_ + count));
            pos_ = end_ = 0;
        }
        offset_ += count;
        return true;
    }

private:
    static constexpr std::size_t kBufferSize = std::size_t{64} * 1024;

    bool refill() {
        if (remaining() == 0) {
            return false;
        }
        in_.read(reinterpret_cast<char*>(buffer_.data()),
                 static_cast<std::streamsize>(kBufferSize));
        pos_ = 0;
        end_ = static_cast<std::size_t>(std::max<std::streamsize>(in_.gcount(), 0));
        return end_ > 0;
    }

    std::ifstream in_;
    std::vector<unsigned char> buffer_ = std::vector<unsigned char>(kBufferSize);
    std::size_t pos_ = 0;  // next byte in buffer_
    std::size_t end_ = 0;  // bytes held in buffer_
    uint64_t offset_ = 0;  // of the next byte in the file
    uint64_t size_ = 0;
};

uint32_t bigEndian(const unsigned char* p, int count) {
    uint32_t v = 0;
    for (int i = 0; i < count; ++i) {
        v = (v << 8U) | p[i];
    }
    return v;
}

// A PNG chunk type as text: letters as they are, any other byte as \xHH (one clean line).
std::string chunkName(const unsigned char* type) {
    std::string out;
    for (int i = 0; i < 4; ++i) {
        if ((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')) {
            out += static_cast<char>(type[i]);
        } else {
            std::array<char, 5> hex{};
            std::snprintf(hex.data(), hex.size(), "\\x%02X", type[i]);
            out += hex.data();
        }
    }
    return out;
}

// The fault of a declared size: a side below 1, or more pixels than the limit.
std::string sizeFault(const std::string& format, int64_t width, int64_t height) {
    if (width < 1 || height < 1) {
        return "corrupt " + format + ": its header declares " + std::to_string(width) + "×" +
               std::to_string(height) + " pixels";
    }
    return pixelCountFault(width, height);
}

// PNG: the 8-byte signature (already read), then chunks of length (4, big-endian), type (4),
// data and CRC (4), IHDR first and IEND last. Fuzz finding (fuzz_image, out of memory): libpng
// allocates an ancillary chunk's declared length (up to 2^31 - 1 bytes) before it notices that
// the file is shorter, so every chunk is checked to fit in the file first.
std::string pngFault(ByteReader& in) {
    for (bool first = true;; first = false) {
        std::array<unsigned char, 8> head{};
        if (!in.read(head.data(), head.size())) {
            return "truncated PNG (it ends before its IEND chunk)";
        }
        const uint32_t length = bigEndian(head.data(), 4);
        const std::string type = chunkName(&head[4]);
        if (length > 0x7FFFFFFFU) {  // the PNG specification's limit
            return "corrupt PNG: chunk '" + type + "' declares " + std::to_string(length) +
                   " bytes, more than the 2147483647 a chunk may hold";
        }
        if (length > in.remaining()) {
            return "corrupt PNG: chunk '" + type + "' declares " + std::to_string(length) +
                   " bytes but " + std::to_string(in.remaining()) + " remain";
        }
        uint32_t consumed = 0;
        if (first) {
            std::array<unsigned char, 8> size{};  // IHDR: width (4), height (4), ...
            if (type != "IHDR" || length != 13 || !in.read(size.data(), size.size())) {
                return "corrupt PNG: its first chunk is '" + type + "', not a 13-byte IHDR";
            }
            consumed = static_cast<uint32_t>(size.size());
            std::string fault = sizeFault("PNG", bigEndian(size.data(), 4), bigEndian(&size[4], 4));
            if (!fault.empty()) {
                return fault;
            }
        }
        if (!in.skip(uint64_t{length} - consumed + 4)) {
            return "truncated PNG: chunk '" + type + "' ends without its 4-byte CRC";
        }
        if (type == "IEND") {  // what follows is no part of the image
            return {};
        }
    }
}

// JPEG: SOI (already read), then segments FF code [length (2, big-endian, counting itself),
// payload]; each scan (SOS) is followed by entropy-coded data, in which FF is followed by 00
// (a stuffed byte) or a restart marker, and the image ends with EOI. Segments are skipped by
// their length, so a thumbnail inside an APP segment (EXIF) is never taken for the image.
// A truncated file: libjpeg decodes what is there, fills the rest grey and only warns on
// stderr, so a missing EOI after the scans is refused here (Whole).
std::string jpegFault(ByteReader& in, StructureCheck depth) {
    bool sawFrame = false;
    bool sawScan = false;
    while (in.skipPast(0xFF)) {  // libjpeg skips garbage before a marker (with a warning)
        int code = in.get();
        while (code == 0xFF) {  // fill bytes
            code = in.get();
        }
        if (code < 0) {
            break;
        }
        if (code <= 0x01 || (code >= 0xD0 && code <= 0xD8)) {
            continue;  // a stuffed 00, TEM, RSTn, SOI: no length, no payload
        }
        if (code == 0xD9) {
            return sawScan ? ""
                           : "corrupt JPEG: its end-of-image marker comes before any image data";
        }
        std::array<unsigned char, 7> segment{};  // length (2) [, precision, height (2), width (2)]
        if (!in.read(segment.data(), 2)) {
            break;
        }
        uint32_t left = std::max<uint32_t>(bigEndian(segment.data(), 2), 2) - 2;  // libjpeg: >= 2
        const bool frame = code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 &&
                           code != 0xCC;  // C4 DHT, C8 JPG, CC DAC are no frames
        if (frame && !sawFrame) {
            if (left < 6 || !in.read(&segment[2], 5)) {
                return "corrupt JPEG: its frame header (SOF) is cut short";
            }
            left -= 5;
            sawFrame = true;
            auto fault = sizeFault("JPEG", bigEndian(&segment[5], 2), bigEndian(&segment[3], 2));
            if (!fault.empty()) {
                return fault;
            }
        } else if (code == 0xDA) {
            if (!sawFrame) {
                return "corrupt JPEG: its image data starts before the frame header (SOF)";
            }
            if (depth == StructureCheck::Headers) {
                return {};
            }
            sawScan = true;
        }
        if (!in.skip(left)) {
            break;
        }
    }
    return sawScan ? "truncated JPEG (no end-of-image marker after the image data)"
                   : "truncated JPEG (it ends before its image data)";
}

}  // namespace

std::string pixelCountFault(int64_t width, int64_t height) {
    // Both sides may reach 2^32 - 1 (PNG): compared one by one, then multiplied without overflow.
    if (width <= kMaxImagePixels && height <= kMaxImagePixels &&
        static_cast<uint64_t>(width) * static_cast<uint64_t>(height) <=
            static_cast<uint64_t>(kMaxImagePixels)) {
        return {};
    }
    return "image of " + std::to_string(width) + "×" + std::to_string(height) +
           " pixels, more than the " + std::to_string(kMaxImagePixels) + " this program decodes";
}

std::string imageStructureFault(const fs::path& file, StructureCheck depth) {
    ByteReader in(file);
    std::array<unsigned char, 8> magic{};
    if (!in.read(magic.data(), 2)) {
        return {};
    }
    if (magic[0] == 0xFF && magic[1] == 0xD8) {
        return jpegFault(in, depth);
    }
    static constexpr std::array<unsigned char, 8> kPngSignature = {0x89, 'P',  'N',  'G',
                                                                   '\r', '\n', 0x1A, '\n'};
    if (magic[0] == kPngSignature[0] && magic[1] == kPngSignature[1] && in.read(&magic[2], 6) &&
        magic == kPngSignature) {
        return pngFault(in);
    }
    return {};
}

}  // namespace dlw::detail
