#pragma once
// The experiment file of DESIGN §6 as plain structs with defaults (the `default` preset), plus
// its JSON text form, `--set` overrides, presets and the generated key reference. Public: no
// LibTorch and no JSON library here (the engine's nlohmann functions are in
// core/config/experiment_json.h). Every key, its type, default and meaning is listed by
// experimentKeyInfos() and in docs/experiment-reference.md, which is generated from it.
//
// Values the engine resolves at run time ("" paths, threads 0, task_id.mode "auto",
// task_id.block -1, method.blocks [], checkpoint.every_steps 0) are kept as written here, so that
// parse(toJsonText(x)) == x; the engine records the resolved values in the run's experiment.json.

#include "api/dataset_scan.h"  // DataKind

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dlw {

// The enumerations below are written in JSON by the lower-case names in their comments.
enum class PixelNormalization { Backbone, None };       // "backbone", "none"
enum class EvalSplit { Test, Val };                     // "test", "val"
enum class ClassOrder { Identity, Shuffle, Explicit };  // "identity", "shuffle", a JSON list
// "duallora", "inflora", "seq-lora", "joint", "sd-lora", "ranpac"
enum class MethodKind { DualLora, InfLora, SeqLora, Joint, SdLora, RanPac };
enum class GateMode { None, Soft, Top1 };   // "none", "soft", "top1"
enum class TaskIdMode { Auto, Lda, None };  // "auto", "lda", "none"
// "block_input", "cls_frozen_pass", "block_input_and_cls" (the two concatenated)
enum class TaskIdFeature { BlockInput, ClsFrozenPass, BlockInputAndCls };
enum class OptimizerKind { Adam, AdamW, Sgd };  // "adam", "adamw", "sgd"
enum class Precision { Fp32, Tf32, Bf16 };      // "fp32", "tf32", "bf16"

// The JSON names above ("seq-lora", "cls_frozen_pass", ...). ClassOrder::Explicit is "explicit".
std::string toString(PixelNormalization value);
std::string toString(EvalSplit value);
std::string toString(ClassOrder value);
std::string toString(MethodKind value);
std::string toString(GateMode value);
std::string toString(TaskIdMode value);
std::string toString(TaskIdFeature value);
std::string toString(OptimizerKind value);
std::string toString(Precision value);

struct BackboneSettings {
    std::string path;  // safetensors file; "" = the bundled resources/backbones/dlw-vit-tiny
};

struct DataSettings {
    DataKind kind = DataKind::FashionMnist;  // which reader (DESIGN §4)
    std::string root;                        // folder or file; "" = the Debian package location
    int trainPerClass = 1000;   // training images per class, 0 = all left after validation
    int valPerClass = 200;      // validation images per class cut from the training file, 0 = none
    int testPerClass = 0;       // test images per class, 0 = all
    double testFraction = 0.2;  // test share of a seeded split (digits, folders without test/)
    bool flip = false;          // random horizontal flip when training
    bool randomResizedCrop = false;  // random resized crop when training
    PixelNormalization normalize = PixelNormalization::Backbone;  // mean/std of the backbone
    EvalSplit evalSplit = EvalSplit::Test;  // split behind the accuracy matrix (val: tuning)
    // file-list: the domains (list prefixes: "clipart" reads clipart_train.txt and
    // clipart_test.txt) to read and merge; [] = every <domain>_train.txt in data.root.
    std::vector<std::string> domains;
};

struct SequenceSettings {
    int tasks = 5;                                 // T
    int classesPerTask = 2;                        // used when taskSizes is empty
    std::vector<int> taskSizes;                    // explicit class count per task (T entries)
    ClassOrder classOrder = ClassOrder::Identity;  // how dataset classes are ordered
    std::vector<int> classList;  // the order when classOrder == Explicit, else empty
    // The image domain of each task (T entries: "original", "inverted", "rotated",
    // "blurred-noisy", "edges"); [] = every task as the dataset has it. Class-incremental with
    // a new domain per task (the `domain-shift` preset); in-memory datasets only.
    std::vector<std::string> domains;
};

struct MethodSettings {
    MethodKind name = MethodKind::DualLora;      // DESIGN §3.2-§3.3
    std::vector<std::string> targets{"k", "v"};  // adapted maps: q, k, v, proj, fc1, fc2
    std::vector<int> blocks;                     // adapted blocks; empty = effectiveAdaptedBlocks()
    int rank = 8;                    // r_O of the orthogonal adapter; LoRA rank of the baselines
    int residualRank = 8;            // r_R of each task's residual piece (eq. 1, 3)
    bool orthogonal = true;          // false = ablation without the orthogonal adapter
    bool projectB = true;            // also project B_O's update (§3.2 step 3)
    double basisScale = 0.57735;     // scale of eigenvector inits of A_O and U_t (1/√3)
    GateMode gate = GateMode::None;  // gating of residual pieces by p(task|x) (eq. 8)
    // RanPAC (McDonnell et al., NeurIPS 2023): M of the random projection ReLU(f W_rand),
    // W_rand [D, M]; 0 = the ridge head on the features f themselves.
    int ranpacDim = 2048;
    bool ranpacAdaptFirst = true;  // RanPAC's first-session LoRA adaptation on task 1
};

struct TaskIdSettings {
    TaskIdMode mode = TaskIdMode::Auto;  // auto = lda for duallora, none for the others
    // h(x) of eq. 5. block_input_and_cls: chosen on the validation split of the default preset
    // (docs/results.md, "Task identity"); its frozen pass on from l_f costs about half a forward
    // pass more at evaluation and prediction.
    TaskIdFeature feature = TaskIdFeature::BlockInputAndCls;
    int block = -1;        // l_f; -1 = depth / 2
    double lambda = 1e-3;  // shrinkage λ of S_λ (eq. 6)
    // Temperature τ of the task posterior (eq. 7). 8 with the projection below: chosen on the
    // validation split of the default preset (docs/results.md, "Task identity").
    double tau = 8.0;
    // M of a random projection h ← ReLU(h W), W [D, M] ~ N(0, 1), before the statistics memory
    // (RanPAC's feature map, McDonnell et al. 2023); 0 = h itself (τ 2 suits it).
    int projection = 2048;
};

struct MemorySettings {
    double epsBegin = 0.95;  // ε_1 of the energy threshold (eq. 4)
    double epsEnd = 0.99;    // ε_T
    int sample = 1000;       // images per covariance pass, 0 = all
};

struct TrainSettings {
    int epochs = 4;                                 // per task
    int batchSize = 64;                             // training batch
    double lr = 5e-4;                               // learning rate, fresh optimizer per task
    OptimizerKind optimizer = OptimizerKind::Adam;  // Adam, AdamW or SGD (no momentum)
    double weightDecay = 0.0;                       // L2 (adam, sgd) or decoupled (adamw)
    int evalBatchSize = 256;                        // batch of evaluation and memory passes
};

struct CheckpointSettings {
    int everySteps = 0;  // steps between in-task checkpoints; 0 = about 2 minutes of work
};

// One experiment. Default-constructed, it is the `default` preset.
struct Experiment {
    std::string name = "default";  // shown in the queue and the run store
    uint64_t seed = 0;             // class shuffle, sampling, init, augmentation
    std::string device = "auto";   // "auto", "cpu", "cuda" or "cuda:N"
    int threads = 0;               // CPU compute threads, 0 = auto
    // Matmul precision: fp32; tf32 (CUDA fp32 matmuls on TF32 tensor cores; CPU as fp32); bf16
    // (autocast: matmuls and attention in bf16, losses, norms and the memory pass in fp32).
    Precision precision = Precision::Fp32;
    BackboneSettings backbone;
    DataSettings data;
    SequenceSettings sequence;
    MethodSettings method;
    TaskIdSettings taskId;
    MemorySettings memory;
    TrainSettings train;
    CheckpointSettings checkpoint;
};

// Field-by-field equality (doubles compared exactly: the JSON text round-trips them).
bool operator==(const Experiment& a, const Experiment& b);
inline bool operator!=(const Experiment& a, const Experiment& b) {
    return !(a == b);
}

// Parses an experiment file's text: the object is merged over the `default` preset, or over the
// preset named by an optional top-level "preset" key, then validated. `sourceName` (usually the
// file name) starts every error message. Throws dlw::Error for malformed JSON (with line and
// column), an unknown key (with the nearest known key), a wrong type or a value out of range,
// naming the dotted key. Any thread.
Experiment experimentFromJsonText(const std::string& text, const std::string& sourceName);

// Reads and parses a file; errors name the path. Any thread.
Experiment loadExperimentFile(const std::filesystem::path& path);

// The whole experiment, every key, in the reference's order, 2-space indent, ending in a newline.
// experimentFromJsonText(toJsonText(x), ...) == x for every valid x. Any thread.
std::string toJsonText(const Experiment& experiment);

// Writes toJsonText(experiment) atomically; throws dlw::Error naming the path.
void saveExperimentFile(const Experiment& experiment, const std::filesystem::path& path);

// Applies one `--set KEY=VALUE`: VALUE is parsed as JSON, and taken as a plain string when it is
// not valid JSON or when KEY holds a string; a section key takes an object that is merged.
// Checks the type and range of the keys set, not rules between keys (call
// validateExperiment afterwards). Throws dlw::Error naming the key; `experiment` is unchanged
// then. Any thread.
void applyOverride(Experiment& experiment, const std::string& assignment);

// applyOverride for each assignment in order, then validateExperiment.
void applyOverrides(Experiment& experiment, const std::vector<std::string>& assignments);

// Checks every range and the rules between keys (eps_begin <= eps_end, task_sizes has T entries,
// a gate needs a task predictor, ...). Checks that need the backbone or the dataset (block <
// depth, enough classes) are the engine's. Throws dlw::Error "<sourceName>: 'key' ...".
void validateExperiment(const Experiment& experiment, const std::string& sourceName = "experiment");

// "default", "deep", "domain-shift", "cifar100-10", "imagenet-r-10", "domainnet".
std::vector<std::string> presetNames();

// A preset's experiment. Throws dlw::Error listing the valid names for an unknown one.
Experiment preset(const std::string& name);

// What a preset is for, in a sentence or two (the reference page, `dlw run --help`, the
// window's File > New from preset); empty for an unknown name.
std::string presetDescription(const std::string& name);

// A short label of the method and its ablation knobs (DESIGN §3.3), as the tables show it:
// "duallora", "duallora -task-id" (no task predictor), "duallora -projection" (the task
// feature without its random projection, task_id.projection 0), "duallora soft-gate",
// "duallora -orthogonal", "inflora +task-id", "ranpac -adapt", "ranpac -projection" (RanPAC's
// own projection off), ... Knobs it does not name separate runs in `dlw compare --group` by
// their keys.
std::string methodVariant(const Experiment& experiment);
// task_id.mode with "auto" resolved: Lda for duallora, None for the other methods.
TaskIdMode effectiveTaskIdMode(const Experiment& experiment);

// l_f: task_id.block, or depth / 2 when -1. Throws dlw::Error naming task_id.block when it is
// not below `depth`.
int effectiveTaskIdBlock(const Experiment& experiment, int depth);

// method.blocks, or when empty: blocks l_f..depth-1 for the block_input feature, every block for
// cls_frozen_pass. Sorted. Throws dlw::Error naming method.blocks for a block >= depth.
std::vector<int> effectiveAdaptedBlocks(const Experiment& experiment, int depth);

// The dataset classes of each task (sequence.* keys) for a dataset of `numClasses` classes, as
// the engine will cut them. Throws dlw::Error naming the sequence key when they do not fit.
std::vector<std::vector<int64_t>> taskClassSequence(const Experiment& experiment,
                                                    int64_t numClasses);

// One key of the experiment file, for the reference page and the GUI's tooltips and pickers.
struct ExperimentKeyInfo {
    std::string key;                   // dotted JSON key, e.g. "method.rank"
    std::string type;                  // "int", "float", "bool", "string", "list of int", ...
    std::string allowed;               // range or values in words, e.g. ">= 1"
    std::vector<std::string> choices;  // the names of an enumerated key, else empty
    std::string defaultValue;          // JSON text of the `default` preset's value
    std::string description;           // one line
};

// Every key, in file order.
std::vector<ExperimentKeyInfo> experimentKeyInfos();

// The Markdown of docs/experiment-reference.md: every key and every preset's differences.
std::string experimentReferenceMarkdown();

}  // namespace dlw
