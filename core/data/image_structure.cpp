// Structure checks of image files before decoding (see image_structure.h). Plain byte parsing,
// no OpenCV: the files are read through a small buffered reader that seeks past the data it
// does not need.
#include "data/image_structure.h"

#include <algorithm>
#include <array>
#include <cctype>
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

    // The file's size when it was opened, and the bytes after the read position.
    uint64_t size() const { return size_; }
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

// A byte of a file as text in a message: printable ASCII as it is, else \xHH.
std::string shownByte(int byte) {
    if (byte > 0x20 && byte < 0x7F) {
        return {static_cast<char>(byte)};
    }
    std::array<char, 5> hex{};
    std::snprintf(hex.data(), hex.size(), "\\x%02X", static_cast<unsigned>(byte) & 0xFFU);
    return hex.data();
}

// A PNG chunk type as text in a message.
std::string chunkName(const unsigned char* type) {
    return shownByte(type[0]) + shownByte(type[1]) + shownByte(type[2]) + shownByte(type[3]);
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

uint32_t littleEndian(const unsigned char* p, int count) {
    uint32_t v = 0;
    for (int i = count - 1; i >= 0; --i) {
        v = (v << 8U) | p[i];
    }
    return v;
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

// BMP: a 14-byte file header ("BM", file size, reserved, offset of the pixel data), then an
// info header whose first field is its size: 12 (OS/2: 16-bit sides, bits per pixel) or 36
// and more (Windows: signed 32-bit sides, a negative height meaning top-down rows, bits per
// pixel, compression), as OpenCV reads them. Uncompressed rows are read whole, each padded to
// 4 bytes: a file too short for them made OpenCV throw inside imread, which prints the
// exception to stderr and returns an empty image.
std::string bmpFault(ByteReader& in) {
    std::array<unsigned char, 34> head{'B', 'M'};  // bytes 0-33 of the file
    if (!in.read(&head[2], 24)) {
        return "truncated BMP (it ends inside its header)";
    }
    const uint32_t infoSize = littleEndian(&head[14], 4);
    int64_t width = 0;
    int64_t height = 0;
    uint32_t bits = 0;
    uint32_t compression = 0;
    if (infoSize == 12) {
        width = littleEndian(&head[18], 2);
        height = littleEndian(&head[20], 2);
        bits = littleEndian(&head[24], 2);
    } else if (infoSize >= 36) {
        if (!in.read(&head[26], 8)) {
            return "truncated BMP (it ends inside its header)";
        }
        width = static_cast<int32_t>(littleEndian(&head[18], 4));
        height = static_cast<int32_t>(littleEndian(&head[22], 4));
        bits = littleEndian(&head[28], 2);
        compression = littleEndian(&head[30], 4);
    } else {
        return {};  // a header OpenCV does not read: it refuses the file itself
    }
    if (width < 1 || height == 0) {
        return "corrupt BMP: its header declares " + std::to_string(width) + "×" +
               std::to_string(height) + " pixels";
    }
    const int64_t rows = height < 0 ? -height : height;
    if (auto fault = pixelCountFault(width, rows); !fault.empty()) {
        return fault;
    }
    const bool plain = (compression == 0 && (bits == 1 || bits == 4 || bits == 8 || bits == 16 ||
                                             bits == 24 || bits == 32)) ||
                       (compression == 3 && (bits == 16 || bits == 32));  // 3: bit fields
    if (!plain) {
        return {};  // run-length encoded, or a layout OpenCV refuses by itself
    }
    const uint64_t pixelStart = littleEndian(&head[10], 4);
    const uint64_t rowBytes = (static_cast<uint64_t>(width) * bits + 31) / 32 * 4;
    const uint64_t needed = pixelStart + rowBytes * static_cast<uint64_t>(rows);
    if (needed > in.size()) {
        return "truncated BMP: its " + std::to_string(width) + "×" + std::to_string(rows) +
               " pixels of " + std::to_string(bits) + " bits need " + std::to_string(needed) +
               " bytes, the file has " + std::to_string(in.size());
    }
    return {};
}

// How reading a number of a PNM file ended.
enum class PnmNumber { Read, End, EndAfterDigits, NotADigit, TooLarge };

// One decimal number of a PNM file as OpenCV's ReadNumber reads it: whitespace and '#' comments
// to the end of the line are skipped, then up to `maxDigits` digits (0: any number) are read;
// without a digit limit the byte after the digits is consumed too, so it must exist. The value
// must fit an int. `bad` receives the byte that is not a digit.
PnmNumber readPnmNumber(ByteReader& in, int maxDigits, int64_t& value, int& bad) {
    int c = in.get();
    while (c == '#' || (c >= 0 && std::isspace(c) != 0)) {
        if (c == '#') {
            while (c >= 0 && c != '\n' && c != '\r') {
                c = in.get();
            }
        }
        c = in.get();
    }
    if (c < 0) {
        return PnmNumber::End;
    }
    if (std::isdigit(c) == 0) {
        bad = c;
        return PnmNumber::NotADigit;
    }
    value = 0;
    for (int digits = 1;; ++digits) {
        value = value * 10 + (c - '0');
        if (value > 0x7FFFFFFF) {
            return PnmNumber::TooLarge;
        }
        if (digits == maxDigits) {
            return PnmNumber::Read;
        }
        c = in.get();
        if (c < 0) {
            return PnmNumber::EndAfterDigits;
        }
        if (std::isdigit(c) == 0) {
            return PnmNumber::Read;
        }
    }
}

// The message for a PNM header number that could not be read.
std::string pnmHeaderFault(const std::string& format, const char* what, PnmNumber result, int bad) {
    switch (result) {
        case PnmNumber::NotADigit:
            return "corrupt " + format + " header: its " + what + " starts with '" +
                   shownByte(bad) + "', not a digit";
        case PnmNumber::TooLarge:
            return "corrupt " + format + " header: its " + what + " is larger than 2147483647";
        default:
            return "truncated " + format + " (it ends inside its header)";
    }
}

// The text pixel values of a PNM file (P1-P3): `count` numbers, one digit each for PBM.
std::string pnmTextFault(ByteReader& in, const std::string& format, uint64_t count) {
    const int maxDigits = format == "PBM" ? 1 : 0;
    for (uint64_t k = 0; k < count; ++k) {
        int64_t value = 0;
        int bad = 0;
        switch (readPnmNumber(in, maxDigits, value, bad)) {
            case PnmNumber::Read:
                break;
            case PnmNumber::NotADigit:
                return "corrupt " + format + ": its pixel data holds '" + shownByte(bad) +
                       "' where a number belongs";
            case PnmNumber::TooLarge:
                return "corrupt " + format + ": a pixel value is larger than 2147483647";
            case PnmNumber::EndAfterDigits:
                return "truncated " + format + ": its last pixel value ends the file (a " +
                       "whitespace byte must follow it)";
            case PnmNumber::End:
                return "truncated " + format + ": its pixel data holds " + std::to_string(k) +
                       " of the " + std::to_string(count) + " values its header declares";
        }
    }
    return {};
}

// PNM: "P1"-"P6" and a whitespace byte (already read), then width, height and, but for PBM,
// the maximum value as decimal text; then the pixel values as text (P1-P3) or binary (P4-P6,
// after one whitespace byte): one bit (PBM, rows padded to bytes), one (PGM) or three (PPM)
// samples per pixel, of two bytes when the maximum value is above 255. OpenCV throws inside
// imread on a short or malformed file, which prints the exception to stderr.
std::string pnmFault(ByteReader& in, char kind, StructureCheck depth) {
    const std::string format = kind == '1' || kind == '4'   ? "PBM"
                               : kind == '2' || kind == '5' ? "PGM"
                                                            : "PPM";
    const int64_t channels = format == "PPM" ? 3 : 1;
    int64_t width = 0;
    int64_t height = 0;
    int64_t maxValue = 1;
    int bad = 0;
    for (const auto& [what, value] : {std::pair<const char*, int64_t*>{"width", &width},
                                      {"height", &height},
                                      {"maximum value", &maxValue}}) {
        if (format == "PBM" && value == &maxValue) {
            break;
        }
        const PnmNumber result = readPnmNumber(in, /*maxDigits=*/0, *value, bad);
        if (result != PnmNumber::Read) {
            return pnmHeaderFault(format, what, result, bad);
        }
    }
    if (auto fault = sizeFault(format, width, height); !fault.empty()) {
        return fault;
    }
    if (maxValue < 1 || maxValue > 65535) {
        return "corrupt " + format + " header: its maximum value " + std::to_string(maxValue) +
               " is outside 1-65535";
    }
    const auto pixels = static_cast<uint64_t>(width * height);
    if (kind <= '3') {
        return depth == StructureCheck::Whole
                   ? pnmTextFault(in, format, pixels * static_cast<uint64_t>(channels))
                   : "";
    }
    const uint64_t needed =
        format == "PBM" ? static_cast<uint64_t>((width + 7) / 8 * height)
                        : pixels * static_cast<uint64_t>(channels) * (maxValue > 255 ? 2 : 1);
    if (needed > in.remaining()) {
        return "truncated " + format + ": its " + std::to_string(width) + "×" +
               std::to_string(height) + " pixels need " + std::to_string(needed) +
               " bytes of pixel data, " + std::to_string(in.remaining()) + " remain";
    }
    return {};
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
    if (magic[0] == 'B' && magic[1] == 'M') {
        return bmpFault(in);
    }
    if (magic[0] == 'P' && magic[1] >= '1' && magic[1] <= '6') {
        const int space = in.get();  // OpenCV's signature: "P1"-"P6" and whitespace
        return space >= 0 && std::isspace(space) != 0
                   ? pnmFault(in, static_cast<char>(magic[1]), depth)
                   : "";
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
