#pragma once
// The run folder of DESIGN §6, in one place (#14): its file names, the names new run folders
// get, the listing of task checkpoints, and reading a run back (for `dlw compare`, prediction,
// the GUI's run list and reports). The engine's writer (engine/run_store) and every reader use
// these, so they cannot drift apart. Public: no LibTorch.

#include "api/events.h"
#include "api/experiment.h"

#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlw {

// Files and folders inside a run folder.
namespace run_files {
inline constexpr const char* kExperiment = "experiment.json";  // fully resolved experiment
inline constexpr const char* kEvents = "events.jsonl";         // one versioned event a line
inline constexpr const char* kSummary = "summary.json";        // DESIGN §6 summary
inline constexpr const char* kCheckpoints = "checkpoints";     // folder
inline constexpr const char* kLatest = "latest.json";          // in checkpoints/: the pointer
inline constexpr const char* kSplit = "split.json";  // each task's classes and images (#17)
inline constexpr const char* kEnvironment = "environment.json";  // what it ran on (#17)
}  // namespace run_files

// `text` made into one safe file-name component: path separators, control characters,
// characters Windows forbids and whitespace become '-' or '_', bytes that are not UTF-8 become
// '_', leading dots and dashes go (no hidden folder, no "..", nothing that reads as an option),
// at most 80 bytes (cut on a character boundary), "run" when nothing is left. Any thread.
std::string safeFileName(std::string_view text);

// NAME-METHOD-YYYYmmdd-HHMMSS (local time `when`) of the experiment as it will run, NAME made
// safe by safeFileName. Any thread.
std::string runFolderName(const Experiment& experiment, std::time_t when);

// ROOT/runFolderName(experiment, now), with -2, -3, ... appended while that path exists or
// `taken` (optional: e.g. folders already promised to queued runs) says it is taken. Creates
// ROOT and the run folder itself, empty (mkdir is the reservation, so processes started in the
// same second never share a folder). Throws dlw::Error naming the folder it cannot create.
// Any thread.
std::filesystem::path newRunFolder(
    const Experiment& experiment,
    const std::filesystem::path& root,
    const std::function<bool(const std::filesystem::path&)>& taken = {});

// Gives back a folder newRunFolder reserved for a run that was refused before it wrote anything
// (no such CUDA device, a data folder that is not there): removes `dir` when it is still empty,
// then `root` too when given and empty (pass it only when newRunFolder made it), so that a
// refused run leaves nothing behind, as one with --out does (#15). A folder with anything in it
// stays (rmdir refuses it, so a run that started concurrently is safe). Never throws; any thread.
inline void releaseRunFolder(const std::filesystem::path& dir,
                             const std::filesystem::path& root = {}) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec) && std::filesystem::is_empty(dir, ec)) {
        std::filesystem::remove(dir, ec);
    }
    if (!root.empty() && std::filesystem::is_directory(root, ec) &&
        std::filesystem::is_empty(root, ec)) {
        std::filesystem::remove(root, ec);
    }
}

// checkpoints/ file stems: after task `task` (0-based) "task-NNN" (NNN = task + 1), and inside it
// at global step `step` "task-NNN-step-SSSSSSS".
std::string taskCheckpointStem(int task);
std::string inTaskCheckpointStem(int task, int64_t step);

// The finished tasks' checkpoints of the run in `runDir`: after_task (1-based) → path without
// extension (add ".json" / ".safetensors"). Empty when there are none; never throws for a
// malformed state file (its number comes from the file name then).
std::map<int, std::filesystem::path> taskCheckpoints(const std::filesystem::path& runDir);

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
    // Seconds of every task's work: memory passes, training and evaluation (the sum of the
    // task_finished events' "seconds"); summary.trainSeconds counts training steps only, which
    // is 0 for a method that does not train (RanPAC without its first-task adaptation).
    // nullopt when events.jsonl cannot be read.
    std::optional<double> allSeconds;
};

// Reads DIR/experiment.json and DIR/summary.json, and for allSeconds the task times of
// `events` when the caller has read DIR/events.jsonl already (the window and reports, which
// need every event), else of DIR/events.jsonl when it reads. Throws dlw::Error naming the file
// for a directory that is not a run, or malformed JSON. Any thread.
RunRecord readRunRecord(const std::filesystem::path& dir,
                        const std::vector<Event>* events = nullptr);

// The events of DIR/events.jsonl in order, for reopening a run with all its plots. A partial last
// line (a killed run) is ignored; lines of a newer events version or unknown types are skipped.
// Throws dlw::Error naming the file when it is missing or a complete line is malformed.
std::vector<Event> readRunEvents(const std::filesystem::path& dir);

// The split manifest of a run (DIR/split.json, written when the run starts; #17): each task's
// classes and the exact images it trained, validated and was tested on, so that a reader can
// rebuild the split without the program.
struct TaskSplitInfo {
    int task = 0;                         // 1-based
    std::string domain;                   // sequence.domains' entry, "" without domains
    std::vector<int64_t> labels;          // the dataset's class indices
    std::vector<std::string> classNames;  // in step with labels
    // Images as the manifest names them: a path relative to data.root (data read from files)
    // or a record number in the source file, as text.
    std::vector<std::string> train;
    std::vector<std::string> val;
    std::vector<std::string> test;
};

struct RunSplit {
    std::string kind;         // data.kind
    std::string trainSource;  // the file or folder train and val images come from
    std::string testSource;
    bool paths = false;       // images named by path (else by record number)
    std::string evaluatedOn;  // "test" or "val"
    std::vector<TaskSplitInfo> tasks;
    std::vector<LoadWarning> skipped;  // files the run left out, with why
};

// Reads DIR/split.json; nullopt for a run folder without one (runs from before #17). Throws
// dlw::Error naming the file when it is malformed. Any thread.
std::optional<RunSplit> readRunSplit(const std::filesystem::path& dir);

// DIR/environment.json, written when the run starts: environmentFacts() of the machine that ran
// it, then "device" and "threads" as the run resolved them. Each start of the run (a resume
// too) adds its own record; the newest is last. Empty for runs from before #17; throws
// dlw::Error naming the file when it is malformed. Any thread.
std::vector<std::vector<std::pair<std::string, std::string>>> readRunEnvironment(
    const std::filesystem::path& dir);

}  // namespace dlw
