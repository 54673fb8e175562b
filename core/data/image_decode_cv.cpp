// OpenCV implementation of the image decoding helpers (built only with DLW_WITH_OPENCV).
#include "api/error.h"
#include "data/image_decode.h"
#include "data/image_structure.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <system_error>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace dlw::detail {
namespace {

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

// OpenCV's own log lines (e.g. "imread_('FILE'): can't open/read file") would come on top of
// the one line this program prints per bad file: silenced once, for the whole process, before
// the first image is read. OpenCV 4.6 prints an exception inside imread ("can't read data")
// with std::cerr, not through its log: imageStructureFault keeps such files from it.
void silenceOpenCvLog() {
    static const bool silenced = [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        return true;
    }();
    static_cast<void>(silenced);
}

// One line for a cv::Exception: its condition or message (err), without the version, source
// file, line and function that what() spreads over two lines.
std::string describe(const cv::Exception& e) {
    std::string text = e.err.empty() ? "OpenCV error " + std::to_string(e.code) : e.err;
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::replace(text.begin(), text.end(), '\r', ' ');
    if (e.func == "validateInputImageSize") {  // a header OpenCV reads, but no check here
        return "its header declares a size OpenCV refuses (" + text + ")";
    }
    return text;
}

// The file through cv::imread; an empty image when OpenCV cannot decode it.
cv::Mat readWithOpenCv(const std::filesystem::path& file) {
    silenceOpenCvLog();
    try {
        // IMREAD_ANYCOLOR keeps grey files single-channel (cheaper, and luminance is then exact)
        // and gives 3-channel BGR for everything else.
        return cv::imread(file.string(), cv::IMREAD_ANYCOLOR);
    } catch (const cv::Exception& e) {
        throw Error(file.string() + ": cannot decode the image: " + describe(e));
    }
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
    // #14: a 224-byte JPEG declaring 180 megapixels made OpenCV allocate and fill 540 MB
    // before the pixel limit could refuse it; a PNG chunk declaring 1.6 GB made libpng allocate
    // them; a cut JPEG decoded, grey where its data was missing; a BMP or PNM header out of
    // range or cut short raised OpenCV's text on stderr or in the message. Such files are
    // refused from their structure, before OpenCV sees them.
    if (const auto fault = imageStructureFault(file, StructureCheck::Whole); !fault.empty()) {
        throw Error(file.string() + ": " + fault);
    }
    cv::Mat image = readWithOpenCv(file);
    if (image.empty()) {
        throw Error(file.string() +
                    ": not a decodable image (OpenCV recognises no format or the data is corrupt)");
    }
    if (const auto fault = pixelCountFault(image.cols, image.rows); !fault.empty()) {
        throw Error(file.string() + ": " + fault);  // a format not checked before decoding
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
    silenceOpenCvLog();
    try {
        if (!cv::haveImageReader(file.string())) {
            return "not a decodable image (no image format recognised in its first bytes)";
        }
    } catch (const cv::Exception& e) {
        return "not a decodable image (" + describe(e) + ")";
    }
    return imageStructureFault(file, StructureCheck::Headers);
}

}  // namespace dlw::detail
