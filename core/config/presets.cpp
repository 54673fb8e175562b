// Presets: `default` (DESIGN §4, sized for 2 CPU cores) and the literature's ViT-B/16 settings
// (DESIGN §3.3), which point at files the user gives.
#include "api/error.h"
#include "api/experiment.h"
#include "config/experiment_keys.h"

#include <fmt/format.h>
#include <functional>

namespace dlw {
namespace {

// Where `huggingface-cli download timm/vit_base_patch16_224.augreg_in21k --local-dir
// vit_base_patch16_224.augreg_in21k` puts the literature's backbone, relative to the working
// folder; a run without it stops with the loader's error naming this file.
constexpr const char* kVitB16Path = "vit_base_patch16_224.augreg_in21k/model.safetensors";

// What cifar100-10 and imagenet-r-10 share: ViT-B/16 IN-21k, batch 128, Adam 5e-4, rank 10,
// pixels in [0, 1], flip and random resized crop, all training images, the whole task in the
// covariance passes, threshold rising to 1.0, classes in a seeded shuffle.
Experiment literature() {
    Experiment e;
    e.backbone.path = kVitB16Path;
    e.data.root = "";  // no Debian package holds these: data.root must be given
    e.data.trainPerClass = 0;
    e.data.valPerClass = 0;
    e.data.flip = true;
    e.data.randomResizedCrop = true;
    e.data.normalize = PixelNormalization::None;
    e.sequence.tasks = 10;
    e.sequence.classOrder = ClassOrder::Shuffle;
    e.method.rank = 10;
    e.method.residualRank = 10;
    e.memory.epsEnd = 1.0;
    e.memory.sample = 0;
    e.train.batchSize = 128;
    return e;
}

Experiment cifar100() {
    Experiment e = literature();
    e.name = "cifar100-10";
    e.data.kind = DataKind::Cifar100;
    e.sequence.classesPerTask = 10;
    e.memory.epsBegin = 0.95;
    e.train.epochs = 20;
    return e;
}

Experiment imagenetR() {
    Experiment e = literature();
    e.name = "imagenet-r-10";
    e.data.kind = DataKind::ImageFolder;
    e.data.testFraction = 0.2;
    e.sequence.classesPerTask = 20;
    e.memory.epsBegin = 0.98;
    e.train.epochs = 50;
    return e;
}

struct Preset {
    const char* name;
    const char* description;
    std::function<Experiment()> make;
};

const std::vector<Preset>& presets() {
    static const std::vector<Preset> list{
        {"default",
         "Fashion-MNIST 5 x 2 on the bundled backbone (DESIGN §4): a few minutes per method on "
         "2 CPU cores.",
         [] { return Experiment{}; }},
        {"cifar100-10",
         "CIFAR-100 (binary version) in 10 tasks x 10 classes with the literature's ViT-B/16 "
         "settings. Give data.root (the folder of train.bin and test.bin); backbone.path is "
         "relative to the working folder.",
         cifar100},
        {"imagenet-r-10",
         "ImageNet-R (200 class folders, seeded 80/20 split) in 10 tasks x 20 classes with the "
         "literature's ViT-B/16 settings. Give data.root; backbone.path as for cifar100-10.",
         imagenetR},
    };
    return list;
}

}  // namespace

std::vector<std::string> presetNames() {
    std::vector<std::string> names;
    for (const auto& p : presets()) {
        names.emplace_back(p.name);
    }
    return names;
}

Experiment preset(const std::string& name) {
    for (const auto& p : presets()) {
        if (name == p.name) {
            return p.make();
        }
    }
    std::string list;
    for (const auto& p : presets()) {
        list += fmt::format("{}{}", list.empty() ? "" : ", ", p.name);
    }
    throw Error(fmt::format("unknown preset '{}'; the presets are {}", name, list));
}

namespace detail {

std::string presetDescription(const std::string& name) {
    for (const auto& p : presets()) {
        if (name == p.name) {
            return p.description;
        }
    }
    return {};
}

}  // namespace detail
}  // namespace dlw
