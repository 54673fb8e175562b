// Every preset runs: a couple of training steps of `cifar100-10`, `imagenet-r-10` and
// `domainnet` on small data written here in the real formats (CIFAR-100 binary, an
// ImageNet-R-style image folder, DomainNet's image lists), with the small random 32×32 RGB
// fixture backbone in place of ViT-B/16.
#include "api/engine.h"
#include "api/experiment.h"
#include "core/engine/engine_test_support.h"
#include "test_support.h"

#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace dlw {
namespace {

namespace fs = std::filesystem;

// A CIFAR-100 binary record: coarse label, fine label, 32×32 R, G, B planes.
std::string cifarRecord(int fine, int seed) {
    std::string bytes = {static_cast<char>(fine / 5), static_cast<char>(fine)};
    for (int p = 0; p < 3 * 32 * 32; ++p) {
        bytes.push_back(static_cast<char>((p * (fine + 1) + seed * 31) % 256));
    }
    return bytes;
}

// Runs `e` until `steps` training steps are done, then stops; returns the events' step count.
int runSteps(Experiment e, const fs::path& dir, int steps) {
    e.backbone.path = (test::fixturesDir() / "vit_reference" / "tiny.safetensors").string();
    e.threads = 1;
    e.device = "cpu";
    RunControl control;
    int seen = 0;
    bool stopped = false;
    test::runWith(e, dir, control, false, [&](const Event& ev) {
        if (std::holds_alternative<StepFinished>(ev) && ++seen == steps) {
            control.stop = true;
        }
        if (const auto* f = std::get_if<RunFinished>(&ev)) {
            stopped = f->stopped;
        }
    });
    EXPECT_TRUE(stopped);
    EXPECT_TRUE(fs::exists(dir / "checkpoints" / "latest.json"));  // resumable where it stopped
    return seen;
}

TEST(Presets, Cifar100RunsOnCifarBinaryFiles) {
    const auto root = test::tempDir("presets") / "cifar-100-binary";
    fs::create_directories(root);
    std::ofstream train(root / "train.bin", std::ios::binary);
    std::ofstream testFile(root / "test.bin", std::ios::binary);
    for (int c = 0; c < 100; ++c) {
        for (int i = 0; i < 3; ++i) {
            train << cifarRecord(c, i);
        }
        testFile << cifarRecord(c, 9);
    }
    train.close();
    testFile.close();
    Experiment e = preset("cifar100-10");
    e.data.root = root.string();
    e.data.valPerClass = 1;
    e.train.batchSize = 8;
    EXPECT_EQ(runSteps(e, test::tempDir("presets") / "cifar-run", 3), 3);
}

TEST(Presets, ImagenetRRunsOnAnImageFolder) {
    const auto root = test::tempDir("presets") / "imagenet-r";
    for (int c = 0; c < 200; ++c) {
        const auto folder = root / fmt::format("n{:08d}", c);
        fs::create_directories(folder);
        for (int i = 0; i < 5; ++i) {
            cv::Mat image(12 + i, 10, CV_8UC3, cv::Scalar(c % 256, (c * 7 + i) % 256, 40 * i));
            ASSERT_TRUE(cv::imwrite((folder / fmt::format("art_{}.jpg", i)).string(), image));
        }
    }
    Experiment e = preset("imagenet-r-10");
    e.data.root = root.string();
    e.data.valPerClass = 1;
    e.train.batchSize = 16;
    EXPECT_EQ(runSteps(e, test::tempDir("presets") / "imagenet-r-run", 3), 3);
}

// #16: DomainNet's layout, six domains of 345 classes, one training and one test image each.
TEST(Presets, DomainnetRunsOnDomainNetStyleLists) {
    const auto root = test::tempDir("presets") / "domainnet";
    for (const std::string domain :
         {"clipart", "infograph", "painting", "quickdraw", "real", "sketch"}) {
        std::ofstream train(root / (domain + "_train.txt"));
        std::ofstream testList(root / (domain + "_test.txt"));
        for (int c = 0; c < 345; ++c) {
            const auto folder = fmt::format("{}/class_{:03d}", domain, c);
            fs::create_directories(root / folder);
            for (const std::string part : {"train", "test"}) {
                const auto file = fmt::format("{}/{}_{}.jpg", folder, domain, part);
                const cv::Mat image(
                    10, 12, CV_8UC3,
                    cv::Scalar(c % 256, 20.0 * static_cast<double>(domain.size()), 9));
                ASSERT_TRUE(cv::imwrite((root / file).string(), image));
                (part == "train" ? train : testList) << file << ' ' << c << "\r\n";
            }
        }
    }
    Experiment e = preset("domainnet");
    e.data.root = root.string();
    e.train.batchSize = 32;
    EXPECT_EQ(runSteps(e, test::tempDir("presets") / "domainnet-run", 3), 3);
}

}  // namespace
}  // namespace dlw
