// Backbone forward images/s (batch 1 and 64) for the bundled backbone and a ViT-B/16-shaped
// model with random weights, and loader images/s on Fashion-MNIST. Prints a table.
#include "api/dataset_scan.h"
#include "api/runtime.h"
#include "bench_support.h"
#include "data/dataset.h"
#include "model/backbone.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <fmt/format.h>

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
}

// Median images/s of `repeats` timed forward passes after one warm-up.
double forwardRate(dlw::VisionTransformer& model, int batch, int repeats) {
    const auto& a = model->arch();
    torch::NoGradGuard noGrad;
    auto x = torch::rand({batch, a.inChans, a.imgSize, a.imgSize});
    model->forwardFeatures(x);
    std::vector<double> rates;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = Clock::now();
        model->forwardFeatures(x);
        rates.push_back(batch / seconds(t0));
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"Backbone forward and loader throughput"};
    std::string bundled =
        std::string(DLW_SOURCE_DIR) + "/resources/backbones/dlw-vit-tiny.safetensors";
    int threads = 0;
    bool skipLarge = false;
    app.add_option("--backbone", bundled, "Small backbone to time")->capture_default_str();
    app.add_option("--threads", threads, "LibTorch threads (0 = all cores)")
        ->check(CLI::Range(0, 4096));
    app.add_flag("--skip-vitb16", skipLarge, "Do not time the ViT-B/16-shaped model");
    CLI11_PARSE(app, argc, argv);
    threads = dlw::applyThreads(threads);
    fmt::print("{}\n\n", dlw::runtimeDescription());
    fmt::print("{:<34} {:>8} {:>14}\n", "model", "batch", "images/s");

    dlw::VisionTransformer small = dlw::loadBackbone(bundled);
    for (int batch : {1, 64}) {
        fmt::print("{:<34} {:>8} {:>14.1f}\n",
                   "bundled " + std::to_string(small->arch().width) + "w/" +
                       std::to_string(small->arch().depth) + "b",
                   batch, forwardRate(small, batch, batch == 1 ? 50 : 10));
    }
    if (!skipLarge) {
        dlw::BackboneArch b16;  // defaults are ViT-B/16 at 224²
        dlw::VisionTransformer large(b16);
        large->eval();
        for (int batch : {1, 64}) {
            fmt::print("{:<34} {:>8} {:>14.2f}\n", "ViT-B/16 shape (random)", batch,
                       forwardRate(large, batch, batch == 1 ? 10 : 3));
        }
    }

    const auto root = dlw::defaultDataRoot(dlw::DataKind::FashionMnist);
    auto t0 = Clock::now();
    const dlw::TrainTestData data = dlw::readFashionMnist(root);
    fmt::print("\nFashion-MNIST read (train + test, {} + {} images): {:.2f} s\n", data.train.size(),
               data.test.size(), seconds(t0));
    dlw::ImageTransform transform = dlw::transformFor(small->arch());
    std::vector<int64_t> order(static_cast<std::size_t>(data.train.size()));
    std::iota(order.begin(), order.end(), 0);
    for (bool augment : {false, true}) {
        transform.flip = augment;
        fmt::print("loader, batch 64, {}x{}x{}{}: {:.0f} images/s\n", transform.channels,
                   transform.size, transform.size, augment ? ", flip" : "",
                   dlw::bench::loaderImagesPerSecond(data.train, order, transform, augment));
    }
    return 0;
} catch (...) {
    return dlw::bench::reportException("dlw_bench_backbone");
}
