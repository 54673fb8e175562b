#include "api/experiment.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "config/experiment_json.h"
#include "test_support.h"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

namespace dlw {
namespace {

// Writes `text` as a file named `name` in a fresh temp folder and returns its path.
std::string writeExperiment(const std::string& name, const std::string& text) {
    const auto path = test::tempDir("experiment") / name;
    writeFileAtomically(path, text);
    return path.string();
}

Experiment parse(const std::string& text) {
    return experimentFromJsonText(text, "exp.json");
}

// An experiment with every key away from its default (and valid as a whole).
Experiment everyKeyChanged() {
    Experiment e;
    e.name = "all-changed";
    e.seed = 18446744073709551615ULL;
    e.device = "cuda:1";
    e.threads = 3;
    e.precision = Precision::Bf16;
    e.backbone.path = "/models/vit b/model.safetensors";
    e.data = {DataKind::Cifar100,
              "/data/ünïcode",
              50,
              10,
              20,
              0.25,
              true,
              true,
              PixelNormalization::None,
              EvalSplit::Val,
              {"clipart", "réal"}};
    e.sequence = {3,
                  4,
                  {2, 3, 1},
                  ClassOrder::Explicit,
                  {5, 4, 3, 2, 1, 0},
                  {"edges", "original", "rotated"}};
    e.method = {MethodKind::InfLora,
                {"q", "proj", "fc2"},
                {0, 2},
                4,
                6,
                false,
                false,
                0.25,
                GateMode::Top1,
                512,
                false};
    e.taskId = {TaskIdMode::Lda, TaskIdFeature::ClsFrozenPass, 3, 0.0, 0.5, 256};
    e.memory = {0.9, 1.0, 0};
    e.train = {7, 32, 1e-3, OptimizerKind::AdamW, 0.05, 128};
    e.checkpoint.everySteps = 25;
    return e;
}

TEST(Experiment, DefaultsAreTheDefaultPreset) {
    const Experiment e;
    EXPECT_EQ(e, preset("default"));
    EXPECT_EQ(e.name, "default");
    EXPECT_EQ(e.device, "auto");
    EXPECT_EQ(e.data.kind, DataKind::FashionMnist);
    EXPECT_EQ(e.data.trainPerClass, 1000);
    EXPECT_EQ(e.data.valPerClass, 200);
    EXPECT_EQ(e.sequence.tasks, 5);
    EXPECT_EQ(e.sequence.classesPerTask, 2);
    EXPECT_EQ(e.method.name, MethodKind::DualLora);
    EXPECT_EQ(e.method.targets, (std::vector<std::string>{"k", "v"}));
    EXPECT_EQ(e.method.rank, 8);
    EXPECT_DOUBLE_EQ(e.memory.epsEnd, 0.99);
    EXPECT_EQ(e.train.epochs, 4);
    EXPECT_DOUBLE_EQ(e.train.lr, 5e-4);
    EXPECT_NO_THROW(validateExperiment(e));
    EXPECT_EQ(parse("{}"), e);
}

TEST(Experiment, PartialFileIsMergedOverDefaults) {
    const Experiment e = loadExperimentFile(writeExperiment(
        "partial.json", R"({"method": {"rank": 4, "name": "inflora"}, "train": {"epochs": 2}})"));
    Experiment expected;
    expected.method.rank = 4;
    expected.method.name = MethodKind::InfLora;
    expected.train.epochs = 2;
    EXPECT_EQ(e, expected);
}

TEST(Experiment, PresetKeyChoosesTheBase) {
    const Experiment e = parse(R"({"preset": "cifar100-10", "data": {"root": "/data/c100"}})");
    Experiment expected = preset("cifar100-10");
    expected.data.root = "/data/c100";
    EXPECT_EQ(e, expected);
    DLW_EXPECT_ERROR(parse(R"({"preset": "cifar10"})"), "exp.json", "'preset'", "cifar100-10",
                     "\"cifar10\"");
}

TEST(Experiment, RoundTripsEveryKey) {
    const Experiment changed = everyKeyChanged();
    ASSERT_NO_THROW(validateExperiment(changed));
    const std::string text = toJsonText(changed);
    EXPECT_EQ(parse(text), changed);
    EXPECT_EQ(toJsonText(parse(text)), text);  // stable text, key order included
    EXPECT_EQ(text.rfind("{\n  \"name\": \"all-changed\",\n  \"seed\": ", 0), 0U) << text;
    const auto path = test::tempDir("experiment") / "saved.json";
    saveExperimentFile(changed, path);
    EXPECT_EQ(loadExperimentFile(path), changed);
    EXPECT_EQ(parse(toJsonText(Experiment{})), Experiment{});
}

TEST(Experiment, WritesEveryKey) {
    const std::string text = toJsonText(Experiment{});
    for (const auto& info : experimentKeyInfos()) {
        const auto dot = info.key.find('.');
        const std::string leaf = dot == std::string::npos ? info.key : info.key.substr(dot + 1);
        EXPECT_NE(text.find("\"" + leaf + "\": " + info.defaultValue.substr(0, 1)),
                  std::string::npos)
            << info.key;
    }
}

// Each key, set alone through --set to its value in everyKeyChanged(), changes the experiment
// and its text: no key is left out of operator== or of the written file.
TEST(Experiment, EachKeyChangesEqualityAndText) {
    const Experiment base;
    const auto changed = experimentToJson(everyKeyChanged());
    for (const auto& info : experimentKeyInfos()) {
        const auto dot = info.key.find('.');
        const auto& value = dot == std::string::npos
                                ? changed.at(info.key)
                                : changed.at(info.key.substr(0, dot)).at(info.key.substr(dot + 1));
        Experiment e = base;
        applyOverride(e, info.key + "=" + value.dump());
        EXPECT_NE(e, base) << info.key;
        EXPECT_NE(toJsonText(e), toJsonText(base)) << info.key;
    }
}

TEST(Experiment, EveryPresetParsesAndRoundTrips) {
    ASSERT_EQ(presetNames(),
              (std::vector<std::string>{"default", "deep", "domain-shift", "cifar100-10",
                                        "imagenet-r-10", "domainnet"}));
    for (const auto& name : presetNames()) {
        const Experiment e = preset(name);
        EXPECT_NO_THROW(validateExperiment(e, name)) << name;
        EXPECT_EQ(parse(toJsonText(e)), e) << name;
        EXPECT_EQ(parse(R"({"preset": ")" + name + "\"}"), e) << name;
    }
    const Experiment c = preset("cifar100-10");
    EXPECT_EQ(c.data.kind, DataKind::Cifar100);
    EXPECT_EQ(c.sequence.tasks * c.sequence.classesPerTask, 100);
    EXPECT_EQ(c.train.batchSize, 128);
    EXPECT_EQ(c.train.epochs, 20);
    EXPECT_EQ(c.method.rank, 10);
    EXPECT_DOUBLE_EQ(c.memory.epsEnd, 1.0);
    EXPECT_EQ(c.data.normalize, PixelNormalization::None);
    const Experiment r = preset("imagenet-r-10");
    EXPECT_EQ(r.sequence.tasks * r.sequence.classesPerTask, 200);
    EXPECT_EQ(r.train.epochs, 50);
    EXPECT_DOUBLE_EQ(r.memory.epsBegin, 0.98);
    DLW_EXPECT_ERROR(preset("cifar"), "unknown preset 'cifar'", "default", "imagenet-r-10");
}

// #16: DomainNet as InfLoRA's configs/domainnet_inflora.json and SD-LoRA's exps/sdlora_dom.json
// cut it: 345 classes, 5 tasks of 69 (init_cls = increment = 69), DomainNet's class order.
TEST(Experiment, DomainnetPresetIsFiveTasksOf69Classes) {
    const Experiment d = preset("domainnet");
    EXPECT_NO_THROW(validateExperiment(d, "domainnet"));
    EXPECT_EQ(d.data.kind, DataKind::FileList);
    EXPECT_TRUE(d.data.domains.empty());  // all six lists
    EXPECT_TRUE(d.data.root.empty());     // must be given
    EXPECT_EQ(d.backbone.path, preset("cifar100-10").backbone.path);
    EXPECT_EQ(d.sequence.classOrder, ClassOrder::Identity);
    EXPECT_EQ(d.train.epochs, 5);
    EXPECT_EQ(d.train.batchSize, 128);
    EXPECT_DOUBLE_EQ(d.memory.epsBegin, 0.95);
    EXPECT_DOUBLE_EQ(d.memory.epsEnd, 1.0);
    const auto tasks = taskClassSequence(d, 345);
    ASSERT_EQ(tasks.size(), 5U);
    std::vector<int64_t> all;
    for (const auto& t : tasks) {
        EXPECT_EQ(t.size(), 69U);
        all.insert(all.end(), t.begin(), t.end());
    }
    for (int64_t c = 0; c < 345; ++c) {
        EXPECT_EQ(all[static_cast<std::size_t>(c)], c);  // identity: DomainNet's own indices
    }
    DLW_EXPECT_ERROR(taskClassSequence(d, 344), "345", "344");
    const Experiment chosen = parse(R"({"preset": "domainnet", "data": {"root": "/data/domainnet",
                  "domains": ["clipart", "real"]}})");
    EXPECT_EQ(chosen.data.domains, (std::vector<std::string>{"clipart", "real"}));
}

TEST(Experiment, RejectsUnknownKeyWithSuggestion) {
    const std::string path = writeExperiment("exp.json", R"({"method": {"rnak": 4}})");
    DLW_EXPECT_ERROR(loadExperimentFile(path), path + ": unknown key 'method.rnak'",
                     "(did you mean 'method.rank'?)");
    DLW_EXPECT_ERROR(parse(R"({"epochs": 3})"), "unknown key 'epochs'", "'train.epochs'");
    DLW_EXPECT_ERROR(parse(R"({"metod": {"rank": 4}})"), "unknown key 'metod'", "'method'");
    DLW_EXPECT_ERROR(parse(R"({"train": {"zzzzzz": 1}})"), "unknown key 'train.zzzzzz'",
                     "experiment-reference.md");
}

TEST(Experiment, RejectsWrongTypes) {
    DLW_EXPECT_ERROR(parse(R"({"method": {"rank": "8"}})"), "exp.json", "'method.rank'",
                     "must be an integer", "\"8\" (a string)");
    DLW_EXPECT_ERROR(parse(R"({"method": {"rank": 8.5}})"), "'method.rank'", "8.5");
    DLW_EXPECT_ERROR(parse(R"({"data": {"flip": 1}})"), "'data.flip'", "true or false");
    DLW_EXPECT_ERROR(parse(R"({"method": {"targets": "k"}})"), "'method.targets'", "list");
    DLW_EXPECT_ERROR(parse(R"({"data": 3})"), "'data' must be an object", "3 (an integer)");
    DLW_EXPECT_ERROR(parse(R"({"seed": -1})"), "'seed'", ">= 0");
    DLW_EXPECT_ERROR(parse(R"({"threads": 1e12})"), "'threads'", "integer");
    DLW_EXPECT_ERROR(parse(R"({"sequence": {"class_order": 3}})"), "'sequence.class_order'",
                     "\"identity\"");
    DLW_EXPECT_ERROR(parse(R"({"precision": "fp16"})"), "'precision'", "\"bf16\"", "fp16");
    DLW_EXPECT_ERROR(parse(R"({"data": {"domains": "clipart"}})"), "'data.domains'",
                     "list of domain names");
    DLW_EXPECT_ERROR(parse(R"({"data": {"domains": [1]}})"), "'data.domains'", "string");
    DLW_EXPECT_ERROR(parse("[1, 2]"), "exp.json", "must be a JSON object");
}

TEST(Experiment, RejectsValuesOutOfRange) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"method": {"rank": 0}})", "'method.rank' must be >= 1, found 0"},
        {R"({"method": {"residual_rank": -2}})", "'method.residual_rank'"},
        {R"({"sequence": {"tasks": 0}})", "'sequence.tasks'"},
        {R"({"memory": {"eps_begin": 0}})", "'memory.eps_begin' must be in (0, 1]"},
        {R"({"memory": {"eps_end": 1.5}})", "'memory.eps_end'"},
        {R"({"memory": {"eps_begin": 0.99, "eps_end": 0.9}})", "'memory.eps_begin' must be <="},
        {R"({"task_id": {"tau": 0}})", "'task_id.tau' must be > 0"},
        {R"({"task_id": {"lambda": -1e-3}})", "'task_id.lambda' must be >= 0"},
        {R"({"task_id": {"block": -2}})", "'task_id.block'"},
        {R"({"task_id": {"mode": "bayes"}})", "'task_id.mode' must be one of"},
        {R"({"task_id": {"feature": "cls"}})", "'task_id.feature'"},
        {R"({"train": {"batch_size": 0}})", "'train.batch_size'"},
        {R"({"train": {"epochs": 0}})", "'train.epochs'"},
        {R"({"train": {"lr": 0}})", "'train.lr'"},
        {R"({"method": {"targets": []}})", "'method.targets' must name at least one map"},
        {R"({"method": {"targets": ["k", "out"]}})", "'method.targets' must be one of"},
        {R"({"method": {"targets": ["k", "k"]}})", "'method.targets' must name distinct"},
        {R"({"method": {"blocks": [1, 1]}})", "'method.blocks' must not repeat"},
        {R"({"method": {"gate": "hard"}})", "'method.gate'"},
        {R"({"method": {"name": "dualora"}})", "(did you mean \"duallora\"?)"},
        {R"({"method": {"gate": "soft", "name": "seq-lora"}})", "'method.gate' \"soft\" needs"},
        {R"({"method": {"name": "ranpac"}, "task_id": {"mode": "lda"}})",
         "'task_id.mode' \"lda\" does not apply to ranpac"},
        {R"({"device": "gpu"})", "'device'"},
        {R"({"name": ""})", "'name'"},
        {R"({"data": {"test_fraction": 1}})", "'data.test_fraction' must be in (0, 1)"},
        {R"({"sequence": {"task_sizes": [2, 2]}})", "'sequence.task_sizes' must have one entry"},
        {R"({"sequence": {"class_order": [0, 1, 1]}})", "'sequence.class_order' must list"},
        {R"({"sequence": {"class_order": [0, 1, 2]}})", "at least the 10 classes"},
        {R"({"data": {"domains": ["clipart", ""]}})", "'data.domains' must hold non-empty"},
        {R"({"data": {"domains": ["real", "real"]}})", "\"real\" twice"},  // #16
    };
    for (const auto& [text, message] : cases) {
        DLW_EXPECT_ERROR(parse(text), "exp.json: ", message);
    }
}

TEST(Experiment, MalformedJsonNamesFileLineAndColumn) {
    const std::string path = writeExperiment("broken.json", "{\n  \"seed\": 1,\n  \"name\" 3\n}");
    DLW_EXPECT_ERROR(loadExperimentFile(path), path + ": malformed JSON", "line 3", "column");
    DLW_EXPECT_ERROR(loadExperimentFile(path + ".missing"), ".missing");
}

TEST(Experiment, RejectsDuplicateKeysAtAnyLevel) {  // #14
    const std::string path = writeExperiment(
        "twice.json", "{\n  \"train\": {\"epochs\": 1},\n  \"train\": {\"batch_size\": 8}\n}");
    DLW_EXPECT_ERROR(loadExperimentFile(path), path + ": line 3: duplicate key 'train'",
                     "first at line 2");
    const std::string inner = writeExperiment("inner.json", R"({"train": {"lr": 0.1, "lr": 0.2}})");
    DLW_EXPECT_ERROR(loadExperimentFile(inner), "duplicate key 'train.lr'");
    Experiment e;
    DLW_EXPECT_ERROR(applyOverride(e, R"(train={"epochs": 1, "epochs": 2})"),
                     "--set train=", "duplicate key 'epochs'");
    EXPECT_EQ(e, Experiment{});
}

// #14: experiment files are JSON (UTF-8 only): a path that is not UTF-8 is refused by its key
// before a run starts, instead of an internal error when experiment.json is written.
TEST(Experiment, RefusesTextThatIsNotUtf8ByKey) {
    Experiment e;
    DLW_EXPECT_ERROR(applyOverrides(e, {"data.root=/data/caf\xe9"}), "'data.root'",
                     "/data/caf\\xE9", "not valid UTF-8");
    e.backbone.path = "b\xff.safetensors";
    DLW_EXPECT_ERROR(validateExperiment(e), "'backbone.path'", "not valid UTF-8");
}

// #14 (fuzz_experiment): a number beyond double's range made nlohmann throw out_of_range, which
// escaped both readers.
TEST(Experiment, NumberOverflowIsMalformedJsonOrText) {
    DLW_EXPECT_ERROR(parse(R"({"train": {"lr": 1e400}})"), "exp.json: malformed JSON",
                     "number overflow", "1e400");
    Experiment e;
    DLW_EXPECT_ERROR(applyOverride(e, "train.lr=1e400"),
                     "train.lr=1e400: 1e400 is outside the range of a double");
    applyOverride(e, "name=1e400");  // a string key takes the text
    EXPECT_EQ(e.name, "1e400");
    e.name = Experiment{}.name;
    EXPECT_EQ(e, Experiment{});
}

TEST(Experiment, SetParsesValueAsJson) {
    Experiment e;
    applyOverride(e, "method.rank=4");
    applyOverride(e, R"(method.targets=["q","v"])");
    applyOverride(e, "sequence.class_order=[1,0,3,2,5,4,7,6,9,8]");
    applyOverride(e, "data.flip=true");
    applyOverride(e, "memory.eps_begin=0.9");
    EXPECT_EQ(e.method.rank, 4);
    EXPECT_EQ(e.method.targets, (std::vector<std::string>{"q", "v"}));
    EXPECT_EQ(e.sequence.classOrder, ClassOrder::Explicit);
    EXPECT_EQ(e.sequence.classList.size(), 10U);
    EXPECT_TRUE(e.data.flip);
    EXPECT_DOUBLE_EQ(e.memory.epsBegin, 0.9);
}

TEST(Experiment, SetTakesBareWordAsString) {
    Experiment e;
    applyOverride(e, "method.name=inflora");
    applyOverride(e, "data.root=/data/fashion mnist");
    applyOverride(e, "name=2024");  // a string key keeps the text even when it is JSON
    applyOverride(e, "sequence.class_order=shuffle");
    applyOverride(e, "device=cuda:0");
    applyOverride(e, R"(backbone.path="quoted.safetensors")");
    EXPECT_EQ(e.method.name, MethodKind::InfLora);
    EXPECT_EQ(e.data.root, "/data/fashion mnist");
    EXPECT_EQ(e.name, "2024");
    EXPECT_EQ(e.sequence.classOrder, ClassOrder::Shuffle);
    EXPECT_EQ(e.device, "cuda:0");
    EXPECT_EQ(e.backbone.path, "quoted.safetensors");
}

TEST(Experiment, SetMergesSectionObject) {
    Experiment e;
    applyOverride(e, R"(memory={"eps_begin": 0.9, "sample": 0})");
    EXPECT_DOUBLE_EQ(e.memory.epsBegin, 0.9);
    EXPECT_EQ(e.memory.sample, 0);
    EXPECT_DOUBLE_EQ(e.memory.epsEnd, 0.99);
    DLW_EXPECT_ERROR(applyOverride(e, "memory=3"), "'memory' must be an object");
}

TEST(Experiment, SetRejectsBadInputAndLeavesExperimentUnchanged) {
    Experiment e;
    DLW_EXPECT_ERROR(applyOverride(e, "method.rnak=4"), "--set method.rnak=4",
                     "unknown key 'method.rnak'", "'method.rank'");
    DLW_EXPECT_ERROR(applyOverride(e, "method.rank=0"), "'method.rank' must be >= 1");
    DLW_EXPECT_ERROR(applyOverride(e, "method.rank=four"), "'method.rank'", "\"four\"");
    DLW_EXPECT_ERROR(applyOverride(e, "method.name=lora"), "'method.name' must be one of");
    DLW_EXPECT_ERROR(applyOverride(e, R"(method={"rank": 2, "gate": "x"})"), "'method.gate'");
    DLW_EXPECT_ERROR(applyOverride(e, "method.rank"), "expected KEY=VALUE");
    DLW_EXPECT_ERROR(applyOverride(e, "preset=default"), "--preset");
    EXPECT_EQ(e, Experiment{});  // the partly valid section object above changed nothing
    DLW_EXPECT_ERROR(applyOverrides(e, {"memory.eps_begin=0.995", "method.rank=2"}),
                     "'memory.eps_begin' must be <=");
    EXPECT_EQ(e, Experiment{});
    applyOverrides(e, {"memory.eps_end=1.0", "memory.eps_begin=0.995"});
    EXPECT_DOUBLE_EQ(e.memory.epsBegin, 0.995);
}

TEST(Experiment, ResolvesAutoValues) {
    Experiment e;
    EXPECT_EQ(effectiveTaskIdMode(e), TaskIdMode::Lda);
    EXPECT_EQ(effectiveTaskIdBlock(e, 12), 6);
    EXPECT_EQ(effectiveAdaptedBlocks(e, 4), (std::vector<int>{2, 3}));
    e.method.name = MethodKind::SeqLora;
    EXPECT_EQ(effectiveTaskIdMode(e), TaskIdMode::None);
    e.taskId.mode = TaskIdMode::Lda;
    EXPECT_EQ(effectiveTaskIdMode(e), TaskIdMode::Lda);
    e.taskId.feature = TaskIdFeature::ClsFrozenPass;
    EXPECT_EQ(effectiveAdaptedBlocks(e, 3), (std::vector<int>{0, 1, 2}));
    e.method.blocks = {3, 1};
    EXPECT_EQ(effectiveAdaptedBlocks(e, 4), (std::vector<int>{1, 3}));
    DLW_EXPECT_ERROR(effectiveAdaptedBlocks(e, 3), "'method.blocks'", "depth 3", "found 3");
    e.taskId.block = 5;
    DLW_EXPECT_ERROR(effectiveTaskIdBlock(e, 4), "'task_id.block'", "depth 4");
}

// The labels of the ablation variants (scripts/ablation_table.sh), which results_summary.py and
// the window's legends look up: each one names what it leaves out. The task feature without its
// random projection read "duallora", as the full method did, and its runs merged in the window.
TEST(Experiment, EveryAblationVariantHasItsOwnLabel) {
    const auto label = [](const std::function<void(Experiment&)>& change) {
        Experiment e = preset("default");
        change(e);
        return methodVariant(e);
    };
    EXPECT_EQ(label([](Experiment&) {}), "duallora");
    EXPECT_EQ(label([](Experiment& e) { e.taskId.mode = TaskIdMode::None; }), "duallora -task-id");
    EXPECT_EQ(label([](Experiment& e) { e.taskId.projection = 0; }), "duallora -projection");
    EXPECT_EQ(label([](Experiment& e) { e.method.gate = GateMode::Soft; }), "duallora soft-gate");
    EXPECT_EQ(label([](Experiment& e) { e.method.orthogonal = false; }), "duallora -orthogonal");
    EXPECT_EQ(label([](Experiment& e) { e.method.name = MethodKind::InfLora; }), "inflora");
    EXPECT_EQ(label([](Experiment& e) {
                  e.method.name = MethodKind::InfLora;
                  e.taskId.mode = TaskIdMode::Lda;
              }),
              "inflora +task-id");
    EXPECT_EQ(label([](Experiment& e) {
                  e.method.name = MethodKind::SeqLora;
                  e.taskId.mode = TaskIdMode::Lda;
                  e.taskId.projection = 0;
              }),
              "seq-lora +task-id -projection");
    EXPECT_EQ(label([](Experiment& e) { e.method.name = MethodKind::SdLora; }), "sd-lora");
    EXPECT_EQ(label([](Experiment& e) { e.method.name = MethodKind::Joint; }), "joint");
    EXPECT_EQ(label([](Experiment& e) {
                  e.method.name = MethodKind::RanPac;
                  e.method.ranpacAdaptFirst = false;
              }),
              "ranpac -adapt");
    EXPECT_EQ(label([](Experiment& e) {
                  e.method.name = MethodKind::RanPac;
                  e.method.ranpacDim = 0;
                  e.taskId.projection = 0;  // no task identity: not a knob of this run
              }),
              "ranpac -projection");
}

TEST(Experiment, EnumNamesMatchTheDataReaders) {
    for (const auto& info : experimentKeyInfos()) {
        if (info.key == "data.kind") {
            ASSERT_EQ(info.choices.size(), 5U);
            for (std::size_t i = 0; i < info.choices.size(); ++i) {
                EXPECT_EQ(info.choices[i], toString(static_cast<DataKind>(i)));
            }
        }
    }
    EXPECT_EQ(toString(MethodKind::SeqLora), "seq-lora");
    EXPECT_EQ(toString(MethodKind::SdLora), "sd-lora");
    EXPECT_EQ(toString(MethodKind::RanPac), "ranpac");
    EXPECT_EQ(toString(TaskIdFeature::ClsFrozenPass), "cls_frozen_pass");
}

// docs/experiment-reference.md is generated; DLW_REGENERATE_DOCS=1 rewrites it.
TEST(Experiment, ReferenceDocIsUpToDate) {
    const std::filesystem::path doc =
        std::filesystem::path(DLW_SOURCE_DIR) / "docs" / "experiment-reference.md";
    const std::string generated = experimentReferenceMarkdown();
    const char* regenerate = std::getenv("DLW_REGENERATE_DOCS");  // NOLINT(concurrency-mt-unsafe)
    if (regenerate != nullptr && std::string(regenerate) == "1") {
        writeFileAtomically(doc, generated);
    }
    ASSERT_TRUE(std::filesystem::exists(doc)) << doc << " missing; run with DLW_REGENERATE_DOCS=1";
    EXPECT_EQ(readWholeFile(doc), generated)
        << doc << " is stale; run this test with DLW_REGENERATE_DOCS=1 and commit the file";
    for (const auto& info : experimentKeyInfos()) {
        EXPECT_NE(generated.find("| `" + info.key + "` |"), std::string::npos) << info.key;
        EXPECT_EQ(info.description.find('|'), std::string::npos) << info.key;  // a table cell
    }
}

}  // namespace
}  // namespace dlw
