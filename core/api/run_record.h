#pragma once
// Reading finished (or stopped) run directories back, for `dlw compare`, the GUI's run list and
// reports. Public: no LibTorch.

#include "api/events.h"

#include <filesystem>
#include <string>

namespace dlw {

struct RunRecord {
    std::string dir;
    std::string name;    // experiment name
    std::string method;  // "duallora", ...
    uint64_t seed = 0;
    int tasks = 0;
    bool completed = false;  // all tasks trained
    RunSummary summary;
};

// Reads DIR/experiment.json and DIR/summary.json. Throws dlw::Error naming the file for a
// directory that is not a run, or malformed JSON. Any thread.
RunRecord readRunRecord(const std::filesystem::path& dir);

}  // namespace dlw
