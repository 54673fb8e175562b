// ContinualModel at inference: the task feature h, one pass that predicts the task and
// calibrates the class scores with it (DESIGN §3.2, eq. 7-8), and the out-of-distribution score
// of the familiarity memory, apart from the training passes in continual_model.cpp.
#include "engine/continual_model.h"
#include "torch_compat.h"

#include <algorithm>
#include <limits>

namespace dlw {

torch::Tensor ContinualModel::frozenTaskFeature(const torch::Tensor& batch, bool prefixed) {
    checkPrefixed("frozenTaskFeature", prefixed);
    if (!hasFeature()) {
        return {};
    }
    torch::NoGradGuard noGrad;
    compat::AutocastScope autocast(device_, bf16_);  // as in predict()
    return taskFeature(batch.to(device_), {}, nullptr, prefixed);
}

Prediction ContinualModel::predict(const torch::Tensor& batch,
                                   bool prefixed,
                                   const torch::Tensor& frozenFeature) {
    checkPrefixed("predict", prefixed);
    torch::NoGradGuard noGrad;
    const torch::Tensor images = batch.to(device_);
    ForwardOptions o;
    o.adapters = adapters_.get();
    Prediction out;
    torch::Tensor features;
    torch::Tensor h;
    {
        compat::AutocastScope autocast(device_, bf16_);  // the backbone only; eq. 7-8 in fp32
        if (hasFeature()) {
            h = taskFeature(images, o, &features, prefixed, frozenFeature).to(torch::kFloat32);
        } else {
            adapters_->setGate({});
            features = adaptedFeatures(images, prefixed, o);
        }
    }
    features = features.to(torch::kFloat32);
    const bool familiar = familiarity_ && !oodThreshold_.empty();
    if (familiar) {
        out.ood = oodScore(h);
    }
    // Unfamiliar inputs: calibrated probabilities mixed toward uniform over the C classes,
    // p ← w p + (1 − w) / C with w = 1 / score (familiar inputs, score <= 1, keep w = 1), and
    // p(t|x) alike toward n_t / C, so that it stays the sum of its classes' probabilities.
    const auto temper = [&] {
        if (familiar && out.calibrated.defined()) {
            const auto w = 1.0 / out.ood.clamp_min(kUnfamiliarAbove).unsqueeze(1);
            const auto classes = static_cast<double>(out.calibrated.size(1));
            out.calibrated = w * out.calibrated + (1.0 - w) / classes;
            std::vector<double> share;
            for (int t = 0; t < started_; ++t) {
                share.push_back(
                    static_cast<double>(taskClasses_[static_cast<std::size_t>(t)].size()) /
                    classes);
            }
            const auto uniform = torch::tensor(share).to(out.taskPosterior.device(),
                                                         out.taskPosterior.scalar_type());
            out.taskPosterior = w * out.taskPosterior + (1.0 - w) * uniform;
        }
    };
    if (ridge_) {
        const auto scores = ridge_->scores(ridge_->project(features), seenClassCount());
        out.logits = scores;  // [B, C]
        out.calibrated = torch::softmax(scores / ridge_->temperature(), 1);
        std::vector<torch::Tensor> perTask;
        int64_t start = 0;
        for (int t = 0; t < started_; ++t) {
            const auto n = static_cast<int64_t>(taskClasses_[static_cast<std::size_t>(t)].size());
            perTask.push_back(out.calibrated.narrow(1, start, n).sum(1));
            start += n;
        }
        out.taskPosterior = torch::stack(perTask, 1);  // [B, T]
        temper();
        return out;
    }
    std::vector<torch::Tensor> logits;
    for (auto& head : heads_) {
        logits.push_back(head->forward(features));
    }
    if (statistics_) {
        out.taskPosterior =
            statistics_->taskPosterior(taskIdInput(h), seenTaskColumns(), plan_.tau);  // eq. 7
        const bool sameSize = std::all_of(logits.begin(), logits.end(), [&](const auto& z) {
            return z.size(1) == logits.front().size(1);
        });
        if (sameSize) {  // eq. 8, product form, all tasks at once: [B, T, k]
            const auto z = torch::stack(logits, 1);
            out.logits = z.flatten(1);
            out.calibrated = (torch::softmax(z, 2) * out.taskPosterior.unsqueeze(2)).flatten(1);
        } else {
            std::vector<torch::Tensor> calibrated;
            for (std::size_t t = 0; t < logits.size(); ++t) {
                calibrated.push_back(torch::softmax(logits[t], 1) *
                                     out.taskPosterior.narrow(1, static_cast<int64_t>(t), 1));
            }
            out.logits = torch::cat(logits, 1);  // [B, C]
            out.calibrated = torch::cat(calibrated, 1);
        }
    } else {
        out.logits = torch::cat(logits, 1);  // [B, C]
    }
    temper();
    adapters_->setGate({});
    return out;
}

double ContinualModel::fitOodThreshold(const torch::Tensor& h, int task) const {
    const auto seen = familiarity_->classes();
    std::vector<int64_t> columns;
    for (const int64_t c : taskClasses_.at(static_cast<std::size_t>(task))) {
        const auto it = std::lower_bound(seen.begin(), seen.end(), c);
        if (it != seen.end() && *it == c) {
            columns.push_back(it - seen.begin());
        }
    }
    if (columns.empty() || h.size(0) == 0) {  // no class of the task has an image (file lists)
        return std::numeric_limits<double>::max();  // finite: checkpoints refuse Inf
    }
    const auto d2 = (-2.0 * familiarity_->classScores(h))
                        .index_select(1, torch::tensor(columns, torch::kInt64).to(h.device()))
                        .amin(1)
                        .to(torch::kCPU, torch::kFloat64);
    return torch::quantile(d2, kFamiliarQuantile).item<double>();
}

torch::Tensor ContinualModel::oodScore(const torch::Tensor& h) {
    if (oodClassThresholdTasks_ != oodThreshold_.size() || !oodClassThreshold_.defined()) {
        std::vector<float> theta;
        for (const int64_t c : familiarity_->classes()) {
            std::size_t task = 0;
            while (task < taskClasses_.size() &&
                   std::find(taskClasses_[task].begin(), taskClasses_[task].end(), c) ==
                       taskClasses_[task].end()) {
                ++task;
            }
            theta.push_back(static_cast<float>(task < oodThreshold_.size()
                                                   ? std::max(oodThreshold_[task], 1e-12)
                                                   : std::numeric_limits<double>::infinity()));
        }
        oodClassThreshold_ = torch::tensor(theta).to(device_);
        oodClassThresholdTasks_ = oodThreshold_.size();
    }
    const auto d2 = -2.0 * familiarity_->classScores(h);  // [B, C]
    return (d2 / oodClassThreshold_.to(d2.device())).amin(1);
}

}  // namespace dlw
