#pragma once
// What the queue does, apart from how the window shows it (#17): which row runs next and when the
// queue halts, which runs learned the same sequence (their plots overlay and their matrices
// subtract), the comparison set "Compare methods" queues, the run folder and request of a row,
// and the past runs read back from the runs folder. The window is a view of it; the tests drive
// it without one. GUI thread only (it edits the QueueModel its views show).

#include "api/engine.h"
#include "api/experiment.h"
#include "ui/queue_model.h"

#include <string>
#include <vector>

#include <QString>

namespace dlw::ui {

class QueuePolicy {
public:
    // `queue` outlives the policy. `threads`: the command line's --threads (0 = none given).
    QueuePolicy(QueueModel& queue, QString runsFolder, int threads = 0);

    // Runs with equal keys learned the same sequence from the same start: data kind, root and
    // lists, tasks, classes per task, class order, seed, images per class and backbone. The
    // method and its knobs are not part of it.
    static std::string sequenceKey(const Experiment& experiment);
    // The sequence key without the seed: runs that differ in their seed at most.
    static std::string seedlessKey(const Experiment& experiment);
    // The methods "Compare methods" queues, in this order: duallora, inflora, sd-lora, ranpac,
    // seq-lora, joint; each on `experiment`'s sequence, task identity on "auto", and the gate
    // kept for duallora only (the others have none).
    static std::vector<Experiment> comparisonSet(const Experiment& experiment);

    // Queues `experiment` last; returns its row.
    int enqueue(const Experiment& experiment);
    void enqueueComparison(const Experiment& experiment);

    // The row to run next: the first queued one, or -1 when none is queued or the queue is
    // halted. A stop halts the queue; pressing Run (or Resume, or asking for a comparison) lets
    // it go on.
    int next() const;
    void halt() { halted_ = true; }
    void release() { halted_ = false; }
    bool halted() const { return halted_; }
    // Whether the queue goes on by itself after a run ended in `state`: not after a stop, and
    // not while halted.
    bool continuesAfter(RunState state) const;

    // The request that runs `row`: its run folder (a new one under the runs folder the first
    // time, never one promised to another row), resume when it was asked for (then cleared),
    // and the command line's thread count when the experiment leaves threads on auto (0).
    RunRequest requestFor(int row);
    // Marks a stopped row to resume from its checkpoint when it runs next.
    void markResume(int row);

    // The rows' runs that learned the same sequence as `current`, `current` among them; empty
    // for nullptr.
    RunList sameSequence(const RunData* current) const;
    // The same, over every seed: the runs whose means over seeds the plots can show (#17).
    RunList sameSequenceAnySeed(const RunData* current) const;

    const QString& runsFolder() const { return runsFolder_; }
    void setRunsFolder(const QString& folder) { runsFolder_ = folder; }
    // Adds the runs found in the runs folder that are not listed yet, newest first: each with
    // its experiment, events and summary (done, stopped and resumable, or failed with why), or,
    // for a folder that cannot be read, as a failed row that says why. Returns how many were
    // added.
    int loadPastRuns();
    // One past run read back: its experiment, events (every plot's data) and summary, in the
    // state it ended in (done; stopped and resumable; failed with why), each file read once.
    // With `record`, also its RunRecord (the comparison's figures; then a run without
    // summary.json is an error, as readRunRecord says). Throws dlw::Error naming the file that
    // cannot be read. Any thread.
    static QueueEntry readPastRun(const std::string& dir, RunRecord* record = nullptr);

private:
    static QueueEntry entryFor(const Experiment& experiment);
    // The rows' runs whose `key` equals `current`'s, `current` among them; empty for nullptr.
    RunList runsSharing(const RunData* current, std::string RunData::*key) const;

    QueueModel& queue_;
    QString runsFolder_;
    int threads_ = 0;
    bool halted_ = false;
};

}  // namespace dlw::ui
