#pragma once
// JSON written by people (experiment files, --set values) or by other programs (safetensors
// headers) may repeat a key; nlohmann keeps the last one silently, so `"train"` given twice runs
// with neither block as the user meant (#14). This check finds every repeated key first.

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dlw {

// Throws dlw::Error "SOURCE: line L: duplicate key 'a.b' (first at line K)" for the first key
// that appears twice in one object, at any depth (the dotted path names it; array elements are
// written [i]). Text that is not valid JSON passes: the caller's parse reports it with its own
// line and column. Any thread.
// Also throws "SOURCE: line L: nested deeper than 64 levels": nlohmann's dump and get<> recurse,
// and a file of 80,000 nested brackets overflowed the stack (#14).
void checkNoDuplicateKeys(std::string_view text, const std::string& source);
inline constexpr std::size_t kMaxJsonDepth = 64;

// JSON from outside (a file, a run folder, an argument): checkNoDuplicateKeys, then nlohmann's
// parse; a syntax error is dlw::Error "SOURCE: malformed JSON: ... at line L, column C".
nlohmann::json parseOutsideJson(std::string_view text, const std::string& source);
// The same, returning a discarded value (is_discarded()) instead of throwing.
nlohmann::json parseOutsideJsonOrDiscarded(std::string_view text);

// Names on disk need not be UTF-8, JSON text must be (#14). These keep every valid UTF-8
// sequence and write each other byte as the four characters "\xHH", so that a folder named
// "caf\xE9" in Latin-1 shows as caf\xE9 in events, summaries and tables: readable, and two
// different names never become one.
bool isValidUtf8(std::string_view text);
std::string escapeInvalidUtf8(std::string_view text);

// `json` as text (nlohmann's dump with `indent`) with every string and key made valid UTF-8 by
// escapeInvalidUtf8 first; nlohmann's own dump throws on such bytes. Any thread.
template <class Json>
std::string dumpJson(const Json& json, int indent = -1) {
    if (json.is_string()) {
        const auto& text = json.template get_ref<const typename Json::string_t&>();
        return isValidUtf8(text) ? json.dump(indent) : Json(escapeInvalidUtf8(text)).dump(indent);
    }
    if (!json.is_structured()) {
        return json.dump(indent);
    }
    // Only when something needs it: most documents are plain UTF-8 already.
    std::function<bool(const Json&)> clean = [&](const Json& j) {
        if (j.is_string()) {
            return isValidUtf8(j.template get_ref<const typename Json::string_t&>());
        }
        if (!j.is_structured()) {
            return true;  // (iterating a number would visit the number itself, forever)
        }
        for (auto it = j.begin(); it != j.end(); ++it) {
            if ((j.is_object() && !isValidUtf8(it.key())) || !clean(*it)) {
                return false;
            }
        }
        return true;
    };
    if (clean(json)) {
        return json.dump(indent);
    }
    std::function<Json(const Json&)> fix = [&](const Json& j) -> Json {
        if (j.is_string()) {
            return escapeInvalidUtf8(j.template get_ref<const typename Json::string_t&>());
        }
        if (j.is_object()) {
            Json out = Json::object();
            for (auto it = j.begin(); it != j.end(); ++it) {
                out[escapeInvalidUtf8(it.key())] = fix(*it);
            }
            return out;
        }
        if (j.is_array()) {
            Json out = Json::array();
            for (const auto& v : j) {
                out.push_back(fix(v));
            }
            return out;
        }
        return j;
    };
    return fix(json).dump(indent);
}

}  // namespace dlw
