#pragma once
// Reading finished (or stopped) run directories back, for `dlw compare`, the GUI's run list and
// reports. Public: no LibTorch.

#include "api/events.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dlw {

struct RunRecord {
    std::string dir;
    std::string name;     // experiment name
    std::string method;   // "duallora", ...
    std::string variant;  // the method with its ablation knobs: "duallora -task-id", ...
    uint64_t seed = 0;
    int tasks = 0;
    bool completed = false;  // all tasks trained
    RunSummary summary;
    std::optional<double> taskAwareFinal;  // mean of the task-aware matrix's last row
};

// Reads DIR/experiment.json and DIR/summary.json. Throws dlw::Error naming the file for a
// directory that is not a run, or malformed JSON. Any thread.
RunRecord readRunRecord(const std::filesystem::path& dir);

// The events of DIR/events.jsonl in order, for reopening a run with all its plots. A partial last
// line (a killed run) is ignored; lines of a newer events version or unknown types are skipped.
// Throws dlw::Error naming the file when it is missing or a complete line is malformed.
std::vector<Event> readRunEvents(const std::filesystem::path& dir);

}  // namespace dlw
