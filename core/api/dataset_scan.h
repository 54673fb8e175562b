#pragma once
// Public (no LibTorch) view of a dataset on disk, for the GUI's setup panel and `dlw`.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace dlw {

// One file or record that could not be read and was skipped.
struct LoadWarning {
    std::string file;    // path of the file (or the container file for records)
    int64_t index = -1;  // record index inside `file`, -1 when the whole file
    std::string reason;  // what went wrong, e.g. "not a decodable image"
};

// Kinds of dataset the readers understand (DESIGN §4, experiment key data.kind). FileList: image
// lists as DomainNet ships them (<domain>_train.txt, <domain>_test.txt; core/data/file_list.cpp).
enum class DataKind { FashionMnist, Digits, Cifar100, ImageFolder, FileList };

// "fashion-mnist", "digits", "cifar100", "image-folder", "file-list"; parse throws dlw::Error on
// others.
std::string toString(DataKind kind);
DataKind parseDataKind(const std::string& text);

// Default location of each dataset on a Debian machine (package paths; Fashion-MNIST under
// $DLW_DATASETS/fashion-mnist when that is set), or "" if none.
std::filesystem::path defaultDataRoot(DataKind kind);

// What a scan found: class names and per-class counts for the train and test parts.
struct DatasetSummary {
    DataKind kind = DataKind::FashionMnist;
    std::string root;
    std::vector<std::string> classNames;
    std::vector<int64_t> trainCounts;  // per class
    std::vector<int64_t> testCounts;   // per class; for a seeded split, the test share
    int imageHeight = 0;               // 0 when images differ in size (image folders)
    int imageWidth = 0;
    int channels = 0;
    std::vector<std::string> domains;  // file-list: the domains read (list prefixes), else empty
    std::vector<LoadWarning> warnings;
};

// Progress of a scan: files done, files total (0 while counting). Return false to cancel.
using ScanProgress = std::function<bool(int64_t done, int64_t total)>;

// Reads the dataset's index (not every pixel for image folders and file lists: each file's header
// is checked) and summarises it. `domains` (experiment key data.domains) chooses the lists of a
// file-list dataset, [] = all; the other kinds ignore it. Throws dlw::Error naming the path for a
// missing or malformed dataset and when cancelled through `progress`. Any thread; no shared state.
DatasetSummary scanDataset(DataKind kind,
                           const std::filesystem::path& root,
                           const ScanProgress& progress = {},
                           const std::vector<std::string>& domains = {});

}  // namespace dlw
