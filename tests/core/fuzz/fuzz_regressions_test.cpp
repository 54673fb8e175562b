// #14: every input under fixtures/fuzz/TARGET/ (inputs the fuzzers found, plus one seed a target
// so that each entry point runs) goes through the fuzz target's entry point again. The reader
// must read it or refuse it with a dlw::Error that says something; any other exception fails
// here, and a crash or a sanitizer report fails the sanitizer build's run.
#include "api/error.h"
#include "fuzz_entries.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <typeinfo>

#include <gtest/gtest.h>

namespace dlw::fuzz {
// GoogleTest names a target by its name, not its bytes.
void PrintTo(const FuzzTarget& target, std::ostream* out) {
    *out << target.name;
}
}  // namespace dlw::fuzz

namespace {

namespace fs = std::filesystem;

std::string readBytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class FuzzRegressions : public testing::TestWithParam<dlw::fuzz::FuzzTarget> {};

TEST_P(FuzzRegressions, StoredInputsAreReadOrRefusedWithDlwError) {
    const auto& target = GetParam();
    const fs::path folder = fs::path(DLW_TEST_FIXTURES) / "fuzz" / target.name;
    std::vector<fs::path> inputs;
    for (const auto& entry : fs::directory_iterator(folder)) {
        inputs.push_back(entry.path());
    }
    std::sort(inputs.begin(), inputs.end());
    ASSERT_FALSE(inputs.empty()) << folder << " holds no inputs";
    for (const auto& input : inputs) {
        try {
            target.run(readBytes(input));
        } catch (const dlw::Error& err) {
            EXPECT_STRNE(err.what(), "") << input;
        } catch (const std::exception& err) {
            ADD_FAILURE() << input << ": " << typeid(err).name() << " escaped: " << err.what();
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Targets,
                         FuzzRegressions,
                         testing::ValuesIn(dlw::fuzz::fuzzTargets()),
                         [](const auto& testInfo) { return testInfo.param.name; });

}  // namespace
