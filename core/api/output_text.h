#pragma once
// Text for what the CLI prints: names on disk need not be UTF-8, terminals, CSV readers and JSON
// expect it.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dlw {

// `json` dumped with `indent` (-1: one line), every string and key made valid UTF-8 first: valid
// sequences stay, each other byte becomes the four characters "\xHH" (as in events.jsonl and
// summary.json), so a Latin-1 file name "caf\xE9.png" prints as "caf\\xE9.png" and two names never
// become one (nlohmann's own replace mode would write U+FFFD for both). Never throws on bytes.
std::string jsonText(const nlohmann::json& json, int indent = -1);
// The same for a JSON value that keeps its keys in insertion order.
std::string jsonText(const nlohmann::ordered_json& json, int indent = -1);

// `text` with every byte that is not part of valid UTF-8 written as the four characters "\xHH"
// (valid sequences, control characters included, are kept): a file name in Latin-1 prints as
// caf\xE9.png, as in events.jsonl and summary.json.
std::string displayText(std::string_view text);

}  // namespace dlw
