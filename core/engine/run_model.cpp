#include "engine/run_model.h"

#include "api/error.h"
#include "model/backbone.h"
#include "torch_compat.h"

#include <fmt/format.h>

namespace dlw {

std::string runBackbonePath(const Experiment& experiment) {
    return experiment.backbone.path.empty() ? bundledBackbonePath().string()
                                            : experiment.backbone.path;
}

ImageTransform evalTransformFor(const Experiment& experiment, const BackboneArch& arch) {
    ImageTransform t = transformFor(arch);
    if (experiment.data.normalize == PixelNormalization::None) {
        t.mean.clear();
        t.std.clear();
    }
    return t;
}

RunModel buildRunModel(const Experiment& experiment,
                       VisionTransformer backbone,
                       const BackboneInfo& info,
                       const std::vector<std::vector<int64_t>>& taskClasses,
                       const std::string& device) {
    std::vector<std::vector<int64_t>> trainTasks = taskClasses;
    if (experiment.method.name == MethodKind::Joint) {  // one task of every class, in order
        std::vector<int64_t> all;
        for (const auto& t : taskClasses) {
            all.insert(all.end(), t.begin(), t.end());
        }
        trainTasks = {all};
    }
    RunModel out;
    out.device = torch::Device(device);
    out.model = std::make_unique<ContinualModel>(
        std::move(backbone), planMethod(experiment, info.arch), std::move(trainTasks), out.device);
    out.model->setBf16Autocast(experiment.precision == Precision::Bf16);
    compat::allowTf32(experiment.precision == Precision::Tf32);
    out.evalTransform = evalTransformFor(experiment, info.arch);
    return out;
}

nlohmann::json modelSignature(const Experiment& experiment, const BackboneArch& arch) {
    const MethodPlan plan = planMethod(experiment, arch);
    return {{"method", toString(experiment.method.name)},
            {"targets", experiment.method.targets},
            {"blocks", plan.layout.blocks},
            {"rank", experiment.method.rank},
            {"residual_rank", experiment.method.residualRank},
            {"task_id", toString(effectiveTaskIdMode(experiment))},
            {"backbone",
             fmt::format("ViT {}x{} px, patch {}, {} channel(s), width {}, depth {}, {} heads{}{}",
                         arch.imgSize, arch.imgSize, arch.patchSize, arch.inChans, arch.width,
                         arch.depth, arch.heads, arch.layerScale ? ", LayerScale" : "",
                         arch.qkvBias ? "" : ", no qkv bias")}};
}

void checkModelSignature(const nlohmann::json& state, const nlohmann::json& expected) {
    if (!state.contains("model") || !state["model"].is_object()) {
        return;
    }
    const auto& found = state["model"];
    for (const auto& [key, value] : expected.items()) {
        if (!found.contains(key) || found[key] != value) {
            throw Error(fmt::format("checkpoint was made for {} {}; this run needs {} {}", key,
                                    found.contains(key) ? found[key].dump() : "(none)", key,
                                    value.dump()));
        }
    }
}

void restoreModel(ContinualModel& model,
                  const std::map<std::string, torch::Tensor>& tensors,
                  int tasksStarted,
                  int tasksDone) {
    for (const auto& [name, tensor] : tensors) {  // a damaged file, not a diverged run (#14)
        if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>()) {
            throw Error(fmt::format(
                "checkpoint tensor '{}' holds NaN or Inf: the file is damaged (a run that "
                "diverged never writes one)",
                name));
        }
    }
    try {
        model.restore(tensors, tasksStarted, tasksDone);
    } catch (const Error&) {
        throw;
    } catch (const std::exception& err) {  // c10::Error from a tensor of the wrong dtype...
        std::string what = err.what();
        what = what.substr(0, what.find('\n'));  // LibTorch appends a backtrace
        throw Error(fmt::format("checkpoint tensors do not fit the model ({})", what));
    }
}

}  // namespace dlw
