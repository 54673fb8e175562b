#pragma once
// Internal: numbers read from outside JSON (events.jsonl, summary.json, checkpoint state) only
// when they fit the C++ type. #14: nlohmann's get<int>() and get<float>() convert with a plain
// cast, so 3e19 read as an int or 1e300 read as a float is undefined behaviour (UBSan found it
// in readRunEvents).

#include "api/error.h"

#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace dlw::detail {

// `value` as T: an integer JSON value within T's range for integral T, a number within T's
// finite range for floating T. Throws dlw::Error "'key' must be ..., found ..." otherwise.
template <class T>
T jsonNumber(const nlohmann::json& value, const std::string& key) {
    using Limits = std::numeric_limits<T>;
    bool fits = false;
    if constexpr (std::is_integral_v<T>) {
        if (value.is_number_unsigned()) {
            fits = value.get<uint64_t>() <= static_cast<uint64_t>(Limits::max());
        } else if (value.is_number_integer()) {
            const auto v = value.get<int64_t>();
            fits = (std::is_signed_v<T> || v >= 0) &&
                   (!std::is_signed_v<T> || v >= static_cast<int64_t>(Limits::lowest())) &&
                   (v < 0 || static_cast<uint64_t>(v) <= static_cast<uint64_t>(Limits::max()));
        }
    } else {
        fits = value.is_number() && !(std::isfinite(value.get<double>()) &&
                                      std::abs(value.get<double>()) > Limits::max());
    }
    if (!fits) {
        throw Error(
            fmt::format("'{}' must be {} that fits {} bits, found {}", key,
                        std::is_integral_v<T> ? "an integer" : "a number", 8 * sizeof(T),
                        value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    }
    return value.get<T>();
}

template <class T>
T numberAt(const nlohmann::json& object, const std::string& key) {
    return jsonNumber<T>(object.at(key), key);
}

// A list of numbers (`matrix`: a list of lists), each checked as jsonNumber.
template <class T>
std::vector<T> listAt(const nlohmann::json& object, const std::string& key) {
    const auto& list = object.at(key);
    if (!list.is_array()) {
        throw Error(fmt::format("'{}' must be a list", key));
    }
    std::vector<T> out;
    for (const auto& v : list) {
        out.push_back(jsonNumber<T>(v, key));
    }
    return out;
}

template <class T>
std::vector<std::vector<T>> matrixAt(const nlohmann::json& object, const std::string& key) {
    const auto& rows = object.at(key);
    if (!rows.is_array()) {
        throw Error(fmt::format("'{}' must be a list of lists", key));
    }
    std::vector<std::vector<T>> out;
    for (const auto& row : rows) {
        out.push_back(listAt<T>(nlohmann::json{{key, row}}, key));
    }
    return out;
}

}  // namespace dlw::detail
