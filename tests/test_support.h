#pragma once
// Small helpers shared by the tests: temporary folders and expectations on error messages.

#include <filesystem>
#include <initializer_list>
#include <string>

#include <gtest/gtest.h>

namespace dlw::test {

// A fresh, empty folder under the system temp dir, unique per call; removed with everything in
// it when the test program exits (DLW_KEEP_TEST_DIRS=1 keeps them).
std::filesystem::path tempDir(const std::string& tag);

// Folder of the committed fixtures (tests/fixtures).
inline std::filesystem::path fixturesDir() {
    return DLW_TEST_FIXTURES;
}

}  // namespace dlw::test

// Expects `statement` to throw dlw::Error whose message contains every one of the substrings.
#define DLW_EXPECT_ERROR(statement, ...)                                                       \
    do {                                                                                       \
        try {                                                                                  \
            statement;                                                                         \
            ADD_FAILURE() << "expected dlw::Error from " #statement;                           \
        } catch (const ::dlw::Error& dlwError_) {                                              \
            for (const std::string& part_ : std::initializer_list<std::string>{__VA_ARGS__}) { \
                EXPECT_NE(std::string(dlwError_.what()).find(part_), std::string::npos)        \
                    << "message '" << dlwError_.what() << "' lacks '" << part_ << "'";         \
            }                                                                                  \
        }                                                                                      \
    } while (false)
