// OpenCV implementation of the image decoding helpers (built only with DLW_WITH_OPENCV).
#include "api/error.h"
#include "data/image_decode.h"

#include <cstring>
#include <system_error>

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
        // Checked first: imread would also log its own warning to stderr.
        throw Error(file.string() + ": image file does not exist");
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
        throw Error(file.string() + ": image of " + std::to_string(image.cols) + "×" +
                    std::to_string(image.rows) + " pixels, more than the " +
                    std::to_string(kMaxImagePixels) + " this program decodes");
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
