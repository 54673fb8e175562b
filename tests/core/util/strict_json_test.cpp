#include "util/strict_json.h"

#include "api/error.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

// #14: nlohmann keeps the last of two equal keys; every level must be checked, with lines.
TEST(StrictJson, NamesTheRepeatedKeyItsPathAndBothLines) {
    DLW_EXPECT_ERROR(checkNoDuplicateKeys("{\n \"train\": {\"epochs\": 1},\n \"seed\": 2,\n"
                                          " \"train\": {\"batch_size\": 8}\n}",
                                          "exp.json"),
                     "exp.json: line 4: duplicate key 'train' (first at line 2)");
    DLW_EXPECT_ERROR(checkNoDuplicateKeys("{\"method\": {\"rank\": 2,\n\"rank\": 4}}", "s"),
                     "s: line 2: duplicate key 'method.rank' (first at line 1)");
    DLW_EXPECT_ERROR(checkNoDuplicateKeys(R"({"a": [1, {"x": 0}, {"y": 1, "y": 2}]})", "arr.json"),
                     "line 1: duplicate key 'a[2].y'");
}

// #14: 80,000 nested brackets overflowed the stack in nlohmann's recursive dump (a segfault in
// run, queue, predict, resume and the window); deeper than 64 levels is refused with its line.
TEST(StrictJson, RefusesNestingDeeperThanTheLimit) {
    const std::string deep =
        "{\"seed\":\n" + std::string(80000, '[') + std::string(80000, ']') + "}";
    DLW_EXPECT_ERROR(checkNoDuplicateKeys(deep, "d.json"), "d.json: line 2: nested deeper than 64");
    DLW_EXPECT_ERROR(parseOutsideJson(deep, "d.json"), "nested deeper than 64");
    EXPECT_TRUE(parseOutsideJsonOrDiscarded(deep).is_discarded());
    const std::string ok = std::string(63, '[') + std::string(63, ']');
    EXPECT_NO_THROW(parseOutsideJson(ok, "ok.json"));
}

TEST(StrictJson, AcceptsEqualKeysInDifferentObjectsAndLeavesSyntaxToTheParser) {
    EXPECT_NO_THROW(checkNoDuplicateKeys(
        R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}], "k": 0})", "ok"));
    EXPECT_NO_THROW(checkNoDuplicateKeys("{\"a\": 1,", "truncated"));
    EXPECT_NO_THROW(checkNoDuplicateKeys("", "empty"));
    EXPECT_NO_THROW(checkNoDuplicateKeys("[1, 2, 3]", "array"));
}

// #14: names on disk need not be UTF-8; JSON must be. Valid text is kept as it is, each stray
// byte becomes \xHH, and a document holding such names is written instead of throwing.
TEST(StrictJson, EscapesBytesThatAreNotUtf8AndDumpsAnyDocument) {
    EXPECT_TRUE(isValidUtf8("plain, Ünïcødé, 漢字, 😀"));
    EXPECT_FALSE(isValidUtf8("caf\xe9"));
    EXPECT_FALSE(isValidUtf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));      // a UTF-16 surrogate
    EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(isValidUtf8("\xe6\xbc"));          // cut short
    EXPECT_EQ(escapeInvalidUtf8("caf\xe9 漢"), "caf\\xE9 漢");
    EXPECT_EQ(escapeInvalidUtf8("\xff\xfe"), "\\xFF\\xFE");
    nlohmann::json doc = {
        {"name", "caf\xe9"}, {"n", 3}, {"list", {"ok", "\xff"}}, {"k\xe9y", {{"deep", 1.5}}}};
    EXPECT_THROW(doc.dump(), nlohmann::json::type_error);  // what the writers used to do
    const auto back = nlohmann::json::parse(dumpJson(doc, 2));
    EXPECT_EQ(back["name"], "caf\\xE9");
    EXPECT_EQ(back["list"][1], "\\xFF");
    EXPECT_EQ(back["k\\xE9y"]["deep"], 1.5);
    EXPECT_EQ(back["n"], 3);
    const nlohmann::json clean = {{"a", {1, 2, {{"b", "ü"}}}}};
    EXPECT_EQ(dumpJson(clean), clean.dump());
}

}  // namespace
}  // namespace dlw
