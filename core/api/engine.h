#pragma once
// The training engine's one entry point (DESIGN §2): run an experiment synchronously on the
// caller's thread, reporting events through a callback, controllable through atomic flags.

#include "api/distributed.h"
#include "api/events.h"
#include "api/experiment.h"

#include <atomic>
#include <optional>
#include <string>

namespace dlw {

// Flags the training loop reads between batches. Any thread may set them; the engine only reads.
struct RunControl {
    std::atomic<bool> stop{false};           // stop after the current batch (resumable)
    std::atomic<bool> pause{false};          // wait between batches while set
    std::atomic<bool> stopAfterTask{false};  // finish the current task, then stop
};

struct RunRequest {
    Experiment experiment;
    std::string runDir;   // the run directory itself; created, must be empty or absent
    bool resume = false;  // continue the run in runDir from its last checkpoint
    // Data parallel (#18): this process's place in a run over several processes; absent = one
    // process without a process group (a world size of 1 makes a group of one, which runs the
    // collectives' path: NCCL on one GPU). Every rank gets the same request; rank 0 alone writes
    // runDir (the others read a resumed run's checkpoint from rank 0), and each global batch
    // of train.batch_size images is shared out, so the run takes the steps one process would.
    std::optional<DistributedOptions> distributed;
};

// Trains every task of the experiment and writes the run directory (DESIGN §6). Returns the
// summary (also in RunFinished). Throws dlw::Error for bad input found before training starts
// (missing data, a backbone that does not fit, a run directory that is not empty or, with
// resume, not a resumable run); errors during training are reported in RunFinished.error and
// rethrown. Calls `onEvent` on this thread; in a data-parallel run, ranks other than 0 deliver
// only RunFinished (how the run ended: a stop every rank agreed on, an error). Not reentrant on
// one RunControl.
RunSummary runExperiment(const RunRequest& request,
                         RunControl& control,
                         const EventCallback& onEvent);

}  // namespace dlw
