// ContinualModel's checkpoint tensors: what state() writes and restore() reads back into a
// freshly built model (adapters, heads, memories, the statistics and familiarity memories,
// RanPAC's sums), apart from the per-task passes in continual_model.cpp.
#include "api/error.h"
#include "engine/continual_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dlw {

std::vector<std::pair<std::string, torch::Tensor>> ContinualModel::state() {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : adapters_->named_parameters()) {
        out.emplace_back("adapters." + p.key(), p.value().detach());
    }
    for (const auto& b : adapters_->named_buffers()) {
        out.emplace_back("adapters." + b.key(), b.value());
    }
    for (std::size_t t = 0; t < heads_.size(); ++t) {
        out.emplace_back(fmt::format("heads.{}.weight", t), heads_[t]->weight.detach());
        out.emplace_back(fmt::format("heads.{}.bias", t), heads_[t]->bias.detach());
    }
    for (const auto& [key, memory] : memories_) {
        const std::string name = fmt::format("memory.{}.{}", key.first, toString(key.second));
        out.emplace_back(name + ".basis", memory.state());
        out.emplace_back(name + ".columns", torch::tensor(memory.taskColumns(), torch::kInt64));
    }
    if (statistics_) {
        for (auto& entry : statistics_->state("statistics.")) {
            out.push_back(std::move(entry));
        }
        if (taskIdProjection_.defined()) {
            out.emplace_back("task_id.W_rand", taskIdProjection_);
        }
    }
    if (familiarity_ && !oodThreshold_.empty()) {
        for (auto& entry : familiarity_->state("familiarity.")) {
            out.push_back(std::move(entry));
        }
        out.emplace_back("ood.threshold", torch::tensor(oodThreshold_, torch::kFloat64));
    }
    if (ridge_) {
        for (auto& entry : ridge_->state("ranpac.")) {
            out.push_back(std::move(entry));
        }
    }
    return out;
}

void ContinualModel::restore(const std::map<std::string, torch::Tensor>& tensors,
                             int tasksStarted,
                             int tasksDone) {
    // #14: a checkpoint is outside data. A tensor of the wrong type, or statistics that are not
    // positive definite, make LibTorch throw; callers expect dlw::Error (they add the file).
    try {
        restoreTensors(tensors, tasksStarted, tasksDone);
    } catch (const c10::Error& err) {
        throw Error(fmt::format("checkpoint cannot be restored: {}", err.what_without_backtrace()));
    }
}

void ContinualModel::restoreTensors(const std::map<std::string, torch::Tensor>& tensors,
                                    int tasksStarted,
                                    int tasksDone) {
    auto get = [&](const std::string& name) -> const torch::Tensor& {
        auto it = tensors.find(name);
        if (it == tensors.end()) {
            throw Error(fmt::format("checkpoint lacks tensor '{}'", name));
        }
        return it->second;
    };
    auto copyInto = [&](torch::Tensor& to, const std::string& name) {
        const auto& from = get(name);
        if (from.sizes() != to.sizes()) {
            throw Error(fmt::format("checkpoint tensor '{}' has shape [{}], the model needs [{}]",
                                    name, fmt::join(from.sizes(), ", "),
                                    fmt::join(to.sizes(), ", ")));
        }
        to.copy_(from);
    };
    for (int t = 0; t < tasksStarted; ++t) {  // replay the structure: pieces and heads
        std::vector<torch::Tensor> bases;
        if (plan_.layout.residualRank > 0) {
            for (const auto& s : adapters_->sites()) {
                bases.push_back(
                    get(fmt::format("adapters.b{}_{}_{}_U", s.block, toString(s.map), t))
                        .to(device_));
            }
        }
        startTask(bases);
    }
    torch::NoGradGuard noGrad;
    for (auto& p : adapters_->named_parameters()) {
        copyInto(p.value(), "adapters." + p.key());
    }
    for (auto& b : adapters_->named_buffers()) {  // U_i, SD-LoRA's directions
        copyInto(b.value(), "adapters." + b.key());
    }
    for (std::size_t t = 0; t < heads_.size(); ++t) {
        copyInto(heads_[t]->weight, fmt::format("heads.{}.weight", t));
        copyInto(heads_[t]->bias, fmt::format("heads.{}.bias", t));
    }
    for (auto& [key, memory] : memories_) {
        const std::string name = fmt::format("memory.{}.{}", key.first, toString(key.second));
        const auto& cols = get(name + ".columns");
        memory.restore(get(name + ".basis"),
                       std::vector<int64_t>(cols.data_ptr<int64_t>(),
                                            cols.data_ptr<int64_t>() + cols.numel()));
    }
    if (taskIdProjection_.defined()) {
        copyInto(taskIdProjection_, "task_id.W_rand");
    }
    if (statistics_ && tasksDone > 0) {  // the statistics memory grows at each task's end
        statistics_->restore(tensors, "statistics.");
        seenColumnsTasks_ = -1;
    }
    oodThreshold_.clear();
    oodClassThreshold_ = torch::Tensor();
    if (familiarity_ && tasksDone > 0) {
        if (tensors.count("ood.threshold") == 0) {
            familiarity_.reset();  // a checkpoint from before OOD scores: none for this run
        } else {
            familiarity_->restore(tensors, "familiarity.");
            const auto theta = get("ood.threshold").to(torch::kCPU, torch::kFloat64).contiguous();
            if (theta.dim() != 1 || theta.size(0) != tasksDone) {
                throw Error(fmt::format(
                    "checkpoint tensor 'ood.threshold' has {} values for {} finished tasks",
                    theta.numel(), tasksDone));
            }
            oodThreshold_.assign(theta.data_ptr<double>(), theta.data_ptr<double>() + tasksDone);
        }
    }
    if (ridge_) {
        ridge_->restore(tensors, "ranpac.");
    }
}

}  // namespace dlw
