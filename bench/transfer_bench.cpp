// Does pre-training pay off? On the default sequence's data (Fashion-MNIST, 1,000 training
// images per class, the full test set) trains LoRA (rank 8 on k and v of every block) plus a
// linear head jointly on all ten classes, on the bundled backbone and on a backbone of the same
// shape with random (timm-style) weights; then linear probes of the frozen class-token features
// (60k train / 10k test). Prints a table.
#include "api/dataset_scan.h"
#include "api/runtime.h"
#include "bench_support.h"
#include "data/batch_loader.h"
#include "data/class_sequence.h"
#include "data/dataset.h"
#include "model/backbone.h"
#include "model/lora.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <functional>

namespace {

using torch::Tensor;
using Clock = std::chrono::steady_clock;

// The random baseline's weights for training seed s come from seed kRandomWeightsSeed + s, so
// they do not depend on what was drawn before (the other backbones' shapes, their heads).
constexpr uint64_t kRandomWeightsSeed = 1000;

struct Set {
    Tensor x;  // [N, C, S, S]
    Tensor y;  // [N]
};

Set prepare(const dlw::ImageDataset& data,
            const std::vector<int64_t>& indices,
            const dlw::ImageTransform& t) {
    std::vector<Tensor> xs;
    std::vector<int64_t> ys;
    for (int64_t i : indices) {
        xs.push_back(dlw::loadImage(data, i, t, false, 0));
        ys.push_back(data.labels[static_cast<std::size_t>(i)]);
    }
    return {torch::stack(xs), torch::tensor(ys, torch::kInt64)};
}

std::vector<int64_t> all(int64_t n) {
    std::vector<int64_t> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

// timm's initialisation of a fresh ViT: trunc-normal(0.02) linears, zero biases.
void randomiseLikeTimm(dlw::VisionTransformer& model) {
    torch::NoGradGuard noGrad;
    for (auto& p : model->named_parameters()) {
        const std::string& name = p.key();
        if (name.find("norm") != std::string::npos) {
            p.value().fill_(name.find("weight") != std::string::npos ? 1.0 : 0.0);
        } else if (name.find("bias") != std::string::npos) {
            p.value().zero_();
        } else {
            p.value().normal_(0.0, 0.02).clamp_(-0.04, 0.04);
        }
        p.value().set_requires_grad(false);
    }
}

double accuracy(const Tensor& logits, const Tensor& y) {
    return 100.0 * logits.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
}

double loraJoint(
    dlw::VisionTransformer& model, const Set& train, const Set& test, int epochs, uint64_t seed) {
    torch::manual_seed(seed);
    const std::vector<dlw::AdaptedMap> maps{dlw::AdaptedMap::K, dlw::AdaptedMap::V};
    dlw::LoraAdapters lora(model->arch(), maps, std::vector<int>{}, 8);
    torch::nn::Linear head(model->arch().width, 10);
    std::vector<Tensor> params = lora->parameters();
    for (const auto& p : head->parameters()) {
        params.push_back(p);
    }
    torch::optim::Adam optimizer(params, torch::optim::AdamOptions(5e-4));
    dlw::ForwardOptions options;
    options.adapters = lora.get();
    auto gen = at::detail::createCPUGenerator(seed);
    const int64_t n = train.x.size(0);
    for (int e = 0; e < epochs; ++e) {
        auto order = torch::randperm(n, gen);
        for (int64_t s = 0; s < n; s += 64) {
            auto idx = order.slice(0, s, std::min(n, s + 64));
            auto logits = head(model->forwardFeatures(train.x.index_select(0, idx), options));
            auto loss = torch::nn::functional::cross_entropy(logits, train.y.index_select(0, idx));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
    }
    torch::NoGradGuard noGrad;
    std::vector<Tensor> logits;
    for (int64_t s = 0; s < test.x.size(0); s += 500) {
        logits.push_back(head(model->forwardFeatures(test.x.slice(0, s, s + 500), options)));
    }
    return accuracy(torch::cat(logits), test.y);
}

Tensor features(dlw::VisionTransformer& model, const Tensor& x) {
    torch::NoGradGuard noGrad;
    std::vector<Tensor> out;
    for (int64_t s = 0; s < x.size(0); s += 500) {
        out.push_back(model->forwardFeatures(x.slice(0, s, s + 500)));
    }
    return torch::cat(out);
}

// Multinomial logistic regression on standardised features (Adam, 30 epochs, batch 256).
double linearProbe(const Tensor& trainF,
                   const Tensor& trainY,
                   const Tensor& testF,
                   const Tensor& testY) {
    auto mean = trainF.mean(0);
    auto std = trainF.std(0) + 1e-6;
    auto xs = (trainF - mean) / std;
    auto xt = (testF - mean) / std;
    torch::manual_seed(0);
    torch::nn::Linear probe(trainF.size(1), 10);
    torch::optim::Adam optimizer(probe->parameters(), torch::optim::AdamOptions(1e-2));
    const int64_t n = xs.size(0);
    for (int e = 0; e < 30; ++e) {
        auto order = torch::randperm(n);
        for (int64_t s = 0; s < n; s += 256) {
            auto idx = order.slice(0, s, std::min(n, s + 256));
            auto loss = torch::nn::functional::cross_entropy(probe(xs.index_select(0, idx)),
                                                             trainY.index_select(0, idx));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
    }
    torch::NoGradGuard noGrad;
    return accuracy(probe(xt), testY);
}

struct Row {
    std::string label;
    std::function<dlw::VisionTransformer(int seed)> model;  // a random backbone differs per seed
};

// Mean ± sample standard deviation of the LoRA accuracy over `seeds` training seeds.
std::string loraSummary(const Row& row, const Set& train, const Set& test, int epochs, int seeds) {
    std::vector<double> acc;
    for (int s = 0; s < seeds; ++s) {
        auto model = row.model(s);
        acc.push_back(loraJoint(model, train, test, epochs, static_cast<uint64_t>(s)));
    }
    double mean = 0;
    for (double a : acc) {
        mean += a / static_cast<double>(seeds);
    }
    double var = 0;
    for (double a : acc) {
        var += (a - mean) * (a - mean) / std::max(1, seeds - 1);
    }
    return seeds == 1 ? fmt::format("{:.2f}%", mean)
                      : fmt::format("{:.2f} ± {:.2f}%", mean, std::sqrt(var));
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"Pre-trained vs random backbone on Fashion-MNIST"};
    std::vector<std::string> backbones{std::string(DLW_SOURCE_DIR) +
                                       "/resources/backbones/dlw-vit-tiny.safetensors"};
    int threads = 0;
    int epochs = 4;
    int perClass = 1000;
    int seeds = 1;
    bool skipProbe = false;
    bool skipRandom = false;
    std::string randomInit = "timm";
    app.add_option("--backbone", backbones, "Pre-trained backbone(s), same shape")
        ->capture_default_str();
    app.add_option("--threads", threads, "LibTorch threads (0 = all cores)")
        ->check(CLI::Range(0, 4096));
    app.add_option("--epochs", epochs, "LoRA training epochs")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    app.add_option("--per-class", perClass, "Training images per class")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--seeds", seeds, "LoRA training seeds per backbone (mean ± SD)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_flag("--skip-probe", skipProbe, "Skip the 60k linear probes");
    app.add_flag("--skip-random", skipRandom, "Skip the random-weights baseline");
    app.add_option("--random-init", randomInit,
                   "Random baseline: timm (trunc-normal 0.02) or torch (LibTorch module defaults)")
        ->check(CLI::IsMember({"timm", "torch"}))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    dlw::applyThreads(threads);
    fmt::print("{}\n", dlw::runtimeDescription());

    std::vector<Row> rows;
    dlw::BackboneInfo info;
    for (const auto& file : backbones) {
        auto model = dlw::loadBackbone(file, &info);
        rows.push_back({std::filesystem::path(file).filename().string(),
                        [model](int /*seed*/) { return model; }});
    }
    if (!skipRandom) {  // weights drawn from their own seed per training seed
        const dlw::BackboneArch arch = info.arch;
        rows.push_back({"same shape, random (" + randomInit + ")", [arch, randomInit](int seed) {
                            torch::manual_seed(kRandomWeightsSeed + static_cast<uint64_t>(seed));
                            dlw::VisionTransformer random(arch);
                            if (randomInit == "timm") {
                                randomiseLikeTimm(random);
                            } else {  // LibTorch's module init; tokens as timm draws them
                                torch::NoGradGuard noGrad;
                                random->cls_token.normal_(0.0, 1e-6);
                                random->pos_embed.normal_(0.0, 0.02);
                                for (auto& p : random->parameters()) {
                                    p.set_requires_grad(false);
                                }
                            }
                            random->eval();
                            return random;
                        }});
    }
    const auto t = dlw::transformFor(info.arch);
    const auto data = dlw::readFashionMnist(dlw::defaultDataRoot(dlw::DataKind::FashionMnist));
    const std::vector<int64_t> classes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const Set train = prepare(data.train,
                              dlw::selectPerClass(data.train.labels, classes, perClass,
                                                  /*skipPerClass=*/200, /*seed=*/0),
                              t);
    const Set test = prepare(data.test, all(data.test.size()), t);
    fmt::print("Fashion-MNIST: {} training images ({} per class), {} test images; {} seed(s)\n\n",
               train.x.size(0), perClass, test.x.size(0), seeds);
    fmt::print("{:<32} {:>22} {:>18}\n", "backbone", "LoRA k,v r8 + head", "linear probe 60k");
    Set full;
    if (!skipProbe) {
        full = prepare(data.train, all(data.train.size()), t);
    }
    for (auto& row : rows) {
        const auto t0 = Clock::now();
        const std::string lora = loraSummary(row, train, test, epochs, seeds);
        std::string probe = "-";
        if (!skipProbe) {
            auto model = row.model(0);
            probe = fmt::format("{:.2f}%", linearProbe(features(model, full.x), full.y,
                                                       features(model, test.x), test.y));
        }
        fmt::print("{:<32} {:>22} {:>18}   ({:.0f} s)\n", row.label, lora, probe,
                   std::chrono::duration<double>(Clock::now() - t0).count());
        std::fflush(stdout);
    }
    return 0;
} catch (...) {
    return dlw::bench::reportException("dlw_bench_transfer");
}
