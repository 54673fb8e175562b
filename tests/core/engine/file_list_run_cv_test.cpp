// #16: a run on image lists (data.kind "file-list"): two domains merged, a class with test
// images only, a malformed line and a JPEG that passes the reader's probe but not the decoder.
// The run finishes, says which class it learnt from nothing, and keeps each image's domain in
// step with its file when it drops one.
#include "api/engine.h"
#include "api/run_folder.h"
#include "core/engine/engine_test_support.h"
#include "engine/task_data.h"
#include "test_support.h"

#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

// root/<domain>/<class>/<i>.png, 32×32, one colour per class and domain.
std::string image(
    const fs::path& root, const std::string& domain, const std::string& cls, int i, int label) {
    const std::string rel = domain + "/" + cls + "/" + std::to_string(i) + ".png";
    fs::create_directories((root / rel).parent_path());
    const cv::Mat pixels(32, 32, CV_8UC3,
                         cv::Scalar(60 * label, domain == "real" ? 200 : 40, 15 * i));
    EXPECT_TRUE(cv::imwrite((root / rel).string(), pixels));
    return rel + " " + std::to_string(label) + "\n";
}

// Classes 0 apple, 1 bee, 2 cat in both domains; 3 dog in the test lists only. clipart's
// training list has a malformed line (3) and a JPEG cut short (its header reads).
fs::path writeLists(const std::string& tag) {
    const auto root = test::tempDir(tag) / "lists";
    const std::vector<std::string> classes{"apple", "bee", "cat", "dog"};
    for (const std::string domain : {"clipart", "real"}) {
        std::string train;
        std::string testList;
        for (int c = 0; c < 4; ++c) {
            for (int i = 0; i < 4 && c < 3; ++i) {
                train += image(root, domain, classes[c], i, c);
            }
            testList += image(root, domain, classes[c], 10, c);
            testList += image(root, domain, classes[c], 11, c);
        }
        if (domain == "clipart") {
            train.insert(train.find('\n') + 1, "clipart/apple/9.png three\n");
            std::vector<uchar> bytes;
            cv::Mat noise(64, 64, CV_8UC3);
            cv::randu(noise, 0, 255);
            cv::imencode(".jpg", noise, bytes);
            std::ofstream(root / "clipart/bee/cut.jpg", std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes.data()),
                       static_cast<std::streamsize>(bytes.size() / 3));
            train += "clipart/bee/cut.jpg 1\r\n";
        }
        std::ofstream(root / (domain + "_train.txt"), std::ios::binary) << train;
        std::ofstream(root / (domain + "_test.txt"), std::ios::binary) << testList;
    }
    return root;
}

Experiment fileListExperiment(const fs::path& root) {
    Experiment e;
    e.backbone.path = (test::fixturesDir() / "vit_reference" / "tiny.safetensors").string();
    e.threads = 1;
    e.device = "cpu";
    e.data.kind = DataKind::FileList;
    e.data.root = root.string();
    e.data.trainPerClass = 0;
    e.data.valPerClass = 0;
    e.sequence.tasks = 2;
    e.sequence.classesPerTask = 2;
    e.method.rank = 4;
    e.method.residualRank = 4;
    e.train.epochs = 1;
    e.train.batchSize = 8;
    e.memory.sample = 0;
    return e;
}

TEST(FileListRun, DropsTheCutJpegKeepingDomainsInStep) {
    const auto root = writeLists("file-list-prepare");
    BackboneArch arch;
    arch.imgSize = 32;
    arch.patchSize = 8;
    arch.inChans = 3;
    const TaskData data = prepareTaskData(fileListExperiment(root), arch);
    EXPECT_EQ(data.classNames, (std::vector<std::string>{"apple", "bee", "cat", "dog"}));
    EXPECT_EQ(data.data.train.size(), 24);  // 2 domains × 3 classes × 4; the cut JPEG dropped
    ASSERT_EQ(data.data.train.domain.size(), data.data.train.files.size());
    for (std::size_t i = 0; i < data.data.train.files.size(); ++i) {
        const std::string file = data.data.train.files[i].string();
        const auto domain =
            data.data.train.domainNames.at(static_cast<std::size_t>(data.data.train.domain[i]));
        EXPECT_NE(file.find("/" + domain + "/"), std::string::npos) << file;
    }
    ASSERT_EQ(data.skipped.size(), 2U);  // the malformed line, then the JPEG found at decoding
    EXPECT_EQ(data.skipped[0].file, (root / "clipart_train.txt").string());
    EXPECT_EQ(data.skipped[0].reason.rfind("line 2: label \"three\"", 0), 0U)
        << data.skipped[0].reason;
    EXPECT_EQ(data.skipped[1].file, (root / "clipart/bee/cut.jpg").string());
    ASSERT_EQ(data.warnings.size(), 1U);
    EXPECT_NE(data.warnings[0].find("task 2: class 3 (dog) has no training image"),
              std::string::npos)
        << data.warnings[0];
    EXPECT_NE(data.warnings[0].find("its 4 test images"), std::string::npos) << data.warnings[0];
    EXPECT_EQ(data.tasks.at(1).test.size(), 8U);  // cat and dog, 2 domains × 2 each
}

TEST(FileListRun, TwoTasksOnTwoDomainsFinish) {
    const auto root = writeLists("file-list-run");
    const auto dir = test::tempDir("file-list-run") / "run";
    RunControl control;
    std::vector<Event> events;
    const RunSummary summary = test::run(fileListExperiment(root), dir, control, false, &events);
    ASSERT_EQ(summary.accuracyMatrix.size(), 2U);
    EXPECT_EQ(summary.skippedFiles, 2);
    bool warned = false;
    for (const auto& ev : readRunEvents(dir)) {  // as written to events.jsonl
        if (const auto* w = std::get_if<Warning>(&ev)) {
            warned = warned || w->message.find("class 3 (dog)") != std::string::npos;
        }
    }
    EXPECT_TRUE(warned);
    const auto& started = std::get<RunStarted>(events.front());
    EXPECT_EQ(started.taskClasses.at(1), (std::vector<std::string>{"cat", "dog"}));
    EXPECT_TRUE(std::get<RunFinished>(events.back()).completed);

    // #17: the split manifest names each image by its path under data.root, leaves the cut
    // JPEG out of the training images and says why.
    const auto split = readRunSplit(dir);
    ASSERT_TRUE(split.has_value());
    EXPECT_TRUE(split->paths);
    EXPECT_EQ(split->kind, "file-list");
    ASSERT_EQ(split->tasks.size(), 2U);
    EXPECT_EQ(split->tasks[1].classNames, (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ(split->tasks[1].labels, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(split->tasks[0].train.size() + split->tasks[1].train.size(), 24U);
    EXPECT_EQ(split->tasks[1].test.size(), 8U);
    for (const auto& task : split->tasks) {
        for (const auto& file : task.train) {
            EXPECT_TRUE(fs::exists(root / file)) << file;  // relative to data.root
            EXPECT_NE(file, "clipart/bee/cut.jpg");
        }
    }
    ASSERT_EQ(split->skipped.size(), 2U);
    EXPECT_EQ(split->skipped[1].file, (root / "clipart/bee/cut.jpg").string());
}

// A class without a training image has no statistics for the task predictor, no ridge column
// fitted, no head output trained: every method still completes (#16).
TEST(FileListRun, EveryMethodFinishesWithAClassLearntFromNothing) {
    const auto root = writeLists("file-list-methods");
    for (const auto method : {MethodKind::InfLora, MethodKind::SeqLora, MethodKind::Joint,
                              MethodKind::SdLora, MethodKind::RanPac}) {
        Experiment e = fileListExperiment(root);
        e.method.name = method;
        const auto dir = test::tempDir("file-list-methods") / toString(method);
        RunControl control;
        std::vector<Event> events;
        test::run(e, dir, control, false, &events);
        ASSERT_TRUE(std::holds_alternative<RunFinished>(events.back())) << toString(method);
        EXPECT_TRUE(std::get<RunFinished>(events.back()).completed) << toString(method);
    }
}

}  // namespace
}  // namespace dlw
