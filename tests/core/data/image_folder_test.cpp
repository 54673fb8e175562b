#include "api/dataset_scan.h"
#include "api/error.h"
#include "data/dataset.h"
#include "test_support.h"

#include <fstream>

#ifdef DLW_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

void writePng(const fs::path& path, int value = 128) {
    fs::create_directories(path.parent_path());
    const cv::Mat image(8, 6, CV_8UC3, cv::Scalar(value, value / 2, 0));
    ASSERT_TRUE(cv::imwrite(path.string(), image)) << path;
}

// root/<class>/img<k>.png for the given counts.
void writeClasses(const fs::path& root, const std::vector<std::pair<std::string, int>>& classes) {
    for (const auto& [name, count] : classes) {
        for (int k = 0; k < count; ++k) {
            writePng(root / name / ("img" + std::to_string(k) + ".png"), k);
        }
    }
}

std::vector<int64_t> counts(const ImageDataset& data) {
    std::vector<int64_t> result(data.classNames.size(), 0);
    for (const int64_t label : data.labels) {
        ++result[static_cast<std::size_t>(label)];
    }
    return result;
}

TEST(ImageFolder, ReadsTrainTestLayout) {
    const auto root = test::tempDir("folder-layout");
    writeClasses(root / "train", {{"dog", 2}, {"cat", 3}});
    writePng(root / "train" / "cat" / "deep" / "er" / "z.png");
    writePng(root / "train" / "dog" / "UPPER.png");
    fs::rename(root / "train" / "dog" / "UPPER.png", root / "train" / "dog" / "UPPER.PNG");
    std::ofstream(root / "train" / "dog" / "notes.txt") << "not an image";
    std::ofstream(root / "train" / "dog" / "._img0.png") << "macOS resource fork";
    writeClasses(root / "test", {{"dog", 1}});
    const auto data = readImageFolder(root, 0.5, /*seed=*/0);
    EXPECT_EQ(data.train.classNames, (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ(data.test.classNames, data.train.classNames);
    EXPECT_EQ(counts(data.train), (std::vector<int64_t>{4, 3}));
    EXPECT_EQ(counts(data.test), (std::vector<int64_t>{0, 1}));
    EXPECT_FALSE(data.train.inMemory());
    ASSERT_EQ(data.train.files.size(), 7U);
    EXPECT_EQ(data.train.files[3], root / "train" / "cat" / "img2.png");  // sorted by path
    EXPECT_EQ(data.train.files[0], root / "train" / "cat" / "deep" / "er" / "z.png");
    EXPECT_EQ(data.train.files[4], root / "train" / "dog" / "UPPER.PNG");
    // #14: what is left out is said, each with its reason.
    ASSERT_EQ(data.train.warnings.size(), 2U);
    EXPECT_EQ(data.train.warnings[0].file, (root / "train" / "dog" / "._img0.png").string());
    EXPECT_EQ(data.train.warnings[0].reason, "hidden file, not data");
    EXPECT_EQ(data.train.warnings[1].file, (root / "train" / "dog" / "notes.txt").string());
    EXPECT_NE(data.train.warnings[1].reason.find("not an image file"), std::string::npos);
    EXPECT_TRUE(data.test.warnings.empty());
}

TEST(ImageFolder, SplitsEachClassBySeed) {
    const auto root = test::tempDir("folder-split");
    writeClasses(root, {{"a", 10}, {"b", 5}});
    const auto data = readImageFolder(root, 0.2, /*seed=*/3);
    EXPECT_EQ(counts(data.train), (std::vector<int64_t>{8, 4}));
    EXPECT_EQ(counts(data.test), (std::vector<int64_t>{2, 1}));
    const auto again = readImageFolder(root, 0.2, /*seed=*/3);
    EXPECT_EQ(again.test.files, data.test.files);
    const auto other = readImageFolder(root, 0.2, /*seed=*/4);
    EXPECT_NE(other.test.files, data.test.files);
    for (const auto& file : data.test.files) {
        EXPECT_EQ(std::count(data.train.files.begin(), data.train.files.end(), file), 0);
    }
}

TEST(ImageFolder, SkipsUnreadableImageWithWarning) {
    const auto root = test::tempDir("folder-bad");
    writeClasses(root, {{"a", 3}, {"b", 2}});
    std::ofstream(root / "a" / "bad.png", std::ios::binary) << "this is not a PNG at all";
    const auto data = readImageFolder(root, 0.0, /*seed=*/0);
    EXPECT_EQ(counts(data.train), (std::vector<int64_t>{3, 2}));
    ASSERT_EQ(data.train.warnings.size(), 1U);
    EXPECT_EQ(data.train.warnings[0].file, (root / "a" / "bad.png").string());
    EXPECT_EQ(data.train.warnings[0].index, -1);
    EXPECT_NE(data.train.warnings[0].reason.find("not a decodable image"), std::string::npos);
}

// #14: a looping link aborted the whole scan; links to folders, dangling links and pipes were
// skipped silently or as "not an image file". Each is now skipped with its own reason.
TEST(ImageFolder, LinksAndSpecialFilesAreSkippedWithTheirReason) {
    const auto root = test::tempDir("folder-links");
    writeClasses(root, {{"a", 3}, {"b", 2}});
    fs::create_symlink("loop", root / "b" / "loop");
    fs::create_symlink("../a", root / "b" / "cycle");
    fs::create_symlink("/nonexistent/x.png", root / "a" / "dangling.png");
    ASSERT_EQ(::mkfifo((root / "a" / "pipe.png").c_str(), 0600), 0);
    fs::create_symlink("e", root / "e");  // a looping "class folder"
    const auto data = readImageFolder(root, 0.0, /*seed=*/0);
    EXPECT_EQ(counts(data.train), (std::vector<int64_t>{3, 2}));
    std::map<std::string, std::string> reasons;
    for (const auto& w : data.train.warnings) {
        reasons[fs::path(w.file).filename().string()] = w.reason;
    }
    EXPECT_NE(reasons["loop"].find("looping symbolic link"), std::string::npos) << reasons["loop"];
    EXPECT_NE(reasons["cycle"].find("link to a folder, not followed"), std::string::npos);
    EXPECT_NE(reasons["dangling.png"].find("broken or looping"), std::string::npos);
    EXPECT_NE(reasons["pipe.png"].find("not a regular file"), std::string::npos);
    EXPECT_NE(reasons["e"].find("looping symbolic link"), std::string::npos) << reasons["e"];
}

// The user's break-it pass: a class folder that links to the dataset (`ln -s . root/loop`) was
// followed, and class "loop" held every image of every class. A link to the folder holding the
// classes or to one above it is skipped and said so; links elsewhere are still followed.
TEST(ImageFolder, ClassLinkToTheDatasetOrAboveIsSkippedAsALoop) {
    const auto base = test::tempDir("folder-loop");
    const auto root = base / "data";
    writeClasses(root, {{"a", 3}, {"b", 2}});
    writeClasses(base / "elsewhere", {{"c", 2}});
    fs::create_symlink(".", root / "loop");
    fs::create_symlink("..", root / "up");
    fs::create_symlink(root, root / "absolute");
    fs::create_symlink("a", root / "alias");           // another class folder: followed
    fs::create_symlink("../elsewhere/c", root / "c");  // a folder outside: followed
    fs::create_symlink("../dat", root / "similar");    // "dat" starts "data" but is no parent
    writeClasses(base / "dat", {{"d", 1}});
    const std::string loop = "symbolic link to a folder that contains the dataset (a loop)";
    const auto data = readImageFolder(root, 0.0, /*seed=*/0);
    EXPECT_EQ(data.train.classNames, (std::vector<std::string>{"a", "alias", "b", "c", "similar"}));
    EXPECT_EQ(counts(data.train), (std::vector<int64_t>{3, 3, 2, 2, 1}));
    std::map<std::string, std::string> reasons;
    for (const auto& w : data.train.warnings) {
        reasons[fs::path(w.file).filename().string()] = w.reason;
    }
    for (const std::string name : {"loop", "up", "absolute"}) {
        EXPECT_EQ(reasons[name], loop) << name;
    }
    // The scan the window shows on a dropped folder says the same.
    const auto summary = scanDataset(DataKind::ImageFolder, root);
    EXPECT_EQ(summary.classNames, data.train.classNames);
    EXPECT_EQ(std::count_if(summary.warnings.begin(), summary.warnings.end(),
                            [&](const LoadWarning& w) { return w.reason == loop; }),
              3);
    // With train/ and test/, the classes' folder is root/train: a link to it is a loop too.
    const auto split = test::tempDir("folder-loop-split");
    writeClasses(split / "train", {{"a", 2}, {"b", 2}});
    writeClasses(split / "test", {{"a", 1}, {"b", 1}});
    fs::create_symlink(".", split / "train" / "loop");
    fs::create_symlink("..", split / "test" / "loop");
    const auto parts = readImageFolder(split, 0.0, /*seed=*/0);
    EXPECT_EQ(parts.train.classNames, (std::vector<std::string>{"a", "b"}));
    ASSERT_EQ(parts.train.warnings.size(), 1U);
    EXPECT_EQ(parts.train.warnings[0].reason, loop);
    ASSERT_EQ(parts.test.warnings.size(), 1U);
    EXPECT_EQ(parts.test.warnings[0].file, (split / "test" / "loop").string());
    EXPECT_EQ(parts.test.warnings[0].reason, loop);
}

TEST(ImageFolder, RejectsEmptyClassFolder) {
    const auto root = test::tempDir("folder-empty");
    writeClasses(root, {{"a", 2}});
    fs::create_directories(root / "b" / "sub");
    DLW_EXPECT_ERROR(readImageFolder(root, 0.2, 0), (root / "b").string(), "holds no images");
}

TEST(ImageFolder, RejectsClassWhoseImagesAreAllUnreadable) {
    const auto root = test::tempDir("folder-allbad");
    writeClasses(root, {{"a", 2}});
    fs::create_directories(root / "b");
    std::ofstream(root / "b" / "x.jpg") << "garbage";
    DLW_EXPECT_ERROR(readImageFolder(root, 0.2, 0), (root / "b").string(), "could be read");
}

TEST(ImageFolder, RejectsTestClassMissingFromTrain) {
    const auto root = test::tempDir("folder-testonly");
    writeClasses(root / "train", {{"a", 2}});
    writeClasses(root / "test", {{"a", 1}, {"z", 1}});
    DLW_EXPECT_ERROR(readImageFolder(root, 0.2, 0), (root / "test" / "z").string(), "no folder in");
}

TEST(ImageFolder, RejectsMissingRoot) {
    const auto root = test::tempDir("folder-missing") / "absent";
    DLW_EXPECT_ERROR(readImageFolder(root, 0.2, 0), root.string(), "not found");
}

TEST(ImageFolder, RejectsRootWithoutClassFolders) {
    const auto root = test::tempDir("folder-flat");
    writePng(root / "loose.png");
    DLW_EXPECT_ERROR(readImageFolder(root, 0.2, 0), root.string(), "no class folders");
}

TEST(ImageFolder, ReportsProgressAndCancels) {
    const auto root = test::tempDir("folder-progress");
    writeClasses(root, {{"a", 20}, {"b", 20}});
    int64_t lastDone = -1;
    int64_t lastTotal = -1;
    readImageFolder(root, 0.2, 0, [&](int64_t done, int64_t total) {
        lastDone = done;
        lastTotal = total;
        return true;
    });
    EXPECT_EQ(lastDone, 40);
    EXPECT_EQ(lastTotal, 40);
    int calls = 0;
    DLW_EXPECT_ERROR(
        readImageFolder(root, 0.2, 0, [&](int64_t done, int64_t total) { return ++calls < 3; }),
        "scan cancelled", root.string());
    EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace dlw

#endif  // DLW_WITH_OPENCV
