// Reader for OpenCV's digits.png (DESIGN §4): a 2000×1000 grey sheet of 20×20 cells, 100 columns
// by 50 rows, digit d in rows 5d..5d+4, so 500 images per class.
#include "api/error.h"
#include "data/dataset.h"
#include "data/image_decode.h"
#include "data/seeded_random.h"

namespace dlw {
namespace {

constexpr int64_t kCell = 20;
constexpr int64_t kColumns = 100;
constexpr int64_t kRows = 50;
constexpr int64_t kRowsPerDigit = 5;

// The sheet as grey uint8 [H, W]; colour files are reduced by luminance.
torch::Tensor readGreySheet(const std::filesystem::path& file) {
    auto image = detail::decodeImageFile(file);  // [H, W, C]
    if (image.size(2) == 3) {
        const auto weights = torch::tensor({0.299F, 0.587F, 0.114F});
        image = (image.to(torch::kFloat) * weights).sum(/*dim=*/2, /*keepdim=*/true);
        image = image.round().clamp(0, 255).to(torch::kUInt8);  // [H, W, 1]
    }
    if (image.size(0) != kRows * kCell || image.size(1) != kColumns * kCell) {
        throw Error(file.string() +
                    ": expected OpenCV's digits sheet of 2000×1000 pixels "
                    "(100 × 50 cells of 20×20), found " +
                    std::to_string(image.size(1)) + "×" + std::to_string(image.size(0)));
    }
    return image.squeeze(2);  // [1000, 2000]
}

}  // namespace

TrainTestData readDigitsSheet(const std::filesystem::path& file,
                              double testFraction,
                              uint64_t seed) {
    if (!(testFraction >= 0.0 && testFraction < 1.0)) {
        throw Error("digits: test fraction " + std::to_string(testFraction) + " is outside [0, 1)");
    }
    const auto sheet = readGreySheet(file);
    ImageDataset all;
    all.source = file.string();
    all.pixels = sheet
                     .reshape({kRows, kCell, kColumns, kCell})      // [50, 20, 100, 20]
                     .permute({0, 2, 1, 3})                         // [50, 100, 20, 20]
                     .reshape({kRows * kColumns, kCell, kCell, 1})  // [5000, 20, 20, 1]
                     .contiguous();
    for (int64_t i = 0; i < kRows * kColumns; ++i) {
        all.labels.push_back(i / (kColumns * kRowsPerDigit));
    }
    for (int d = 0; d < 10; ++d) {
        all.classNames.push_back(std::to_string(d));
    }
    const auto isTest =
        detail::stratifiedTestMask(all.labels, /*numClasses=*/10, testFraction, seed);
    std::vector<int64_t> trainRows;
    std::vector<int64_t> testRows;
    for (int64_t i = 0; i < all.size(); ++i) {
        (isTest[static_cast<std::size_t>(i)] ? testRows : trainRows).push_back(i);
    }
    return {selectImages(all, trainRows), selectImages(all, testRows)};
}

}  // namespace dlw
