#include "config/key_builders.h"

#include "config/nearest_name.h"

namespace dlw::detail {
namespace {

const char* typeName(const Json& value) {
    switch (value.type()) {
        case Json::value_t::string:
            return "a string";
        case Json::value_t::boolean:
            return "a boolean";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned:
            return "an integer";
        case Json::value_t::number_float:
            return "a number";
        case Json::value_t::array:
            return "a list";
        case Json::value_t::object:
            return "an object";
        default:
            return "null";
    }
}

}  // namespace

std::string describeJson(const Json& value, bool withType) {
    constexpr std::size_t kMaxChars = 40;
    std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (text.size() > kMaxChars) {
        text = text.substr(0, kMaxChars - 3) + "...";
    }
    if (withType && !value.is_null()) {
        text += fmt::format(" ({})", typeName(value));
    }
    return text;
}

ExperimentKey makeKey(std::string key,
                      std::string type,
                      std::string allowed,
                      std::string description,
                      std::vector<std::string> choices) {
    ExperimentKey k;
    k.key = std::move(key);
    k.type = std::move(type);
    k.allowed = std::move(allowed);
    k.description = std::move(description);
    k.choices = std::move(choices);
    return k;
}

std::string quotedList(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) {
        text += (text.empty() ? "\"" : ", \"") + name + "\"";
    }
    return text;
}

std::size_t parseChoice(const Json& value, const std::vector<std::string>& choices) {
    if (!value.is_string()) {
        throw ValueError(
            fmt::format("must be one of {}, found {}", quotedList(choices), describeJson(value)));
    }
    const auto& text = value.get_ref<const std::string&>();
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (choices[i] == text) {
            return i;
        }
    }
    const std::string nearest = nearestName(text, choices);
    throw ValueError(fmt::format("must be one of {}, found {}{}", quotedList(choices),
                                 describeJson(value, false),
                                 nearest.empty() ? "" : " (did you mean \"" + nearest + "\"?)"));
}

int readInt(const Json& value) {
    if (!value.is_number_integer()) {
        throw ValueError("must be an integer, found " + describeJson(value));
    }
    const bool fits = value.is_number_unsigned()
                          ? value.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX)
                          : value.get<int64_t>() >= INT_MIN && value.get<int64_t>() <= INT_MAX;
    if (!fits) {
        throw ValueError(fmt::format("must be an integer in [{}, {}], found {}", INT_MIN, INT_MAX,
                                     describeJson(value, false)));
    }
    return value.get<int>();
}

bool readBool(const Json& value) {
    if (!value.is_boolean()) {
        throw ValueError("must be true or false, found " + describeJson(value));
    }
    return value.get<bool>();
}

double readNumber(const Json& value) {
    if (!value.is_number()) {
        throw ValueError("must be a number, found " + describeJson(value));
    }
    return value.get<double>();
}

std::string readString(const Json& value) {
    if (!value.is_string()) {
        throw ValueError("must be a string, found " + describeJson(value));
    }
    return value.get<std::string>();
}

std::vector<std::string> readChoiceList(const Json& value,
                                        const std::vector<std::string>& choices,
                                        const std::string& what) {
    if (!value.is_array()) {
        throw ValueError("must be a list of " + what + " names, found " + describeJson(value));
    }
    std::vector<std::string> list;
    for (const auto& item : value) {
        list.push_back(choices.at(parseChoice(item, choices)));
    }
    return list;
}

std::vector<int> readIntList(const Json& value) {
    if (!value.is_array()) {
        throw ValueError("must be a list of integers, found " + describeJson(value));
    }
    std::vector<int> list;
    for (const auto& item : value) {
        if (!item.is_number_integer()) {
            throw ValueError("must be a list of integers, found " + describeJson(item) +
                             " in the list");
        }
        list.push_back(readInt(item));
    }
    return list;
}

bool Bounds::contains(double v) const {
    const bool aboveLo = loOpen ? v > lo : v >= lo;
    const bool belowHi = hiOpen ? v < hi : v <= hi;
    return aboveLo && belowHi;
}

std::string Bounds::text() const {
    if (hi == kInf) {
        return fmt::format("{} {}", loOpen ? ">" : ">=", lo);
    }
    if (lo == -kInf) {
        return fmt::format("{} {}", hiOpen ? "<" : "<=", hi);
    }
    return fmt::format("in {}{}, {}{}", loOpen ? "(" : "[", lo, hi, hiOpen ? ")" : "]");
}

std::string intRangeText(int64_t lo, int64_t hi) {
    return hi == INT_MAX ? fmt::format(">= {}", lo) : fmt::format("in [{}, {}]", lo, hi);
}

std::string intRangeProblem(int64_t v, int64_t lo, int64_t hi) {
    if (v >= lo && v <= hi) {
        return {};
    }
    return fmt::format("must be {}, found {}", intRangeText(lo, hi), v);
}

}  // namespace dlw::detail
