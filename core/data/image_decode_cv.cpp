// OpenCV implementation of the image decoding helpers (built only with DLW_WITH_OPENCV).
#include "api/error.h"
#include "data/image_decode.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <optional>
#include <system_error>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace dlw::detail {
namespace {

// #14: a 234-byte JPEG can declare 8488×10270 pixels; decoding it takes a second, and the
// transform then needs a float copy (1 GB). Every image is shrunk to the backbone's input
// (28-224 px), so anything above 64 Mi pixels (8192×8192) is refused. OpenCV's own cap on what
// it decodes at all is 2^30 pixels (OPENCV_IO_MAX_IMAGE_PIXELS, read when the library loads).
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

struct PixelSize {
    int64_t width = 0;
    int64_t height = 0;
};

uint32_t bigEndianBytes(const unsigned char* p, int count) {
    uint32_t v = 0;
    for (int i = 0; i < count; ++i) {
        v = (v << 8U) | p[i];
    }
    return v;
}

// The size a JPEG's first SOF segment or a PNG's IHDR declares, read without decoding (#14: a
// 224-byte JPEG declaring 180 megapixels made OpenCV allocate and fill 540 MB before the
// pixel limit could refuse it). Other formats, or no size in the first 64 KiB: nullopt, and the
// limit applies after decoding.
std::optional<PixelSize> declaredSize(const std::filesystem::path& file) {
    std::vector<unsigned char> b(64 * 1024);
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n >= 24 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0 &&
        std::memcmp(b.data() + 12, "IHDR", 4) == 0) {
        return PixelSize{bigEndianBytes(&b[16], 4), bigEndianBytes(&b[20], 4)};
    }
    if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) {
        return std::nullopt;
    }
    for (std::size_t i = 2; i + 3 < n;) {  // markers: FF (fill FFs) code [length, payload]
        if (b[i] != 0xFF) {                // libjpeg skips garbage before a marker (with a warning)
            ++i;
            continue;
        }
        const unsigned code = b[i + 1];
        if (code == 0xFF || code <= 0x01 || (code >= 0xD0 && code <= 0xD8)) {
            i += code == 0xFF ? 1 : 2;  // fill byte, FF 00 garbage, or a marker without length
            continue;
        }
        const bool sof = code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 &&
                         code != 0xCC;  // C4 DHT, C8 JPG, CC DAC are not frames
        if (sof && i + 9 < n) {         // FF Cn, length (2), precision (1), height (2), width (2)
            return PixelSize{bigEndianBytes(&b[i + 7], 2), bigEndianBytes(&b[i + 5], 2)};
        }
        if (sof || code == 0xDA) {  // cut short, or the scan starts without a frame
            return std::nullopt;
        }
        i += 2 + std::max<uint32_t>(bigEndianBytes(&b[i + 2], 2), 2);  // libjpeg: length >= 2
    }
    return std::nullopt;
}

// #14: Debian's OpenCV reads DICOM through GDCM, whose reader calls assert() on malformed files:
// 132 bytes ending in "DICM" abort the whole process inside imread, where no exception can be
// caught. DICOM (the "DICM" tag at byte 128) is no photo format this program needs: refused.
bool isDicom(const std::filesystem::path& file) {
    std::array<char, 132> head{};
    std::ifstream in(file, std::ios::binary);
    in.read(head.data(), head.size());
    return in.gcount() == static_cast<std::streamsize>(head.size()) &&
           std::memcmp(head.data() + 128, "DICM", 4) == 0;
}

[[noreturn]] void refuseSize(const std::filesystem::path& file, int64_t width, int64_t height) {
    throw Error(file.string() + ": image of " + std::to_string(width) + "×" +
                std::to_string(height) + " pixels, more than the " +
                std::to_string(kMaxImagePixels) + " this program decodes");
}

// 8-bit depth: OpenCV already converts 16-bit data to 8 bits unless IMREAD_ANYDEPTH is given,
// but a decoder may still hand back another depth; scale it into [0, 255].
cv::Mat toEightBit(const cv::Mat& image) {
    if (image.depth() == CV_8U) {
        return image;
    }
    double scale = 1.0;
    if (image.depth() == CV_16U) {
        scale = 1.0 / 257.0;
    } else if (image.depth() == CV_32F || image.depth() == CV_64F) {
        scale = 255.0;  // float images are taken to be in [0, 1]
    }
    cv::Mat converted;
    image.convertTo(converted, CV_8U, scale);
    return converted;
}

// BGR (OpenCV's order) and BGRA to RGB; grey stays grey.
cv::Mat toRgbOrGrey(const cv::Mat& image, const std::filesystem::path& file) {
    cv::Mat converted;
    switch (image.channels()) {
        case 1:
            return image;
        case 3:
            cv::cvtColor(image, converted, cv::COLOR_BGR2RGB);
            return converted;
        case 4:
            cv::cvtColor(image, converted, cv::COLOR_BGRA2RGB);
            return converted;
        default:
            throw Error(file.string() + ": images with " + std::to_string(image.channels()) +
                        " channels are not supported (expected 1, 3 or 4)");
    }
}

}  // namespace

bool haveImageDecoder() {
    return true;
}

torch::Tensor decodeImageFile(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
        // Checked first: imread would also log its own warning to stderr. Say what is there.
        const auto type = std::filesystem::status(file, ec).type();
        throw Error(file.string() + (type == std::filesystem::file_type::not_found
                                         ? ": image file does not exist"
                                     : type == std::filesystem::file_type::directory
                                         ? ": is a folder, not an image file"
                                         : ": not a regular file (a pipe, device or socket)"));
    }
    if (isDicom(file)) {
        throw Error(file.string() + ": DICOM images are not supported");
    }
    if (const auto size = declaredSize(file);
        size && static_cast<uint64_t>(size->width) * static_cast<uint64_t>(size->height) >
                    static_cast<uint64_t>(kMaxImagePixels)) {  // PNG sides reach 2^32 - 1
        refuseSize(file, size->width, size->height);
    }
    cv::Mat image;
    try {
        // IMREAD_ANYCOLOR keeps grey files single-channel (cheaper, and luminance is then exact)
        // and gives 3-channel BGR for everything else.
        image = cv::imread(file.string(), cv::IMREAD_ANYCOLOR);
    } catch (const cv::Exception& e) {
        throw Error(file.string() + ": cannot decode the image (" + e.what() + ")");
    }
    if (image.empty()) {
        throw Error(file.string() +
                    ": not a decodable image (OpenCV recognises no format or the data is corrupt)");
    }
    if (int64_t{image.rows} * image.cols > kMaxImagePixels) {
        refuseSize(file, image.cols, image.rows);
    }
    image = toRgbOrGrey(toEightBit(image), file);
    const int64_t rows = image.rows;
    const int64_t cols = image.cols;
    const int64_t channels = image.channels();
    auto pixels = torch::empty({rows, cols, channels}, torch::kUInt8);  // [H, W, C]
    auto* out = pixels.data_ptr<uint8_t>();
    const auto rowBytes = static_cast<std::size_t>(cols * channels);
    for (int64_t y = 0; y < rows; ++y) {
        std::memcpy(out + y * cols * channels, image.ptr<uint8_t>(static_cast<int>(y)), rowBytes);
    }
    return pixels;
}

std::string probeImageFile(const std::filesystem::path& file) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(file, ec);
    if (ec) {
        return "cannot read the file (" + ec.message() + ")";
    }
    if (bytes == 0) {
        return "empty file";
    }
    try {
        if (!cv::haveImageReader(file.string())) {
            return "not a decodable image (no image format recognised in its first bytes)";
        }
    } catch (const cv::Exception& e) {
        return std::string("not a decodable image (") + e.what() + ")";
    }
    return {};
}

}  // namespace dlw::detail
