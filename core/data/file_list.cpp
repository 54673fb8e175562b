// Reader for image lists (data.kind "file-list", DESIGN §4) as DomainNet's official split ships
// them: <domain>_train.txt and <domain>_test.txt in the dataset folder, one "relative/path LABEL"
// a line (clipart/aircraft_carrier/clipart_001_000018.jpg 0). The chosen domains are merged into
// one class-incremental dataset; each image keeps its domain. Pixels are decoded later, on
// demand, by the loader; here each file is only probed (see detail::probeImageFile).
#include "api/error.h"
#include "data/dataset.h"
#include "data/image_decode.h"
#include "util/strict_json.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <limits>
#include <map>
#include <string_view>
#include <system_error>

namespace dlw {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTrainSuffix = "_train.txt";
constexpr const char* kTestSuffix = "_test.txt";
// Labels index the heads' outputs: a million classes is far beyond any dataset, and a stray
// "path 4000000000" line must not size a class table by it.
constexpr int64_t kMaxLabel = 999'999;

// One domain: its name (the lists' prefix) and its two lists.
struct DomainLists {
    std::string name;
    fs::path train;
    fs::path test;
};

// A line that names an image: where it points, its label and where it was read.
struct ListEntry {
    std::string path;  // as written, relative to the dataset folder
    int64_t label = 0;
    int64_t line = 0;  // 1-based
};

// The entries of one list, and what was wrong with its other lines (line, reason).
struct ParsedList {
    fs::path file;
    int16_t domain = 0;
    std::vector<ListEntry> entries;
    std::vector<std::pair<int64_t, std::string>> faults;
};

bool isBlank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// `text` for a message: a long line (a binary file given as a list) is cut.
std::string excerpt(std::string_view text) {
    constexpr std::size_t kShown = 80;
    return text.size() <= kShown ? std::string(text) : std::string(text.substr(0, kShown)) + "...";
}

bool isRegularFile(const fs::path& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

// Why `text` (one line, its end of line removed) names no image, or "" with `entry` filled.
// The label is the last blank-separated word, so that a path may hold spaces.
std::string parseLine(std::string_view text, ListEntry& entry) {
    if (text.find('\0') != std::string_view::npos) {
        return "holds a NUL byte: not a text line (expected \"path LABEL\")";
    }
    const auto labelEnd = text.size();
    auto labelBegin = labelEnd;
    while (labelBegin > 0 && !isBlank(text[labelBegin - 1])) {
        --labelBegin;
    }
    auto pathEnd = labelBegin;
    while (pathEnd > 0 && isBlank(text[pathEnd - 1])) {
        --pathEnd;
    }
    if (pathEnd == 0) {
        return fmt::format("no label (expected \"path LABEL\", found \"{}\")", excerpt(text));
    }
    const std::string_view label = text.substr(labelBegin);
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), value);
    if (ec == std::errc::result_out_of_range) {
        return fmt::format("label {} is out of range (at most {})", excerpt(label), kMaxLabel);
    }
    if (ec != std::errc() || end != label.data() + label.size()) {
        return fmt::format("label \"{}\" is not an integer class index", excerpt(label));
    }
    if (value < 0) {
        return fmt::format("label {} is negative (class indices start at 0)", value);
    }
    if (value > kMaxLabel) {
        return fmt::format("label {} is out of range (at most {})", value, kMaxLabel);
    }
    entry.path = std::string(text.substr(0, pathEnd));
    entry.label = value;
    return {};
}

// Reads `file` line by line: blank lines, '#' comments and CR line ends are tolerated, every
// other line that names no image becomes a warning "line N: reason".
ParsedList parseList(const fs::path& file, int16_t domain) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw Error(file.string() + ": cannot open the image list");
    }
    ParsedList list;
    list.file = file;
    list.domain = domain;
    std::string text;
    for (int64_t line = 1; std::getline(in, text); ++line) {
        std::string_view view(text);
        while (!view.empty() && isBlank(view.front())) {
            view.remove_prefix(1);
        }
        while (!view.empty() && isBlank(view.back())) {
            view.remove_suffix(1);
        }
        if (view.empty() || view.front() == '#') {
            continue;
        }
        ListEntry entry;
        entry.line = line;
        auto reason = parseLine(view, entry);
        if (reason.empty()) {
            list.entries.push_back(std::move(entry));
        } else {
            list.faults.emplace_back(line, std::move(reason));
        }
    }
    if (in.bad()) {
        throw Error(file.string() + ": cannot read the image list");
    }
    return list;
}

std::vector<std::string> domainsFound(const fs::path& root) {
    std::vector<std::string> names;
    const std::string suffix = kTrainSuffix;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > suffix.size() && name.front() != '.' &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
            isRegularFile(entry.path())) {
            names.push_back(name.substr(0, name.size() - suffix.size()));
        }
    }
    if (ec) {
        throw Error(root.string() + ": cannot list the folder (" + ec.message() + ")");
    }
    std::sort(names.begin(), names.end());
    return names;
}

// The lists of `wanted` ([] = every <domain>_train.txt in `root`), each with its test partner.
std::vector<DomainLists> findLists(const fs::path& root, const std::vector<std::string>& wanted) {
    const auto found = domainsFound(root);
    const auto foundText =
        found.empty() ? std::string("none") : fmt::format("{}", fmt::join(found, ", "));
    if (found.empty() && wanted.empty()) {
        throw Error(root.string() +
                    ": no image lists found (expected <domain>_train.txt and <domain>_test.txt, "
                    "one \"relative/path LABEL\" a line, as DomainNet ships them)");
    }
    std::vector<DomainLists> lists;
    for (const auto& name : wanted.empty() ? found : wanted) {
        if (std::any_of(lists.begin(), lists.end(),
                        [&](const auto& d) { return d.name == name; })) {
            throw Error(fmt::format("data.domains: domain \"{}\" is listed twice", name));
        }
        DomainLists d{name, root / (name + kTrainSuffix), root / (name + kTestSuffix)};
        if (!isRegularFile(d.train)) {
            throw Error(
                fmt::format("{}: training list of domain \"{}\" not found (data.domains; "
                            "the domains in {}: {})",
                            d.train.string(), name, root.string(), foundText));
        }
        if (!isRegularFile(d.test)) {
            throw Error(
                fmt::format("{}: test list not found; each <domain>_train.txt needs its "
                            "<domain>_test.txt ({} has none)",
                            d.test.string(), d.train.filename().string()));
        }
        lists.push_back(std::move(d));
    }
    if (lists.size() > static_cast<std::size_t>(std::numeric_limits<int16_t>::max())) {
        throw Error(fmt::format("{}: {} domains, more than the {} this reader keeps apart",
                                root.string(), lists.size(), std::numeric_limits<int16_t>::max()));
    }
    return lists;
}

// Class names from the folder that holds each class's images ("aircraft_carrier" for
// clipart/aircraft_carrier/x.jpg): "class k" when k's images sit in different folders or in none,
// or when another class has the same folder name. Names that are not UTF-8 show \xHH (#14).
std::vector<std::string> classNamesOf(const std::vector<const ParsedList*>& lists,
                                      int64_t numClasses) {
    enum class State : char { None, Named, Mixed };
    std::vector<State> state(static_cast<std::size_t>(numClasses), State::None);
    std::vector<std::string> folder(static_cast<std::size_t>(numClasses));
    for (const auto* list : lists) {
        for (const auto& entry : list->entries) {
            const auto k = static_cast<std::size_t>(entry.label);
            const std::string name = fs::path(entry.path).parent_path().filename().string();
            if (name.empty() || (state[k] == State::Named && folder[k] != name)) {
                state[k] = State::Mixed;
            } else if (state[k] == State::None) {
                state[k] = State::Named;
                folder[k] = name;
            }
        }
    }
    std::map<std::string, int> uses;
    for (std::size_t k = 0; k < folder.size(); ++k) {
        if (state[k] == State::Named) {
            ++uses[folder[k]];
        }
    }
    std::vector<std::string> names(folder.size());
    for (std::size_t k = 0; k < folder.size(); ++k) {
        const bool own = state[k] == State::Named && uses[folder[k]] == 1;
        names[k] = own ? escapeInvalidUtf8(folder[k]) : fmt::format("class {}", k);
    }
    return names;
}

// Calls the caller's progress callback, turning a cancel into dlw::Error.
void reportProgress(const ScanProgress& progress,
                    const fs::path& root,
                    int64_t done,
                    int64_t total) {
    if (progress && !progress(done, total)) {
        throw Error("scan cancelled: " + root.string());
    }
}

// The images of `lists` whose files pass the probe; the others become warnings naming the list
// and the line. `done` counts probed files across calls. Throws when a list yields no image.
ImageDataset probeLists(const fs::path& root,
                        std::vector<ParsedList>& lists,
                        const ScanProgress& progress,
                        int64_t& done,
                        int64_t total) {
    ImageDataset data;
    data.source = root.string();
    for (auto& list : lists) {
        const auto before = data.files.size();
        for (const auto& entry : list.entries) {
            if (++done % 16 == 0) {
                reportProgress(progress, root, done, total);
            }
            fs::path file = root / entry.path;
            auto reason = detail::probeImageFile(file);
            if (!reason.empty()) {
                list.faults.emplace_back(entry.line, entry.path + ": " + reason);
                continue;
            }
            data.files.push_back(std::move(file));
            data.labels.push_back(entry.label);
            data.domain.push_back(list.domain);
        }
        // Line order: the malformed lines were found first, the unreadable files after them.
        std::stable_sort(list.faults.begin(), list.faults.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        if (data.files.size() == before) {
            const std::string first =
                list.faults.empty()
                    ? std::string()
                    : fmt::format(" (first fault: line {}: {})", list.faults.front().first,
                                  list.faults.front().second);
            throw Error(
                list.entries.empty()
                    ? fmt::format("{}: the list names no image (no \"path LABEL\" line){}",
                                  list.file.string(), first)
                    : fmt::format("{}: none of the {} images the list names could be read{}",
                                  list.file.string(), list.entries.size(), first));
        }
        for (const auto& [line, reason] : list.faults) {
            data.warnings.push_back(
                {list.file.string(), -1, fmt::format("line {}: {}", line, reason)});
        }
    }
    reportProgress(progress, root, done, total);
    return data;
}

}  // namespace

TrainTestData readFileLists(const std::filesystem::path& root,
                            const std::vector<std::string>& domains,
                            const ScanProgress& progress) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
        throw Error(root.string() +
                    ": image-list folder not found (set data.root to the folder of the "
                    "<domain>_train.txt and <domain>_test.txt lists)");
    }
    reportProgress(progress, root, 0, 0);
    const auto found = findLists(root, domains);
    if (!detail::haveImageDecoder()) {
        detail::probeImageFile(root);  // throws: this build cannot decode images
    }
    std::vector<ParsedList> train;
    std::vector<ParsedList> test;
    std::vector<std::string> domainNames;
    int64_t maxLabel = -1;
    int64_t total = 0;
    for (std::size_t d = 0; d < found.size(); ++d) {
        train.push_back(parseList(found[d].train, static_cast<int16_t>(d)));
        test.push_back(parseList(found[d].test, static_cast<int16_t>(d)));
        domainNames.push_back(escapeInvalidUtf8(found[d].name));
        for (const auto* list : {&train.back(), &test.back()}) {
            for (const auto& entry : list->entries) {
                maxLabel = std::max(maxLabel, entry.label);
            }
            total += static_cast<int64_t>(list->entries.size());
        }
        reportProgress(progress, root, 0, 0);
    }
    std::vector<const ParsedList*> all;
    for (const auto* part : {&train, &test}) {
        for (const auto& list : *part) {
            all.push_back(&list);
        }
    }
    const auto classNames = classNamesOf(all, maxLabel + 1);
    int64_t done = 0;
    TrainTestData data{probeLists(root, train, progress, done, total),
                       probeLists(root, test, progress, done, total)};
    for (auto* part : {&data.train, &data.test}) {
        part->classNames = classNames;
        part->domainNames = domainNames;
    }
    return data;
}

}  // namespace dlw
