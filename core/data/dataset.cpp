// readDataset (the dispatcher over the readers of DESIGN §4) and selectImages.
#include "data/dataset.h"

#include "api/error.h"

namespace dlw {

TrainTestData readDataset(DataKind kind,
                          const std::filesystem::path& root,
                          uint64_t seed,
                          double testFraction,
                          const std::vector<std::string>& domains) {
    const auto where = root.empty() ? defaultDataRoot(kind) : root;
    if (where.empty()) {
        throw Error("data.root: " + toString(kind) +
                    " has no default location; set data.root to the dataset's folder");
    }
    switch (kind) {
        case DataKind::FashionMnist:
            return readFashionMnist(where);
        case DataKind::Digits:
            return readDigitsSheet(where, testFraction, seed);
        case DataKind::Cifar100:
            return readCifar100(where);
        case DataKind::ImageFolder:
            return readImageFolder(where, testFraction, seed);
        case DataKind::FileList:
            return readFileLists(where, domains);
    }
    throw Error("data.kind: unknown dataset kind");  // unreachable with a valid enum value
}

ImageDataset selectImages(const ImageDataset& data, const std::vector<int64_t>& indices) {
    ImageDataset out;
    out.source = data.source;
    out.classNames = data.classNames;
    out.warnings = data.warnings;
    out.domainNames = data.domainNames;
    out.labels.reserve(indices.size());
    for (const int64_t index : indices) {
        if (index < 0 || index >= data.size()) {
            throw Error(data.source + ": image index " + std::to_string(index) +
                        " out of range (the dataset holds " + std::to_string(data.size()) +
                        " images)");
        }
        out.labels.push_back(data.labels[static_cast<std::size_t>(index)]);
        if (data.inMemory()) {
            out.records.push_back(data.record(index));
        }
        if (!data.files.empty()) {
            out.files.push_back(data.files[static_cast<std::size_t>(index)]);
        }
        if (!data.domain.empty()) {
            out.domain.push_back(data.domain[static_cast<std::size_t>(index)]);
        }
    }
    if (data.inMemory()) {
        const auto rows = torch::tensor(indices, torch::kLong);
        out.pixels = data.pixels.index_select(/*dim=*/0, rows).contiguous();  // [n, H, W, C]
    }
    return out;
}

}  // namespace dlw
