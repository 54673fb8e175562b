// The experiment file's keys (DESIGN §6), one section per function, in file order. Defaults
// are not here: they are the member initialisers of core/api/experiment.h.
#include "config/experiment_keys.h"

#include "config/key_builders.h"
#include "data/image_domain.h"

#include <algorithm>
#include <cctype>

namespace dlw::detail {
namespace {

using Keys = std::vector<ExperimentKey>;

std::string noProblem(const std::string& /*value*/) {
    return {};
}

std::string deviceProblem(const std::string& device) {
    const bool cudaIndex = device.size() > 5 && device.rfind("cuda:", 0) == 0 &&
                           std::all_of(device.begin() + 5, device.end(),
                                       [](unsigned char c) { return std::isdigit(c) != 0; });
    if (device == "auto" || device == "cpu" || device == "cuda" || cudaIndex) {
        return {};
    }
    return fmt::format(R"(must be "auto", "cpu", "cuda" or "cuda:N", found "{}")", device);
}

ExperimentKey seedKey() {
    ExperimentKey k =
        makeKey("seed", "int", ">= 0", "seeds the class shuffle, sampling, inits and augmentation");
    k.read = [](const Json& v, Experiment& e) {
        // -0 is an integer >= 0 too (nlohmann keeps it signed).
        const bool zero = v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() == 0;
        if (!v.is_number_unsigned() && !zero) {
            throw ValueError("must be an integer >= 0, found " + describeJson(v));
        }
        e.seed = zero ? 0 : v.get<uint64_t>();
    };
    k.write = [](const Experiment& e) { return Json(e.seed); };
    k.check = [](const Experiment&) { return std::string(); };
    return k;
}

void addTopKeys(Keys& keys) {
    keys.push_back(stringKey(
        "name", [](auto& e) -> auto& { return e.name; }, "non-empty",
        [](const std::string& v) { return v.empty() ? "must not be empty" : ""; },
        "shown in the queue, the run store and `dlw compare`"));
    keys.push_back(seedKey());
    keys.push_back(stringKey(
        "device", [](auto& e) -> auto& { return e.device; }, R"("auto", "cpu", "cuda", "cuda:N")",
        deviceProblem, R"("auto" = cuda:0 when CUDA is available, else cpu)"));
    keys.push_back(enumKey(
        "precision", [](auto& e) -> auto& { return e.precision; },
        R"("tf32" = CUDA fp32 matmuls on TF32 tensor cores; "bf16" = autocast (losses in fp32))"));
    keys.push_back(intKey(
        "threads", [](auto& e) -> auto& { return e.threads; }, 0,
        "CPU compute threads; 0 = auto (the run records the resolved count)"));
    keys.push_back(stringKey(
        "backbone.path", [](auto& e) -> auto& { return e.backbone.path; }, "file", noProblem,
        "ViT safetensors file (timm layout); \"\" = the bundled dlw-vit-tiny backbone"));
}

// data.domains: names, not paths, so that the same experiment reads another copy of the lists.
ExperimentKey dataDomainsKey() {
    ExperimentKey k = makeKey("data.domains", "list of string", "distinct non-empty names",
                              "file-list: domains to read and merge (\"clipart\" reads "
                              "clipart_train.txt and clipart_test.txt); [] = every *_train.txt "
                              "in data.root; other kinds ignore it");
    k.read = [](const Json& v, Experiment& e) {
        if (!v.is_array()) {
            throw ValueError(
                R"(must be a list of domain names such as ["clipart", "real"], found )" +
                describeJson(v));
        }
        std::vector<std::string> names;
        for (const auto& item : v) {
            names.push_back(readString(item));
        }
        e.data.domains = std::move(names);
    };
    k.write = [](const Experiment& e) { return Json(e.data.domains); };
    k.check = [](const Experiment& e) -> std::string {
        std::set<std::string> seen;
        for (const auto& name : e.data.domains) {
            if (name.empty() || name.find('\0') != std::string::npos) {
                return "must hold non-empty domain names";
            }
            if (!seen.insert(name).second) {
                return fmt::format("must not name a domain twice, found \"{}\" twice", name);
            }
        }
        return "";
    };
    return k;
}

void addDataKeys(Keys& keys) {
    keys.push_back(enumKey(
        "data.kind", [](auto& e) -> auto& { return e.data.kind; }, "dataset reader (DESIGN §4)"));
    keys.push_back(stringKey(
        "data.root", [](auto& e) -> auto& { return e.data.root; }, "folder or file", noProblem,
        "dataset location; \"\" = the Debian package path (fashion-mnist, digits only)"));
    keys.push_back(dataDomainsKey());
    keys.push_back(intKey(
        "data.train_per_class", [](auto& e) -> auto& { return e.data.trainPerClass; }, 0,
        "training images per class; 0 = all that validation leaves"));
    keys.push_back(intKey(
        "data.val_per_class", [](auto& e) -> auto& { return e.data.valPerClass; }, 0,
        "validation images per class, cut from the training file, disjoint; 0 = none"));
    keys.push_back(intKey(
        "data.test_per_class", [](auto& e) -> auto& { return e.data.testPerClass; }, 0,
        "test images per class; 0 = all"));
    keys.push_back(floatKey(
        "data.test_fraction", [](auto& e) -> auto& { return e.data.testFraction; },
        Bounds::interval(0.0, true, 1.0, true),
        "test share of a seeded split, for data without a test part (digits, flat folders)"));
    keys.push_back(boolKey(
        "data.flip", [](auto& e) -> auto& { return e.data.flip; },
        "random horizontal flip of training images; without any augmentation a run computes "
        "the frozen blocks below the adapters once per image and task instead of every epoch"));
    keys.push_back(boolKey(
        "data.random_resized_crop", [](auto& e) -> auto& { return e.data.randomResizedCrop; },
        "random resized crop of training images (as data.flip, it turns that saving off)"));
    keys.push_back(enumKey(
        "data.normalize", [](auto& e) -> auto& { return e.data.normalize; },
        R"("backbone" = the backbone metadata's mean/std; "none" = pixels in [0, 1])"));
    keys.push_back(enumKey(
        "data.eval_split", [](auto& e) -> auto& { return e.data.evalSplit; },
        "split behind the accuracy matrix; \"val\" to choose knobs without the test split"));
}

ExperimentKey taskDomainsKey() {
    const auto& names = imageDomainNames();
    ExperimentKey k =
        makeKey("sequence.domains", "list of string", "[] or T of " + quotedList(names),
                "image domain of each task's classes (train, validation and test); [] = none. "
                "Fashion-MNIST, digits and CIFAR-100 only",
                names);
    k.read = [names](const Json& v, Experiment& e) {
        e.sequence.domains = readChoiceList(v, names, "domain");
    };
    k.write = [](const Experiment& e) { return Json(e.sequence.domains); };
    k.check = [names](const Experiment& e) -> std::string {
        for (const auto& d : e.sequence.domains) {  // one per task: validateExperiment
            if (std::find(names.begin(), names.end(), d) == names.end()) {
                return fmt::format("must name domains of {}, found \"{}\"", quotedList(names), d);
            }
        }
        return "";
    };
    return k;
}

ExperimentKey classOrderKey() {
    ExperimentKey k = makeKey("sequence.class_order", "string or list of int",
                              R"("identity", "shuffle", or a list of distinct class indices)",
                              "order of dataset classes before cutting into tasks; "
                              "\"shuffle\" is seeded by `seed`");
    k.read = [](const Json& v, Experiment& e) {
        if (v.is_array()) {
            e.sequence.classOrder = ClassOrder::Explicit;
            e.sequence.classList = readIntList(v);
            return;
        }
        const std::vector<std::string> named{"identity", "shuffle"};
        if (!v.is_string()) {
            throw ValueError(R"(must be "identity", "shuffle" or a list of class indices, found )" +
                             describeJson(v));
        }
        e.sequence.classOrder = static_cast<ClassOrder>(parseChoice(v, named));
        e.sequence.classList.clear();
    };
    k.write = [](const Experiment& e) {
        return e.sequence.classOrder == ClassOrder::Explicit
                   ? Json(e.sequence.classList)
                   : Json(enumName(e.sequence.classOrder));
    };
    k.check = [](const Experiment& e) -> std::string {
        const auto& list = e.sequence.classList;
        if (e.sequence.classOrder != ClassOrder::Explicit) {
            return list.empty() ? "" : "has a class list but is not explicit";
        }
        std::set<int> seen;
        for (const int c : list) {
            if (c < 0 || !seen.insert(c).second) {
                return fmt::format("must list distinct class indices >= 0, found {}", c);
            }
        }
        return list.empty() ? "must not be an empty list" : "";
    };
    return k;
}

void addSequenceKeys(Keys& keys) {
    keys.push_back(intKey(
        "sequence.tasks", [](auto& e) -> auto& { return e.sequence.tasks; }, 1,
        "number of tasks T"));
    keys.push_back(intKey(
        "sequence.classes_per_task", [](auto& e) -> auto& { return e.sequence.classesPerTask; }, 1,
        "classes in each task, when task_sizes is empty"));
    keys.push_back(intListKey(
        "sequence.task_sizes", [](auto& e) -> auto& { return e.sequence.taskSizes; }, 1,
        /*unique=*/false, "explicit class count of each task (T entries); [] = classes_per_task"));
    keys.push_back(classOrderKey());
    keys.push_back(taskDomainsKey());
}

ExperimentKey targetsKey() {
    const std::vector<std::string> maps{"q", "k", "v", "proj", "fc1", "fc2"};
    ExperimentKey k =
        makeKey("method.targets", "list of string", "non-empty subset of " + quotedList(maps),
                "adapted maps of each adapted block (eq. 1)", maps);
    k.read = [maps](const Json& v, Experiment& e) {
        e.method.targets = readChoiceList(v, maps, "map");
    };
    k.write = [](const Experiment& e) { return Json(e.method.targets); };
    k.check = [maps](const Experiment& e) -> std::string {
        const auto& targets = e.method.targets;
        if (targets.empty()) {
            return "must name at least one map of " + quotedList(maps);
        }
        std::set<std::string> seen;
        for (const auto& t : targets) {
            if (std::find(maps.begin(), maps.end(), t) == maps.end() || !seen.insert(t).second) {
                return fmt::format("must name distinct maps of {}, found \"{}\"", quotedList(maps),
                                   t);
            }
        }
        return "";
    };
    return k;
}

void addMethodKeys(Keys& keys) {
    keys.push_back(enumKey(
        "method.name", [](auto& e) -> auto& { return e.method.name; },
        "the learner: DualLoRA or a baseline of DESIGN §3.3"));
    keys.push_back(targetsKey());
    keys.push_back(intListKey(
        "method.blocks", [](auto& e) -> auto& { return e.method.blocks; }, 0, /*unique=*/true,
        "adapted blocks; [] = from task_id.block on (block_input, block_input_and_cls) or all "
        "(cls_frozen_pass)"));
    keys.push_back(intKey(
        "method.rank", [](auto& e) -> auto& { return e.method.rank; }, 1,
        "rank r_O of the orthogonal adapter; LoRA rank of the other methods"));
    keys.push_back(intKey(
        "method.residual_rank", [](auto& e) -> auto& { return e.method.residualRank; }, 1,
        "rank r_R of each task's residual piece V_t U_t^T (eq. 1, 3)"));
    keys.push_back(boolKey(
        "method.orthogonal", [](auto& e) -> auto& { return e.method.orthogonal; },
        "use the orthogonal adapter B_O A_O; false = the ablation without it"));
    keys.push_back(boolKey(
        "method.project_b", [](auto& e) -> auto& { return e.method.projectB; },
        "also project B_O's update away from span(A_O M) (§3.2 step 3)"));
    keys.push_back(floatKey(
        "method.basis_scale", [](auto& e) -> auto& { return e.method.basisScale; },
        Bounds::above(0.0), "scale of the eigenvector inits of A_O and U_t (1/sqrt(3))"));
    keys.push_back(enumKey(
        "method.gate", [](auto& e) -> auto& { return e.method.gate; },
        "gate of task i's residual piece by the task posterior (eq. 7); \"none\" = all on"));
    keys.push_back(intKey(
        "method.ranpac_dim", [](auto& e) -> auto& { return e.method.ranpacDim; }, 0,
        "ranpac: M of the random projection ReLU(f W_rand); 0 = ridge on f itself"));
    keys.push_back(boolKey(
        "method.ranpac_adapt_first", [](auto& e) -> auto& { return e.method.ranpacAdaptFirst; },
        "ranpac: train a LoRA (method.rank) on task 1, then freeze it (first-session adaptation)"));
}

void addTaskIdKeys(Keys& keys) {
    keys.push_back(enumKey(
        "task_id.mode", [](auto& e) -> auto& { return e.taskId.mode; },
        R"(task predictor (eq. 5-8); "auto" = "lda" for duallora, "none" for the others)"));
    keys.push_back(enumKey(
        "task_id.feature", [](auto& e) -> auto& { return e.taskId.feature; },
        "h(x) of eq. 5: token mean entering block l_f, a frozen pass's class token, or the "
        "two concatenated [2D] (the pass continues frozen from l_f)"));
    keys.push_back(intKey(
        "task_id.block", [](auto& e) -> auto& { return e.taskId.block; }, -1,
        "l_f of eq. 5; -1 = depth / 2"));
    keys.push_back(floatKey(
        "task_id.lambda", [](auto& e) -> auto& { return e.taskId.lambda; }, Bounds::atLeast(0.0),
        "shrinkage of the shared covariance S_lambda (eq. 6)"));
    keys.push_back(floatKey(
        "task_id.tau", [](auto& e) -> auto& { return e.taskId.tau; }, Bounds::above(0.0),
        "temperature of the task posterior (eq. 7)"));
    keys.push_back(intKey(
        "task_id.projection", [](auto& e) -> auto& { return e.taskId.projection; }, 0,
        "M of a random projection ReLU(h W) of h before the statistics memory; 0 = h itself"));
}

void addMemoryTrainKeys(Keys& keys) {
    const Bounds unitInterval = Bounds::interval(0.0, true, 1.0, false);
    keys.push_back(floatKey(
        "memory.eps_begin", [](auto& e) -> auto& { return e.memory.epsBegin; }, unitInterval,
        "energy threshold of the memory update after task 1 (eq. 4)"));
    keys.push_back(floatKey(
        "memory.eps_end", [](auto& e) -> auto& { return e.memory.epsEnd; }, unitInterval,
        "energy threshold after task T; linear in between; >= eps_begin"));
    keys.push_back(intKey(
        "memory.sample", [](auto& e) -> auto& { return e.memory.sample; }, 0,
        "images per covariance pass (eq. 2, 4); 0 = the whole task (the class statistics "
        "and familiarity memories always take the whole task)"));
    keys.push_back(intKey(
        "train.epochs", [](auto& e) -> auto& { return e.train.epochs; }, 1, "epochs per task"));
    keys.push_back(intKey(
        "train.batch_size", [](auto& e) -> auto& { return e.train.batchSize; }, 1,
        "training batch size"));
    keys.push_back(floatKey(
        "train.lr", [](auto& e) -> auto& { return e.train.lr; }, Bounds::above(0.0),
        "learning rate of the optimizer, created fresh for each task"));
    keys.push_back(enumKey(
        "train.optimizer", [](auto& e) -> auto& { return e.train.optimizer; },
        "optimizer (\"sgd\" without momentum)"));
    keys.push_back(floatKey(
        "train.weight_decay", [](auto& e) -> auto& { return e.train.weightDecay; },
        Bounds::atLeast(0.0), "weight decay (decoupled for adamw)"));
    keys.push_back(intKey(
        "train.eval_batch_size", [](auto& e) -> auto& { return e.train.evalBatchSize; }, 1,
        "batch size of evaluation and memory passes"));
    keys.push_back(intKey(
        "checkpoint.every_steps", [](auto& e) -> auto& { return e.checkpoint.everySteps; }, 0,
        "steps between checkpoints inside a task; 0 = about 2 minutes of work"));
}

Keys buildKeys() {
    Keys keys;
    addTopKeys(keys);
    addDataKeys(keys);
    addSequenceKeys(keys);
    addMethodKeys(keys);
    addTaskIdKeys(keys);
    addMemoryTrainKeys(keys);
    return keys;
}

}  // namespace

const std::vector<ExperimentKey>& experimentKeys() {
    static const Keys keys = buildKeys();
    return keys;
}

const ExperimentKey* findExperimentKey(const std::string& dotted) {
    for (const auto& key : experimentKeys()) {
        if (key.key == dotted) {
            return &key;
        }
    }
    return nullptr;
}

bool isExperimentSection(const std::string& name) {
    return std::any_of(experimentKeys().begin(), experimentKeys().end(), [&](const auto& key) {
        return key.key.size() > name.size() && key.key.compare(0, name.size(), name) == 0 &&
               key.key[name.size()] == '.';
    });
}

}  // namespace dlw::detail
