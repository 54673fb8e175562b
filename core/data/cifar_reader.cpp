// Reader for the CIFAR-100 binary version (DESIGN §4): 3074-byte records of coarse label, fine
// label and three 32×32 colour planes.
#include "api/error.h"
#include "data/dataset.h"

#include <fstream>
#include <system_error>

namespace dlw {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kPlane = kSide * kSide;
constexpr int64_t kRecordBytes = 2 + 3 * kPlane;  // coarse, fine, R plane, G plane, B plane
constexpr int64_t kFineClasses = 100;

std::vector<unsigned char> readBytes(const std::filesystem::path& file) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) {
        throw Error(file.string() + ": CIFAR-100 file not found or unreadable (" + ec.message() +
                    ")");
    }
    if (size % kRecordBytes != 0 || size == 0) {
        throw Error(file.string() + ": size " + std::to_string(size) +
                    " bytes is not a positive multiple of the 3074-byte CIFAR-100 record (" +
                    std::to_string(size / kRecordBytes) + " records and " +
                    std::to_string(size % kRecordBytes) + " bytes left over); is it truncated?");
    }
    std::vector<unsigned char> bytes(size);
    std::ifstream in(file, std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
        throw Error(file.string() + ": read failed");
    }
    return bytes;
}

// Fine label names, one per line (as in the cifar-100-binary tarball), else class_0..class_99.
std::vector<std::string> fineLabelNames(const std::filesystem::path& folder) {
    const auto file = folder / "fine_label_names.txt";
    std::vector<std::string> names;
    std::ifstream in(file);
    if (!in) {
        for (int64_t c = 0; c < kFineClasses; ++c) {
            names.push_back("class_" + std::to_string(c));
        }
        return names;
    }
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
            line.pop_back();
        }
        if (!line.empty()) {
            names.push_back(line);
        }
    }
    if (static_cast<int64_t>(names.size()) != kFineClasses) {
        throw Error(file.string() + ": expected 100 fine label names, one a line, found " +
                    std::to_string(names.size()));
    }
    return names;
}

// `root` itself, or the cifar-100-binary folder the tarball unpacks to.
std::filesystem::path cifarFolder(const std::filesystem::path& root) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(root / "train.bin", ec)) {
        return root;
    }
    if (std::filesystem::is_regular_file(root / "cifar-100-binary" / "train.bin", ec)) {
        return root / "cifar-100-binary";
    }
    if (!std::filesystem::is_directory(root, ec)) {
        throw Error(root.string() +
                    ": CIFAR-100 folder not found (set data.root to the folder "
                    "holding train.bin and test.bin)");
    }
    throw Error((root / "train.bin").string() +
                ": file not found (expected the CIFAR-100 binary version: train.bin, test.bin)");
}

}  // namespace

ImageDataset readCifar100File(const std::filesystem::path& file,
                              const std::vector<std::string>& classNames) {
    const auto bytes = readBytes(file);
    const auto count = static_cast<int64_t>(bytes.size()) / kRecordBytes;
    const int64_t numClasses =
        classNames.empty() ? kFineClasses : static_cast<int64_t>(classNames.size());
    ImageDataset data;
    data.source = file.string();
    data.pixels = torch::empty({count, kSide, kSide, 3}, torch::kUInt8);  // [N, 32, 32, 3]
    auto* out = data.pixels.data_ptr<uint8_t>();
    data.labels.reserve(static_cast<std::size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        const unsigned char* record = bytes.data() + i * kRecordBytes;
        const int64_t fine = record[1];
        if (fine >= numClasses) {
            throw Error(file.string() + ": record " + std::to_string(i) + " has fine label " +
                        std::to_string(fine) + ", expected 0.." + std::to_string(numClasses - 1));
        }
        data.labels.push_back(fine);
        const unsigned char* planes = record + 2;  // [3, 32, 32] → [32, 32, 3]
        uint8_t* image = out + i * kPlane * 3;
        for (int64_t p = 0; p < kPlane; ++p) {
            image[3 * p] = planes[p];
            image[3 * p + 1] = planes[kPlane + p];
            image[3 * p + 2] = planes[2 * kPlane + p];
        }
    }
    if (classNames.empty()) {
        for (int64_t c = 0; c < kFineClasses; ++c) {
            data.classNames.push_back("class_" + std::to_string(c));
        }
    } else {
        data.classNames = classNames;
    }
    return data;
}

TrainTestData readCifar100(const std::filesystem::path& root) {
    const auto folder = cifarFolder(root);
    const auto names = fineLabelNames(folder);
    return {readCifar100File(folder / "train.bin", names),
            readCifar100File(folder / "test.bin", names)};
}

}  // namespace dlw
