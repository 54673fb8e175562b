#pragma once
// Internal (engine side): the experiment as nlohmann JSON, for experiment.json in a run
// directory and for events that carry the experiment. The GUI and the CLI use the text
// functions of core/api/experiment.h instead.
//
// ordered_json keeps the reference's key order; a plain nlohmann::json converts from it with
// `nlohmann::json(value)` (keys then sorted).

#include "api/experiment.h"

#include <string>

#include <nlohmann/json.hpp>

namespace dlw {

// Every key of `experiment`, nested by section, in the order of experimentKeyInfos().
// Any thread.
nlohmann::ordered_json experimentToJson(const Experiment& experiment);

// Merges `value` (an object) over the `default` preset or over the preset its top-level
// "preset" key names, then validates. Throws dlw::Error "<sourceName>: ..." naming the dotted
// key (unknown, wrong type, out of range). Any thread.
Experiment experimentFromJson(const nlohmann::ordered_json& value, const std::string& sourceName);

// Merges the keys of `value` (an object for the section named `prefix`, "" for the whole file)
// into `experiment`, checking types and ranges but not the rules between keys. Throws
// dlw::Error as experimentFromJson; `experiment` may then be partly changed.
void mergeExperimentJson(const nlohmann::ordered_json& value,
                         const std::string& prefix,
                         Experiment& experiment,
                         const std::string& sourceName);

}  // namespace dlw
