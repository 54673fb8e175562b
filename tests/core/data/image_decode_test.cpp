// Image files that are broken in their structure: refused before OpenCV sees them, each with
// one line naming the file and the fault (image_decode_cv.cpp, image_structure.cpp).
#include "data/image_decode.h"

#include "api/error.h"
#include "core/data/data_test_support.h"
#include "data/batch_loader.h"
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

// A JPEG cut short (the user's break-it pass: `head -c $((N/3)) colour.jpg`): libjpeg decoded
// what was there, filled the rest grey and only printed "Premature end of JPEG file"; the
// image was trained on and predicted without a word. A JPEG must now end its image data with
// the end-of-image marker.
TEST(ImageDecode, RefusesJpegWithoutEndOfImageAfterItsImageData) {
    const auto dir = test::tempDir("jpeg-eoi");
    const cv::Mat image = noise(48, 64);
    const std::vector<std::pair<std::string, std::vector<int>>> layouts = {
        {"baseline", {}},
        {"progressive", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},  // several scans
        {"restarts", {cv::IMWRITE_JPEG_RST_INTERVAL, 1}},    // RSTn markers in the data
    };
    for (const auto& [name, params] : layouts) {
        const std::string jpeg = encode(".jpg", image, params);
        EXPECT_EQ(detail::decodeImageFile(writeFile(dir / (name + ".jpg"), jpeg)).size(1), 64);
        EXPECT_EQ(
            detail::decodeImageFile(writeFile(dir / (name + "-trailer.jpg"), jpeg + "trailer"))
                .size(0),
            48);
        for (const std::size_t keep : {jpeg.size() / 3, jpeg.size() - 2}) {
            const fs::path cut =
                writeFile(dir / (name + "-" + std::to_string(keep) + ".jpg"), jpeg.substr(0, keep));
            DLW_EXPECT_ERROR(
                detail::decodeImageFile(cut),
                cut.string() + ": truncated JPEG (no end-of-image marker after the image data)");
        }
    }
    // A thumbnail inside an EXIF segment brings its own end-of-image marker, earlier in the
    // file than the image's data: it does not make a cut file whole.
    const std::string jpeg = encode(".jpg", image);
    const std::string exif = std::string("Exif\0\0", 6) + encode(".jpg", noise(8, 8));
    const std::string app1 = std::string("\xFF\xE1") + static_cast<char>((exif.size() + 2) >> 8U) +
                             static_cast<char>((exif.size() + 2) & 0xFFU) + exif;
    const std::string withThumbnail = jpeg.substr(0, 2) + app1 + jpeg.substr(2);
    EXPECT_EQ(detail::decodeImageFile(writeFile(dir / "thumbnail.jpg", withThumbnail)).size(1), 64);
    const fs::path cut =
        writeFile(dir / "thumbnail-cut.jpg", withThumbnail.substr(0, withThumbnail.size() / 2));
    DLW_EXPECT_ERROR(detail::decodeImageFile(cut), "thumbnail-cut.jpg: truncated JPEG");
    // Predict and embed read files through loadImageFiles: the same one line, and the
    // other files still load.
    const auto loaded = loadImageFiles({cut, dir / "baseline.jpg"}, 0, 2, test::sized(28, 1));
    EXPECT_EQ(loaded.indices, std::vector<std::size_t>{1});
    EXPECT_EQ(loaded.errors[0],
              cut.string() + ": truncated JPEG (no end-of-image marker after the image data)");
}

}  // namespace
}  // namespace dlw
