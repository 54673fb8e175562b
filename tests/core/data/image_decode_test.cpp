// Image files that are broken in their structure: refused before OpenCV sees them, each with
// one line naming the file and the fault (image_decode_cv.cpp, image_structure.cpp).
#include "data/image_decode.h"

#include "api/error.h"
#include "core/data/data_test_support.h"
#include "data/batch_loader.h"
#include "test_support.h"

#include <cstdint>
#include <fstream>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
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
    EXPECT_EQ(detail::decodeImageFile(test::writeBytes(dir / "whole.png", png)).size(0), 16);
    EXPECT_EQ(
        detail::decodeImageFile(test::writeBytes(dir / "trailer.png", png + "after IEND")).size(1),
        16);
    // A length above PNG's 2^31 - 1, and a type that is no text: shown as \xHH on one line.
    const std::string huge = bigEndian32(0x80000000U) + "tE\nt" + std::string(40, 'x');
    DLW_EXPECT_ERROR(
        detail::decodeImageFile(test::writeBytes(dir / "huge.png", body + huge + iend)),
        "huge.png: corrupt PNG: chunk 'tE\\x0At' declares 2147483648 bytes, more than "
        "the 2147483647");
    DLW_EXPECT_ERROR(
        detail::decodeImageFile(test::writeBytes(dir / "half.png", png.substr(0, png.size() / 2))),
        "half.png: corrupt PNG: chunk 'IDAT' declares");
    DLW_EXPECT_ERROR(detail::decodeImageFile(test::writeBytes(dir / "no-iend.png", body)),
                     "no-iend.png: truncated PNG (it ends before its IEND chunk)");
    DLW_EXPECT_ERROR(detail::decodeImageFile(
                         test::writeBytes(dir / "no-crc.png", png.substr(0, png.size() - 2))),
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
        EXPECT_EQ(detail::decodeImageFile(test::writeBytes(dir / (name + ".jpg"), jpeg)).size(1),
                  64);
        EXPECT_EQ(detail::decodeImageFile(
                      test::writeBytes(dir / (name + "-trailer.jpg"), jpeg + "trailer"))
                      .size(0),
                  48);
        for (const std::size_t keep : {jpeg.size() / 3, jpeg.size() - 2}) {
            const fs::path cut = test::writeBytes(
                dir / (name + "-" + std::to_string(keep) + ".jpg"), jpeg.substr(0, keep));
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
    EXPECT_EQ(
        detail::decodeImageFile(test::writeBytes(dir / "thumbnail.jpg", withThumbnail)).size(1),
        64);
    const fs::path cut = test::writeBytes(dir / "thumbnail-cut.jpg",
                                          withThumbnail.substr(0, withThumbnail.size() / 2));
    DLW_EXPECT_ERROR(detail::decodeImageFile(cut), "thumbnail-cut.jpg: truncated JPEG");
    // Predict and embed read files through loadImageFiles: the same one line, and the
    // other files still load.
    const auto loaded = loadImageFiles({cut, dir / "baseline.jpg"}, 0, 2, test::sized(28, 1));
    EXPECT_EQ(loaded.indices, std::vector<std::size_t>{1});
    EXPECT_EQ(loaded.errors[0],
              cut.string() + ": truncated JPEG (no end-of-image marker after the image data)");
}

std::string littleEndian(uint32_t value, int bytes) {
    std::string out;
    for (int i = 0; i < bytes; ++i) {
        out += static_cast<char>((value >> (8U * static_cast<unsigned>(i))) & 0xFFU);
    }
    return out;
}

// A BMP with a 40-byte info header: 24 bits per pixel, no compression, `data` as pixel data.
std::string bmp(int32_t width, int32_t height, const std::string& data) {
    const std::string info = littleEndian(40, 4) + littleEndian(static_cast<uint32_t>(width), 4) +
                             littleEndian(static_cast<uint32_t>(height), 4) + littleEndian(1, 2) +
                             littleEndian(24, 2) + std::string(24, '\0');
    return "BM" + littleEndian(static_cast<uint32_t>(54 + data.size()), 4) + std::string(4, '\0') +
           littleEndian(54, 4) + info + data;
}

// A broken file and what the one line about it must say.
struct BrokenFile {
    std::string name;
    std::string bytes;
    std::string fault;
};

// The user's break-it pass and its neighbours: BMP and PNM headers that OpenCV refused with an
// assertion (its source text over two lines) or with an exception that imread printed to
// stderr before it returned an empty image.
std::vector<BrokenFile> brokenBmpAndPnmFiles() {
    return {
        {"huge.bmp", bmp(40000, 40000, std::string(16, '\0')),
         "image of 40000×40000 pixels, more than the 67108864 this program decodes"},
        {"most-negative-height.bmp", bmp(8, INT32_MIN, std::string(16, '\0')),
         "image of 8×2147483648 pixels, more than"},
        {"negative-width.bmp", bmp(-4, 4, std::string(48, '\0')),
         "corrupt BMP: its header declares -4×4 pixels"},
        {"short.bmp", bmp(4, -4, std::string(16, '\0')),
         "truncated BMP: its 4×4 pixels of 24 bits need 102 bytes, the file has 70"},
        {"header.bmp", "BM\x10", "truncated BMP (it ends inside its header)"},
        {"huge.pgm", "P5\n100000 100000\n255\n",
         "image of 100000×100000 pixels, more than the 67108864 this program decodes"},
        {"negative.pgm", "P5\n-5 -5\n255\n",
         "corrupt PGM header: its width starts with '-', not a digit"},
        {"zero.ppm", "P6\n0 4\n255\n", "corrupt PPM: its header declares 0×4 pixels"},
        {"maximum.pgm", "P5\n2 2\n70000\n12345678",
         "corrupt PGM header: its maximum value 70000 is outside 1-65535"},
        {"header.pgm", "P5\n2 2\n255", "truncated PGM (it ends inside its header)"},
        {"short.pgm", "P5\n4 4\n255\n0123456789",
         "truncated PGM: its 4×4 pixels need 16 bytes of pixel data, 10 remain"},
        {"short16.pgm", "P5\n2 2\n1000\n1234567",
         "truncated PGM: its 2×2 pixels need 8 bytes of pixel data, 7 remain"},
        {"short.pbm", "P4\n9 2\n\xFF\xFF\xFF", "truncated PBM: its 9×2 pixels need 4 bytes"},
        {"few-values.pgm", "P2\n4 4\n255\n1 2 3\n",
         "truncated PGM: its pixel data holds 3 of the 16 values its header declares"},
        {"letter.ppm", "P3\n1 1\n255\n1 x 3\n", "corrupt PPM: its pixel data holds 'x' where"},
        {"too-large.pgm", "P2\n1 1\n255\n99999999999\n",
         "corrupt PGM: a pixel value is larger than 2147483647"},
        {"no-newline.pgm", "P2\n1 1\n255\n7", "truncated PGM: its last pixel value ends the file"},
    };
}

TEST(ImageDecode, RefusesBmpAndPnmHeadersOutOfRangeOrCutShort) {
    const auto dir = test::tempDir("bmp-pnm");
    for (const auto& broken : brokenBmpAndPnmFiles()) {
        const fs::path file = test::writeBytes(dir / broken.name, broken.bytes);
        DLW_EXPECT_ERROR(detail::decodeImageFile(file), file.string() + ": " + broken.fault);
        // The scan's probe reads headers and the file's length, not text pixel values.
        if (broken.bytes.rfind("P2", 0) != 0 && broken.bytes.rfind("P3", 0) != 0) {
            EXPECT_NE(detail::probeImageFile(file).find(broken.fault), std::string::npos)
                << broken.name << ": " << detail::probeImageFile(file);
        }
    }
    // Whole files of the same kinds still decode: a top-down BMP (negative height), binary
    // and text PNM, 16-bit samples, comments, one-digit PBM values without spaces.
    const std::vector<std::pair<std::string, std::string>> whole = {
        {"top-down.bmp", bmp(4, -4, std::string(48, '\x80'))},
        {"grey.pgm", "P5\n# a comment\n4 2\n255\n01234567"},
        {"deep.pgm", "P5 2 2 1000 12345678"},
        {"text.ppm", "P3\n2 1\n255\n1 2 3 # comment\n 4 5 6\n"},
        {"packed.pbm", "P1\n4 2\n01011010"},
    };
    for (const auto& [name, bytes] : whole) {
        const auto image = detail::decodeImageFile(test::writeBytes(dir / name, bytes));
        EXPECT_EQ(image.size(1), name == "deep.pgm" || name == "text.ppm" ? 2 : 4) << name;
    }
}

// Every decode failure is one line that names the file, without OpenCV's version, source file
// and line, and nothing reaches stderr (OpenCV's logging is silenced; its decoders are not
// given the files they would complain about).
TEST(ImageDecode, EveryFailureIsOneLineAndStderrStaysQuiet) {
    const auto dir = test::tempDir("one-line");
    std::vector<fs::path> files;
    for (const auto& broken : brokenBmpAndPnmFiles()) {
        files.push_back(test::writeBytes(dir / broken.name, broken.bytes));
    }
    const std::string jpeg = encode(".jpg", noise(32, 32));
    files.push_back(test::writeBytes(dir / "cut.jpg", jpeg.substr(0, jpeg.size() / 3)));
    const std::string png = encode(".png", noise(32, 32));
    files.push_back(test::writeBytes(dir / "cut.png", png.substr(0, png.size() / 2)));
    files.push_back(test::fixturesDir() / "fuzz/image/oom-png-chunk-length-past-end");
    // A format not checked here, whose size OpenCV refuses with an assertion of its own.
    files.push_back(test::writeBytes(dir / "huge.hdr",
                                     "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n"
                                     "-Y 100000 +X 100000\n"));
    files.push_back(test::writeBytes(dir / "text.png", "not an image"));
    testing::internal::CaptureStderr();
    for (const auto& file : files) {
        try {
            detail::decodeImageFile(file);
            ADD_FAILURE() << file << " decoded";
        } catch (const Error& err) {
            const std::string message = err.what();
            EXPECT_EQ(message.rfind(file.string() + ": ", 0), 0U) << message;
            EXPECT_EQ(message.find('\n'), std::string::npos) << message;
            EXPECT_EQ(message.find("OpenCV("), std::string::npos) << message;
            EXPECT_EQ(message.find(".cpp:"), std::string::npos) << message;
        }
    }
    const auto loaded = loadImageFiles(files, 0, files.size(), test::sized(28, 1));
    EXPECT_TRUE(loaded.images.empty());
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    EXPECT_EQ(cv::utils::logging::getLogLevel(), cv::utils::logging::LOG_LEVEL_SILENT);
}

}  // namespace
}  // namespace dlw
