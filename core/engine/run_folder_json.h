#pragma once
// Internal: the JSON forms of the run folder's files (DESIGN §6), written by RunStore and read
// back by readRunEvents / readRunRecord. Writer and reader live side by side in
// core/engine/run_folder.cpp.

#include "api/events.h"

#include <optional>

#include <nlohmann/json.hpp>

namespace dlw {

inline constexpr int kEventsVersion = 1;

// One events.jsonl line's object {"v":1,"type":...,...}.
nlohmann::json toJson(const Event& event);
// The inverse of toJson(Event); nullopt for a type this version does not know. Throws
// nlohmann::json::exception for a known type with missing or mistyped fields.
std::optional<Event> eventFromJson(const nlohmann::json& json);
// summary.json's object (without "completed"), and back (metrics recomputed from the matrix,
// runDir left empty; throws nlohmann::json::exception for missing or mistyped fields).
nlohmann::json toJson(const RunSummary& summary);
RunSummary summaryFromJson(const nlohmann::json& json);
// An accuracy matrix as rows of numbers with null above the diagonal, and back. The reader
// throws dlw::Error unless it is a T×T list of lists of numbers or null.
nlohmann::json accuracyMatrixToJson(const AccuracyMatrix& matrix);
AccuracyMatrix accuracyMatrixFromJson(const nlohmann::json& json);

}  // namespace dlw
