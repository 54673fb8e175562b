#pragma once
// Helpers shared by the data-layer tests.

#include "data/batch_loader.h"

#include <cstdint>
#include <string>

namespace dlw::test {

// The 4 big-endian bytes of `value`, as idx headers store them.
inline std::string bigEndian(uint32_t value) {
    return {static_cast<char>(value >> 24U), static_cast<char>(value >> 16U),
            static_cast<char>(value >> 8U), static_cast<char>(value)};
}

// A transform to `size`×`size` with `channels` channels, no augmentation or normalisation.
inline ImageTransform sized(int size, int channels) {
    ImageTransform transform;
    transform.size = size;
    transform.channels = channels;
    return transform;
}

}  // namespace dlw::test
