#include "engine/evaluator.h"

#include "api/error.h"
#include "engine/run_folder_json.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace dlw {
struct Evaluator::TaskCounts {
    int64_t n = 0;
    int64_t correct = 0;
    int64_t aware = 0;
    int64_t taskRight = 0;
};

// Confidence and correctness of every evaluated image, raw and calibrated (for ECE).
struct Evaluator::Confidences {
    std::vector<float> raw;
    std::vector<bool> rawRight;
    std::vector<float> cal;
    std::vector<bool> calRight;
    int64_t scored = 0;  // images with an OOD score
    int64_t unfamiliar = 0;
};

namespace {

template <typename T>
std::vector<T> toVector(const torch::Tensor& t) {
    if (!t.defined()) {
        return {};
    }
    const auto c = t.to(torch::kCPU).contiguous();
    return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

std::optional<double> optionalFrom(const nlohmann::json& j) {
    return j.is_null() ? std::nullopt : std::optional<double>(j.get<double>());
}

}  // namespace

Evaluator::Evaluator(std::vector<std::vector<int64_t>> tasks, bool joint)
    : tasks_(std::move(tasks)), joint_(joint) {
    int64_t column = 0;
    int64_t maxClass = 0;
    for (const auto& t : tasks_) {
        for (int64_t c : t) {
            maxClass = std::max(maxClass, c);
        }
    }
    columnOf_.assign(static_cast<std::size_t>(maxClass + 1), -1);
    taskOf_.assign(static_cast<std::size_t>(maxClass + 1), -1);
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
        for (int64_t c : tasks_[t]) {
            columnOf_[static_cast<std::size_t>(c)] = column++;
            taskOf_[static_cast<std::size_t>(c)] = static_cast<int>(t);
        }
    }
    const std::size_t n = tasks_.size();
    accuracy_.assign(n, std::vector<std::optional<double>>(n));
    taskAware_ = accuracy_;
}

std::vector<double> Evaluator::rowsOf(const Prediction& p,
                                      const torch::Tensor& labels,
                                      int j,
                                      const std::vector<int64_t>& taskStart) const {
    const int seen = static_cast<int>(taskStart.size());
    const int64_t columns =
        taskStart.back() + static_cast<int64_t>(tasks_[static_cast<std::size_t>(seen - 1)].size());
    const int64_t jStart = taskStart[static_cast<std::size_t>(j)];
    const auto jSize = static_cast<int64_t>(tasks_[static_cast<std::size_t>(j)].size());
    // Read every decision out of the tensors once; the loop below is plain C++.
    const auto logits = p.logits.narrow(1, 0, columns).to(torch::kCPU);
    const auto [rawMaxT, rawArgT] = torch::softmax(logits, 1).max(1);
    const auto rawMax = toVector<float>(rawMaxT);
    const auto rawArg = toVector<int64_t>(rawArgT);
    const auto awareArg = toVector<int64_t>(logits.narrow(1, jStart, jSize).argmax(1));
    const auto truthLabels = toVector<int64_t>(labels);
    const bool calibrates = p.calibrated.defined();
    std::vector<float> calMax;
    std::vector<int64_t> calArg;
    std::vector<float> taskMax;
    std::vector<int64_t> taskPred;
    if (calibrates) {
        const auto [cm, ca] = p.calibrated.narrow(1, 0, columns).to(torch::kCPU).max(1);
        const auto [tm, tp] = p.taskPosterior.to(torch::kCPU).max(1);
        calMax = toVector<float>(cm);
        calArg = toVector<int64_t>(ca);
        taskMax = toVector<float>(tm);
        taskPred = toVector<int64_t>(tp);
    }
    const auto ood =
        p.ood.defined() ? toVector<float>(p.ood.to(torch::kFloat32)) : std::vector<float>{};
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> rows;
    rows.reserve(truthLabels.size() * kRowWidth);
    for (std::size_t i = 0; i < truthLabels.size(); ++i) {
        const int64_t truth = columnOf_[static_cast<std::size_t>(truthLabels[i])];
        const int64_t raw = rawArg[i];
        const int64_t pred = calibrates ? calArg[i] : raw;
        int predTask = 0;
        if (calibrates) {
            predTask = static_cast<int>(taskPred[i]);
        } else {  // the task of the argmax class
            while (predTask + 1 < seen &&
                   raw >= taskStart[static_cast<std::size_t>(predTask + 1)]) {
                ++predTask;
            }
        }
        const double row[kRowWidth] = {
            rawMax[i],
            raw == truth ? 1.0 : 0.0,
            calibrates ? static_cast<double>(calMax[i]) : nan,
            pred == truth ? 1.0 : 0.0,
            calibrates ? static_cast<double>(taskMax[i]) : nan,
            static_cast<double>(predTask),
            jStart + awareArg[i] == truth ? 1.0 : 0.0,
            ood.empty() ? nan : (ood[i] > kUnfamiliarAbove ? 1.0 : 0.0),
        };
        rows.insert(rows.end(), row, row + kRowWidth);
    }
    return rows;
}

void Evaluator::tally(
    const torch::Tensor& rows, int j, Evaluation* ev, TaskCounts* counts, Confidences* conf) const {
    const auto table = rows.to(torch::kFloat64).contiguous();
    const double* r = table.data_ptr<double>();
    for (int64_t i = 0; i < table.size(0); ++i, r += kRowWidth) {
        const bool calibrated = !std::isnan(r[2]);
        const int predTask = static_cast<int>(r[5]);
        if (calibrated) {
            conf->cal.push_back(static_cast<float>(r[2]));
            conf->calRight.push_back(r[3] != 0);
            ev->taskConfidence.push_back(static_cast<float>(r[4]));
        }
        if (!std::isnan(r[7])) {
            ++conf->scored;
            conf->unfamiliar += r[7] != 0 ? 1 : 0;
        }
        conf->raw.push_back(static_cast<float>(r[0]));
        conf->rawRight.push_back(r[1] != 0);
        ev->taskCorrect.push_back(predTask == j);
        ++ev->taskConfusion[static_cast<std::size_t>(j)][static_cast<std::size_t>(predTask)];
        ++counts->n;
        counts->correct += r[3] != 0 ? 1 : 0;
        counts->aware += r[6] != 0 ? 1 : 0;
        counts->taskRight += predTask == j ? 1 : 0;
    }
}

Evaluation Evaluator::evaluate(
    ContinualModel& model, const TaskData& data, int afterTask, int batchSize, Collective* group) {
    const auto start = std::chrono::steady_clock::now();
    Evaluation ev;
    ev.afterTask = afterTask;
    const int seen = afterTask + 1;
    ev.taskConfusion.assign(static_cast<std::size_t>(seen), std::vector<int64_t>(seen, 0));
    Confidences conf;
    std::vector<int64_t> taskStart;  // first column of each task
    int64_t columns = 0;
    for (int t = 0; t < seen; ++t) {
        taskStart.push_back(columns);
        columns += static_cast<int64_t>(tasks_[static_cast<std::size_t>(t)].size());
    }
    for (int j = 0; j < seen; ++j) {
        TaskCounts counts;
        std::vector<double> local;  // this rank's images, kRowWidth values each
        const auto add = [&](const Prediction& p, const torch::Tensor& labels) {
            const auto rows = rowsOf(p, labels, j, taskStart);
            local.insert(local.end(), rows.begin(), rows.end());
        };
        const auto jj = static_cast<std::size_t>(j);
        // Joint evaluates once: nothing to keep for later.
        const bool prefixed = !joint_ && model.hasFrozenPrefix();
        cache_.resize(std::max(cache_.size(), jj + 1));
        CachedTask& kept = cache_[jj];
        const auto featureOf = [&](std::size_t b) {
            return b < kept.features.size() ? kept.features[b] : torch::Tensor();
        };
        if (prefixed && !kept.prefix.empty()) {
            for (std::size_t b = 0; b < kept.prefix.size(); ++b) {
                add(model.predict(kept.prefix[b], /*prefixed=*/true, featureOf(b)), kept.labels[b]);
            }
        } else {
            // Data parallel (#18): each rank its contiguous share, gathered in rank order below.
            BatchLoader loader(data.evalSet(), shareOf(data.evalIndices(j), group), batchSize,
                               data.evalTransform, false, 0);
            const bool haveFeatures = !kept.features.empty();
            std::vector<torch::Tensor> prefix;
            std::vector<torch::Tensor> labels;
            std::vector<torch::Tensor> features;
            int64_t bytes = 0;
            bool keepPrefix = prefixed;
            bool keepFeatures = !joint_ && !haveFeatures;
            for (std::size_t b = 0; auto batch = loader.next(); ++b) {
                const auto x = prefixed ? model.frozenPrefix(batch->images) : batch->images;
                auto h = haveFeatures ? featureOf(b) : model.frozenTaskFeature(x, prefixed);
                add(model.predict(x, prefixed, h), batch->labels);
                if (keepFeatures && h.defined()) {
                    bytes += h.numel() * static_cast<int64_t>(h.element_size());
                    features.push_back(std::move(h));
                }
                if (keepPrefix) {
                    bytes += x.numel() * static_cast<int64_t>(x.element_size());
                    prefix.push_back(x);
                    labels.push_back(batch->labels);
                }
                if (cacheBytes_ + bytes > kCacheBudgetBytes) {
                    // Over the budget: this task is evaluated from images again, in full.
                    keepPrefix = keepFeatures = false;
                    prefix.clear();
                    labels.clear();
                    features.clear();
                    bytes = 0;
                }
            }
            if (keepPrefix) {
                kept.prefix = std::move(prefix);
                kept.labels = std::move(labels);
            }
            if (keepFeatures) {
                kept.features = std::move(features);
            }
            cacheBytes_ += bytes;
        }
        const auto rows =
            torch::tensor(local, torch::kFloat64).view({-1, static_cast<int64_t>(kRowWidth)});
        tally(gatherRows(group, rows, fmt::format("the evaluation of task {}", j + 1)), j, &ev,
              &counts, &conf);
        const auto pct = [&](int64_t k) {
            return 100.0 * static_cast<double>(k) /
                   static_cast<double>(std::max<int64_t>(counts.n, 1));
        };
        ev.accuracy.push_back(pct(counts.correct));
        ev.taskAwareAccuracy.push_back(pct(counts.aware));
        ev.taskIdAccuracy.push_back(pct(counts.taskRight));
        accuracy_[static_cast<std::size_t>(afterTask)][static_cast<std::size_t>(j)] =
            ev.accuracy.back();
        taskAware_[static_cast<std::size_t>(afterTask)][static_cast<std::size_t>(j)] =
            ev.taskAwareAccuracy.back();
    }
    ev.eceRaw = expectedCalibrationError(conf.raw, conf.rawRight);
    ev.reliabilityRaw = reliabilityBins(conf.raw, conf.rawRight);
    if (!conf.cal.empty()) {
        ev.eceCalibrated = expectedCalibrationError(conf.cal, conf.calRight);
        ev.reliabilityCalibrated = reliabilityBins(conf.cal, conf.calRight);
    }
    int64_t right = 0;
    for (bool b : ev.taskCorrect) {
        right += b ? 1 : 0;
    }
    taskIdAccuracy_ = 100.0 * static_cast<double>(right) /
                      static_cast<double>(std::max<std::size_t>(ev.taskCorrect.size(), 1));
    if (conf.scored > 0) {
        ev.unfamiliarShare =
            100.0 * static_cast<double>(conf.unfamiliar) / static_cast<double>(conf.scored);
    }
    eceRaw_ = ev.eceRaw;
    eceCalibrated_ = ev.eceCalibrated;
    unfamiliarShare_ = ev.unfamiliarShare;
    ev.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return ev;
}

RunSummary Evaluator::summary(const std::string& runDir, const std::string& method) const {
    RunSummary s;
    s.runDir = runDir;
    s.method = method;
    s.accuracyMatrix = accuracy_;
    s.taskAwareMatrix = taskAware_;
    s.metrics = computeContinualMetrics(accuracy_);
    s.taskIdAccuracy = taskIdAccuracy_;
    s.eceRaw = eceRaw_;
    s.eceCalibrated = eceCalibrated_;
    s.unfamiliarShare = unfamiliarShare_;
    return s;
}

nlohmann::json Evaluator::state() const {
    auto opt = [](const std::optional<double>& v) {
        return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    };
    return {{"accuracy", accuracyMatrixToJson(accuracy_)},
            {"task_aware", accuracyMatrixToJson(taskAware_)},
            {"task_id_accuracy", opt(taskIdAccuracy_)},
            {"ece_raw", opt(eceRaw_)},
            {"ece_calibrated", opt(eceCalibrated_)},
            {"unfamiliar_share", opt(unfamiliarShare_)}};
}

void Evaluator::restore(const nlohmann::json& state) {
    accuracy_ = accuracyMatrixFromJson(state.at("accuracy"));
    taskAware_ = accuracyMatrixFromJson(state.at("task_aware"));
    taskIdAccuracy_ = optionalFrom(state.at("task_id_accuracy"));
    eceRaw_ = optionalFrom(state.at("ece_raw"));
    eceCalibrated_ = optionalFrom(state.at("ece_calibrated"));
    unfamiliarShare_ = state.contains("unfamiliar_share")  // absent before OOD scores
                           ? optionalFrom(state.at("unfamiliar_share"))
                           : std::nullopt;
}

}  // namespace dlw
