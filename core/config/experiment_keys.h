#pragma once
// Internal: the one table of experiment keys. Parsing, writing, validation, `--set`, the GUI's
// key infos and docs/experiment-reference.md all walk it, so a key cannot be in one and
// missing from another.

#include "api/experiment.h"

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dlw::detail {

// Insertion-ordered, so that a written file keeps the reference's key order.
using Json = nlohmann::ordered_json;

// What is wrong with one value ("must be >= 1, found 0"), without file or key: the caller, who
// knows both, turns it into a dlw::Error.
class ValueError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One leaf key of the experiment file and its mapping to the struct.
struct ExperimentKey {
    std::string key;                   // dotted, e.g. "method.rank"; one dot at most
    std::string type;                  // for the reference: "int", "float", "list of int", ...
    std::string allowed;               // range or values in words
    std::vector<std::string> choices;  // names of an enumerated key
    std::string description;           // one line, no '|'
    bool stringValued = false;         // `--set KEY=VALUE` takes VALUE verbatim
    // Converts a JSON value into the field; throws ValueError for a wrong type or value.
    std::function<void(const Json&, Experiment&)> read;
    // The field as JSON.
    std::function<Json(const Experiment&)> write;
    // "" when the field's value is in range, else what is wrong (for structs built in code).
    std::function<std::string(const Experiment&)> check;
};

// Every key, in file order. Built once; any thread.
const std::vector<ExperimentKey>& experimentKeys();

// The key named `dotted`, or nullptr.
const ExperimentKey* findExperimentKey(const std::string& dotted);

// True for the names of the nested objects: "backbone", "data", ... "checkpoint".
bool isExperimentSection(const std::string& name);

// A value for a message: its JSON text (shortened) and, with `withType`, "(a string)" etc.
std::string describeJson(const Json& value, bool withType = true);

}  // namespace dlw::detail
