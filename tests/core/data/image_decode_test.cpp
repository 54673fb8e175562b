// Image files that are broken in their structure: refused before OpenCV sees them, each with
// one line naming the file and the fault (image_decode_cv.cpp, image_structure.cpp).
#include "data/image_decode.h"

#include "api/error.h"
#include "test_support.h"

#include <fstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

std::string encode(const std::string& extension,
                   const cv::Mat& image,
                   const std::vector<int>& params = {}) {
    std::vector<uchar> bytes;
    EXPECT_TRUE(cv::imencode(extension, image, bytes, params)) << extension;
    return {bytes.begin(), bytes.end()};
}

// Random pixels: they do not compress, so a cut file really misses image data.
cv::Mat noise(int rows, int cols) {
    cv::Mat image(rows, cols, CV_8UC3);
    cv::randu(image, 0, 255);
    return image;
}

fs::path writeFile(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
}

std::string bigEndian32(uint32_t value) {
    return {static_cast<char>(value >> 24U), static_cast<char>(value >> 16U),
            static_cast<char>(value >> 8U), static_cast<char>(value)};
}

// Fuzz finding (fuzz_image, out of memory): a tEXt chunk declaring 1.6 GB in a 1,327-byte PNG
// made libpng allocate the 1.6 GB (the fuzzer's malloc limit caught it; a plain run only paid
// for it). Chunks are now checked against the file's length before OpenCV sees the file.
TEST(ImageDecode, RefusesPngChunkLongerThanTheRestOfTheFile) {
    const fs::path finding = test::fixturesDir() / "fuzz/image/oom-png-chunk-length-past-end";
    DLW_EXPECT_ERROR(detail::decodeImageFile(finding),
                     finding.string() +
                         ": corrupt PNG: chunk "
                         "'tEXt' declares 1634467877 bytes but 53 remain");
    // The folder scan's probe reads chunk headers too, so the file is left out before a run.
    EXPECT_EQ(detail::probeImageFile(finding),
              "corrupt PNG: chunk 'tEXt' declares 1634467877 bytes but 53 remain");

    const auto dir = test::tempDir("png-chunks");
    const std::string png = encode(".png", noise(16, 16));
    const std::string iend = png.substr(png.size() - 12);  // length 0, "IEND", CRC
    const std::string body = png.substr(0, png.size() - 12);
    EXPECT_EQ(detail::decodeImageFile(writeFile(dir / "whole.png", png)).size(0), 16);
    EXPECT_EQ(detail::decodeImageFile(writeFile(dir / "trailer.png", png + "after IEND")).size(1),
              16);
    // A length above PNG's 2^31 - 1, and a type that is no text: shown as \xHH on one line.
    const std::string huge = bigEndian32(0x80000000U) + "tE\nt" + std::string(40, 'x');
    DLW_EXPECT_ERROR(detail::decodeImageFile(writeFile(dir / "huge.png", body + huge + iend)),
                     "huge.png: corrupt PNG: chunk 'tE\\x0At' declares 2147483648 bytes, more than "
                     "the 2147483647");
    DLW_EXPECT_ERROR(
        detail::decodeImageFile(writeFile(dir / "half.png", png.substr(0, png.size() / 2))),
        "half.png: corrupt PNG: chunk 'IDAT' declares");
    DLW_EXPECT_ERROR(detail::decodeImageFile(writeFile(dir / "no-iend.png", body)),
                     "no-iend.png: truncated PNG (it ends before its IEND chunk)");
    DLW_EXPECT_ERROR(
        detail::decodeImageFile(writeFile(dir / "no-crc.png", png.substr(0, png.size() - 2))),
        "no-crc.png: truncated PNG: chunk 'IEND' ends without its 4-byte CRC");
}

}  // namespace
}  // namespace dlw
