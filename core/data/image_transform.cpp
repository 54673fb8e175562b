// loadImage and the per-image transform (DESIGN §4 "Transforms", §6 "Backbone metadata").
//
// Why plain loops rather than torch::nn::functional::interpolate: this code runs on the loader
// thread, and LibTorch's CPU kernels split larger images over the intra-op (OpenMP) pool, which
// the training step on the other thread is using; at::set_num_threads cannot be limited to one
// thread. The loops below reproduce interpolate's "area" and "bilinear" (align_corners = false)
// results (tests compare them) on one core and without per-op dispatch cost.
#include "data/image_transform.h"

#include "api/error.h"
#include "data/image_decode.h"
#include "data/seeded_random.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace dlw {
namespace {

constexpr float kLumaR = 0.299F;  // ITU-R BT.601, as OpenCV's RGB→grey
constexpr float kLumaG = 0.587F;
constexpr float kLumaB = 0.114F;

// uint8 [H, W, C], contiguous.
struct ImageView {
    const uint8_t* data = nullptr;
    int64_t height = 0;
    int64_t width = 0;
    int64_t channels = 0;
};

struct CropBox {
    int64_t top = 0;
    int64_t left = 0;
    int64_t height = 0;
    int64_t width = 0;
};

std::string nameOf(const ImageDataset& data, int64_t index) {
    if (!data.inMemory() && index >= 0 && index < static_cast<int64_t>(data.files.size())) {
        return data.files[static_cast<std::size_t>(index)].string();
    }
    return data.source + " image " + std::to_string(index);
}

// The pixels of image `index`; `holder` keeps decoded or copied pixels alive.
ImageView viewOf(const ImageDataset& data, int64_t index, torch::Tensor& holder) {
    if (index < 0 || index >= data.size()) {
        throw Error(data.source + ": image index " + std::to_string(index) +
                    " out of range (the dataset holds " + std::to_string(data.size()) + ")");
    }
    if (data.inMemory()) {
        const auto& pixels = data.pixels;
        if (pixels.scalar_type() != torch::kUInt8 || pixels.dim() != 4) {
            throw Error(data.source + ": in-memory pixels must be uint8 [N, H, W, C]");
        }
        holder = pixels.is_contiguous() ? pixels : pixels[index].contiguous();
        const int64_t offset = pixels.is_contiguous() ? index * pixels.stride(0) : 0;
        return {holder.data_ptr<uint8_t>() + offset, pixels.size(1), pixels.size(2),
                pixels.size(3)};
    }
    if (index >= static_cast<int64_t>(data.files.size())) {
        throw Error(data.source + ": no file for image " + std::to_string(index));
    }
    holder = detail::decodeImageFile(data.files[static_cast<std::size_t>(index)]);  // [H, W, C]
    return {holder.data_ptr<uint8_t>(), holder.size(0), holder.size(1), holder.size(2)};
}

// torchvision's RandomResizedCrop box: scale [0.6, 1] of the area, ratio [3/4, 4/3], ten tries,
// then a centre crop of the clamped ratio.
CropBox randomResizedCrop(int64_t height, int64_t width, detail::SeededRng& rng) {
    const auto area = static_cast<double>(height * width);
    const double logLow = std::log(3.0 / 4.0);
    const double logHigh = std::log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target = area * rng.uniform(0.6, 1.0);
        const double aspect = std::exp(rng.uniform(logLow, logHigh));
        const auto w = static_cast<int64_t>(std::llround(std::sqrt(target * aspect)));
        const auto h = static_cast<int64_t>(std::llround(std::sqrt(target / aspect)));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            const auto top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(height - h + 1)));
            const auto left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(width - w + 1)));
            return {top, left, h, w};
        }
    }
    const double ratio = static_cast<double>(width) / static_cast<double>(height);
    int64_t w = width;
    int64_t h = height;
    if (ratio < 3.0 / 4.0) {
        h = std::min(height,
                     static_cast<int64_t>(std::llround(static_cast<double>(w) * 4.0 / 3.0)));
    } else if (ratio > 4.0 / 3.0) {
        w = std::min(width, static_cast<int64_t>(std::llround(static_cast<double>(h) * 4.0 / 3.0)));
    }
    return {(height - h) / 2, (width - w) / 2, h, w};
}

// Crop → float planes [planes, h, w] in [0, 1]; planes = 1 from RGB means luminance.
void cropToPlanes(const ImageView& image, const CropBox& box, int64_t planes, float* out) {
    constexpr float kScale = 1.0F / 255.0F;
    const int64_t planeSize = box.height * box.width;
    for (int64_t y = 0; y < box.height; ++y) {
        const uint8_t* row = image.data + ((box.top + y) * image.width + box.left) * image.channels;
        float* dst = out + y * box.width;
        for (int64_t x = 0; x < box.width; ++x) {
            const uint8_t* px = row + x * image.channels;
            if (planes == image.channels) {
                for (int64_t c = 0; c < planes; ++c) {
                    dst[c * planeSize + x] = static_cast<float>(px[c]) * kScale;
                }
            } else {
                dst[x] = (kLumaR * px[0] + kLumaG * px[1] + kLumaB * px[2]) * kScale;
            }
        }
    }
}

void resizeArea(const float* in, int64_t inH, int64_t inW, float* out, int64_t outH, int64_t outW) {
    for (int64_t oy = 0; oy < outH; ++oy) {
        const int64_t y0 = oy * inH / outH;
        const int64_t y1 = ((oy + 1) * inH + outH - 1) / outH;
        for (int64_t ox = 0; ox < outW; ++ox) {
            const int64_t x0 = ox * inW / outW;
            const int64_t x1 = ((ox + 1) * inW + outW - 1) / outW;
            float sum = 0.0F;
            for (int64_t y = y0; y < y1; ++y) {
                for (int64_t x = x0; x < x1; ++x) {
                    sum += in[y * inW + x];
                }
            }
            out[oy * outW + ox] = sum / static_cast<float>((y1 - y0) * (x1 - x0));
        }
    }
}

// Source index, next-index step and weight of the far neighbour, per output coordinate.
struct Taps {
    std::vector<int64_t> index;
    std::vector<int64_t> step;
    std::vector<float> weight;
};

Taps bilinearTaps(int64_t inSize, int64_t outSize) {
    Taps taps;
    const float scale = static_cast<float>(inSize) / static_cast<float>(outSize);
    for (int64_t o = 0; o < outSize; ++o) {
        const float source = std::max(scale * (static_cast<float>(o) + 0.5F) - 0.5F, 0.0F);
        const auto i = static_cast<int64_t>(source);
        taps.index.push_back(i);
        taps.step.push_back(i < inSize - 1 ? 1 : 0);
        taps.weight.push_back(source - static_cast<float>(i));
    }
    return taps;
}

void resizeBilinear(
    const float* in, int64_t inH, int64_t inW, float* out, int64_t outH, int64_t outW) {
    const Taps rows = bilinearTaps(inH, outH);
    const Taps cols = bilinearTaps(inW, outW);
    for (int64_t oy = 0; oy < outH; ++oy) {
        const float* top = in + rows.index[oy] * inW;
        const float* bottom = top + rows.step[oy] * inW;
        const float wy1 = rows.weight[oy];
        const float wy0 = 1.0F - wy1;
        for (int64_t ox = 0; ox < outW; ++ox) {
            const int64_t x = cols.index[ox];
            const int64_t dx = cols.step[ox];
            const float wx1 = cols.weight[ox];
            const float wx0 = 1.0F - wx1;
            out[oy * outW + ox] = wy0 * (wx0 * top[x] + wx1 * top[x + dx]) +
                                  wy1 * (wx0 * bottom[x] + wx1 * bottom[x + dx]);
        }
    }
}

// Flip, grey → RGB repetition and normalisation on the resized [C, S, S] output.
void finish(float* out, int64_t planes, const ImageTransform& transform, bool flip) {
    const int64_t side = transform.size;
    const int64_t planeSize = side * side;
    if (flip) {
        for (int64_t row = 0; row < planes * side; ++row) {
            std::reverse(out + row * side, out + (row + 1) * side);
        }
    }
    for (int64_t c = planes; c < transform.channels; ++c) {
        std::memcpy(out + c * planeSize, out, static_cast<std::size_t>(planeSize) * sizeof(float));
    }
    for (std::size_t c = 0; c < transform.mean.size(); ++c) {
        const float mean = transform.mean[c];
        const float invStd = 1.0F / transform.std[c];
        float* plane = out + static_cast<int64_t>(c) * planeSize;
        for (int64_t i = 0; i < planeSize; ++i) {
            plane[i] = (plane[i] - mean) * invStd;
        }
    }
}

}  // namespace

namespace detail {

void resizePlane(
    const float* in, int64_t inH, int64_t inW, float* out, int64_t outH, int64_t outW, bool area) {
    if (inH == outH && inW == outW) {
        std::memcpy(out, in, static_cast<std::size_t>(inH * inW) * sizeof(float));
    } else if (area) {
        resizeArea(in, inH, inW, out, outH, outW);
    } else {
        resizeBilinear(in, inH, inW, out, outH, outW);
    }
}

void checkTransform(const ImageTransform& transform) {
    if (transform.size <= 0 || transform.size > 4096) {
        throw Error("transform: image size " + std::to_string(transform.size) +
                    " is outside 1..4096");
    }
    if (transform.channels != 1 && transform.channels != 3) {
        throw Error("transform: " + std::to_string(transform.channels) +
                    " channels asked; expected 1 or 3");
    }
    const auto channels = static_cast<std::size_t>(transform.channels);
    if ((!transform.mean.empty() && transform.mean.size() != channels) ||
        transform.std.size() != transform.mean.size()) {
        throw Error("transform: mean and std need one value per channel (" +
                    std::to_string(channels) + "), found " + std::to_string(transform.mean.size()) +
                    " and " + std::to_string(transform.std.size()));
    }
    for (const float s : transform.std) {
        if (!(s > 0.0F)) {
            throw Error("transform: std values must be positive, found " + std::to_string(s));
        }
    }
}

void transformImageInto(const ImageDataset& data,
                        int64_t index,
                        const ImageTransform& transform,
                        bool augment,
                        uint64_t augmentSeed,
                        float* out) {
    torch::Tensor holder;
    const ImageView image = viewOf(data, index, holder);
    if (image.channels != 1 && image.channels != 3) {
        throw Error(nameOf(data, index) + ": " + std::to_string(image.channels) +
                    " channels, expected 1 or 3");
    }
    SeededRng rng(hashCombine(augmentSeed, static_cast<uint64_t>(index)));
    CropBox box{0, 0, image.height, image.width};
    if (augment && transform.randomResizedCrop) {
        box = randomResizedCrop(image.height, image.width, rng);
    }
    const bool flip = augment && transform.flip && rng.uniform01() < 0.5;
    const int64_t planes = (image.channels == 3 && transform.channels == 3) ? 3 : 1;
    std::vector<float> crop(static_cast<std::size_t>(planes * box.height * box.width));
    cropToPlanes(image, box, planes, crop.data());  // [planes, h, w]
    const int64_t side = transform.size;
    // Area when shrinking (on both axes), bilinear when growing (DESIGN §6).
    const bool area = side <= box.height && side <= box.width;
    for (int64_t p = 0; p < planes; ++p) {
        resizePlane(crop.data() + p * box.height * box.width, box.height, box.width,
                    out + p * side * side, side, side, area);  // [planes, S, S]
    }
    finish(out, planes, transform, flip);  // [C, S, S]
}

}  // namespace detail

torch::Tensor loadImage(const ImageDataset& data,
                        int64_t index,
                        const ImageTransform& transform,
                        bool augment,
                        uint64_t augmentSeed) {
    detail::checkTransform(transform);
    auto image = torch::empty({transform.channels, transform.size, transform.size});  // [C, S, S]
    detail::transformImageInto(data, index, transform, augment, augmentSeed,
                               image.data_ptr<float>());
    return image;
}

}  // namespace dlw
