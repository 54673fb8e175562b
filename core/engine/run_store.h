#pragma once
// The run directory of DESIGN §6: experiment.json, events.jsonl, checkpoints/, summary.json.
// Whole files are written atomically; events.jsonl is append-only and flushed line by line.

#include "api/events.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace dlw {

class RunStore {
public:
    // Creates `dir` (it must be absent, empty, or hold only what a run that died before writing
    // experiment.json leaves) and writes experiment.json. With `resume`, opens an existing run
    // instead: it must hold experiment.json and no summary of a completed run; without a
    // checkpoint (killed before the first one) the run starts again from its beginning and
    // events.jsonl is emptied. Throws dlw::Error naming the directory and what is missing.
    RunStore(std::filesystem::path dir, const std::string& experimentJson, bool resume);
    ~RunStore();
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;
    RunStore(RunStore&&) = delete;
    RunStore& operator=(RunStore&&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    // Resuming: whether there is a checkpoint to continue from (else: start from the beginning).
    bool hasCheckpoint() const { return hasCheckpoint_; }

    // Resuming: drops what events.jsonl holds after the latest checkpoint. Called once the
    // checkpoint has been read and restored, so a resume that fails changes nothing on disk.
    void cutEventsToCheckpoint();
    // Appends one event as a JSON line {"v":1,"type":...,...}.
    void append(const Event& event);
    // After task `task` (0-based): tensors as safetensors and `state` as JSON, atomically, then
    // checkpoints/latest.json pointing at them.
    void checkpoint(int task,
                    const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                    nlohmann::json state);
    // Inside task `task`: the same as checkpoint() under checkpoints/task-NNN-step-SSSSSSS.*
    // (state["step"]), superseding the task's earlier ones; removed once the task's own
    // checkpoint is written.
    void checkpointInTask(int task,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          nlohmann::json state);
    // The latest checkpoint: its state JSON and tensors. Throws when there is none.
    std::pair<nlohmann::json, std::map<std::string, torch::Tensor>> latestCheckpoint() const;
    // checkpoints/STEM.safetensors of the latest checkpoint, for error messages.
    std::filesystem::path latestCheckpointPath() const;
    void writeSummary(const RunSummary& summary, bool completed);
    // split.json: the manifest of splitManifest() (engine/task_data.h).
    void writeSplit(const nlohmann::json& manifest);
    // environment.json: adds `facts` (environmentFacts() plus the run's device and threads) and
    // the time as this start's record after those of earlier starts.
    void recordEnvironment(const std::vector<std::pair<std::string, std::string>>& facts);

private:
    void writeCheckpoint(const std::string& stem,
                         int task,
                         const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                         nlohmann::json state);
    // The latest checkpoint's file stem and state JSON, without its tensors.
    std::pair<std::string, nlohmann::json> latestState() const;

    // Holds an exclusive flock on the run folder while this store exists: one process writes a
    // run folder at a time (a second `dlw run --resume` of it is refused, not interleaved).
    struct FolderLock {
        int fd = -1;
        FolderLock() = default;
        FolderLock(const FolderLock&) = delete;
        FolderLock& operator=(const FolderLock&) = delete;
        ~FolderLock();
    };
    void lockFolder();

    std::filesystem::path dir_;
    FolderLock lock_;
    std::FILE* events_ = nullptr;
    bool hasCheckpoint_ = false;
};

// The two files of a checkpoint, `stem` + ".json" and ".safetensors", as RunStore writes them
// and as resume and prediction read them. The state must be a JSON object; the tensors' model
// signature (safetensors metadata) must equal the state's. Throw dlw::Error naming the file.
nlohmann::json readCheckpointState(const std::filesystem::path& stem);
std::map<std::string, torch::Tensor> readCheckpointTensors(const std::filesystem::path& stem,
                                                           const nlohmann::json& state);

}  // namespace dlw
