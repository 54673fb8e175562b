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

// Writes `bytes` to `file` as they are (binary) and returns `file`.
std::filesystem::path writeBytes(const std::filesystem::path& file, const std::string& bytes);

// Folder of the committed fixtures (tests/fixtures).
inline std::filesystem::path fixturesDir() {
    return DLW_TEST_FIXTURES;
}

// True in a build with AddressSanitizer unless DLW_SANITIZE_ALL=1: the tests that train several
// models to compare them take up to a minute each there, and the shorter engine tests run the
// same engine paths under the sanitizers (scripts/sanitize.sh).
bool leftOutUnderSanitizers();

// Exit code of a test program all of whose selected tests skipped themselves: ctest reads it as
// "Skipped" (SKIP_RETURN_CODE). A regular expression on the output cannot tell that apart from
// a run whose every test failed ("[  PASSED  ] 0 tests." in both), which read "Skipped" and
// passed CI.
inline constexpr int kAllSkipped = 77;

// RUN_ALL_TESTS(), then kAllSkipped when it succeeded with no test passed and some skipped.
// Every test program's main() returns this.
int runAllTests();

}  // namespace dlw::test

// Skips the rest of the test under the sanitizers (test::leftOutUnderSanitizers()).
#define DLW_SKIP_UNDER_SANITIZERS()                                                 \
    do {                                                                            \
        if (::dlw::test::leftOutUnderSanitizers()) {                                \
            GTEST_SKIP() << "trains several models: left out under the sanitizers " \
                            "(DLW_SANITIZE_ALL=1 runs it)";                         \
        }                                                                           \
    } while (false)

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
