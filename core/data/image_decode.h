#pragma once
// Image file decoding (internal). With DLW_WITH_OPENCV the functions use OpenCV's imgcodecs
// (image_decode_cv.cpp); without it they throw dlw::Error saying so (image_decode.cpp), so that
// the headless build still reads idx and CIFAR files.

#include <filesystem>
#include <string>

#include <torch/torch.h>

namespace dlw::detail {

// Whether this build can decode image files at all.
bool haveImageDecoder();

// Decodes `file` to uint8 [H, W, C], contiguous, C = 1 (grey) or 3 (RGB order). Colour images
// come back as RGB with any alpha channel dropped, 16-bit and float images scaled to 8 bits,
// EXIF orientation applied. Throws dlw::Error naming the file when it is missing, cannot be
// decoded, has more than 2^26 pixels (8192×8192) or a broken structure (imageStructureFault,
// checked before OpenCV sees the file); the message is one line. Any thread.
torch::Tensor decodeImageFile(const std::filesystem::path& file);

// A cheap readability check for folder scans: the file is non-empty, its first bytes are a
// signature of a format OpenCV can decode, and its headers pass imageStructureFault (no pixel
// is decoded and a JPEG's data is not read, so a file with valid headers but corrupt or cut
// data passes here and fails later in decodeImageFile). Returns "" when readable, else the
// reason. Throws dlw::Error when the build has no decoder. Any thread.
std::string probeImageFile(const std::filesystem::path& file);

}  // namespace dlw::detail
