#pragma once
// The comparison of runs, in one place for `dlw compare`, `dlw report` and the window (#17): the
// metric columns, runs grouped into experiments (mean ± SD over seeds), and the experiment keys
// that differ between runs. Public: no LibTorch. Any thread.

#include "api/experiment.h"
#include "api/run_folder.h"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dlw {

// A column of the comparison: its short header ("A_T"), its header in a LaTeX table
// ("$A_T$ (\%)"), what it means, and a run's value (nullopt: the run has none, e.g. no ECE of
// calibrated scores for a method without task identity).
struct RunColumn {
    std::string header;
    std::string latex;
    std::string meaning;
    std::function<std::optional<double>(const RunRecord&)> value;
    bool whole = false;  // a count (parameters): shown without decimals or SD
};
// A_T, A_avg, BWT, forget, TA_A_T, task-id, ECE_raw, ECE_cal, unfam, seconds, all_s, params.
const std::vector<RunColumn>& runColumns();

// The experiment keys of a run, flattened ("train.lr" → "0.0005"), with what cannot change its
// results set aside: seed, device, threads and checkpoint cadence. Plus "method" = the method
// variant and "completed" (a run stopped early is not one of the finished experiment's seeds). A
// run whose experiment.json does not load is known by its name and variant only.
using RunSettings = std::map<std::string, std::string>;
RunSettings runSettings(const RunRecord& run);

// The run folders among `paths`: each path that is a run folder (it has experiment.json), and
// for a folder of runs (runs/), every run folder directly inside it, sorted by name. A path that
// is neither goes to `problems` (optional) with why: no such file or folder, a file, or a folder
// without runs. For `dlw compare`, `dlw report` and the window's reports alike.
std::vector<std::filesystem::path> runFolders(const std::vector<std::string>& paths,
                                              std::vector<std::string>* problems = nullptr);

// Runs that are one experiment (equal runSettings), first-seen order. `label` is the method
// variant, and when other groups share the name and variant, the keys where they differ
// ("duallora precision=bf16"), so that no two rows read alike; "(stopped early)" ends the label
// of runs stopped before their last task.
struct RunGroup {
    std::string name;
    std::string label;
    std::vector<const RunRecord*> runs;
};
std::vector<RunGroup> groupRuns(const std::vector<RunRecord>& runs);

// Names for experiments shown side by side (the window's legends): each one's method variant;
// where others share its variant but are another experiment, their name after it when the
// names differ ("duallora · deep-identity"), else the keys where they differ ("duallora
// train.lr=0.001"). Seed, device, threads and checkpoint cadence are set aside. In the order
// of `experiments`.
std::vector<std::string> experimentLabels(const std::vector<Experiment>& experiments);

// A mean, its sample standard deviation (n − 1 in the denominator; 0 for one value) and the
// number of values: what every "mean ± SD over seeds" of the program shows.
struct MeanSd {
    double mean = 0;
    double sd = 0;
    int n = 0;
};
MeanSd meanSd(const std::vector<double>& values);  // n = 0, mean 0 for no value

// meanSd of `column` over `runs`, from the runs that have a value; nullopt when none has.
std::optional<MeanSd> columnStats(const RunColumn& column,
                                  const std::vector<const RunRecord*>& runs);

// A group's cell as `dlw compare --group` and reports show it: "84.6 ± 0.1" (one decimal, fmt's
// rounding: ties to even), one run's value alone, " (n=K)" after it when only K of the group's
// `runs` have a value (an ECE of calibrated scores that one variant does not compute); counts
// (column.whole) without decimals.
std::string statsText(const RunColumn& column, const MeanSd& stats, std::size_t runs);

// The experiment keys (flattened, as in experiment.json) whose values are not the same in all of
// `runs`, with each run's value ("" where a run lacks the key), sorted by key. Seed, name and
// where runs ran (device, threads, checkpoint cadence) count too: this answers "what differs
// between these runs", not "are they one experiment".
std::map<std::string, std::vector<std::string>> differingKeys(const std::vector<RunRecord>& runs);

}  // namespace dlw
