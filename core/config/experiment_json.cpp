// The experiment file as JSON text (DESIGN §6): parsing over a preset, writing every key, and
// `--set KEY=VALUE` overrides. All of it walks the key table of experiment_keys.cpp.
#include "config/experiment_json.h"

#include "api/atomic_file.h"
#include "api/error.h"
#include "config/experiment_keys.h"
#include "config/nearest_name.h"
#include "util/strict_json.h"

#include <algorithm>
#include <fmt/format.h>

namespace dlw {
namespace {

using detail::Json;

std::string leafOf(const std::string& dotted) {
    const auto dot = dotted.rfind('.');
    return dot == std::string::npos ? dotted : dotted.substr(dot + 1);
}

// The known key nearest to `dotted`: the same leaf in another section ("train.rank" ->
// "method.rank"), else the smallest edit distance among keys, sections and "preset".
std::string suggestKey(const std::string& dotted) {
    std::vector<std::string> candidates{"preset"};
    for (const auto& key : detail::experimentKeys()) {
        if (leafOf(key.key) == leafOf(dotted) && key.key != dotted) {
            return key.key;
        }
        candidates.push_back(key.key);
        const auto dot = key.key.find('.');
        if (dot != std::string::npos) {
            candidates.push_back(key.key.substr(0, dot));
        }
    }
    return detail::nearestName(dotted, candidates);
}

// A key as the message shows it: control characters (a NUL cut the message short, #14) and
// bytes that are not UTF-8 written as \xHH.
std::string printableKey(const std::string& key) {
    std::string out;
    for (const char c : escapeInvalidUtf8(key)) {
        const auto byte = static_cast<unsigned char>(c);
        out += byte < 0x20 || byte == 0x7f ? fmt::format("\\x{:02X}", byte) : std::string(1, c);
    }
    return out;
}

[[noreturn]] void throwUnknownKey(const std::string& rawDotted, const std::string& sourceName) {
    const std::string dotted = printableKey(rawDotted);
    const std::string suggestion = suggestKey(rawDotted);
    if (!suggestion.empty()) {
        throw Error(fmt::format("{}: unknown key '{}' (did you mean '{}'?)", sourceName, dotted,
                                suggestion));
    }
    throw Error(fmt::format("{}: unknown key '{}'; docs/experiment-reference.md lists the keys",
                            sourceName, dotted));
}

// Reads one value into its field and checks the field's range.
void setKey(const detail::ExperimentKey& key,
            const Json& value,
            Experiment& experiment,
            const std::string& sourceName) {
    try {
        key.read(value, experiment);
        const std::string problem = key.check(experiment);
        if (!problem.empty()) {
            throw detail::ValueError(problem);
        }
    } catch (const detail::ValueError& error) {
        throw Error(fmt::format("{}: '{}' {}", sourceName, key.key, error.what()));
    }
}

// The preset a file's top-level "preset" key names, or `default`.
Experiment baseOf(const Json& value, const std::string& sourceName) {
    const auto it = value.find("preset");
    if (it == value.end()) {
        return preset("default");
    }
    const auto names = presetNames();
    if (!it->is_string() ||
        std::find(names.begin(), names.end(), it->get<std::string>()) == names.end()) {
        std::string list;
        for (const auto& name : names) {
            list += (list.empty() ? "\"" : ", \"") + name + "\"";
        }
        throw Error(fmt::format("{}: 'preset' must be one of {}, found {}", sourceName, list,
                                detail::describeJson(*it)));
    }
    return preset(it->get<std::string>());
}

// --set VALUE: JSON when it parses, else the text itself; a string key always takes the text.
Json overrideValue(const std::string& text, bool stringValued, const std::string& sourceName) {
    Json value;
    try {
        value = Json::parse(text);
    } catch (const Json::out_of_range&) {  // "1e400" overflows a double
        if (!stringValued) {
            throw Error(fmt::format("{}: {} is outside the range of a double", sourceName, text));
        }
        return Json(text);  // NOLINT(modernize-return-braced-init-list): {text} is a list
    } catch (const Json::exception&) {
        return Json(text);  // NOLINT(modernize-return-braced-init-list): {text} is a list
    }
    if (stringValued && !value.is_string()) {
        return Json(text);  // a string key takes the text as it is
    }
    checkNoDuplicateKeys(text, sourceName);
    return value;
}

}  // namespace

void mergeExperimentJson(const Json& value,
                         const std::string& prefix,
                         Experiment& experiment,
                         const std::string& sourceName) {
    if (!value.is_object()) {
        throw Error(fmt::format("{}: {} must be an object, found {}", sourceName,
                                prefix.empty() ? "the top level" : "'" + prefix + "'",
                                detail::describeJson(value)));
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string dotted = prefix.empty() ? it.key() : prefix + "." + it.key();
        if (dotted == "preset") {
            continue;  // read by experimentFromJson before merging
        }
        if (detail::isExperimentSection(dotted)) {
            mergeExperimentJson(it.value(), dotted, experiment, sourceName);
        } else if (const auto* key = detail::findExperimentKey(dotted)) {
            setKey(*key, it.value(), experiment, sourceName);
        } else {
            throwUnknownKey(dotted, sourceName);
        }
    }
}

Experiment experimentFromJson(const Json& value, const std::string& sourceName) {
    if (!value.is_object()) {
        throw Error(fmt::format("{}: the experiment must be a JSON object, found {}", sourceName,
                                detail::describeJson(value)));
    }
    Experiment experiment = baseOf(value, sourceName);
    mergeExperimentJson(value, "", experiment, sourceName);
    validateExperiment(experiment, sourceName);
    return experiment;
}

Json experimentToJson(const Experiment& experiment) {
    Json out = Json::object();
    for (const auto& key : detail::experimentKeys()) {
        const auto dot = key.key.find('.');
        if (dot == std::string::npos) {
            out[key.key] = key.write(experiment);
        } else {
            out[key.key.substr(0, dot)][key.key.substr(dot + 1)] = key.write(experiment);
        }
    }
    return out;
}

Experiment experimentFromJsonText(const std::string& text, const std::string& sourceName) {
    Json value;
    try {
        value = Json::parse(text);
    } catch (const Json::exception& error) {  // #14: parse_error, and out_of_range for 1e400
        // nlohmann's text is "[json.exception.parse_error.101] parse error at line L, column C:
        // ..."; the bracketed id means nothing to a user.
        std::string what = error.what();
        const auto close = what.find("] ");
        throw Error(fmt::format("{}: malformed JSON: {}", sourceName,
                                close == std::string::npos ? what : what.substr(close + 2)));
    }
    checkNoDuplicateKeys(text, sourceName);  // #14: a repeated "train" ran with the last one
    return experimentFromJson(value, sourceName);
}

std::string toJsonText(const Experiment& experiment) {
    try {
        return experimentToJson(experiment).dump(2) + "\n";
    } catch (const Json::exception& error) {
        // Only a string that is not UTF-8 (a path, the name) gets here.
        throw Error(fmt::format("experiment '{}': cannot be written as JSON: {}", experiment.name,
                                error.what()));
    }
}

Experiment loadExperimentFile(const std::filesystem::path& path) {
    return experimentFromJsonText(readWholeFile(path), path.string());
}

void saveExperimentFile(const Experiment& experiment, const std::filesystem::path& path) {
    writeFileAtomically(path, toJsonText(experiment));
}

void applyOverride(Experiment& experiment, const std::string& assignment) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
        throw Error(fmt::format("--set '{}': expected KEY=VALUE, e.g. method.rank=4", assignment));
    }
    const std::string dotted = assignment.substr(0, equals);
    const std::string text = assignment.substr(equals + 1);
    // An assignment of thousands of characters would fill the terminal with every message.
    const std::string sourceName =
        "--set " + (assignment.size() <= 80 ? assignment : assignment.substr(0, 77) + "...");
    Experiment changed = experiment;
    if (dotted == "preset") {
        throw Error(
            fmt::format("{}: a preset cannot be set; start from it (--preset NAME, or "
                        "\"preset\" in the file) and --set its keys",
                        sourceName));
    }
    if (detail::isExperimentSection(dotted)) {
        mergeExperimentJson(overrideValue(text, false, sourceName), dotted, changed, sourceName);
    } else if (const auto* key = detail::findExperimentKey(dotted)) {
        setKey(*key, overrideValue(text, key->stringValued, sourceName), changed, sourceName);
    } else {
        throwUnknownKey(dotted, sourceName);
    }
    experiment = std::move(changed);
}

void applyOverrides(Experiment& experiment, const std::vector<std::string>& assignments) {
    Experiment changed = experiment;
    for (const auto& assignment : assignments) {
        applyOverride(changed, assignment);
    }
    validateExperiment(changed, "--set");
    experiment = std::move(changed);
}

}  // namespace dlw
