// Reader for image folders (DESIGN §4): one sub-folder per class, images at any depth below it,
// either root/train + root/test or a seeded per-class split. Pixels are decoded later, on
// demand, by the loader; here each file is only probed (see detail::probeImageFile).
#include "api/error.h"
#include "data/dataset.h"
#include "data/image_decode.h"
#include "data/seeded_random.h"
#include "util/strict_json.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <numeric>
#include <system_error>

namespace dlw {
namespace {

namespace fs = std::filesystem;

bool isImageFile(const fs::path& path) {
    static const std::array<std::string, 9> kExtensions = {".jpg", ".jpeg", ".png", ".bmp", ".webp",
                                                           ".tif", ".tiff", ".pgm", ".ppm"};
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return !ext.empty() &&
           std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

// Hidden entries (".git", macOS "._x.jpg" resource forks) are never data.
bool isHidden(const fs::path& path) {
    const auto name = path.filename().string();
    return !name.empty() && name.front() == '.';
}

// Whether `entry` is a symbolic link to `canonicalDir` (the folder that holds it) or to a folder
// above it. Followed, such a class folder would hold every class's images: `ln -s . loop` made
// a class "loop" of the whole dataset.
bool linksToAnEnclosingFolder(const fs::directory_entry& entry, const fs::path& canonicalDir) {
    std::error_code ec;
    if (!entry.is_symlink(ec)) {
        return false;
    }
    const fs::path target = fs::canonical(entry.path(), ec);
    if (ec) {
        return false;
    }
    // target encloses canonicalDir when its components are a prefix of canonicalDir's.
    return std::mismatch(target.begin(), target.end(), canonicalDir.begin(), canonicalDir.end())
               .first == target.end();
}

// Why an entry directly in a dataset folder (canonically `canonicalDir`) is no class folder, or
// "" when it is one: class folders are the folders there, hidden ones and links to the dataset
// itself or above it excepted.
std::string notAClassFolder(const fs::directory_entry& entry, const fs::path& canonicalDir) {
    std::error_code ec;
    const bool folder = entry.is_directory(ec);
    if (ec) {
        return "broken or looping symbolic link (" + ec.message() + ")";
    }
    if (!folder) {
        return "not inside a class folder, not data";
    }
    if (isHidden(entry.path())) {
        return "hidden folder, not read";
    }
    if (linksToAnEnclosingFolder(entry, canonicalDir)) {
        return "symbolic link to a folder that contains the dataset (a loop)";
    }
    return {};
}

// The folder's canonical path (links resolved), or the path itself when that fails.
fs::path canonicalOrSelf(const fs::path& dir) {
    std::error_code ec;
    fs::path canonical = fs::canonical(dir, ec);
    return ec ? dir : canonical;
}

// Class folder names directly under `dir`, sorted by name.
std::vector<std::string> classNamesIn(const fs::path& dir) {
    const fs::path canonicalDir = canonicalOrSelf(dir);
    std::vector<std::string> names;
    try {
        for (const auto& entry : fs::directory_iterator(dir)) {
            if (notAClassFolder(entry, canonicalDir).empty()) {
                names.push_back(entry.path().filename().string());
            }
        }
    } catch (const fs::filesystem_error& e) {
        throw Error(dir.string() + ": cannot list the folder (" + e.code().message() + ")");
    }
    if (names.empty()) {
        throw Error(dir.string() + ": no class folders found (expected one sub-folder per class)");
    }
    std::sort(names.begin(), names.end());
    return names;
}

// Image files at any depth below `dir`, sorted by path; every other entry (hidden files and
// folders, files of other types) goes to `skipped` with its reason, so that a run can say what
// it left out (#14). Symbolic links to folders are not followed inside a class folder (no
// cycles).
std::vector<fs::path> imageFilesIn(const fs::path& dir, std::vector<LoadWarning>& skipped) {
    std::vector<fs::path> files;
    try {
        fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied);
        for (; it != fs::recursive_directory_iterator(); ++it) {
            const fs::path& path = it->path();
            std::error_code ec;
            const auto own = it->symlink_status(ec).type();
            const auto target = it->status(ec).type();  // follows a link
            if (isHidden(path)) {
                it.disable_recursion_pending();
                skipped.push_back({path.string(), -1,
                                   target == fs::file_type::directory ? "hidden folder, not read"
                                                                      : "hidden file, not data"});
            } else if (own == fs::file_type::symlink && ec) {
                skipped.push_back(
                    {path.string(), -1, "broken or looping symbolic link (" + ec.message() + ")"});
            } else if (own == fs::file_type::symlink && target == fs::file_type::directory) {
                skipped.push_back(
                    {path.string(), -1, "symbolic link to a folder, not followed (no cycles)"});
            } else if (target == fs::file_type::directory) {
                continue;
            } else if (target != fs::file_type::regular) {
                skipped.push_back(
                    {path.string(), -1, "not a regular file (a pipe, device or socket)"});
            } else if (isImageFile(path)) {
                files.push_back(path);
            } else {
                skipped.push_back({path.string(), -1,
                                   "not an image file (.jpg .jpeg .png .bmp .webp .tif .tiff "
                                   ".pgm .ppm)"});
            }
        }
    } catch (const fs::filesystem_error& e) {
        throw Error(dir.string() + ": cannot list the folder (" + e.code().message() + ")");
    }
    if (files.empty()) {
        throw Error(dir.string() +
                    ": class folder holds no images (.jpg .jpeg .png .bmp .webp "
                    ".tif .tiff .pgm .ppm)");
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });
    std::sort(skipped.begin(), skipped.end(),
              [](const LoadWarning& a, const LoadWarning& b) { return a.file < b.file; });
    return files;
}

// Entries directly in `dir` that are not class folders (files, hidden folders, loops): not data.
std::vector<LoadWarning> nonClassEntriesIn(const fs::path& dir) {
    const fs::path canonicalDir = canonicalOrSelf(dir);
    std::vector<LoadWarning> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        auto reason = notAClassFolder(entry, canonicalDir);
        if (!reason.empty()) {
            out.push_back({entry.path().string(), -1, std::move(reason)});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const LoadWarning& a, const LoadWarning& b) { return a.file < b.file; });
    return out;
}

// Class names as outputs show them: folder names that are not UTF-8 get \\xHH for each
// stray byte (#14); the folders themselves are still read by their bytes.
std::vector<std::string> displayNames(const std::vector<std::string>& folders) {
    std::vector<std::string> out;
    out.reserve(folders.size());
    for (const auto& f : folders) {
        out.push_back(escapeInvalidUtf8(f));
    }
    return out;
}

// Calls the caller's progress callback, turning a cancel into dlw::Error.
class ProgressReporter {
public:
    ProgressReporter(const ScanProgress& progress, const fs::path& root)
        : progress_(progress), root_(root) {}

    void report(int64_t done, int64_t total) const {
        if (progress_ && !progress_(done, total)) {
            throw Error("scan cancelled: " + root_.string());
        }
    }

private:
    const ScanProgress& progress_;
    const fs::path& root_;
};

// The files of the listed classes under `dir` (classes[i] has label labelOf[i]).
ImageDataset listFolder(const fs::path& dir,
                        const std::vector<std::string>& classes,
                        const std::vector<int64_t>& labelOf,
                        const ProgressReporter& progress) {
    ImageDataset data;
    data.source = dir.string();
    data.warnings = nonClassEntriesIn(dir);
    for (std::size_t i = 0; i < classes.size(); ++i) {
        progress.report(static_cast<int64_t>(data.files.size()), /*total=*/0);
        for (auto& file : imageFilesIn(dir / classes[i], data.warnings)) {
            data.files.push_back(std::move(file));
            data.labels.push_back(labelOf[i]);
        }
    }
    return data;
}

// Keeps the files that pass the probe; the others become warnings. `done` counts across calls.
void probeFiles(ImageDataset& data,
                const ProgressReporter& progress,
                int64_t& done,
                int64_t total) {
    std::vector<fs::path> files;
    std::vector<int64_t> labels;
    for (std::size_t i = 0; i < data.files.size(); ++i) {
        if (++done % 16 == 0) {
            progress.report(done, total);
        }
        auto reason = detail::probeImageFile(data.files[i]);
        if (!reason.empty()) {
            data.warnings.push_back({data.files[i].string(), -1, std::move(reason)});
            continue;
        }
        files.push_back(std::move(data.files[i]));
        labels.push_back(data.labels[i]);
    }
    data.files = std::move(files);
    data.labels = std::move(labels);
    progress.report(done, total);
}

void requireReadableClasses(const ImageDataset& data,
                            const fs::path& dir,
                            const std::vector<int64_t>& present) {
    std::vector<int64_t> counts(data.classNames.size(), 0);
    for (const int64_t label : data.labels) {
        ++counts[static_cast<std::size_t>(label)];
    }
    for (const int64_t label : present) {
        if (counts[static_cast<std::size_t>(label)] == 0) {
            throw Error((dir / data.classNames[static_cast<std::size_t>(label)]).string() +
                        ": none of the class folder's image files could be read");
        }
    }
}

TrainTestData readTrainTestFolders(const fs::path& root, const ProgressReporter& progress) {
    const auto classes = classNamesIn(root / "train");
    std::vector<int64_t> trainLabels(classes.size());
    std::iota(trainLabels.begin(), trainLabels.end(), int64_t{0});
    const auto testClasses = classNamesIn(root / "test");
    std::vector<int64_t> testLabels;
    for (const auto& name : testClasses) {
        const auto found = std::find(classes.begin(), classes.end(), name);
        if (found == classes.end()) {
            throw Error((root / "test" / name).string() + ": test class '" + name +
                        "' has no folder in " + (root / "train").string());
        }
        testLabels.push_back(found - classes.begin());
    }
    TrainTestData data{listFolder(root / "train", classes, trainLabels, progress),
                       listFolder(root / "test", testClasses, testLabels, progress)};
    data.train.classNames = displayNames(classes);
    data.test.classNames = data.train.classNames;
    const auto total = static_cast<int64_t>(data.train.files.size() + data.test.files.size());
    int64_t done = 0;
    probeFiles(data.train, progress, done, total);
    probeFiles(data.test, progress, done, total);
    requireReadableClasses(data.train, root / "train", trainLabels);
    requireReadableClasses(data.test, root / "test", testLabels);
    return data;
}

TrainTestData readSplitFolder(const fs::path& root,
                              double testFraction,
                              uint64_t seed,
                              const ProgressReporter& progress) {
    const auto classes = classNamesIn(root);
    std::vector<int64_t> labels(classes.size());
    std::iota(labels.begin(), labels.end(), int64_t{0});
    auto all = listFolder(root, classes, labels, progress);
    all.classNames = displayNames(classes);
    int64_t done = 0;
    probeFiles(all, progress, done, static_cast<int64_t>(all.files.size()));
    requireReadableClasses(all, root, labels);
    const auto isTest = detail::stratifiedTestMask(all.labels, static_cast<int64_t>(classes.size()),
                                                   testFraction, seed);
    std::vector<int64_t> trainRows;
    std::vector<int64_t> testRows;
    for (int64_t i = 0; i < all.size(); ++i) {
        (isTest[static_cast<std::size_t>(i)] ? testRows : trainRows).push_back(i);
    }
    TrainTestData data{selectImages(all, trainRows), selectImages(all, testRows)};
    data.test.warnings.clear();  // reported once, with the training part
    return data;
}

}  // namespace

TrainTestData readImageFolder(const std::filesystem::path& root,
                              double testFraction,
                              uint64_t seed,
                              const ScanProgress& progress) {
    if (!(testFraction >= 0.0 && testFraction < 1.0)) {
        throw Error(root.string() + ": test fraction " + std::to_string(testFraction) +
                    " is outside [0, 1)");
    }
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
        throw Error(root.string() +
                    ": image folder not found (set data.root to a folder with "
                    "one sub-folder per class)");
    }
    if (!detail::haveImageDecoder()) {
        detail::probeImageFile(root);  // throws: this build cannot decode images
    }
    const ProgressReporter reporter(progress, root);
    if (fs::is_directory(root / "train", ec) && fs::is_directory(root / "test", ec)) {
        return readTrainTestFolders(root, reporter);
    }
    return readSplitFolder(root, testFraction, seed, reporter);
}

}  // namespace dlw
