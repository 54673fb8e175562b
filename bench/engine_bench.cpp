// The engine's costs on the default preset (issue 4): training images/s per method (training
// steps only: forward, backward, projection, optimizer), prediction latency of `duallora` vs
// `seq-lora` for one image and for 64 (the cost of task identity and gating, files decoded as the
// drop zone does, the methods interleaved), and the process's peak resident memory after each
// run. Prints two tables.
#include "api/backbone_info.h"
#include "api/engine.h"
#include "api/experiment.h"
#include "api/predictor.h"
#include "api/runtime.h"
#include "bench_support.h"
#include "data/dataset.h"
#include "model/backbone.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <numeric>

#include <opencv2/imgcodecs.hpp>

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
}

// The first `n` Fashion-MNIST test images as PNG files in `dir`.
std::vector<std::filesystem::path> testImages(const std::filesystem::path& dir, int n) {
    const auto data = dlw::readFashionMnist(dlw::defaultDataRoot(dlw::DataKind::FashionMnist));
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> files;
    for (int i = 0; i < n; ++i) {
        const auto image = data.test.pixels[i].contiguous();
        const cv::Mat mat(static_cast<int>(image.size(0)), static_cast<int>(image.size(1)), CV_8UC1,
                          image.data_ptr<uint8_t>());
        files.push_back(dir / fmt::format("{:03d}.png", i));
        cv::imwrite(files.back().string(), mat);
    }
    return files;
}

// Milliseconds of predictFiles over `files` for each predictor, taken in interleaved rounds (one
// call each per round, after one warm-up) so that the machine's drift hits every method alike.
std::vector<std::vector<double>> predictMillis(std::vector<dlw::Predictor>& predictors,
                                               const std::vector<std::filesystem::path>& files,
                                               int rounds) {
    std::vector<std::vector<double>> ms(predictors.size());
    for (auto& p : predictors) {
        p.predictFiles(files);
    }
    for (int r = 0; r < rounds; ++r) {
        for (std::size_t i = 0; i < predictors.size(); ++i) {
            const auto t0 = Clock::now();
            predictors[i].predictFiles(files);
            ms[i].push_back(1000 * seconds(t0));
        }
    }
    return ms;
}

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

// Per-round ratios a[r] / b[r]: median and interquartile range.
std::string pairedRatio(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> r;
    for (std::size_t i = 0; i < a.size(); ++i) {
        r.push_back(a[i] / b[i]);
    }
    return fmt::format("{:.3f} (IQR {:.3f}-{:.3f})", quantile(r, 0.5), quantile(r, 0.25),
                       quantile(r, 0.75));
}

// The training loader alone (its own thread in a run): Fashion-MNIST, batch 64, the bundled
// backbone's input transform with augmentation, images/s over `count` images.
double loaderRate(int64_t count) {
    const auto data = dlw::readFashionMnist(dlw::defaultDataRoot(dlw::DataKind::FashionMnist));
    dlw::BackboneInfo info;
    dlw::loadBackbone(dlw::bundledBackbonePath(), &info);
    dlw::ImageTransform transform = dlw::transformFor(info.arch);
    transform.flip = true;
    std::vector<int64_t> order(static_cast<std::size_t>(std::min(count, data.train.size())));
    std::iota(order.begin(), order.end(), 0);
    return dlw::bench::loaderImagesPerSecond(data.train, std::move(order), transform,
                                             /*augment=*/true);
}

// Memory passes (covariance, eigendecomposition, class statistics) over training steps, per
// task, from the run's TaskFinished events: the largest share, percent.
struct MemoryShare {
    double worst = 0;
    void operator()(const dlw::Event& event) {
        if (const auto* f = std::get_if<dlw::TaskFinished>(&event)) {
            worst = std::max(worst, 100.0 * f->memorySeconds / std::max(f->trainSeconds, 1e-9));
        }
    }
};

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"Engine throughput, prediction latency and peak memory on the default preset"};
    int threads = 0;
    int epochs = 1;
    int rounds = 200;
    std::string out = (std::filesystem::temp_directory_path() / "dlw-bench-engine").string();
    std::vector<std::string> methods = {"duallora", "seq-lora", "inflora",
                                        "joint",    "sd-lora",  "ranpac"};
    app.add_option("--threads", threads, "LibTorch threads (0 = all cores)")
        ->check(CLI::Range(0, 4096));
    app.add_option("--epochs", epochs, "Epochs per task (images/s does not depend on it)")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    app.add_option("--methods", methods, "Methods to time, in order")
        ->expected(1, -1)
        ->capture_default_str();
    app.add_option("--out", out, "Folder for the runs (replaced)")->capture_default_str();
    app.add_option("--rounds", rounds, "Interleaved prediction rounds of one image (64: a tenth)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    threads = dlw::applyThreads(threads);
    std::filesystem::remove_all(out);
    fmt::print("{}\n", dlw::runtimeDescription());
    fmt::print(
        "default preset, {} epoch(s) per task; peak RSS is the process's, after each run\n\n",
        epochs);
    fmt::print("training loader alone (batch 64, augmentation, 1 thread): {:.0f} images/s\n\n",
               loaderRate(12800));
    fmt::print("{:<10} {:>12} {:>12} {:>12} {:>12}\n", "method", "train img/s", "run seconds",
               "peak MiB", "memory pass");
    std::vector<std::string> runDirs;
    for (const auto& m : methods) {
        dlw::Experiment e = dlw::preset("default");
        dlw::applyOverride(e, "method.name=\"" + m + "\"");
        e.train.epochs = epochs;
        e.threads = threads;
        dlw::RunRequest request;
        request.experiment = e;
        request.runDir = (std::filesystem::path(out) / m).string();
        dlw::RunControl control;
        const auto t0 = Clock::now();
        MemoryShare share;
        const auto summary =
            dlw::runExperiment(request, control, [&](const dlw::Event& ev) { share(ev); });
        fmt::print("{:<10} {:>12.0f} {:>12.1f} {:>12.0f} {:>11.1f}%\n", m, summary.imagesPerSecond,
                   seconds(t0), dlw::bench::peakResidentMiB(), share.worst);
        std::fflush(stdout);
        runDirs.push_back(request.runDir);
    }

    const auto images = testImages(std::filesystem::path(out) / "images", 64);
    const std::vector<std::filesystem::path> one(images.begin(), images.begin() + 1);
    std::vector<dlw::Predictor> predictors;
    for (const auto& dir : runDirs) {
        predictors.emplace_back(dir);
    }
    const auto ms1 = predictMillis(predictors, one, rounds);
    const auto ms64 = predictMillis(predictors, images, std::max(rounds / 10, 5));
    fmt::print(
        "\npredictFiles, PNG decoding included, methods interleaved ({} rounds of 1 image, "
        "{} of 64)\n",
        ms1.front().size(), ms64.front().size());
    fmt::print("{:<10} {:>12} {:>12} {:>13} {:>13}\n", "method", "1 p50 ms", "1 p99 ms",
               "64 p50 ms", "64 p99 ms");
    for (std::size_t i = 0; i < methods.size(); ++i) {
        fmt::print("{:<10} {:>12.3f} {:>12.3f} {:>13.2f} {:>13.2f}\n", methods[i],
                   quantile(ms1[i], 0.5), quantile(ms1[i], 0.99), quantile(ms64[i], 0.5),
                   quantile(ms64[i], 0.99));
    }
    const auto at = [&](const std::string& m) {
        return static_cast<std::size_t>(std::find(methods.begin(), methods.end(), m) -
                                        methods.begin());
    };
    if (at("duallora") < methods.size() && at("seq-lora") < methods.size()) {
        fmt::print("duallora / seq-lora, per-round ratio: 1 image {}, 64 images {}\n",
                   pairedRatio(ms1[at("duallora")], ms1[at("seq-lora")]),
                   pairedRatio(ms64[at("duallora")], ms64[at("seq-lora")]));
    }
    return 0;
} catch (...) {
    return dlw::bench::reportException("dlw_bench_engine");
}
