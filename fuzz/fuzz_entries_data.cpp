// Entry points of the dataset readers: idx, CIFAR-100, image files, image folders (issue #14).
#include "api/dataset_scan.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "data/image_decode.h"
#include "fuzz_entries.h"
#include "fuzz_support.h"

#include <zlib.h>

namespace dlw::fuzz {
namespace {

namespace fs = std::filesystem;

// A 4×4 grey PNG: the content of the image folder target's files unless the input gives one.
constexpr std::string_view kTinyPng(
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00"
    "\x04\x08\x00\x00\x00\x00\x8c\x9a\xc1\xa2\x00\x00\x00\x1c\x49\x44\x41\x54\x78\x9c\x63\x60\x10"
    "\x50\x30\x60\xd0\xb0\xf0\x88\x60\x08\x48\x28\x68\x60\xa8\xe8\x98\xb1\x02\x00\x23\xb4\x05\x41"
    "\x55\x02\xc0\x12\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82",
    85);

// Most files a folder input may create: enough for train/test, classes and nesting.
constexpr std::size_t kMaxFolderEntries = 48;

void writeGzip(const fs::path& path, std::string_view bytes) {
    gzFile file = gzopen(path.c_str(), "wb1");
    if (file != nullptr) {
        if (!bytes.empty()) {
            gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
        }
        gzclose(file);
    }
}

// The relative path a folder input line names, with "", "." and ".." components dropped so
// that nothing is written outside the dataset folder.
fs::path safeRelativePath(std::string_view name) {
    fs::path out;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t slash = name.find('/', start);
        if (slash == std::string_view::npos) {
            slash = name.size();
        }
        const std::string part(name.substr(start, slash - start));
        if (!part.empty() && part != "." && part != ".." && part.find('\0') == std::string::npos) {
            out /= part;
        }
        start = slash + 1;
    }
    return out;
}

// Lays out a folder from the input lines (see fuzzImageFolder); returns its root.
fs::path makeFolder(std::string_view input) {
    const fs::path root = scratchDir() / "dataset";
    fs::create_directories(root);
    std::size_t start = 0;
    for (std::size_t n = 0; n < kMaxFolderEntries && start < input.size(); ++n) {
        std::size_t end = input.find('\n', start);
        if (end == std::string_view::npos) {
            end = input.size();
        }
        const std::string_view line = input.substr(start, end - start);
        start = end + 1;
        const std::size_t tab = line.find('\t');
        const std::string_view name = line.substr(0, tab);
        const fs::path relative = safeRelativePath(name);
        if (relative.empty()) {
            continue;
        }
        std::error_code ec;
        if (name.back() == '/' && tab == std::string_view::npos) {
            fs::create_directories(root / relative, ec);
        } else if (!fs::is_directory(root / relative, ec)) {
            writeBytes(root / relative,
                       tab == std::string_view::npos ? kTinyPng : line.substr(tab + 1));
        }
    }
    return root;
}

}  // namespace

void fuzzIdx(std::string_view input) {
    cleanScratch();
    const auto parts = splitParts(input, 2);
    const fs::path images = scratchDir() / "images-idx3-ubyte";
    const fs::path labels = scratchDir() / "labels-idx1-ubyte";
    writeBytes(images, parts[0]);
    writeBytes(labels, parts[1]);
    expectOnlyDlwError([&] { readIdx(images, labels, {}); });
    expectOnlyDlwError([&] { readIdx(images, labels, {"a", "b", "c", "d", "e", "f", "g"}); });
    // The same bytes gzip-compressed: the path Fashion-MNIST's .gz files take through zlib.
    const fs::path imagesGz = scratchDir() / "images-idx3-ubyte.gz";
    const fs::path labelsGz = scratchDir() / "labels-idx1-ubyte.gz";
    writeGzip(imagesGz, parts[0]);
    writeGzip(labelsGz, parts[1]);
    readIdx(imagesGz, labelsGz, {});
}

void fuzzCifar(std::string_view input) {
    cleanScratch();
    const fs::path folder = scratchDir() / "cifar-100-binary";
    writeBytes(folder / "train.bin", input);
    expectOnlyDlwError([&] { readCifar100File(folder / "train.bin", {}); });
    expectOnlyDlwError([&] { readCifar100File(folder / "train.bin", {"a", "b", "c"}); });
    writeBytes(folder / "test.bin", input);
    readCifar100(scratchDir());
}

void fuzzImage(std::string_view input) {
    cleanScratch();
    const fs::path file = scratchDir() / "image.png";
    writeBytes(file, input);
    detail::probeImageFile(file);
    expectOnlyDlwError([&] { detail::decodeImageFile(file); });
    const std::vector<fs::path> files{file};
    loadImageFiles(files, 0, 1, ImageTransform{});
    ImageTransform rgb;
    rgb.size = 32;
    rgb.channels = 3;
    rgb.mean = {0.5F, 0.5F, 0.5F};
    rgb.std = {0.25F, 0.25F, 0.25F};
    const auto loaded = loadImageFiles(files, 0, 1, rgb);
    if (loaded.errors.size() != 1 || loaded.images.size() + !loaded.errors[0].empty() != 1) {
        throw std::logic_error("loadImageFiles: an image must either load or have an error");
    }
}

void fuzzImageFolder(std::string_view input) {
    cleanScratch();
    const fs::path root = makeFolder(input);
    expectOnlyDlwError([&] { readImageFolder(root, /*testFraction=*/0.5, /*seed=*/1); });
    scanDataset(DataKind::ImageFolder, root);
}

}  // namespace dlw::fuzz
