#pragma once
// JSON written by people (experiment files, --set values) or by other programs (safetensors
// headers) may repeat a key; nlohmann keeps the last one silently, so `"train"` given twice runs
// with neither block as the user meant (#14). This check finds every repeated key first.

#include <string>
#include <string_view>

namespace dlw {

// Throws dlw::Error "SOURCE: line L: duplicate key 'a.b' (first at line K)" for the first key
// that appears twice in one object, at any depth (the dotted path names it; array elements are
// written [i]). Text that is not valid JSON passes: the caller's parse reports it with its own
// line and column. Any thread.
void checkNoDuplicateKeys(std::string_view text, const std::string& source);

}  // namespace dlw
