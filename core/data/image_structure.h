#pragma once
// What an image file's own structure says, read without decoding a pixel (internal). Files of
// the formats checked here (PNG, JPEG, BMP, PNM) are refused before OpenCV sees them when their
// declared size is out of range or their structure is broken in a way that makes a library
// inside OpenCV allocate what the file cannot hold, decode a partial image without an error,
// or print to stderr instead of failing (image_decode_cv.cpp).

#include <cstdint>
#include <filesystem>
#include <string>

namespace dlw::detail {

// #14: a 234-byte JPEG can declare 8488×10270 pixels; decoding it takes a second, and the
// transform then needs a float copy (1 GB). Every image is shrunk to the backbone's input
// (28-224 px), so anything above 64 Mi pixels (8192×8192) is refused. OpenCV's own cap on what
// it decodes at all is 2^30 pixels (OPENCV_IO_MAX_IMAGE_PIXELS, read when the library loads).
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// "" when width × height is at most kMaxImagePixels, else the reason ("image of W×H pixels,
// more than the 67108864 this program decodes"). Sides are at least 1. Any thread.
std::string pixelCountFault(int64_t width, int64_t height);

// How much of a file imageStructureFault reads.
enum class StructureCheck {
    Headers,  // headers, PNG chunk headers and the file's length: cheap, for folder scans
    Whole,    // also a JPEG's image data up to its end and a text PNM's values: before decoding
};

// Checks the structure of a PNG, JPEG, BMP or PNM (PBM, PGM, PPM) file: the size its header
// declares (sides of at least 1, at most kMaxImagePixels pixels); for PNG, that every chunk
// fits in the file and the file reaches its IEND chunk; for uncompressed BMP and binary PNM,
// that the file holds the pixel data its header declares; with StructureCheck::Whole also
// that a JPEG has its end-of-image marker after its image data and that a text PNM holds all
// its values. Returns "" when nothing is wrong, when the file is of another format or cannot
// be opened (the decoder then says why), else the fault as one line without the file's name
// ("corrupt PNG: chunk 'tEXt' declares N bytes but M remain", "truncated JPEG (no end-of-image
// marker after the image data)"). Throws nothing but std::bad_alloc. Any thread.
std::string imageStructureFault(const std::filesystem::path& file, StructureCheck depth);

}  // namespace dlw::detail
