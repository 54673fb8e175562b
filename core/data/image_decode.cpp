// Image decoding without OpenCV (DLW_WITH_OPENCV off): every call says the build cannot decode.
#include "data/image_decode.h"

#ifndef DLW_WITH_OPENCV

#include "api/error.h"

namespace dlw::detail {
namespace {

[[noreturn]] void noDecoder(const std::filesystem::path& file) {
    throw Error(file.string() +
                ": cannot decode image files: this build has no OpenCV (DLW_WITH_OPENCV=OFF); "
                "idx and CIFAR data still work");
}

}  // namespace

bool haveImageDecoder() {
    return false;
}

torch::Tensor decodeImageFile(const std::filesystem::path& file) {
    noDecoder(file);
}

std::string probeImageFile(const std::filesystem::path& file) {
    noDecoder(file);
}

}  // namespace dlw::detail

#endif  // DLW_WITH_OPENCV
