// #14: an image folder as users have them (macOS and Jupyter leftovers, an empty .jpg, a text
// file named .png, a truncated PNG and JPEG, a BMP of 40000×40000 pixels, a class folder named
// in Latin-1, not UTF-8): the classes come out right, the run completes, every file it left out
// is reported with its reason in its events and counted in summary.json, and every file of the
// run parses as JSON.
#include "api/engine.h"
#include "api/run_folder.h"
#include "core/engine/engine_test_support.h"
#include "engine/task_data.h"
#include "test_support.h"
#include "util/strict_json.h"

#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

TEST(RunFaults, EverySkippedFileOfAnImageFolderIsReported) {
    const auto root = test::tempDir("faults-folder") / "data";
    const std::string dog = "d\xf6g";  // "dög" in Latin-1: not UTF-8
    for (const std::string& name : {std::string("cat"), dog}) {
        fs::create_directories(root / name);
        for (int i = 0; i < 6; ++i) {
            const cv::Mat image(32, 32, CV_8UC3, cv::Scalar(name == "cat" ? 200 : 30, 20 * i, 100));
            ASSERT_TRUE(cv::imwrite((root / name / fmt::format("{}.png", i)).string(), image));
        }
    }
    std::ofstream(root / "cat" / ".DS_Store") << "\0\0\0\1Bud1";
    fs::copy_file(root / "cat" / "0.png", root / "cat" / "._0.png");  // AppleDouble
    fs::create_directories(root / dog / ".ipynb_checkpoints");
    fs::copy_file(root / dog / "0.png", root / dog / ".ipynb_checkpoints" / "0-checkpoint.png");
    std::ofstream(root / dog / "empty.jpg").close();
    std::ofstream(root / dog / "notes.png") << "this is a text file, not a PNG\n";
    std::ofstream(root / "cat" / "labels.txt") << "cat\n";
    std::ofstream(root / "README.md") << "# my data\n";
    // A PNG cut in half: its header reads, its pixels do not. Its chunk headers say so: the
    // scan's probe finds it before anything is decoded.
    {
        std::vector<uchar> bytes;
        cv::Mat noise(64, 64, CV_8UC3);  // noise: no compression, so half the file is missing
        cv::randu(noise, 0, 255);
        cv::imencode(".png", noise, bytes);
        std::ofstream(root / "cat" / "truncated.png", std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size() / 2));
    }
    // A JPEG cut to a third: libjpeg would decode it, grey where data is missing, and only
    // warn on stderr. Decoding before the run finds it (the scan reads headers only).
    {
        std::vector<uchar> bytes;
        cv::Mat noise(64, 64, CV_8UC3);
        cv::randu(noise, 0, 255);
        cv::imencode(".jpg", noise, bytes);
        std::ofstream(root / dog / "truncated.jpg", std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size() / 3));
    }
    // A BMP header declaring 40000×40000 pixels (0x9C40, 24 bits): OpenCV refused it with two
    // lines of its source text; the scan refuses it from its header, in one line.
    std::ofstream(root / "cat" / "huge.bmp", std::ios::binary)
        << std::string(
               "BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x40\x9c\0\0\x40\x9c\0\0\x01\0\x18\0", 30)
        << std::string(40, '\0');
    const std::map<std::string, std::string> expected = {
        {(root / "cat" / ".DS_Store").string(), "hidden file"},
        {(root / "cat" / "._0.png").string(), "hidden file"},
        {(root / dog / ".ipynb_checkpoints").string(), "hidden folder"},
        {(root / dog / "empty.jpg").string(), "empty file"},
        {(root / dog / "notes.png").string(), "not a decodable image"},
        {(root / "cat" / "labels.txt").string(), "not an image file"},
        {(root / "README.md").string(), "not inside a class folder"},
        {(root / "cat" / "truncated.png").string(), "corrupt PNG: chunk 'IDAT' declares"},
        {(root / dog / "truncated.jpg").string(),
         "truncated JPEG (no end-of-image marker after the image data)"},
        {(root / "cat" / "huge.bmp").string(), "image of 40000×40000 pixels, more than"},
    };
    const auto shown = [](const fs::path& p) { return escapeInvalidUtf8(p.string()); };

    Experiment e;
    e.backbone.path = (test::fixturesDir() / "vit_reference" / "tiny.safetensors").string();
    e.threads = 1;
    e.device = "cpu";
    e.data.kind = DataKind::ImageFolder;
    e.data.root = root.string();
    e.data.trainPerClass = 0;
    e.data.valPerClass = 0;
    e.data.testFraction = 0.34;
    e.sequence.tasks = 1;
    e.sequence.classesPerTask = 2;
    e.train.epochs = 1;
    e.train.batchSize = 4;
    e.memory.sample = 0;
    const auto dir = test::tempDir("faults-folder") / "run";
    RunControl control;
    std::vector<Event> events;
    const RunSummary summary = test::run(e, dir, control, false, &events);
    EXPECT_EQ(summary.accuracyMatrix.size(), 1U);
    EXPECT_EQ(summary.skippedFiles, static_cast<int64_t>(expected.size()));
    std::map<std::string, std::string> reported;
    for (const auto& ev : readRunEvents(dir)) {  // as written to events.jsonl
        if (const auto* s = std::get_if<FilesSkipped>(&ev)) {
            for (const auto& f : s->files) {
                reported[f.file] = f.reason;
            }
        }
    }
    ASSERT_EQ(reported.size(), expected.size());
    for (const auto& [file, reason] : expected) {
        const std::string name = shown(file);  // as JSON holds it: \xHH for a stray byte
        ASSERT_EQ(reported.count(name), 1U) << name << " not reported";
        EXPECT_FALSE(reported[name].empty());
        EXPECT_NE(reported[name].find(reason), std::string::npos) << name << ": " << reported[name];
    }
    const auto& started = std::get<RunStarted>(events.front());
    EXPECT_EQ(started.taskClasses.at(0), (std::vector<std::string>{"cat", "d\\xF6g"}));
    for (const auto& ev : readRunEvents(dir)) {
        if (const auto* s = std::get_if<RunStarted>(&ev)) {
            EXPECT_EQ(s->taskClasses, started.taskClasses);
        }
    }
    EXPECT_EQ(readRunRecord(dir).summary.skippedFiles, static_cast<int64_t>(expected.size()));
}

// #14: every key of the experiment reference has an effect; data.test_fraction had none (the
// readers always split 20 % off).
TEST(RunFaults, TestFractionSplitsAFolderWithoutATestPart) {
    const auto root = test::tempDir("faults-fraction") / "data";
    for (const std::string name : {"a", "b"}) {
        fs::create_directories(root / name);
        for (int i = 0; i < 10; ++i) {
            ASSERT_TRUE(cv::imwrite((root / name / fmt::format("{}.png", i)).string(),
                                    cv::Mat(8, 8, CV_8UC1, cv::Scalar(20 * i))));
        }
    }
    Experiment e;
    e.data.kind = DataKind::ImageFolder;
    e.data.root = root.string();
    e.data.trainPerClass = 0;
    e.data.valPerClass = 0;
    e.sequence.tasks = 1;
    e.sequence.classesPerTask = 2;
    BackboneArch arch;
    arch.imgSize = 8;
    arch.patchSize = 4;
    arch.inChans = 1;
    for (const auto& [fraction, perClass] : {std::pair{0.2, 2}, std::pair{0.5, 5}}) {
        e.data.testFraction = fraction;
        const TaskData data = prepareTaskData(e, arch);
        EXPECT_EQ(data.tasks.at(0).test.size(), static_cast<std::size_t>(2 * perClass)) << fraction;
        EXPECT_EQ(data.tasks.at(0).train.size(), static_cast<std::size_t>(2 * (10 - perClass)));
    }
}

}  // namespace
}  // namespace dlw
