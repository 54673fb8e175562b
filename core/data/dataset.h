#pragma once
// Labelled image collections and the readers of DESIGN §4.

#include "api/dataset_scan.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dlw {

// A labelled image collection. Small datasets (idx, CIFAR, the digits sheet) hold their pixels
// in memory; image folders hold file paths and are decoded on demand by the loader thread.
struct ImageDataset {
    std::string source;                        // file or folder it was read from
    std::vector<std::string> classNames;       // index = label
    std::vector<int64_t> labels;               // one per image, in [0, classNames.size())
    torch::Tensor pixels;                      // uint8 [N, H, W, C] in memory, else undefined
    std::vector<std::filesystem::path> files;  // one per image when decoded on demand
    std::vector<LoadWarning> warnings;         // files or records skipped while reading
    // In-memory data: each image's record number in `source` (0-based, in the file's order),
    // which the run's split manifest names it by; empty = 0, 1, ... (the reader's own order).
    std::vector<int64_t> records;

    // file-list data (readFileLists) only, else both empty: the list each image came from.
    std::vector<std::string> domainNames;  // list prefixes, e.g. "clipart"; index = domain
    std::vector<int16_t> domain;           // one per image, an index into domainNames

    int64_t size() const { return static_cast<int64_t>(labels.size()); }
    bool inMemory() const { return pixels.defined(); }
    // Image `index`'s record number in `source` (see `records`).
    int64_t record(int64_t index) const {
        return records.empty() ? index : records[static_cast<std::size_t>(index)];
    }
};

struct TrainTestData {
    ImageDataset train;
    ImageDataset test;
};

// idx files (MNIST / Fashion-MNIST; raw or .gz). Throws dlw::Error naming the file for a wrong
// magic number, truncated data, or images and labels of different counts. Empty `classNames`
// names the classes "0".."max label".
ImageDataset readIdx(const std::filesystem::path& images,
                     const std::filesystem::path& labels,
                     std::vector<std::string> classNames);
// The four standard files under `root` (train-images-idx3-ubyte[.gz], ...), with the
// Fashion-MNIST class names.
TrainTestData readFashionMnist(const std::filesystem::path& root);

// CIFAR-100 binary: `root`/train.bin and test.bin, 3074-byte records (coarse label, fine label,
// 3×32×32 planes); fine labels, names from fine_label_names.txt when present.
TrainTestData readCifar100(const std::filesystem::path& root);
ImageDataset readCifar100File(const std::filesystem::path& file,
                              const std::vector<std::string>& classNames);

// OpenCV's digits.png sheet: 5000 20×20 digits, 500 per class; split into train and test by a
// seeded, per-class stratified draw of `testFraction`.
TrainTestData readDigitsSheet(const std::filesystem::path& file,
                              double testFraction,
                              uint64_t seed);

// One sub-folder per class, images at any depth below it. With `root`/train and `root`/test the
// split is theirs; otherwise a seeded, per-class stratified draw of `testFraction`. Unreadable
// files are skipped with a warning; an empty class folder is an error naming it. Hidden entries
// (names starting with '.') are ignored. A cancel through `progress` throws "scan cancelled".
TrainTestData readImageFolder(const std::filesystem::path& root,
                              double testFraction,
                              uint64_t seed,
                              const ScanProgress& progress = {});

// Image lists as DomainNet ships them: `root`/<domain>_train.txt and <domain>_test.txt, one image
// a line, "path LABEL" (path relative to `root`, LABEL a class index >= 0; blank lines, lines
// starting with '#' and CR line ends are ignored). `domains` names the lists to merge, [] = every
// *_train.txt in `root`, by name. Images are decoded on demand; each file is probed here. Class
// k is named after the folder that holds its images when every image of k has the same folder
// and no other class uses that name, else "class k". A malformed line, a missing or unreadable
// image is skipped with a warning naming the list and the line. Throws dlw::Error naming the
// file for a missing root, domain or test list, a list that yields no readable image, and a
// cancel through `progress` ("scan cancelled").
TrainTestData readFileLists(const std::filesystem::path& root,
                            const std::vector<std::string>& domains,
                            const ScanProgress& progress = {});

// Test share of the seeded split that readDataset uses for the digits sheet and for image
// folders without train/ and test/ sub-folders.
inline constexpr double kDefaultTestFraction = 0.2;

// Reads dataset `kind` at `root` ("" = the default location); data without a test part (the
// digits sheet, folders without test/) is split with `testFraction` as its test share
// (experiment key data.test_fraction); `domains` chooses the lists of file-list data
// (data.domains). Throws dlw::Error naming the path when there is no default location for
// `kind` or the reader fails.
TrainTestData readDataset(DataKind kind,
                          const std::filesystem::path& root,
                          uint64_t seed,
                          double testFraction = kDefaultTestFraction,
                          const std::vector<std::string>& domains = {});

// Images `indices` of `data`, in that order, with its class names, source, warnings and domains
// (pixels are copied; files are shared paths; record numbers follow the images). Throws
// dlw::Error for an index out of range.
ImageDataset selectImages(const ImageDataset& data, const std::vector<int64_t>& indices);

}  // namespace dlw
