#include "api/predictor.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "api/experiment.h"
#include "api/run_folder.h"
#include "api/runtime.h"
#include "data/batch_loader.h"
#include "engine/continual_model.h"
#include "engine/run_model.h"
#include "engine/run_store.h"
#include "model/backbone.h"
#include "util/json_numbers.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

namespace dlw {

struct Predictor::Impl {
    std::string method;
    int afterTask = 0;
    int tasks = 0;
    std::unique_ptr<ContinualModel> model;
    ImageTransform transform;
    std::vector<std::vector<std::string>> names;  // learned tasks' class names
    struct Column {
        std::string name;
        int64_t label;
        int task;
    };
    std::vector<Column> columns;  // of the concatenated logits
};

Predictor::Predictor(const std::filesystem::path& runDir, int afterTask, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
    if (!std::filesystem::exists(runDir / run_files::kExperiment)) {
        throw Error(fmt::format("{}: not a run directory (no experiment.json)", runDir.string()));
    }
    const auto checkpoints = taskCheckpoints(runDir);
    if (checkpoints.empty()) {
        throw Error(
            fmt::format("{}: no finished task yet, so no model to predict with", runDir.string()));
    }
    if (afterTask == 0) {
        afterTask = checkpoints.rbegin()->first;
        // #14: a later task's tensors without their state file made prediction fall back to an
        // older model without a word.
        std::error_code ec;
        for (const auto& entry :
             std::filesystem::directory_iterator(runDir / run_files::kCheckpoints, ec)) {
            const std::string name = entry.path().filename().string();
            static const std::regex pattern(R"(task-(\d{3,6})\.safetensors)");
            std::smatch m;
            if (!std::regex_match(name, m, pattern)) {
                continue;
            }
            const int task = std::stoi(m[1].str());
            if (task > afterTask &&
                !std::filesystem::exists(entry.path().parent_path() /
                                         (taskCheckpointStem(task - 1) + ".json"))) {
                throw Error(fmt::format(
                    "{}: the checkpoint after task {} has no {} beside it (a damaged run "
                    "folder); --after-task {} predicts with the model after task {}",
                    entry.path().string(), task, (taskCheckpointStem(task - 1) + ".json"),
                    afterTask, afterTask));
            }
        }
    }
    if (checkpoints.count(afterTask) == 0) {
        std::vector<int> have;
        for (const auto& c : checkpoints) {
            have.push_back(c.first);
        }
        throw Error(fmt::format("{}: no checkpoint after task {} (there are: {})", runDir.string(),
                                afterTask, fmt::join(have, ", ")));
    }
    const Experiment e = loadExperimentFile(runDir / run_files::kExperiment);
    const auto stem = checkpoints.at(afterTask);
    const auto statePath = stem.string() + ".json";
    const auto state = readCheckpointState(stem);
    if (!state.contains("task_class_ids") || !state.contains("task_classes") ||
        !state.contains("tasks_done")) {
        throw Error(fmt::format("{}: malformed checkpoint state", statePath));
    }
    std::vector<std::vector<int64_t>> ids;
    std::vector<std::vector<std::string>> names;
    int tasksDone = 0;
    try {
        ids = detail::matrixAt<int64_t>(state, "task_class_ids");
        names = state["task_classes"].get<std::vector<std::vector<std::string>>>();
        tasksDone = detail::numberAt<int>(state, "tasks_done");
    } catch (const nlohmann::json::exception& err) {
        throw Error(fmt::format("{}: malformed checkpoint state ({})", statePath, err.what()));
    } catch (const Error& err) {  // a number that does not fit
        throw Error(fmt::format("{}: malformed checkpoint state ({})", statePath, err.what()));
    }
    const bool shapesAgree = ids.size() == names.size() && [&] {
        for (std::size_t t = 0; t < ids.size(); ++t) {
            if (ids[t].size() != names[t].size() || ids[t].empty()) {
                return false;
            }
        }
        return true;
    }();
    if (!shapesAgree || afterTask > static_cast<int>(ids.size()) || tasksDone < 1 ||
        tasksDone > static_cast<int>(ids.size())) {
        throw Error(fmt::format(
            "{}: malformed checkpoint state (task_class_ids, task_classes and tasks_done disagree)",
            statePath));
    }
    BackboneInfo info;
    VisionTransformer backbone = loadBackbone(runBackbonePath(e), &info);
    RunModel built = buildRunModel(e, backbone, info, ids, resolveDevice(device));
    impl_->model = std::move(built.model);
    impl_->transform = built.evalTransform;  // as the run evaluated: normalisation included
    auto tensors = readCheckpointTensors(stem, state);
    try {
        checkModelSignature(state, modelSignature(e, info.arch));
        restoreModel(*impl_->model, tensors, tasksDone, tasksDone);
    } catch (const Error& err) {
        throw Error(fmt::format("{}.safetensors: {}", stem.string(), err.what()));
    }
    impl_->method = toString(e.method.name);
    impl_->afterTask = afterTask;
    impl_->tasks = static_cast<int>(ids.size());
    for (int t = 0; t < afterTask; ++t) {
        const auto tt = static_cast<std::size_t>(t);
        impl_->names.push_back(names.at(tt));
        for (std::size_t c = 0; c < ids.at(tt).size(); ++c) {
            impl_->columns.push_back({names.at(tt).at(c), ids[tt][c], t});
        }
    }
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;

std::vector<int> Predictor::availableTasks(const std::filesystem::path& runDir) {
    std::vector<int> out;
    for (const auto& c : taskCheckpoints(runDir)) {
        out.push_back(c.first);
    }
    return out;
}

int Predictor::afterTask() const {
    return impl_->afterTask;
}
int Predictor::tasks() const {
    return impl_->tasks;
}
const std::string& Predictor::method() const {
    return impl_->method;
}
const std::vector<std::vector<std::string>>& Predictor::taskClassNames() const {
    return impl_->names;
}

std::vector<ImagePrediction> Predictor::predictFiles(
    const std::vector<std::filesystem::path>& files, int topK) {
    std::vector<ImagePrediction> out(files.size());
    const auto& columns = impl_->columns;
    const int learned = impl_->afterTask;
    constexpr std::size_t kBatch = 64;
    for (std::size_t begin = 0; begin < files.size(); begin += kBatch) {
        const std::size_t end = std::min(files.size(), begin + kBatch);
        const LoadedFiles loaded = loadImageFiles(files, begin, end, impl_->transform);
        for (std::size_t i = begin; i < end; ++i) {
            out[i].file = files[i].string();
            out[i].error = loaded.errors[i - begin];
        }
        if (loaded.images.empty()) {
            continue;
        }
        const std::size_t n = loaded.images.size();
        const Prediction p = impl_->model->predict(torch::stack(loaded.images));
        // Plain arrays from here: indexing a tensor element by element costs a dispatch each.
        const auto raw = torch::softmax(p.logits, 1).to(torch::kCPU, torch::kFloat64).contiguous();
        const bool calibrates = p.calibrated.defined();
        const auto cal = calibrates ? p.calibrated.to(torch::kCPU, torch::kFloat64).contiguous()
                                    : torch::Tensor();
        const auto posterior = p.taskPosterior.defined()
                                   ? p.taskPosterior.to(torch::kCPU, torch::kFloat64).contiguous()
                                   : torch::Tensor();
        const auto ood =
            p.ood.defined() ? p.ood.to(torch::kCPU, torch::kFloat64).contiguous() : torch::Tensor();
        const auto width = static_cast<std::size_t>(raw.size(1));
        for (std::size_t b = 0; b < n; ++b) {
            ImagePrediction& r = out[loaded.indices[b]];
            const double* rawRow = raw.data_ptr<double>() + b * width;
            const double* calRow = calibrates ? cal.data_ptr<double>() + b * width : nullptr;
            r.hasTaskIdentity = posterior.defined();
            if (ood.defined()) {
                r.oodScore = ood.data_ptr<double>()[b];
                r.unfamiliar = *r.oodScore > kUnfamiliarAbove;
            }
            r.taskPosterior.assign(static_cast<std::size_t>(learned), 0.0);
            std::vector<ClassProbability> all;
            all.reserve(columns.size());
            for (std::size_t c = 0; c < columns.size(); ++c) {
                ClassProbability cp{columns[c].name, columns[c].label, columns[c].task, rawRow[c],
                                    std::nullopt};
                if (calibrates) {
                    cp.calibrated = calRow[c];
                }
                if (!r.hasTaskIdentity) {
                    r.taskPosterior[static_cast<std::size_t>(cp.task)] += cp.raw;
                }
                all.push_back(cp);
            }
            if (r.hasTaskIdentity) {
                const double* taskRow =
                    posterior.data_ptr<double>() + b * static_cast<std::size_t>(posterior.size(1));
                std::copy(taskRow, taskRow + learned, r.taskPosterior.begin());
            }
            std::stable_sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
                return x.calibrated.value_or(x.raw) > y.calibrated.value_or(y.raw);
            });
            all.resize(std::min(all.size(), static_cast<std::size_t>(std::max(topK, 1))));
            r.top = std::move(all);
            const auto best = std::max_element(r.taskPosterior.begin(), r.taskPosterior.end());
            r.predictedTask = static_cast<int>(best - r.taskPosterior.begin());
            r.taskConfidence = *best;
        }
    }
    return out;
}

}  // namespace dlw
