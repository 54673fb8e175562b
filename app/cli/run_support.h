#pragma once
// What `dlw run`, `dlw queue` and `dlw compare` share: running one experiment with a progress
// display and Ctrl-C handling, and the table of run summaries.

#include "api/engine.h"
#include "api/run_folder.h"
#include "api/run_table.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dlw::cli {

struct RunOutcome {
    RunSummary summary;
    bool stopped = false;  // by Ctrl-C; resumable
};
// Runs `request` on this thread: a progress bar with ETA on a terminal (a line per epoch
// otherwise), the first Ctrl-C stops after the current batch, a second one exits at once.
RunOutcome runWithProgress(const RunRequest& request);
void printSummary(const RunSummary& summary);

// The summary table, one row per run (text or CSV), and one run as JSON.
void printRunTable(const std::vector<RunRecord>& runs, bool csv);
nlohmann::ordered_json runRecordJson(const RunRecord& run);
// One row per experiment: mean ± sample standard deviation over its runs (the seeds), with the
// number of runs. Runs are one experiment when their experiment.json files agree on every key
// but seed, device, threads and checkpoint.every_steps (#15); rows that share a name and method
// variant name the keys where they differ ("duallora precision=bf16").
void printGroupedTable(const std::vector<RunRecord>& runs, bool csv);

}  // namespace dlw::cli
