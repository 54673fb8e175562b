#include "engine/run_model.h"

#include "api/error.h"
#include "model/backbone.h"
#include "torch_compat.h"
#include "util/strict_json.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>
#include <string>
#include <vector>

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
            {"ranpac_dim", plan.ranpacDim},
            {"task_id_projection", plan.taskIdProjection},
            {"backbone",
             fmt::format("ViT {}x{} px, patch {}, {} channel(s), width {}, depth {}, {} heads{}{}",
                         arch.imgSize, arch.imgSize, arch.patchSize, arch.inChans, arch.width,
                         arch.depth, arch.heads, arch.layerScale ? ", LayerScale" : "",
                         arch.qkvBias ? "" : ", no qkv bias")}};
}

std::string signatureDifferences(const nlohmann::json& first, const nlohmann::json& second) {
    std::set<std::string> keys;
    for (const auto* j : {&first, &second}) {
        if (j->is_object()) {
            for (const auto& item : j->items()) {
                keys.insert(item.key());
            }
        }
    }
    const auto valueOf = [](const nlohmann::json& j, const std::string& key) {
        return j.is_object() && j.contains(key) ? dumpJson(j[key]) : std::string("(none)");
    };
    std::vector<std::string> out;
    for (const auto& key : keys) {
        const std::string a = valueOf(first, key);
        const std::string b = valueOf(second, key);
        if (a != b) {
            out.push_back(fmt::format("{}: {} vs {}", key, a, b));
        }
    }
    return fmt::format("{}", fmt::join(out, "; "));
}

void checkModelSignature(const nlohmann::json& state, const nlohmann::json& expected) {
    if (!state.contains("model") || !state["model"].is_object()) {
        return;
    }
    nlohmann::json found = nlohmann::json::object();  // the keys this version signs
    for (const auto& item : expected.items()) {
        if (state["model"].contains(item.key())) {
            found[item.key()] = state["model"][item.key()];
        }
    }
    const std::string differences = signatureDifferences(found, expected);
    if (!differences.empty()) {
        throw Error(fmt::format(
            "checkpoint was made for another model (checkpoint vs this run: {})", differences));
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
    // restore() converts what it copies: a tensor stored with another dtype than the model
    // keeps it in (statistics.total as F64, say) is a damaged or foreign file (#14), not data.
    for (const auto& [name, kept] : model.state()) {
        const auto it = tensors.find(name);
        if (it != tensors.end() && it->second.scalar_type() != kept.scalar_type()) {
            throw Error(fmt::format(
                "checkpoint tensor '{}' is stored as {}, the model keeps it as "
                "{}: the file is damaged or from another program",
                name, c10::toString(it->second.scalar_type()), c10::toString(kept.scalar_type())));
        }
    }
}

}  // namespace dlw
