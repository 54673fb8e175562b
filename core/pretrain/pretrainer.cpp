#include "api/dataset_scan.h"
#include "api/error.h"
#include "api/pretrain.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "model/backbone.h"
#include "pretrain/fractal_images.h"
#include "pretrain/procedural_images.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>

namespace dlw {
namespace {

using torch::Tensor;

struct LabelledSet {
    Tensor images;  // float [N, 1, S, S] in [0, 1]
    Tensor labels;  // int64 [N]
};

LabelledSet toTensors(const ImageDataset& data, int size) {
    ImageTransform t;
    t.size = size;
    t.channels = 1;
    std::vector<Tensor> images;
    images.reserve(static_cast<std::size_t>(data.size()));
    for (int64_t i = 0; i < data.size(); ++i) {
        images.push_back(loadImage(data, i, t, /*augment=*/false, /*augmentSeed=*/0));
    }
    return {torch::stack(images), torch::tensor(data.labels, torch::kInt64)};
}

// Random affine jitter (rotation, scale 0.85-1.15, shift ±10 %) and brightness, per image.
Tensor augment(const Tensor& images, torch::Generator& gen, const PretrainConfig& c) {
    const int64_t n = images.size(0);
    auto angle = (torch::rand({n}, gen) - 0.5) * (2 * c.rotationDegrees * M_PI / 180);
    auto scale = torch::rand({n}, gen) * 0.3 + 0.85;
    auto shift = (torch::rand({n, 2}, gen) - 0.5) * 0.2;
    auto cosA = torch::cos(angle) / scale;
    auto sinA = torch::sin(angle) / scale;
    auto theta = torch::stack({torch::stack({cosA, -sinA, shift.select(1, 0)}, 1),
                               torch::stack({sinA, cosA, shift.select(1, 1)}, 1)},
                              1);  // [N, 2, 3]
    namespace F = torch::nn::functional;
    auto grid = F::affine_grid(theta, images.sizes().vec(), /*align_corners=*/false);
    auto out = F::grid_sample(
        images, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).align_corners(false));
    auto gain = (torch::rand({n, 1, 1, 1}, gen) * 2 - 1) * c.brightnessJitter + 1;
    return (out * gain).clamp(0.0, 1.0);
}

double accuracy(VisionTransformer& model, const LabelledSet& set, const Tensor& mask) {
    torch::NoGradGuard noGrad;
    model->eval();
    int64_t correct = 0;
    int64_t total = 0;
    for (int64_t i = 0; i < set.images.size(0); i += 512) {
        const int64_t end = std::min(i + 512, set.images.size(0));
        auto logits = model->forwardHead(model->forwardFeatures(set.images.slice(0, i, end)));
        auto hit = logits.argmax(1).eq(set.labels.slice(0, i, end));
        if (mask.defined()) {
            auto m = mask.slice(0, i, end);
            correct += hit.logical_and(m).sum().item<int64_t>();
            total += m.sum().item<int64_t>();
        } else {
            correct += hit.sum().item<int64_t>();
            total += end - i;
        }
    }
    model->train();
    return total == 0 ? 0.0 : 100.0 * static_cast<double>(correct) / static_cast<double>(total);
}

// Digits (labels 0-9) plus procedural classes (labels 10+), split into train and held-out.
std::pair<LabelledSet, LabelledSet> buildData(const PretrainConfig& c) {
    const auto digitsPath =
        c.digits.empty() ? defaultDataRoot(DataKind::Digits).string() : c.digits;
    const TrainTestData digits = readDigitsSheet(digitsPath, c.heldoutFraction, c.seed);
    LabelledSet train = toTensors(digits.train, c.imgSize);
    LabelledSet heldout = toTensors(digits.test, c.imgSize);
    if (c.proceduralPerClass > 0) {
        const int heldPer = static_cast<int>(std::lround(c.proceduralPerClass * c.heldoutFraction));
        auto [pTrain, pTrainLabels] = drawProceduralImages(c.proceduralPerClass, c.imgSize, c.seed);
        auto [pHeld, pHeldLabels] =
            drawProceduralImages(std::max(heldPer, 1), c.imgSize, c.seed + 1);
        train.images = torch::cat({train.images, pTrain});
        train.labels = torch::cat({train.labels, pTrainLabels + 10});
        heldout.images = torch::cat({heldout.images, pHeld});
        heldout.labels = torch::cat({heldout.labels, pHeldLabels + 10});
    }
    if (c.fractalClasses > 0) {
        const int heldPer =
            std::max(1, static_cast<int>(std::lround(c.fractalPerClass * c.heldoutFraction)));
        FractalOptions o;
        o.classes = c.fractalClasses;
        o.perClass = c.fractalPerClass + heldPer;
        o.size = c.imgSize;
        o.seed = c.seed;
        o.varyStyle = c.fractalStyles;
        auto [images, labels] = drawFractalImages(o);
        const int64_t offset = train.labels.max().item<int64_t>() + 1;
        auto perClass = images.view({o.classes, o.perClass, 1, c.imgSize, c.imgSize});
        auto classLabels = (labels + offset).view({o.classes, o.perClass});
        const int64_t fp = c.fractalPerClass;
        train.images = torch::cat({train.images, perClass.slice(1, 0, fp).flatten(0, 1)});
        train.labels = torch::cat({train.labels, classLabels.slice(1, 0, fp).flatten()});
        heldout.images = torch::cat({heldout.images, perClass.slice(1, fp).flatten(0, 1)});
        heldout.labels = torch::cat({heldout.labels, classLabels.slice(1, fp).flatten()});
    }
    return {train, heldout};
}

std::string describeData(const PretrainConfig& c) {
    std::string text = "opencv digits.png (10 classes)";
    if (c.proceduralPerClass > 0) {
        text += fmt::format(" + procedural shapes/textures ({} classes × {})",
                            proceduralClassNames().size(), c.proceduralPerClass);
    }
    if (c.fractalClasses > 0) {
        text +=
            fmt::format(" + fractals ({} IFS classes × {}{})", c.fractalClasses, c.fractalPerClass,
                        c.fractalStyles ? ", varied ink and stroke width" : "");
    }
    return text;
}

}  // namespace

PretrainReport pretrainBackbone(const PretrainConfig& c,
                                const std::function<bool(const PretrainProgress&)>& onEpoch) {
    if (c.epochs <= 0 || c.batchSize <= 0 || c.width % c.heads != 0) {
        throw Error(
            fmt::format("pretrain: epochs and batch size must be positive and width {} "
                        "divisible by heads {}",
                        c.width, c.heads));
    }
    torch::manual_seed(c.seed);
    auto [train, heldout] = buildData(c);
    const int classes = static_cast<int>(train.labels.max().item<int64_t>()) + 1;

    BackboneArch arch;
    arch.imgSize = c.imgSize;
    arch.patchSize = c.patchSize;
    arch.inChans = 1;
    arch.width = c.width;
    arch.depth = c.depth;
    arch.heads = c.heads;
    arch.mlpHidden = c.width * c.mlpRatio;
    arch.numClasses = classes;
    VisionTransformer model(arch);
    {
        torch::NoGradGuard noGrad;  // timm's initialisation of the token parameters
        model->cls_token.normal_(0.0, 1e-6);
        model->pos_embed.normal_(0.0, 0.02);
    }
    model->train();
    torch::optim::AdamW optimizer(model->parameters(),
                                  torch::optim::AdamWOptions(c.lr).weight_decay(c.weightDecay));
    auto gen = at::detail::createCPUGenerator(c.seed);
    const int64_t n = train.images.size(0);
    const int64_t stepsPerEpoch = (n + c.batchSize - 1) / c.batchSize;
    const int64_t totalSteps = stepsPerEpoch * c.epochs;
    const int64_t warmup = std::min<int64_t>(stepsPerEpoch * 2, totalSteps / 10 + 1);
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    int64_t step = 0;
    for (int epoch = 1; epoch <= c.epochs; ++epoch) {
        auto order = torch::randperm(n, gen);
        double lossSum = 0;
        const double epochStart = elapsed();
        for (int64_t s = 0; s < stepsPerEpoch; ++s, ++step) {
            const double lr =
                step < warmup
                    ? c.lr * (step + 1) / warmup
                    : c.lr * 0.5 * (1 + std::cos(M_PI * (step - warmup) / (totalSteps - warmup)));
            for (auto& group : optimizer.param_groups()) {
                static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
            }
            auto idx = order.slice(0, s * c.batchSize, std::min(n, (s + 1) * c.batchSize));
            auto x = augment(train.images.index_select(0, idx), gen, c);
            auto logits = model->forwardHead(model->forwardFeatures(x));
            auto loss = torch::nn::functional::cross_entropy(
                logits, train.labels.index_select(0, idx),
                torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(c.labelSmoothing));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            lossSum += loss.item<double>();
        }
        PretrainProgress p{epoch,
                           c.epochs,
                           lossSum / static_cast<double>(stepsPerEpoch),
                           accuracy(model, heldout, {}),
                           elapsed(),
                           static_cast<double>(n) / (elapsed() - epochStart)};
        if (onEpoch && !onEpoch(p)) {
            throw Error(fmt::format("pretrain stopped after epoch {}; nothing written", epoch));
        }
    }
    PretrainReport report;
    report.output = c.output;
    report.heldoutAccuracy = accuracy(model, heldout, {});
    report.digitsHeldoutAccuracy = accuracy(model, heldout, heldout.labels.lt(10));
    report.seconds = elapsed();
    report.trainImages = n;
    for (const auto& p : model->parameters()) {
        report.parameters += p.numel();
    }
    model->eval();
    saveBackbone(c.output, model,
                 {{"pretrained_on", describeData(c)},
                  {"epochs", std::to_string(c.epochs)},
                  {"seed", std::to_string(c.seed)},
                  {"heldout_accuracy", fmt::format("{:.2f}", report.heldoutAccuracy)},
                  {"digits_heldout_accuracy", fmt::format("{:.2f}", report.digitsHeldoutAccuracy)},
                  {"train_images", std::to_string(n)},
                  {"recipe", fmt::format("AdamW lr {} wd {} batch {} label smoothing {}, affine "
                                         "jitter; made by `dlw pretrain`",
                                         c.lr, c.weightDecay, c.batchSize, c.labelSmoothing)}});
    return report;
}

}  // namespace dlw
