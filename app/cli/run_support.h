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

// A cell of a text table: control characters (a newline in a name) would break its row, so
// they read as spaces.
std::string tableCell(const std::string& text);
// A text table: columns as wide as their widest cell (UTF-8 code points: "±" is one), two
// spaces apart, each line starting with `indent`; `left` columns (one flag per column) are
// padded on the right, the others on the left, and the last column is not padded. Fixed widths
// had let long experiment and class names push the columns after them out of line.
void printAligned(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& left,
                  const std::string& indent = "");

// The summary table, one row per run (text or CSV), and one run as JSON.
void printRunTable(const std::vector<RunRecord>& runs, bool csv);
nlohmann::ordered_json runRecordJson(const RunRecord& run);
// One row per experiment: mean ± sample standard deviation over its runs (the seeds), with the
// number of runs. Runs are one experiment when their experiment.json files agree on every key
// but seed, device, threads and checkpoint.every_steps (#15); rows that share a name and method
// variant name the keys where they differ ("duallora precision=bf16").
void printGroupedTable(const std::vector<RunRecord>& runs, bool csv);

}  // namespace dlw::cli
