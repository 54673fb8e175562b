// #16: image lists as DomainNet ships them (data.kind "file-list"), written here in the same
// layout: <domain>_train.txt / <domain>_test.txt naming <domain>/<class>/<file> with a label.
#include "api/dataset_scan.h"
#include "api/error.h"
#include "core/data/class_counts.h"
#include "data/dataset.h"
#include "test_support.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

void writeImage(const fs::path& path, int value = 128) {
    fs::create_directories(path.parent_path());
    const cv::Mat image(8, 6, CV_8UC3, cv::Scalar(value, value / 2, 0));
    ASSERT_TRUE(cv::imwrite(path.string(), image)) << path;
}

// Writes `text` to root/name as is (binary: CR LF stays CR LF) and every image it names that
// is not in `absent`.
void writeList(const fs::path& root,
               const std::string& name,
               const std::string& text,
               const std::vector<std::string>& absent = {}) {
    fs::create_directories(root);
    std::ofstream(root / name, std::ios::binary) << text;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        const auto space = line.find(' ');
        if (line.empty() || line[0] == '#' || space == std::string::npos) {
            continue;
        }
        const std::string path = line.substr(0, space);
        if (std::find(absent.begin(), absent.end(), path) == absent.end() &&
            !fs::exists(root / path)) {
            writeImage(root / path, static_cast<int>(line.size()));
        }
    }
}

// Two domains as DomainNet lays them out. Classes: 0 apple, 1 bee (no real training image),
// 2 cat (in real only), 3 dog (test images only).
fs::path twoDomains(const std::string& tag) {
    const auto root = test::tempDir(tag) / "domainnet";
    writeList(root, "clipart_train.txt",
              "clipart/apple/c_000.jpg 0\n"
              "clipart/apple/c_001.png 0\n"
              "clipart/bee/c_002.jpg 1\n");
    writeList(root, "clipart_test.txt",
              "clipart/apple/c_100.jpg 0\n"
              "clipart/bee/c_101.jpg 1\n"
              "clipart/dog/c_102.jpg 3\n");
    writeList(root, "real_train.txt",
              "real/apple/r_000.jpg 0\n"
              "real/cat/r_001.jpg 2\n"
              "real/cat/r_002.jpg 2\n");
    writeList(root, "real_test.txt",
              "real/bee/r_100.jpg 1\n"
              "real/cat/r_101.jpg 2\n");
    return root;
}

TEST(FileList, MergesTheDomainsKeepingEachImagesDomain) {
    const auto root = twoDomains("file-list-merge");
    std::ofstream(root / "notes.txt") << "not a list\n";
    std::ofstream(root / "sketch_test.txt") << "a test list without its training list is ignored\n";
    const auto data = readFileLists(root, {});
    const std::vector<std::string> names{"apple", "bee", "cat", "dog"};
    EXPECT_EQ(data.train.classNames, names);
    EXPECT_EQ(data.test.classNames, names);
    EXPECT_EQ(data.train.domainNames, (std::vector<std::string>{"clipart", "real"}));
    EXPECT_EQ(data.test.domainNames, data.train.domainNames);
    EXPECT_EQ(test::classCounts(data.train), (std::vector<int64_t>{3, 1, 2, 0}));
    EXPECT_EQ(test::classCounts(data.test), (std::vector<int64_t>{1, 2, 1, 1}));
    EXPECT_FALSE(data.train.inMemory());
    ASSERT_EQ(data.train.files.size(), 6U);
    EXPECT_EQ(data.train.files[0], root / "clipart/apple/c_000.jpg");  // list order, domain order
    EXPECT_EQ(data.train.files[3], root / "real/apple/r_000.jpg");
    EXPECT_EQ(data.train.domain, (std::vector<int16_t>{0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(data.test.domain, (std::vector<int16_t>{0, 0, 0, 1, 1}));
    EXPECT_EQ(data.train.labels, (std::vector<int64_t>{0, 0, 1, 0, 2, 2}));
    EXPECT_TRUE(data.train.warnings.empty());
    EXPECT_TRUE(data.test.warnings.empty());
    // The dispatcher and the selection carry the domains along.
    const auto again = readDataset(DataKind::FileList, root, /*seed=*/0, 0.2, {"real"});
    EXPECT_EQ(again.train.domainNames, (std::vector<std::string>{"real"}));
    const auto picked = selectImages(data.train, {5, 0});
    EXPECT_EQ(picked.domain, (std::vector<int16_t>{1, 0}));
    EXPECT_EQ(picked.domainNames, data.train.domainNames);
    EXPECT_EQ(picked.labels, (std::vector<int64_t>{2, 0}));
}

TEST(FileList, DomainsChooseTheLists) {
    const auto root = twoDomains("file-list-domains");
    const auto real = readFileLists(root, {"real"});
    EXPECT_EQ(real.train.domainNames, (std::vector<std::string>{"real"}));
    EXPECT_EQ(real.train.classNames, (std::vector<std::string>{"apple", "bee", "cat"}));
    EXPECT_EQ(test::classCounts(real.train), (std::vector<int64_t>{1, 0, 2}));
    EXPECT_EQ(real.train.domain, (std::vector<int16_t>{0, 0, 0}));
    // In the order given, not by name.
    const auto both = readFileLists(root, {"real", "clipart"});
    EXPECT_EQ(both.train.domainNames, (std::vector<std::string>{"real", "clipart"}));
    EXPECT_EQ(both.train.files[0], root / "real/apple/r_000.jpg");
    DLW_EXPECT_ERROR(readFileLists(root, {"sketch"}), (root / "sketch_train.txt").string(),
                     "\"sketch\"", "not found", "clipart, real");
    DLW_EXPECT_ERROR(readFileLists(root, {"real", "real"}), "data.domains", "\"real\"", "twice");
}

// Every fault is a warning naming the list and its line; the rest is read. CR LF line ends,
// blank lines and comments are no faults.
TEST(FileList, SkipsBadLinesAndFilesNamingListAndLine) {
    const auto root = test::tempDir("file-list-faults") / "data";
    writeList(root, "clipart_train.txt",
              "# DomainNet-style list\r\n"                   // 1
              "clipart/apple/a0.png 0\r\n"                   // 2
              "\r\n"                                         // 3
              "   \n"                                        // 4
              "clipart/apple/a1.png\t0\n"                    // 5: a tab is a blank too
              "clipart/bee/gone.png 1\n"                     // 6: missing
              "clipart/bee/text.png 1\n"                     // 7: not an image
              "clipart/bee/nolabel.png\n"                    // 8
              "clipart/bee/word.png one\n"                   // 9
              "clipart/bee/minus.png -2\n"                   // 10
              "clipart/bee/huge.png 99999999999999999999\n"  // 11
              "clipart/bee/b0.png 1",                        // 12: no line end at the end
              {"clipart/bee/gone.png", "clipart/bee/text.png"});
    writeImage(root / "clipart/apple/a1.png");
    std::ofstream(root / "clipart/bee/text.png") << "this is a text file, not a PNG\n";
    writeList(root, "clipart_test.txt", "clipart/apple/t0.png 0\r\nclipart/bee/t1.png 1\r\n");
    const auto data = readFileLists(root, {});
    EXPECT_EQ(test::classCounts(data.train), (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(data.train.classNames, (std::vector<std::string>{"apple", "bee"}));
    EXPECT_EQ(data.train.files[1], root / "clipart/apple/a1.png");
    const std::string list = (root / "clipart_train.txt").string();
    const std::vector<std::pair<std::string, std::string>> expected{
        {"line 6: clipart/bee/gone.png: ", "No such file"},
        {"line 7: clipart/bee/text.png: ", "not a decodable image"},
        {"line 8: ", "no label"},
        {"line 9: ", "label \"one\" is not an integer"},
        {"line 10: ", "label -2 is negative"},
        {"line 11: ", "out of range"},
    };
    ASSERT_EQ(data.train.warnings.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& w = data.train.warnings[i];
        EXPECT_EQ(w.file, list);
        EXPECT_EQ(w.index, -1);
        EXPECT_EQ(w.reason.rfind(expected[i].first, 0), 0U) << w.reason;
        EXPECT_NE(w.reason.find(expected[i].second), std::string::npos) << w.reason;
    }
    EXPECT_TRUE(data.test.warnings.empty());
    EXPECT_EQ(data.test.size(), 2);
}

TEST(FileList, ClassNamesComeFromFoldersOrFallBack) {
    const auto root = test::tempDir("file-list-names") / "data";
    const std::string cafe = "caf\xe9";  // Latin-1, not UTF-8 (#14)
    writeList(root, "a_train.txt",
              "a/apple/0.png 0\n"
              "a/" +
                  cafe +
                  "/1.png 1\n"
                  "a/x/2.png 2\n"     // class 2's folders disagree: x here, y in b
                  "a/same/3.png 3\n"  // classes 3 and 4 share a folder name
                  "a/same/4.png 4\n"
                  "flat.png 5\n"         // no folder
                  "a/seven/7.png 7\n");  // class 6 has no image at all
    writeList(root, "a_test.txt", "a/apple/t.png 0\n");
    writeList(root, "b_train.txt", "b/y/2.png 2\nb/apple/0.png 0\n");
    writeList(root, "b_test.txt", "b/apple/t.png 0\n");
    const auto data = readFileLists(root, {});
    EXPECT_EQ(data.train.classNames,
              (std::vector<std::string>{"apple", "caf\\xE9", "class 2", "class 3", "class 4",
                                        "class 5", "class 6", "seven"}));
    EXPECT_EQ(test::classCounts(data.train), (std::vector<int64_t>{2, 1, 2, 1, 1, 1, 0, 1}));
}

TEST(FileList, RejectsWhatCannotBeRead) {
    const auto root = twoDomains("file-list-errors");
    fs::remove(root / "real_test.txt");
    DLW_EXPECT_ERROR(readFileLists(root, {}), (root / "real_test.txt").string(), "not found",
                     "real_train.txt");
    EXPECT_NO_THROW(readFileLists(root, {"clipart"}));

    const auto empty = test::tempDir("file-list-errors") / "empty";
    writeList(empty, "a_train.txt", "# only a comment\n\n");
    writeList(empty, "a_test.txt", "a/x/0.png 0\n");
    DLW_EXPECT_ERROR(readFileLists(empty, {}), (empty / "a_train.txt").string(), "names no image");

    const auto unreadable = test::tempDir("file-list-errors") / "unreadable";
    writeList(unreadable, "a_train.txt", "a/x/0.png 0\n");
    writeList(unreadable, "a_test.txt", "a/x/gone.png 0\nno-label\n", {"a/x/gone.png"});
    DLW_EXPECT_ERROR(readFileLists(unreadable, {}), (unreadable / "a_test.txt").string(),
                     "none of the 1 images", "first fault: line 1: a/x/gone.png");

    const auto none = test::tempDir("file-list-errors") / "none";
    fs::create_directories(none);
    std::ofstream(none / "readme.txt") << "no lists here\n";
    DLW_EXPECT_ERROR(readFileLists(none, {}), none.string(), "no image lists found",
                     "<domain>_train.txt");
    DLW_EXPECT_ERROR(readFileLists(none / "missing", {}), (none / "missing").string(), "not found");
    DLW_EXPECT_ERROR(readDataset(DataKind::FileList, "", 0), "data.root", "file-list");
}

TEST(FileList, ScanSummarisesReportsProgressAndCancels) {
    const auto root = twoDomains("file-list-scan");
    int64_t lastTotal = -1;
    const auto summary = scanDataset(DataKind::FileList, root,
                                     [&](int64_t, int64_t total) {
                                         lastTotal = total;
                                         return true;
                                     },
                                     {"clipart"});
    EXPECT_EQ(summary.kind, DataKind::FileList);
    EXPECT_EQ(summary.domains, (std::vector<std::string>{"clipart"}));
    EXPECT_EQ(summary.classNames, (std::vector<std::string>{"apple", "bee", "class 2", "dog"}));
    EXPECT_EQ(summary.trainCounts, (std::vector<int64_t>{2, 1, 0, 0}));
    EXPECT_EQ(summary.testCounts, (std::vector<int64_t>{1, 1, 0, 1}));
    EXPECT_EQ(lastTotal, 6);
    EXPECT_EQ(scanDataset(DataKind::FileList, root).domains,
              (std::vector<std::string>{"clipart", "real"}));
    int calls = 0;
    DLW_EXPECT_ERROR(
        scanDataset(DataKind::FileList, root, [&](int64_t, int64_t) { return ++calls < 2; }),
        "scan cancelled", root.string());
    EXPECT_EQ(parseDataKind("file-list"), DataKind::FileList);
    EXPECT_EQ(toString(DataKind::FileList), "file-list");
    EXPECT_TRUE(defaultDataRoot(DataKind::FileList).empty());
}

}  // namespace
}  // namespace dlw
