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

TEST(StrictJson, AcceptsEqualKeysInDifferentObjectsAndLeavesSyntaxToTheParser) {
    EXPECT_NO_THROW(checkNoDuplicateKeys(
        R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}], "k": 0})", "ok"));
    EXPECT_NO_THROW(checkNoDuplicateKeys("{\"a\": 1,", "truncated"));
    EXPECT_NO_THROW(checkNoDuplicateKeys("", "empty"));
    EXPECT_NO_THROW(checkNoDuplicateKeys("[1, 2, 3]", "array"));
}

}  // namespace
}  // namespace dlw
