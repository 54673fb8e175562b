#include "engine/run_store.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "api/run_folder.h"
#include "engine/run_folder_json.h"
#include "engine/run_model.h"
#include "io/safetensors.h"
#include "util/strict_json.h"
#include "util/write_faults.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <regex>
#include <sys/file.h>
#include <tuple>
#include <unistd.h>

namespace dlw {
namespace {

namespace fs = std::filesystem;

// What a run that died before experiment.json was whole leaves behind: an empty checkpoints/
// folder and the temporary file of experiment.json. Such a folder may be reused by a new run.
bool onlyLeftoversOfAnUnstartedRun(const fs::path& dir) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        const bool emptyCheckpoints =
            name == run_files::kCheckpoints && entry.is_directory() && fs::is_empty(entry.path());
        const bool tempExperiment =
            name.rfind(std::string(run_files::kExperiment) + ".tmp-", 0) == 0;
        if (!emptyCheckpoints && !tempExperiment) {
            return false;
        }
    }
    return !ec;
}

// A checkpoint stem read from latest.json names files inside checkpoints/ only (#14): nothing
// such as "../x" may lead outside the run folder.
bool isCheckpointStem(const std::string& stem) {
    static const std::regex pattern(R"(task-\d{3,6}(-step-\d{7,12})?)");
    return std::regex_match(stem, pattern);
}

// The newest checkpoint whose two files are both there, by its name: task-NNN-step-S (inside
// task NNN) comes before task-NNN (task NNN done), which comes before task-(NNN+1)-step-S.
// Empty when there is none. Serves a folder whose latest.json was deleted (#14).
std::string newestCheckpointPair(const fs::path& folder) {
    static const std::regex pattern(R"(task-(\d{3,6})(-step-(\d{7,12}))?\.json)");
    std::tuple<int64_t, int, int64_t> best{-1, 0, 0};
    std::string bestStem;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        std::smatch m;
        if (!std::regex_match(name, m, pattern)) {
            continue;
        }
        const std::string stem = entry.path().stem().string();
        if (!fs::is_regular_file(folder / (stem + ".safetensors"), ec)) {
            continue;
        }
        const bool inTask = m[2].matched;
        const std::tuple<int64_t, int, int64_t> key{std::stoll(m[1].str()), inTask ? 0 : 1,
                                                    inTask ? std::stoll(m[3].str()) : 0};
        if (key > best) {
            best = key;
            bestStem = stem;
        }
    }
    return bestStem;
}

// Temporary files of writes that a killed process never finished (AtomicFile's
// "<name>.tmp-<pid>-<n>"): never data, removed when the folder is opened again.
void removeTemporaryFiles(const fs::path& dir) {
    for (const auto& folder : {dir, dir / run_files::kCheckpoints}) {
        std::error_code ec;
        std::vector<fs::path> doomed;
        for (const auto& entry : fs::directory_iterator(folder, ec)) {
            if (entry.path().filename().string().find(".tmp-") != std::string::npos) {
                doomed.push_back(entry.path());
            }
        }
        for (const auto& p : doomed) {
            fs::remove(p, ec);
        }
    }
}

}  // namespace

RunStore::FolderLock::~FolderLock() {
    if (fd >= 0) {
        ::close(fd);
    }
}

void RunStore::lockFolder() {
    lock_.fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock_.fd < 0) {
        throw Error(fmt::format("{}: cannot open the run folder ({})", dir_.string(),
                                std::strerror(errno)));
    }
    if (::flock(lock_.fd, LOCK_EX | LOCK_NB) != 0) {
        throw Error(fmt::format(
            "{}: another process is writing this run folder (a second `dlw run --resume`, or "
            "the workbench); wait for it or stop it",
            dir_.string()));
    }
}

RunStore::RunStore(std::filesystem::path dir, const std::string& experimentJson, bool resume)
    : dir_(std::move(dir)) {
    const auto experimentPath = dir_ / run_files::kExperiment;
    const char* eventsMode = "ab";
    if (resume) {
        if (!fs::is_directory(dir_)) {
            throw Error(fmt::format("{}: not a resumable run: no such folder", dir_.string()));
        }
        if (!fs::exists(experimentPath)) {
            throw Error(fmt::format(
                "{}: not a resumable run: it has no {} (the run died before it started; start "
                "it again with --out {})",
                dir_.string(), run_files::kExperiment, dir_.string()));
        }
        const auto summaryPath = dir_ / run_files::kSummary;
        if (fs::exists(summaryPath)) {
            auto s = parseOutsideJsonOrDiscarded(readWholeFile(summaryPath));
            if (!s.is_discarded() && s.is_object() && s.value("completed", false)) {
                throw Error(fmt::format("{}: the run is already complete; nothing to resume",
                                        dir_.string()));
            }
        }
        lockFolder();
        removeTemporaryFiles(dir_);
        hasCheckpoint_ = fs::exists(dir_ / run_files::kCheckpoints / run_files::kLatest) ||
                         !newestCheckpointPair(dir_ / run_files::kCheckpoints).empty();
        if (!hasCheckpoint_) {
            // Killed before its first checkpoint (#14): it starts again from its beginning,
            // and the events of the lost attempt go.
            std::error_code ec;
            fs::create_directories(dir_ / run_files::kCheckpoints, ec);
            if (ec) {
                throw Error(fmt::format("{}: cannot create {} ({})", dir_.string(),
                                        run_files::kCheckpoints, ec.message()));
            }
            eventsMode = "wb";
        }
    } else {
        const auto type = fs::symlink_status(dir_).type();
        if (type != fs::file_type::not_found && type != fs::file_type::directory) {
            throw Error(fmt::format("{}: exists and is not a folder (choose another --out)",
                                    dir_.string()));
        }
        if (fs::exists(dir_) && !fs::is_empty(dir_) && !onlyLeftoversOfAnUnstartedRun(dir_)) {
            throw Error(
                fmt::format("{}: the run directory exists and is not empty (use --resume "
                            "to continue a run, or choose another --out)",
                            dir_.string()));
        }
        std::error_code ec;
        if (fs::exists(dir_) && !fs::is_empty(dir_, ec)) {
            fs::remove_all(dir_, ec);  // leftovers of an unstarted run
        }
        fs::create_directories(dir_ / run_files::kCheckpoints, ec);
        if (ec) {
            throw Error(
                fmt::format("{}: cannot create the run folder ({})", dir_.string(), ec.message()));
        }
        lockFolder();
        writeFileAtomically(experimentPath, experimentJson);
    }
    events_ = std::fopen((dir_ / run_files::kEvents).c_str(), eventsMode);
    if (events_ == nullptr) {
        throw Error(
            fmt::format("{}: cannot open {} for appending", dir_.string(), run_files::kEvents));
    }
}

void RunStore::cutEventsToCheckpoint() {
    // Events after the last checkpoint (a stopped task's tail, a partial last line) would be
    // replayed by the resumed run: cut them so that events.jsonl reads as one uninterrupted run.
    if (!hasCheckpoint_) {
        return;  // a fresh start: events.jsonl was emptied when it was opened
    }
    const auto [stem, state] = latestState();
    const auto events = dir_ / run_files::kEvents;
    if (!state.contains("events_bytes")) {
        return;
    }
    const auto& bytes = state["events_bytes"];
    if (!bytes.is_number_unsigned()) {  // get<uintmax_t>() threw nlohmann's type_error
        throw Error(fmt::format("{}: events_bytes must be a non-negative integer, found {}",
                                (dir_ / run_files::kCheckpoints / (stem + ".json")).string(),
                                dumpJson(bytes)));
    }
    // Back to the checkpoint's length, and never in the middle of a line: a file cut shorter
    // than that (by hand, by a full disk) must not glue the resumed run's first event onto a
    // partial line (#14).
    const std::string text = readWholeFile(events);
    std::size_t keep = std::min<uintmax_t>(text.size(), bytes.get<uintmax_t>());
    while (keep > 0 && text[keep - 1] != '\n') {
        --keep;
    }
    if (keep != text.size()) {
        fs::resize_file(events, keep);
    }
}

RunStore::~RunStore() {
    if (events_ != nullptr) {
        std::fclose(events_);
    }
}

void RunStore::append(const Event& event) {
    const std::string line = dumpJson(toJson(event)) + "\n";  // names not UTF-8: \\xHH
    const auto path = dir_ / run_files::kEvents;
    const long before = std::ftell(events_);  // every append ends flushed: the file's size
    const int fault = detail::injectedWriteFault(path, detail::WriteStage::Append);
    errno = fault;
    bool written = fault == 0 && std::fwrite(line.data(), 1, line.size(), events_) == line.size();
    if (written) {
        written = std::fflush(events_) == 0;
    } else if (fault != 0) {  // as a full disk does: part of the line reaches the file
        std::fwrite(line.data(), 1, line.size() / 2, events_);
        std::fflush(events_);
        errno = fault;
    }
    if (!written) {
        // The run stops here, resumable; events.jsonl keeps whole lines only (#14: a full disk
        // left half a line, so the file did not parse until a resume cut it).
        const int saved = errno;
        std::clearerr(events_);
        if (before >= 0 && ::ftruncate(::fileno(events_), before) == 0) {
            std::fseek(events_, before, SEEK_SET);
        }
        throw Error(fmt::format("{}: write failed ({})", path.string(),
                                saved != 0 ? std::strerror(saved) : "unknown error"));
    }
}

namespace {

// Removes checkpoints/task-NNN-step-*.{safetensors,json} of `task`, except `keep`.
void removeInTaskCheckpoints(const std::filesystem::path& dir, int task, const std::string& keep) {
    const std::string prefix = taskCheckpointStem(task) + "-step-";
    std::error_code ec;
    std::vector<std::filesystem::path> doomed;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && entry.path().stem().string() != keep) {
            doomed.push_back(entry.path());
        }
    }
    for (const auto& p : doomed) {
        std::filesystem::remove(p, ec);  // superseded; a leftover is harmless
    }
}

}  // namespace

void RunStore::writeCheckpoint(const std::string& stem,
                               int task,
                               const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               nlohmann::json state) {
    std::fflush(events_);
    state["events_bytes"] = std::ftell(events_);  // a resume cuts events.jsonl back to here
    const auto folder = dir_ / run_files::kCheckpoints;
    // The model's signature in both files of the pair: a .safetensors copied in from another
    // run is then told apart from its .json (#14).
    std::map<std::string, std::string> metadata;
    if (state.contains("model")) {
        metadata["model"] = dumpJson(state["model"]);
    }
    saveSafetensors(folder / (stem + ".safetensors"), tensors, metadata);
    writeFileAtomically(folder / (stem + ".json"), dumpJson(state, 2));
    // The pointer moves last: until then the previous checkpoint stays whole and current.
    writeFileAtomically(folder / run_files::kLatest,
                        nlohmann::json{{"checkpoint", stem}, {"task", task}}.dump(2));
}

void RunStore::checkpoint(int task,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          nlohmann::json state) {
    writeCheckpoint(taskCheckpointStem(task), task, tensors, std::move(state));
    removeInTaskCheckpoints(dir_ / run_files::kCheckpoints, task, "");
}

void RunStore::checkpointInTask(int task,
                                const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                nlohmann::json state) {
    // A new name each time: overwriting the current checkpoint's files would leave a mismatched
    // pair behind if the process died between the two writes.
    const std::string stem = inTaskCheckpointStem(task, state.at("step").get<int64_t>());
    writeCheckpoint(stem, task, tensors, std::move(state));
    removeInTaskCheckpoints(dir_ / run_files::kCheckpoints, task, stem);
}

std::pair<std::string, nlohmann::json> RunStore::latestState() const {
    const auto latestPath = dir_ / run_files::kCheckpoints / run_files::kLatest;
    std::error_code ec;
    if (!fs::exists(latestPath, ec)) {
        // The pointer was deleted by hand: the newest whole pair is the one it named, or (if
        // the process died between the pair and the pointer) one newer and just as whole.
        const std::string stem = newestCheckpointPair(dir_ / run_files::kCheckpoints);
        if (stem.empty()) {
            throw Error(fmt::format("{}: no such file and no checkpoint pair beside it",
                                    latestPath.string()));
        }
        return {stem, readCheckpointState(dir_ / run_files::kCheckpoints / stem)};
    }
    nlohmann::json latest;
    try {
        latest = parseOutsideJson(readWholeFile(latestPath), latestPath.string());
    } catch (const Error&) {
        // Damaged by hand (the program writes it atomically): as if deleted, when a whole pair
        // is there; else the reason.
        const std::string stem = newestCheckpointPair(dir_ / run_files::kCheckpoints);
        if (stem.empty()) {
            throw;
        }
        return {stem, readCheckpointState(dir_ / run_files::kCheckpoints / stem)};
    }
    if (!latest.is_object() || !latest.contains("checkpoint") ||
        !latest["checkpoint"].is_string()) {
        throw Error(fmt::format("{}: malformed checkpoint pointer (no \"checkpoint\" name)",
                                latestPath.string()));
    }
    const std::string stem = latest["checkpoint"].get<std::string>();
    if (!isCheckpointStem(stem)) {
        throw Error(fmt::format("{}: checkpoint name '{}' is not task-NNN[-step-SSSSSSS]",
                                latestPath.string(), stem));
    }
    return {stem, readCheckpointState(dir_ / run_files::kCheckpoints / stem)};
}

std::pair<nlohmann::json, std::map<std::string, torch::Tensor>> RunStore::latestCheckpoint() const {
    auto [stem, state] = latestState();
    auto tensors = readCheckpointTensors(dir_ / run_files::kCheckpoints / stem, state);
    return {std::move(state), std::move(tensors)};
}

nlohmann::json readCheckpointState(const std::filesystem::path& stem) {
    const std::string path = stem.string() + ".json";
    auto state = parseOutsideJson(readWholeFile(path), path);  // errors name the line
    if (!state.is_object()) {
        throw Error(fmt::format("{}: malformed checkpoint state (not a JSON object)", path));
    }
    return state;
}

std::map<std::string, torch::Tensor> readCheckpointTensors(const std::filesystem::path& stem,
                                                           const nlohmann::json& state) {
    const std::string path = stem.string() + ".safetensors";
    auto file = loadSafetensors(path);  // errors name the file
    const auto it = file.metadata.find("model");
    if (it != file.metadata.end() && state.contains("model") &&
        it->second != dumpJson(state["model"])) {  // (no signature: written before it existed)
        const auto saved = parseOutsideJsonOrDiscarded(it->second);
        throw Error(fmt::format(
            "{}: these tensors were saved for another model than the checkpoint's state file "
            "says ({}; tensors vs state): a file copied in from another run?",
            path,
            saved.is_discarded() ? it->second + " vs " + dumpJson(state["model"])
                                 : signatureDifferences(saved, state["model"])));
    }
    return std::move(file.tensors);
}

std::filesystem::path RunStore::latestCheckpointPath() const {
    return dir_ / run_files::kCheckpoints / (latestState().first + ".safetensors");
}

void RunStore::writeSummary(const RunSummary& summary, bool completed) {
    auto j = toJson(summary);
    j["completed"] = completed;
    writeFileAtomically(dir_ / run_files::kSummary, dumpJson(j, 2) + "\n");
}

void RunStore::writeSplit(const nlohmann::json& manifest) {
    writeFileAtomically(dir_ / run_files::kSplit, dumpJson(manifest) + "\n");
}

void RunStore::recordEnvironment(const std::vector<std::pair<std::string, std::string>>& facts) {
    const auto path = dir_ / run_files::kEnvironment;
    nlohmann::ordered_json file = {{"starts", nlohmann::ordered_json::array()}};
    if (std::filesystem::exists(path)) {  // a resume: keep the earlier starts' records
        auto earlier = nlohmann::ordered_json::parse(readWholeFile(path), nullptr, false);
        if (!earlier.is_discarded() && earlier.contains("starts") && earlier["starts"].is_array()) {
            file = std::move(earlier);
        }
    }
    nlohmann::ordered_json record;
    for (const auto& [name, value] : facts) {
        record[name] = value;
    }
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    record["started"] = when;
    file["starts"].push_back(std::move(record));
    writeFileAtomically(path, dumpJson(file, 2) + "\n");
}

}  // namespace dlw
