#pragma once
// Internal: typed builders of ExperimentKey entries. `get` is a generic lambda returning a
// reference to the field, `[](auto& e) -> auto& { return e.method.rank; }`, so one accessor
// serves reading (non-const) and writing and checking (const).

#include "config/experiment_keys.h"

#include <array>
#include <climits>
#include <cstdint>
#include <fmt/format.h>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dlw::detail {

// JSON names of each enumeration, indexed by the enumerator's value.
template <class E>
struct EnumNames;
template <>
struct EnumNames<DataKind> {
    static constexpr std::array<const char*, 5> names{"fashion-mnist", "digits", "cifar100",
                                                      "image-folder", "file-list"};
};
template <>
struct EnumNames<PixelNormalization> {
    static constexpr std::array<const char*, 2> names{"backbone", "none"};
};
template <>
struct EnumNames<EvalSplit> {
    static constexpr std::array<const char*, 2> names{"test", "val"};
};
template <>
struct EnumNames<ClassOrder> {
    static constexpr std::array<const char*, 3> names{"identity", "shuffle", "explicit"};
};
template <>
struct EnumNames<MethodKind> {
    static constexpr std::array<const char*, 6> names{"duallora", "inflora", "seq-lora",
                                                      "joint",    "sd-lora", "ranpac"};
};
template <>
struct EnumNames<GateMode> {
    static constexpr std::array<const char*, 3> names{"none", "soft", "top1"};
};
template <>
struct EnumNames<TaskIdMode> {
    static constexpr std::array<const char*, 3> names{"auto", "lda", "none"};
};
template <>
struct EnumNames<TaskIdFeature> {
    static constexpr std::array<const char*, 3> names{"block_input", "cls_frozen_pass",
                                                      "block_input_and_cls"};
};
template <>
struct EnumNames<Precision> {
    static constexpr std::array<const char*, 3> names{"fp32", "tf32", "bf16"};
};
template <>
struct EnumNames<OptimizerKind> {
    static constexpr std::array<const char*, 3> names{"adam", "adamw", "sgd"};
};

template <class E>
std::string enumName(E value) {
    return EnumNames<E>::names.at(static_cast<std::size_t>(value));
}

template <class E>
std::vector<std::string> enumChoices() {
    return {EnumNames<E>::names.begin(), EnumNames<E>::names.end()};
}

// `"a", "b", "c"` for messages and the reference.
std::string quotedList(const std::vector<std::string>& names);

// Index of the JSON string `value` among `choices`; throws ValueError listing them, with the
// nearest one as a suggestion.
std::size_t parseChoice(const Json& value, const std::vector<std::string>& choices);

// A key without its mapping functions.
ExperimentKey makeKey(std::string key,
                      std::string type,
                      std::string allowed,
                      std::string description,
                      std::vector<std::string> choices = {});

// Typed reads of a JSON value; each throws ValueError "must be ..., found ..." otherwise.
// readInt also rejects integers outside the range of int.
int readInt(const Json& value);
bool readBool(const Json& value);
double readNumber(const Json& value);
std::string readString(const Json& value);
std::vector<int> readIntList(const Json& value);
// A list of names, each one of `choices` (parseChoice's errors); `what` names an item in the
// "must be a list of <what> names" error.
std::vector<std::string> readChoiceList(const Json& value,
                                        const std::vector<std::string>& choices,
                                        const std::string& what);

// The allowed interval of a float key.
struct Bounds {
    double lo = -std::numeric_limits<double>::infinity();
    bool loOpen = false;
    double hi = std::numeric_limits<double>::infinity();
    bool hiOpen = false;

    static Bounds atLeast(double low) { return make(low, false, kInf, false); }
    static Bounds above(double low) { return make(low, true, kInf, false); }
    static Bounds interval(double low, bool lowOpen, double high, bool highOpen) {
        return make(low, lowOpen, high, highOpen);
    }
    bool contains(double v) const;
    std::string text() const;  // "> 0", ">= 0", "in (0, 1]"

private:
    static constexpr double kInf = std::numeric_limits<double>::infinity();
    static Bounds make(double low, bool lowOpen, double high, bool highOpen) {
        Bounds b;
        b.lo = low;
        b.loOpen = lowOpen;
        b.hi = high;
        b.hiOpen = highOpen;
        return b;
    }
};

// "" when lo <= v <= hi, else "must be >= lo, found v" (or "in [lo, hi]").
std::string intRangeProblem(int64_t v, int64_t lo, int64_t hi);
std::string intRangeText(int64_t lo, int64_t hi);

template <class Get>
ExperimentKey intKey(std::string key, Get get, int lo, std::string description, int hi = INT_MAX) {
    ExperimentKey k = makeKey(std::move(key), "int", intRangeText(lo, hi), std::move(description));
    k.read = [get](const Json& v, Experiment& e) { get(e) = readInt(v); };
    k.write = [get](const Experiment& e) { return Json(get(e)); };
    k.check = [get, lo, hi](const Experiment& e) { return intRangeProblem(get(e), lo, hi); };
    return k;
}

template <class Get>
ExperimentKey floatKey(std::string key, Get get, Bounds bounds, std::string description) {
    ExperimentKey k = makeKey(std::move(key), "float", bounds.text(), std::move(description));
    k.read = [get](const Json& v, Experiment& e) { get(e) = readNumber(v); };
    k.write = [get](const Experiment& e) { return Json(get(e)); };
    k.check = [get, bounds](const Experiment& e) {
        return bounds.contains(get(e)) ? std::string()
                                       : fmt::format("must be {}, found {}", bounds.text(), get(e));
    };
    return k;
}

template <class Get>
ExperimentKey boolKey(std::string key, Get get, std::string description) {
    ExperimentKey k = makeKey(std::move(key), "bool", "true, false", std::move(description));
    k.read = [get](const Json& v, Experiment& e) { get(e) = readBool(v); };
    k.write = [get](const Experiment& e) { return Json(get(e)); };
    k.check = [](const Experiment&) { return std::string(); };
    return k;
}

// A free string; `problem` returns "" or what is wrong with a value.
template <class Get, class Problem>
ExperimentKey stringKey(
    std::string key, Get get, std::string allowed, Problem problem, std::string description) {
    ExperimentKey k = makeKey(std::move(key), "string", std::move(allowed), std::move(description));
    k.stringValued = true;
    k.read = [get](const Json& v, Experiment& e) { get(e) = readString(v); };
    k.write = [get](const Experiment& e) { return Json(get(e)); };
    k.check = [get, problem](const Experiment& e) { return problem(get(e)); };
    return k;
}

template <class Get>
ExperimentKey enumKey(std::string key, Get get, std::string description) {
    using E = std::decay_t<decltype(get(std::declval<Experiment&>()))>;
    ExperimentKey k = makeKey(std::move(key), "string", quotedList(enumChoices<E>()),
                              std::move(description), enumChoices<E>());
    k.stringValued = true;
    k.read = [get](const Json& v, Experiment& e) {
        get(e) = static_cast<E>(parseChoice(v, enumChoices<E>()));
    };
    k.write = [get](const Experiment& e) { return Json(enumName(get(e))); };
    k.check = [](const Experiment&) { return std::string(); };
    return k;
}

// A list of ints, each >= lo, and with `unique` no value twice.
template <class Get>
ExperimentKey intListKey(std::string key, Get get, int lo, bool unique, std::string description) {
    std::string allowed = "each " + intRangeText(lo, INT_MAX) + (unique ? ", no repeats" : "");
    ExperimentKey k =
        makeKey(std::move(key), "list of int", std::move(allowed), std::move(description));
    k.read = [get](const Json& v, Experiment& e) { get(e) = readIntList(v); };
    k.write = [get](const Experiment& e) { return Json(get(e)); };
    k.check = [get, lo, unique](const Experiment& e) {
        std::set<int> seen;
        for (const int v : get(e)) {
            if (v < lo) {
                return fmt::format("must hold values {}, found {}", intRangeText(lo, INT_MAX), v);
            }
            if (unique && !seen.insert(v).second) {
                return fmt::format("must not repeat a value, found {} twice", v);
            }
        }
        return std::string();
    };
    return k;
}

}  // namespace dlw::detail
