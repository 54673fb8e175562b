// The public dataset scan of core/api/dataset_scan.h: kind names, default paths, summaries.
#include "api/dataset_scan.h"

#include "api/error.h"
#include "data/dataset.h"

#include <cstdlib>
#include <system_error>

namespace dlw {
namespace {

std::vector<int64_t> countPerClass(const ImageDataset& data, std::size_t numClasses) {
    std::vector<int64_t> counts(numClasses, 0);
    for (const int64_t label : data.labels) {
        ++counts[static_cast<std::size_t>(label)];
    }
    return counts;
}

// Readers without a progress of their own report 0/1 then 1/1, so that cancel still works.
TrainTestData readWithProgress(DataKind kind,
                               const std::filesystem::path& root,
                               const ScanProgress& progress,
                               const std::vector<std::string>& domains) {
    const auto checkCancel = [&](int64_t done) {
        if (progress && !progress(done, /*total=*/1)) {
            throw Error("scan cancelled: " + root.string());
        }
    };
    if (kind == DataKind::ImageFolder) {
        return readImageFolder(root, kDefaultTestFraction, /*seed=*/0, progress);
    }
    if (kind == DataKind::FileList) {
        return readFileLists(root, domains, progress);
    }
    checkCancel(0);
    auto data = readDataset(kind, root, /*seed=*/0);
    checkCancel(1);
    return data;
}

}  // namespace

std::string toString(DataKind kind) {
    switch (kind) {
        case DataKind::FashionMnist:
            return "fashion-mnist";
        case DataKind::Digits:
            return "digits";
        case DataKind::Cifar100:
            return "cifar100";
        case DataKind::ImageFolder:
            return "image-folder";
        case DataKind::FileList:
            return "file-list";
    }
    return "unknown";
}

DataKind parseDataKind(const std::string& text) {
    for (const auto kind : {DataKind::FashionMnist, DataKind::Digits, DataKind::Cifar100,
                            DataKind::ImageFolder, DataKind::FileList}) {
        if (text == toString(kind)) {
            return kind;
        }
    }
    throw Error("data.kind: unknown dataset kind '" + text +
                "' (expected fashion-mnist, digits, cifar100, image-folder or file-list)");
}

std::filesystem::path defaultDataRoot(DataKind kind) {
    switch (kind) {
        case DataKind::FashionMnist:
            // Debian's dataset-fashion-mnist; DLW_DATASETS names another folder holding
            // fashion-mnist/ (a machine without Debian packages: scripts/carry-deps.sh).
            if (const char* env = std::getenv("DLW_DATASETS"); env != nullptr && *env != '\0') {
                return std::filesystem::path(env) / "fashion-mnist";
            }
            return "/usr/share/datasets/fashion-mnist";
        case DataKind::Digits:
            return "/usr/share/doc/opencv-doc/examples/data/digits.png";  // Debian opencv-doc
        case DataKind::Cifar100:
        case DataKind::ImageFolder:
        case DataKind::FileList:
            return {};
    }
    return {};
}

DatasetSummary scanDataset(DataKind kind,
                           const std::filesystem::path& root,
                           const ScanProgress& progress,
                           const std::vector<std::string>& domains) {
    const auto where = root.empty() ? defaultDataRoot(kind) : root;
    if (where.empty()) {
        throw Error("data.root: " + toString(kind) +
                    " has no default location; set data.root to the dataset's folder");
    }
    const auto data = readWithProgress(kind, where, progress, domains);
    DatasetSummary summary;
    summary.kind = kind;
    summary.root = where.string();
    summary.classNames = data.train.classNames;
    summary.trainCounts = countPerClass(data.train, summary.classNames.size());
    summary.testCounts = countPerClass(data.test, summary.classNames.size());
    if (data.train.inMemory()) {
        summary.imageHeight = static_cast<int>(data.train.pixels.size(1));
        summary.imageWidth = static_cast<int>(data.train.pixels.size(2));
        summary.channels = static_cast<int>(data.train.pixels.size(3));
    }
    summary.domains = data.train.domainNames;
    summary.warnings = data.train.warnings;
    summary.warnings.insert(summary.warnings.end(), data.test.warnings.begin(),
                            data.test.warnings.end());
    return summary;
}

}  // namespace dlw
