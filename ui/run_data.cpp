#include "ui/run_data.h"

#include <algorithm>
#include <iterator>
#include <numeric>

namespace dlw::ui {

namespace {

struct Apply {
    RunData& d;

    void operator()(const RunStarted& e) const {
        d.runDir = e.runDir;
        d.tasks = e.tasks;
        d.taskClasses = e.taskClasses;
        d.device = e.device;
        d.threads = e.threads;
        if (d.state != RunState::Stopping) {
            d.state = RunState::Running;
        }
    }
    void operator()(const TaskStarted& e) const {
        d.currentTask = e.task;
        d.currentEpoch = e.epoch;
        d.epochs = e.epochs;
        d.stepsPerEpoch = e.stepsPerEpoch;
        d.taskSteps = e.epoch * e.stepsPerEpoch + e.batch;
        const int64_t next = d.steps.empty() ? 0 : d.steps.back().step + 1;
        if (static_cast<int>(d.taskFirstStep.size()) <= e.task) {
            d.taskFirstStep.resize(static_cast<std::size_t>(e.task) + 1, next);
        }
        if (!e.resumed) {
            d.taskFirstStep[static_cast<std::size_t>(e.task)] = next;
        }
    }
    void operator()(const StepFinished& e) const {
        d.steps.push_back({e.step, e.task, e.epoch, e.loss, e.lr});
        d.currentEpoch = e.epoch;
        ++d.taskSteps;
    }
    void operator()(const EpochFinished& e) const {
        d.imagesPerSecond = e.imagesPerSecond;
        if (d.stepsPerEpoch > 0 && e.seconds > 0) {
            d.secondsPerStep = e.seconds / static_cast<double>(d.stepsPerEpoch);
        }
    }
    void operator()(const Evaluation& e) const {
        // A resumed run re-evaluates nothing it already evaluated; keep one row per task.
        d.evaluations.resize(static_cast<std::size_t>(e.afterTask));
        d.evaluations.push_back(e);
    }
    void operator()(const TaskFinished& e) const {
        d.taskSeconds += e.seconds;
        d.memorySeconds += e.memorySeconds;
    }
    void operator()(const Warning& e) const { d.warnings.push_back(e.message); }
    void operator()(const FilesSkipped& e) const { d.skipped = e.files; }
    void operator()(const RunFinished& e) const {
        d.summary = e.summary;
        d.state = !e.error.empty() ? RunState::Failed
                  : e.completed    ? RunState::Done
                                   : RunState::Stopped;
        d.error = e.error;
    }
};

}  // namespace

void RunData::apply(const Event& event) {
    std::visit(Apply{*this}, event);
}

AccuracyMatrix RunData::matrix(MatrixKind kind) const {
    AccuracyMatrix m(static_cast<std::size_t>(tasks),
                     std::vector<std::optional<double>>(static_cast<std::size_t>(tasks)));
    if (kind == MatrixKind::TaskConfusion) {
        if (evaluations.empty()) {
            return m;
        }
        const auto& confusion = evaluations.back().taskConfusion;
        for (std::size_t i = 0; i < confusion.size() && i < m.size(); ++i) {
            double total = 0;
            for (auto n : confusion[i]) {
                total += static_cast<double>(n);
            }
            for (std::size_t j = 0; j < confusion[i].size() && j < m.size(); ++j) {
                m[i][j] = total > 0 ? 100.0 * static_cast<double>(confusion[i][j]) / total : 0.0;
            }
        }
        return m;
    }
    for (const auto& ev : evaluations) {
        const auto& row = kind == MatrixKind::ClassIncremental ? ev.accuracy
                          : kind == MatrixKind::TaskAware      ? ev.taskAwareAccuracy
                                                               : ev.taskIdAccuracy;
        for (std::size_t j = 0; j < row.size() && j < static_cast<std::size_t>(tasks); ++j) {
            m.at(static_cast<std::size_t>(ev.afterTask))[j] = row[j];
        }
    }
    return m;
}

std::vector<std::pair<int, double>> RunData::accuracyCurve() const {
    std::vector<std::pair<int, double>> out;
    for (const auto& ev : evaluations) {
        if (!ev.accuracy.empty()) {
            out.emplace_back(ev.afterTask + 1,
                             std::accumulate(ev.accuracy.begin(), ev.accuracy.end(), 0.0) /
                                 static_cast<double>(ev.accuracy.size()));
        }
    }
    return out;
}

std::vector<std::pair<int, double>> RunData::taskIdCurve() const {
    std::vector<std::pair<int, double>> out;
    for (const auto& ev : evaluations) {
        if (!ev.taskIdAccuracy.empty()) {
            out.emplace_back(ev.afterTask + 1, std::accumulate(ev.taskIdAccuracy.begin(),
                                                               ev.taskIdAccuracy.end(), 0.0) /
                                                   static_cast<double>(ev.taskIdAccuracy.size()));
        }
    }
    return out;
}

std::optional<double> RunData::etaSeconds() const {
    if (secondsPerStep <= 0 || currentTask < 0 || stepsPerEpoch <= 0) {
        return std::nullopt;
    }
    const int64_t perTask = stepsPerEpoch * epochs;
    const int64_t left = (perTask - taskSteps) + perTask * (tasks - 1 - currentTask);
    return secondsPerStep * static_cast<double>(std::max<int64_t>(left, 0));
}

std::vector<VariantRuns> groupByVariant(const RunList& runs) {
    std::vector<VariantRuns> out;
    for (const auto& run : runs) {
        auto it = std::find_if(out.begin(), out.end(), [&](const VariantRuns& g) {
            const RunData& first = *g.runs.front();
            return first.label == run->label && first.experimentKey == run->experimentKey;
        });
        if (it == out.end()) {
            out.push_back({run->label, {}});
            it = std::prev(out.end());
        }
        it->runs.push_back(run.get());
    }
    // Two experiments of one variant (another preset, another learning rate) read alike in a
    // legend: name them as the comparison does, by name or by the keys that differ.
    std::vector<Experiment> experiments;
    bool collide = false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            collide = collide || out[i].label == out[j].label;
        }
    }
    if (!collide) {
        return out;
    }
    try {
        for (const auto& g : out) {
            experiments.push_back(experimentFromJsonText(g.runs.front()->experimentKey, "run"));
        }
    } catch (const std::exception&) {  // a run without a key (made in a test): labels as they are
        return out;
    }
    const auto labels = experimentLabels(experiments);
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i].label = labels[i];
    }
    return out;
}

MatrixStats matrixStats(const std::vector<const RunData*>& runs, MatrixKind kind) {
    int tasks = 0;
    std::vector<AccuracyMatrix> matrices;
    for (const auto* run : runs) {
        tasks = std::max(tasks, run->tasks);
        matrices.push_back(run->matrix(kind));
    }
    const auto t = static_cast<std::size_t>(tasks);
    MatrixStats out{AccuracyMatrix(t, std::vector<std::optional<double>>(t)),
                    AccuracyMatrix(t, std::vector<std::optional<double>>(t))};
    for (std::size_t i = 0; i < t; ++i) {
        for (std::size_t j = 0; j < t; ++j) {
            std::vector<double> values;
            for (const auto& m : matrices) {
                if (i < m.size() && j < m[i].size() && m[i][j]) {
                    values.push_back(*m[i][j]);
                }
            }
            if (!values.empty() && values.size() == matrices.size()) {
                const MeanSd stats = meanSd(values);
                out.mean[i][j] = stats.mean;
                out.sd[i][j] = stats.sd;
            }
        }
    }
    return out;
}

}  // namespace dlw::ui
