#include "ui/queue_policy.h"

#include "api/error.h"
#include "api/run_folder.h"

#include <optional>
#include <type_traits>

#include <QDir>
#include <QFileInfo>
#include <QObject>

namespace dlw::ui {

QueuePolicy::QueuePolicy(QueueModel& queue, QString runsFolder, int threads)
    : queue_(queue), runsFolder_(std::move(runsFolder)), threads_(threads) {}

std::string QueuePolicy::seedlessKey(const Experiment& e) {
    std::string key =
        toString(e.data.kind) + "|" + e.data.root + "|" + std::to_string(e.sequence.tasks) + "|" +
        std::to_string(e.sequence.classesPerTask) + "|" +
        std::to_string(static_cast<int>(e.sequence.classOrder)) + "|" +
        std::to_string(e.data.trainPerClass) + "|" + std::to_string(e.data.valPerClass) + "|" +
        std::to_string(e.data.testPerClass) + "|" + std::to_string(e.data.testFraction) + "|" +
        e.backbone.path;
    const auto list = [&key](const char* name, const auto& values) {
        key += std::string("|") + name + ":";
        for (const auto& v : values) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
                key += v + ",";
            } else {
                key += std::to_string(v) + ",";
            }
        }
    };
    list("lists", e.data.domains);  // file-list: the lists read (#16)
    list("sizes", e.sequence.taskSizes);
    list("order", e.sequence.classList);
    list("domains", e.sequence.domains);
    return key;
}

std::string QueuePolicy::sequenceKey(const Experiment& e) {
    return seedlessKey(e) + "|seed " + std::to_string(e.seed);
}

std::vector<Experiment> QueuePolicy::comparisonSet(const Experiment& experiment) {
    std::vector<Experiment> out;
    for (auto method : {MethodKind::DualLora, MethodKind::InfLora, MethodKind::SdLora,
                        MethodKind::RanPac, MethodKind::SeqLora, MethodKind::Joint}) {
        Experiment copy = experiment;
        copy.method.name = method;
        copy.taskId.mode = TaskIdMode::Auto;
        copy.method.gate = method == MethodKind::DualLora ? experiment.method.gate : GateMode::None;
        out.push_back(std::move(copy));
    }
    return out;
}

QueueEntry QueuePolicy::entryFor(const Experiment& experiment) {
    QueueEntry entry;
    entry.experiment = experiment;
    entry.data->label = methodVariant(experiment);
    entry.data->sequenceKey = sequenceKey(experiment);
    entry.data->seedlessKey = seedlessKey(experiment);
    entry.data->seed = experiment.seed;
    Experiment key = experiment;  // what cannot change the results, as `dlw compare --group`
    key.seed = 0;
    key.device = "auto";
    key.threads = 0;
    key.checkpoint = CheckpointSettings{};
    entry.data->experimentKey = toJsonText(key);
    entry.data->tasks = experiment.sequence.tasks;
    return entry;
}

int QueuePolicy::enqueue(const Experiment& experiment) {
    return queue_.add(entryFor(experiment));
}

void QueuePolicy::enqueueComparison(const Experiment& experiment) {
    for (const auto& e : comparisonSet(experiment)) {
        enqueue(e);
    }
    halted_ = false;  // asking for a comparison is asking to run it
}

int QueuePolicy::next() const {
    return halted_ ? -1 : queue_.nextQueued();
}

bool QueuePolicy::continuesAfter(RunState state) const {
    return !halted_ && state != RunState::Stopped && queue_.nextQueued() >= 0;
}

RunRequest QueuePolicy::requestFor(int row) {
    auto& entry = queue_.entry(row);
    if (entry.runDir.empty()) {
        // One naming rule for the CLI and the window (#14), skipping folders promised to queued
        // runs.
        entry.runDir = newRunFolder(entry.experiment, runsFolder_.toStdString(),
                                    [this](const std::filesystem::path& dir) {
                                        for (int i = 0; i < queue_.rowCount(); ++i) {
                                            if (queue_.entry(i).runDir == dir.string()) {
                                                return true;
                                            }
                                        }
                                        return false;
                                    })
                           .string();
    }
    RunRequest request;
    request.experiment = entry.experiment;
    request.runDir = entry.runDir;
    request.resume = entry.resume;
    entry.resume = false;
    if (threads_ > 0 && request.experiment.threads == 0) {
        request.experiment.threads = threads_;  // #17: the engine's auto overrode --threads
    }
    return request;
}

void QueuePolicy::markResume(int row) {
    auto& entry = queue_.entry(row);
    entry.resume = true;
    entry.data->state = RunState::Queued;
    queue_.refresh(row);
    halted_ = false;
}

RunList QueuePolicy::runsSharing(const RunData* current, std::string RunData::*key) const {
    RunList runs;
    if (current == nullptr) {
        return runs;
    }
    for (int i = 0; i < queue_.rowCount(); ++i) {
        const auto& d = queue_.entry(i).data;
        if ((*d).*key == (*current).*key) {
            runs.push_back(d);
        }
    }
    return runs;
}

RunList QueuePolicy::sameSequence(const RunData* current) const {
    return runsSharing(current, &RunData::sequenceKey);
}

RunList QueuePolicy::sameSequenceAnySeed(const RunData* current) const {
    return runsSharing(current, &RunData::seedlessKey);
}

QueueEntry QueuePolicy::readPastRun(const std::string& dir, RunRecord* record) {
    std::optional<RunRecord> read;
    if (record != nullptr) {  // first: its errors say what is not a run ("summary.json: missing")
        static const std::vector<Event> none;  // its task times: from the events read below
        read = readRunRecord(dir, &none);
    }
    QueueEntry entry =
        entryFor(loadExperimentFile(std::filesystem::path(dir) / run_files::kExperiment));
    entry.runDir = dir;
    const auto events = readRunEvents(dir);
    for (const auto& ev : events) {
        entry.data->apply(ev);
    }
    entry.data->runDir = dir;
    if (!read && std::filesystem::exists(std::filesystem::path(dir) / run_files::kSummary)) {
        read = readRunRecord(dir, &events);
    }
    if (read) {
        read->allSeconds = entry.data->taskSeconds;  // the same sum of the tasks' seconds
        entry.data->summary = read->summary;
        entry.data->state = read->completed                         ? RunState::Done
                            : entry.data->state == RunState::Failed ? RunState::Failed
                                                                    : RunState::Stopped;
        if (record != nullptr) {
            *record = std::move(*read);
        }
    } else if (entry.data->state != RunState::Failed) {  // (a failure says why)
        entry.data->state = RunState::Stopped;           // killed: resumable from its checkpoint
    }
    return entry;
}

int QueuePolicy::loadPastRuns() {
    QDir root(runsFolder_);
    const auto dirs = root.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time);
    int added = 0;
    for (const auto& info : dirs) {
        const std::string dir = info.filePath().toStdString();
        bool known = false;
        for (int i = 0; i < queue_.rowCount(); ++i) {
            known = known || queue_.entry(i).runDir == dir;
        }
        if (known || !QFileInfo::exists(info.filePath() + "/" + run_files::kEvents)) {
            continue;
        }
        try {
            queue_.add(readPastRun(dir));
        } catch (const Error& err) {
            // #14: listed as failed with why (a status-bar message was gone in seconds and hid
            // the folder); the other runs load as usual.
            QueueEntry broken;
            broken.experiment.name = info.fileName().toStdString();
            broken.runDir = dir;
            broken.data->runDir = dir;
            broken.data->label = QObject::tr("unreadable run folder").toStdString();
            broken.data->state = RunState::Failed;
            broken.data->error = err.what();
            queue_.add(std::move(broken));
        }
        ++added;
    }
    return added;
}

}  // namespace dlw::ui
