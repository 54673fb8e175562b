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

// `default` with every map of every block adapted and the task feature from an adapter-free
// pass: the representation can drift, which the subspace memory is there to contain (#16).
Experiment deep() {
    Experiment e;
    e.name = "deep";
    e.method.targets = {"q", "k", "v", "proj", "fc1", "fc2"};
    e.method.blocks = {};  // every block, with the cls_frozen_pass feature
    e.taskId.feature = TaskIdFeature::ClsFrozenPass;
    return e;
}

// `default` with each task's classes in a domain of their own: class-incremental under domain
// shift (#16, docs/results.md). Domain-incremental learning (the same classes in each new
// domain) would need one head shared by every task, which DualLoRA's per-task heads and task
// identity do not have; DomainNet as InfLoRA and SD-LoRA use it is class-incremental too.
Experiment domainShift() {
    Experiment e;
    e.name = "domain-shift";
    e.sequence.domains = {"original", "inverted", "rotated", "blurred-noisy", "edges"};
    return e;
}

// DomainNet as InfLoRA (Liang & Li, CVPR 2024; github.com/liangyanshuo/InfLoRA) and SD-LoRA
// (Wu et al., ICLR 2025; github.com/WuYichen-97/SD-Lora-CL) run it: the six domains merged into
// one class-incremental sequence of 345 classes in 5 tasks of 69, DomainNet's own train/test
// lists. Where each value comes from:
// - classes and tasks: InfLoRA configs/domainnet_inflora.json "init_cls": 69, "increment": 69,
//   "total_sessions": 5; SD-LoRA exps/sdlora_dom.json "init_cls": 69, "increment": 69. Both
//   DataManagers (utils/data_manager.py) make tasks of init_cls, then increment, until the 345
//   classes are used.
// - domains: InfLoRA utils/data.py iDomainNet.domain_names, all six ("clipart", "infograph",
//   "painting", "quickdraw", "real", "sketch"), merged: data.domains [] reads every list. Its
//   image lists (dataloaders/splits/domainnet_*.yaml) are not in the snapshot read; SD-LoRA's
//   snapshot has no DomainNet reader at all (utils/data_manager.py _get_idata raises
//   NotImplementedError for "domainnet"), so neither says more about the split than this.
// - class order: InfLoRA "shuffle": false, so DataManager._setup_data keeps
//   iDomainNet.class_order = np.arange(345), DomainNet's own class indices: "identity" here.
//   SD-LoRA has "shuffle": true, "seed": [1993]: np.random.seed(1993);
//   np.random.permutation(345), a fixed order that our seeded "shuffle" does not reproduce; give
//   it as an explicit sequence.class_order to match (README, "Bring your own data").
// - epochs: InfLoRA "epochs": 5 (SD-LoRA: 10); batch: both "batch_size": 128 (the base).
// - memory thresholds: InfLoRA "lamb": 0.95, "lame": 1.0 (eps_begin, eps_end).
// - augmentation: InfLoRA iDomainNet.train_trsf RandomResizedCrop(224) + RandomHorizontalFlip,
//   common_trsf Normalize(mean 0, std 1) = pixels in [0, 1] (the base).
// - rank: the base's 10 (SD-LoRA models/sdlora.py update_network rank = 10; InfLoRA "rank": 30).
// - not theirs: the optimizer stays the base's Adam 5e-4. InfLoRA trains DomainNet with SGD,
//   momentum 0.9, lr 0.005 (heads 0.01), lr x0.1 after epoch 4 (methods/inflora_domain.py);
//   SD-LoRA with SGD, momentum 0.9 (models/sdlora.py, whatever its "optimizer": "adam" says),
//   lr 0.02, x0.005 after epochs 4, 6, 8 ("lrate", "milestones", "lrate_decay"); our
//   train.optimizer "sgd" has no momentum. Their test transform Resize(256) + CenterCrop(224)
//   is a plain resize here.
Experiment domainNet() {
    Experiment e = literature();
    e.name = "domainnet";
    e.data.kind = DataKind::FileList;
    e.sequence.tasks = 5;
    e.sequence.classesPerTask = 69;
    e.sequence.classOrder = ClassOrder::Identity;
    e.memory.epsBegin = 0.95;
    e.train.epochs = 5;
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
        {"deep",
         "default with q, k, v, proj, fc1 and fc2 adapted in every block and the task feature "
         "from an adapter-free pass (task_id.feature cls_frozen_pass): the representation can "
         "drift, so the subspace memory matters.",
         deep},
        {"domain-shift",
         "default with each task's classes in a domain of its own (original, inverted, "
         "rotated, blurred-noisy, edges): class-incremental under domain shift.",
         domainShift},
        {"cifar100-10",
         "CIFAR-100 (binary version) in 10 tasks x 10 classes with the literature's ViT-B/16 "
         "settings. Give data.root (the folder of train.bin and test.bin); backbone.path is "
         "relative to the working folder.",
         cifar100},
        {"imagenet-r-10",
         "ImageNet-R (200 class folders, seeded 80/20 split) in 10 tasks x 20 classes with the "
         "literature's ViT-B/16 settings. Give data.root; backbone.path as for cifar100-10.",
         imagenetR},
        {"domainnet",
         "DomainNet's six domains merged, 345 classes in 5 tasks x 69 in DomainNet's class "
         "order, as InfLoRA's configs/domainnet_inflora.json (init_cls 69, increment 69, "
         "shuffle false, 5 epochs, lamb 0.95, lame 1.0) and SD-LoRA's exps/sdlora_dom.json "
         "(init_cls 69, increment 69) cut it; the literature's ViT-B/16 settings otherwise "
         "(Adam 5e-4 where both use SGD with momentum). Give data.root: the folder of "
         "clipart_train.txt, clipart_test.txt, ... and the domain folders they name.",
         domainNet},
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

std::string presetDescription(const std::string& name) {
    for (const auto& p : presets()) {
        if (name == p.name) {
            return p.description;
        }
    }
    return {};
}

}  // namespace dlw
