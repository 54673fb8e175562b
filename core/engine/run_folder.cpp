#include "api/run_folder.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "config/experiment_json.h"
#include "engine/run_folder_json.h"
#include "util/json_numbers.h"
#include "util/strict_json.h"

#include <fmt/format.h>
#include <regex>

#include <nlohmann/json.hpp>

namespace dlw {

// The writer (events.jsonl, summary.json) and, below it, the reader: side by side so they
// cannot drift apart; tests/core/engine/run_folder_test.cpp round-trips every event type.
namespace {

nlohmann::json optionalJson(const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json binsJson(const std::vector<ReliabilityBin>& bins) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : bins) {
        out.push_back({{"lower", b.lower},
                       {"upper", b.upper},
                       {"confidence", b.meanConfidence},
                       {"accuracy", b.accuracy},
                       {"count", b.count}});
    }
    return out;
}

struct EventToJson {
    nlohmann::json operator()(const RunStarted& e) const {
        return {{"type", "run_started"},
                {"run_dir", e.runDir},
                {"method", e.method},
                {"device", e.device},
                {"threads", e.threads},
                {"tasks", e.tasks},
                {"task_classes", e.taskClasses},
                {"resumed_from_task", e.resumedFromTask}};
    }
    nlohmann::json operator()(const TaskStarted& e) const {
        return {{"type", "task_started"},
                {"task", e.task},
                {"train_images", e.trainImages},
                {"steps_per_epoch", e.stepsPerEpoch},
                {"epochs", e.epochs},
                {"resumed", e.resumed},
                {"epoch", e.epoch},
                {"batch", e.batch}};
    }
    nlohmann::json operator()(const StepFinished& e) const {
        return {{"type", "step"}, {"task", e.task}, {"epoch", e.epoch},
                {"step", e.step}, {"loss", e.loss}, {"lr", e.lr}};
    }
    nlohmann::json operator()(const EpochFinished& e) const {
        return {{"type", "epoch_finished"}, {"task", e.task},
                {"epoch", e.epoch},         {"mean_loss", e.meanLoss},
                {"seconds", e.seconds},     {"images_per_second", e.imagesPerSecond}};
    }
    nlohmann::json operator()(const Evaluation& e) const {
        nlohmann::json memory = nlohmann::json::array();
        for (const auto& m : e.memory) {
            memory.push_back({{"block", m.block},
                              {"input", m.input},
                              {"size", m.size},
                              {"added", m.added},
                              {"energy_before", m.energyBefore},
                              {"energy_after", m.energyAfter},
                              {"threshold", m.threshold}});
        }
        nlohmann::json spectra = nlohmann::json::array();
        for (const auto& s : e.spectra) {
            spectra.push_back({{"block", s.block},
                               {"map", s.map},
                               {"kind", s.kind},
                               {"singular_values", s.singularValues}});
        }
        return {{"type", "evaluation"},
                {"after_task", e.afterTask},
                {"accuracy", e.accuracy},
                {"task_aware_accuracy", e.taskAwareAccuracy},
                {"task_id_accuracy", e.taskIdAccuracy},
                {"task_confusion", e.taskConfusion},
                {"ece_raw", optionalJson(e.eceRaw)},
                {"ece_calibrated", optionalJson(e.eceCalibrated)},
                {"unfamiliar_share", optionalJson(e.unfamiliarShare)},
                {"reliability_raw", binsJson(e.reliabilityRaw)},
                {"reliability_calibrated", binsJson(e.reliabilityCalibrated)},
                {"task_confidence", e.taskConfidence},
                {"task_correct", e.taskCorrect},
                {"memory", memory},
                {"spectra", spectra},
                {"seconds", e.seconds}};
    }
    nlohmann::json operator()(const TaskFinished& e) const {
        return {{"type", "task_finished"},           {"task", e.task},
                {"train_seconds", e.trainSeconds},   {"seconds", e.seconds},
                {"memory_seconds", e.memorySeconds}, {"sync_seconds", e.syncSeconds}};
    }
    nlohmann::json operator()(const Warning& e) const {
        return {{"type", "warning"}, {"message", e.message}};
    }
    nlohmann::json operator()(const FilesSkipped& e) const {
        nlohmann::json files = nlohmann::json::array();
        for (const auto& w : e.files) {
            files.push_back({{"file", w.file}, {"index", w.index}, {"reason", w.reason}});
        }
        return {{"type", "files_skipped"}, {"files", files}};
    }
    nlohmann::json operator()(const RunFinished& e) const {
        return {{"type", "run_finished"},
                {"completed", e.completed},
                {"stopped", e.stopped},
                {"error", e.error},
                {"summary", toJson(e.summary)}};
    }
};

}  // namespace

nlohmann::json accuracyMatrixToJson(const AccuracyMatrix& m) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : m) {
        nlohmann::json r = nlohmann::json::array();
        for (const auto& v : row) {
            r.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
        }
        rows.push_back(r);
    }
    return rows;
}

AccuracyMatrix accuracyMatrixFromJson(const nlohmann::json& j) {
    // #14: a matrix that was not T×T made the metrics read past a row's end.
    if (!j.is_array() || j.empty()) {
        throw Error("the accuracy matrix must be a non-empty list of rows");
    }
    AccuracyMatrix m;
    for (const auto& row : j) {
        if (!row.is_array() || row.size() != j.size()) {
            throw Error(fmt::format(
                "the accuracy matrix must be T×T with T = {} rows, but row {} has {}", j.size(),
                m.size() + 1, row.is_array() ? fmt::format("{} entries", row.size()) : "no list"));
        }
        std::vector<std::optional<double>> r;
        for (const auto& v : row) {
            if (!v.is_null() && !v.is_number()) {
                throw Error(fmt::format("the accuracy matrix's row {} holds {} (not a number)",
                                        m.size() + 1, dumpJson(v)));
            }
            r.push_back(v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()));
        }
        m.push_back(std::move(r));
    }
    return m;
}

nlohmann::json toJson(const Event& event) {
    auto j = std::visit(EventToJson{}, event);
    j["v"] = kEventsVersion;
    return j;
}

nlohmann::json toJson(const RunSummary& s) {
    return {{"method", s.method},
            {"accuracy_matrix", accuracyMatrixToJson(s.accuracyMatrix)},
            {"task_aware_matrix", accuracyMatrixToJson(s.taskAwareMatrix)},
            {"final_accuracy", s.metrics.finalAccuracy},
            {"average_incremental_accuracy", s.metrics.averageIncrementalAccuracy},
            {"bwt", optionalJson(s.metrics.bwt)},
            {"forgetting",
             [&] {
                 nlohmann::json f = nlohmann::json::array();
                 for (const auto& v : s.metrics.forgetting) {
                     f.push_back(optionalJson(v));
                 }
                 return f;
             }()},
            {"mean_forgetting", optionalJson(s.metrics.meanForgetting)},
            {"task_id_accuracy", optionalJson(s.taskIdAccuracy)},
            {"ece_raw", optionalJson(s.eceRaw)},
            {"ece_calibrated", optionalJson(s.eceCalibrated)},
            {"unfamiliar_share", optionalJson(s.unfamiliarShare)},
            {"train_seconds", s.trainSeconds},
            {"trainable_parameters", s.trainableParameters},
            {"images_per_second", s.imagesPerSecond},
            {"skipped_files", s.skippedFiles}};
}

namespace {

using detail::listAt;
using detail::matrixAt;
using detail::numberAt;

nlohmann::json readJson(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path)) {
        throw Error(
            fmt::format("{}: missing (not a run directory, or a run that never finished "
                        "a task)",
                        path.string()));
    }
    if (std::filesystem::is_directory(path)) {
        throw Error(fmt::format("{}: is a folder, not a file", path.string()));
    }
    return parseOutsideJson(readWholeFile(path), path.string());
}

std::optional<double> optional(const nlohmann::json& j, const char* key) {
    return j.contains(key) && !j[key].is_null() ? std::optional<double>(j[key].get<double>())
                                                : std::nullopt;
}

std::vector<ReliabilityBin> binsFrom(const nlohmann::json& j) {
    std::vector<ReliabilityBin> out;
    for (const auto& b : j) {
        ReliabilityBin bin;
        bin.lower = b.at("lower").get<double>();
        bin.upper = b.at("upper").get<double>();
        bin.meanConfidence = b.at("confidence").get<double>();
        bin.accuracy = b.at("accuracy").get<double>();
        bin.count = numberAt<int64_t>(b, "count");
        out.push_back(bin);
    }
    return out;
}

}  // namespace

RunSummary summaryFromJson(const nlohmann::json& s) {
    RunSummary out;
    out.method = s.at("method").get<std::string>();
    out.accuracyMatrix = accuracyMatrixFromJson(s.at("accuracy_matrix"));
    out.taskAwareMatrix = accuracyMatrixFromJson(s.at("task_aware_matrix"));
    out.metrics = computeContinualMetrics(out.accuracyMatrix);
    out.taskIdAccuracy = optional(s, "task_id_accuracy");
    out.eceRaw = optional(s, "ece_raw");
    out.eceCalibrated = optional(s, "ece_calibrated");
    out.unfamiliarShare = optional(s, "unfamiliar_share");
    out.trainSeconds = s.at("train_seconds").get<double>();
    out.trainableParameters = numberAt<int64_t>(s, "trainable_parameters");
    out.imagesPerSecond = s.at("images_per_second").get<double>();
    out.skippedFiles = s.contains("skipped_files") ? numberAt<int64_t>(s, "skipped_files") : 0;
    return out;
}

std::optional<Event> eventFromJson(const nlohmann::json& j) {
    const std::string type = j.at("type").get<std::string>();
    if (type == "run_started") {
        RunStarted e;
        e.runDir = j.at("run_dir").get<std::string>();
        e.method = j.at("method").get<std::string>();
        e.device = j.at("device").get<std::string>();
        e.threads = numberAt<int>(j, "threads");
        e.tasks = numberAt<int>(j, "tasks");
        e.taskClasses = j.at("task_classes").get<std::vector<std::vector<std::string>>>();
        e.resumedFromTask = numberAt<int>(j, "resumed_from_task");
        return e;
    }
    if (type == "task_started") {
        TaskStarted e;
        e.task = numberAt<int>(j, "task");
        e.trainImages = numberAt<int64_t>(j, "train_images");
        e.stepsPerEpoch = numberAt<int64_t>(j, "steps_per_epoch");
        e.epochs = numberAt<int>(j, "epochs");
        e.resumed = j.value("resumed", false);
        e.epoch = j.contains("epoch") ? numberAt<int>(j, "epoch") : 0;
        e.batch = j.contains("batch") ? numberAt<int64_t>(j, "batch") : 0;
        return e;
    }
    if (type == "step") {
        return StepFinished{numberAt<int>(j, "task"), numberAt<int>(j, "epoch"),
                            numberAt<int64_t>(j, "step"), j.at("loss").get<double>(),
                            j.at("lr").get<double>()};
    }
    if (type == "epoch_finished") {
        return EpochFinished{numberAt<int>(j, "task"), numberAt<int>(j, "epoch"),
                             j.at("mean_loss").get<double>(), j.at("seconds").get<double>(),
                             j.at("images_per_second").get<double>()};
    }
    if (type == "evaluation") {
        Evaluation e;
        e.afterTask = numberAt<int>(j, "after_task");
        e.accuracy = j.at("accuracy").get<std::vector<double>>();
        e.taskAwareAccuracy = j.at("task_aware_accuracy").get<std::vector<double>>();
        e.taskIdAccuracy = j.at("task_id_accuracy").get<std::vector<double>>();
        e.taskConfusion = matrixAt<int64_t>(j, "task_confusion");
        e.eceRaw = optional(j, "ece_raw");
        e.eceCalibrated = optional(j, "ece_calibrated");
        e.unfamiliarShare = optional(j, "unfamiliar_share");
        e.reliabilityRaw = binsFrom(j.at("reliability_raw"));
        e.reliabilityCalibrated = binsFrom(j.at("reliability_calibrated"));
        if (j.contains("task_confidence")) {
            e.taskConfidence = listAt<float>(j, "task_confidence");
            e.taskCorrect = j.at("task_correct").get<std::vector<bool>>();
        }
        for (const auto& m : j.at("memory")) {
            e.memory.push_back({numberAt<int>(m, "block"), m.at("input").get<std::string>(),
                                numberAt<int64_t>(m, "size"), numberAt<int64_t>(m, "added"),
                                m.at("energy_before").get<double>(),
                                m.at("energy_after").get<double>(),
                                m.at("threshold").get<double>()});
        }
        for (const auto& sp : j.at("spectra")) {
            e.spectra.push_back({numberAt<int>(sp, "block"), sp.at("map").get<std::string>(),
                                 sp.at("kind").get<std::string>(),
                                 sp.at("singular_values").get<std::vector<double>>()});
        }
        e.seconds = j.at("seconds").get<double>();
        return e;
    }
    if (type == "task_finished") {
        return TaskFinished{numberAt<int>(j, "task"), j.at("train_seconds").get<double>(),
                            j.at("seconds").get<double>(), j.value("memory_seconds", 0.0),
                            j.value("sync_seconds", 0.0)};
    }
    if (type == "warning") {
        return Warning{j.at("message").get<std::string>()};
    }
    if (type == "files_skipped") {
        FilesSkipped e;
        for (const auto& w : j.at("files")) {
            e.files.push_back({w.at("file").get<std::string>(), numberAt<int64_t>(w, "index"),
                               w.at("reason").get<std::string>()});
        }
        return e;
    }
    if (type == "run_finished") {
        RunFinished e;
        e.completed = j.at("completed").get<bool>();
        e.stopped = j.at("stopped").get<bool>();
        e.error = j.at("error").get<std::string>();
        if (j.contains("summary")) {
            e.summary = summaryFromJson(j["summary"]);
        }
        return e;
    }
    return std::nullopt;
}

std::string safeFileName(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        // Length of a well-formed UTF-8 sequence starting here, 0 if none.
        std::size_t n = c < 0x80            ? 1
                        : (c >> 5U) == 0x6  ? 2
                        : (c >> 4U) == 0xE  ? 3
                        : (c >> 3U) == 0x1E ? 4
                                            : 0;
        for (std::size_t k = 1; k < n; ++k) {
            if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0U) != 0x80) {
                n = 0;
            }
        }
        if (n == 0 || (n == 2 && c < 0xC2)) {  // stray or overlong byte
            out += '_';
            ++i;
            continue;
        }
        if (n == 1) {
            const std::string_view forbidden = "/\\<>:\"|?*";
            if (c == ' ' || c == '\t') {
                out += '_';
            } else if (c < 0x20 || c == 0x7F ||
                       forbidden.find(static_cast<char>(c)) != std::string_view::npos) {
                out += '-';
            } else {
                out += static_cast<char>(c);
            }
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    const auto first = out.find_first_not_of(".-_");
    out = first == std::string::npos ? std::string() : out.substr(first);
    while (!out.empty() && (out.back() == '.' || out.back() == '_')) {
        out.pop_back();
    }
    if (out.size() > 80) {
        std::size_t cut = 80;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0U) == 0x80) {
            --cut;  // not inside a multi-byte character
        }
        out.resize(cut);
    }
    return out.empty() ? "run" : out;
}

std::string runFolderName(const Experiment& experiment, std::time_t when) {
    char stamp[32];
    std::tm local{};
    localtime_r(&when, &local);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    return fmt::format("{}-{}-{}", safeFileName(experiment.name), toString(experiment.method.name),
                       stamp);
}

std::filesystem::path newRunFolder(const Experiment& experiment,
                                   const std::filesystem::path& root,
                                   const std::function<bool(const std::filesystem::path&)>& taken) {
    namespace fs = std::filesystem;
    const std::string base = runFolderName(experiment, std::time(nullptr));
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) {
        throw Error(
            fmt::format("{}: cannot create the runs folder ({})", root.string(), ec.message()));
    }
    for (int n = 1;; ++n) {
        const fs::path dir = n == 1 ? root / base : root / fmt::format("{}-{}", base, n);
        if (taken && taken(dir)) {
            continue;
        }
        // mkdir is the reservation: of runs started in the same second (a seed sweep in
        // parallel), each gets its own folder (#14).
        if (fs::create_directory(dir, ec)) {
            return dir;
        }
        if (ec && ec != std::errc::file_exists) {
            throw Error(
                fmt::format("{}: cannot create the run folder ({})", dir.string(), ec.message()));
        }
    }
}

std::string taskCheckpointStem(int task) {
    return fmt::format("task-{:03d}", task + 1);
}

std::string inTaskCheckpointStem(int task, int64_t step) {
    return fmt::format("{}-step-{:07d}", taskCheckpointStem(task), step);
}

std::map<int, std::filesystem::path> taskCheckpoints(const std::filesystem::path& runDir) {
    std::map<int, std::filesystem::path> out;
    const std::regex pattern(R"(task-(\d{3,})\.json)");
    std::error_code ec;
    const auto folder = runDir / run_files::kCheckpoints;
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        std::smatch m;
        if (!std::regex_match(name, m, pattern) || m[1].length() > 6) {
            continue;
        }
        int afterTask = std::stoi(m[1].str());
        // joint trains once and records after_task = T in its state
        const auto state = parseOutsideJsonOrDiscarded(readWholeFile(entry.path()));
        if (!state.is_discarded() && state.is_object() && state.contains("after_task")) {
            try {
                afterTask = numberAt<int>(state, "after_task");
            } catch (const Error&) {  // not a number that fits: the file name decides
            }
        }
        out[afterTask] = folder / entry.path().stem();
    }
    return out;
}

std::vector<Event> readRunEvents(const std::filesystem::path& dir) {
    const auto path = dir / run_files::kEvents;
    const std::string text = readWholeFile(path);
    std::vector<Event> out;
    std::size_t start = 0;
    int line = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            break;  // a partial last line: the run was killed while writing it
        }
        ++line;
        const auto j = parseOutsideJsonOrDiscarded(
            std::string_view(text).substr(start, end - start));  // also refuses deep nesting
        start = end + 1;
        if (j.is_discarded() || !j.is_object()) {
            throw Error(fmt::format("{}: line {} is not JSON", path.string(), line));
        }
        try {
            if (j.value("v", 0) > kEventsVersion) {  // inside the try: "v": "1" throws
                continue;
            }
            if (auto ev = eventFromJson(j)) {
                out.push_back(std::move(*ev));
            }
        } catch (const nlohmann::json::exception& err) {
            throw Error(fmt::format("{}: line {}: {}", path.string(), line, err.what()));
        } catch (const Error& err) {  // a number that does not fit its field
            throw Error(fmt::format("{}: line {}: {}", path.string(), line, err.what()));
        }
    }
    return out;
}

RunRecord readRunRecord(const std::filesystem::path& dir, const std::vector<Event>* events) {
    const auto experimentPath = dir / run_files::kExperiment;
    const auto summaryPath = dir / run_files::kSummary;
    const auto e = readJson(experimentPath);
    const auto s = readJson(summaryPath);
    RunRecord r;
    r.dir = dir.string();
    // The experiment through its own reader: every key checked and named.
    const Experiment experiment =
        experimentFromJson(nlohmann::ordered_json::parse(e.dump()), experimentPath.string());
    r.name = experiment.name;
    r.method = toString(experiment.method.name);
    r.variant = methodVariant(experiment);
    r.seed = experiment.seed;
    r.tasks = experiment.sequence.tasks;
    try {
        r.completed = s.value("completed", false);
        r.summary = summaryFromJson(s);
        RunSummary& out = r.summary;
        if (out.accuracyMatrix.size() != static_cast<std::size_t>(r.tasks) ||
            out.taskAwareMatrix.size() != out.accuracyMatrix.size()) {
            throw Error(
                fmt::format("the accuracy matrices have {} and {} rows, but {} says {} tasks",
                            out.accuracyMatrix.size(), out.taskAwareMatrix.size(),
                            run_files::kExperiment, r.tasks));
        }
        out.runDir = r.dir;
        if (!out.taskAwareMatrix.empty()) {
            double sum = 0;
            int n = 0;
            for (const auto& v : out.taskAwareMatrix.back()) {
                if (v) {
                    sum += *v;
                    ++n;
                }
            }
            if (n > 0) {
                r.taskAwareFinal = sum / n;
            }
        }
    } catch (const nlohmann::json::exception& ex) {
        // nlohmann's "[json.exception.type_error.302] type must be number, but is string" names
        // no key: say which file, and the message without its internal id.
        std::string what = ex.what();
        const auto close = what.find("] ");
        throw Error(fmt::format("{}: not a summary this version can read ({})",
                                summaryPath.string(),
                                close == std::string::npos ? what : what.substr(close + 2)));
    } catch (const Error& ex) {  // a number that does not fit its field
        throw Error(fmt::format("{}: {}", summaryPath.string(), ex.what()));
    }
    const auto allSeconds = [](const std::vector<Event>& all) {
        double seconds = 0;
        for (const auto& ev : all) {
            if (const auto* task = std::get_if<TaskFinished>(&ev)) {
                seconds += task->seconds;
            }
        }
        return seconds;
    };
    if (events != nullptr) {
        r.allSeconds = allSeconds(*events);
    } else {
        try {  // the table's "all_s"; a run is still comparable without it
            r.allSeconds = allSeconds(readRunEvents(dir));
        } catch (const Error&) {
        }
    }
    return r;
}

std::optional<RunSplit> readRunSplit(const std::filesystem::path& dir) {
    const auto path = dir / run_files::kSplit;
    if (!std::filesystem::exists(path)) {
        return std::nullopt;
    }
    const auto j = readJson(path);
    try {
        RunSplit out;
        const auto& data = j.at("data");
        out.kind = data.at("kind").get<std::string>();
        out.trainSource = data.at("train_source").get<std::string>();
        out.testSource = data.at("test_source").get<std::string>();
        out.paths = data.at("images_as").get<std::string>() == "paths";
        out.evaluatedOn = j.at("evaluated_on").get<std::string>();
        const auto refs = [](const nlohmann::json& list) {
            std::vector<std::string> texts;
            for (const auto& ref : list) {
                texts.push_back(ref.is_string() ? ref.get<std::string>()
                                                : std::to_string(ref.get<int64_t>()));
            }
            return texts;
        };
        for (const auto& t : j.at("tasks")) {
            TaskSplitInfo task;
            task.task = numberAt<int>(t, "task");
            task.domain = t.value("domain", std::string());
            for (const auto& c : t.at("classes")) {
                task.labels.push_back(numberAt<int64_t>(c, "label"));
                task.classNames.push_back(c.at("name").get<std::string>());
            }
            task.train = refs(t.at("train"));
            task.val = refs(t.at("val"));
            task.test = refs(t.at("test"));
            out.tasks.push_back(std::move(task));
        }
        for (const auto& w : j.value("skipped", nlohmann::json::array())) {
            LoadWarning warning;
            warning.file = w.at("file").get<std::string>();
            warning.index = w.value("index", int64_t{-1});
            warning.reason = w.at("reason").get<std::string>();
            out.skipped.push_back(std::move(warning));
        }
        return out;
    } catch (const nlohmann::json::exception& err) {
        throw Error(fmt::format("{}: not a split manifest ({})", path.string(), err.what()));
    }
}

std::vector<std::vector<std::pair<std::string, std::string>>> readRunEnvironment(
    const std::filesystem::path& dir) {
    const auto path = dir / run_files::kEnvironment;
    std::vector<std::vector<std::pair<std::string, std::string>>> out;
    if (!std::filesystem::exists(path)) {
        return out;
    }
    const auto text = readWholeFile(path);
    const auto j = nlohmann::ordered_json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("starts") || !j["starts"].is_array()) {
        throw Error(fmt::format(
            "{}: not a run's environment record (expected {{\"starts\": [...]}})", path.string()));
    }
    for (const auto& start : j["starts"]) {
        if (!start.is_object()) {
            throw Error(fmt::format("{}: a start's record is not an object", path.string()));
        }
        std::vector<std::pair<std::string, std::string>> facts;
        for (const auto& [name, value] : start.items()) {
            facts.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
        }
        out.push_back(std::move(facts));
    }
    return out;
}

}  // namespace dlw
