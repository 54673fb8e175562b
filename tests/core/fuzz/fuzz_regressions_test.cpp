// #14: every input under fixtures/fuzz/TARGET/ (inputs the fuzzers found, plus one seed a target
// so that each entry point runs) goes through the fuzz target's entry point again. The reader
// must read it or refuse it with a dlw::Error that says something; any other exception fails
// here, and a crash or a sanitizer report fails the sanitizer build's run. An input must not
// raise the process's peak memory by more than kMaxPeakGrowthKiB either: out-of-memory findings
// (the fuzzers' malloc and RSS limit) would otherwise pass here, where nothing limits memory.
#include "api/error.h"
#include "fuzz_entries.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
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

// The largest rise of the peak resident memory one input may cause; the readers refuse sizes
// that would need more long before (the largest image they decode is 64 Mi pixels).
constexpr long kMaxPeakGrowthKiB = 512L * 1024;

// The process's peak resident memory so far, in KiB (Linux: ru_maxrss).
long peakMemoryKiB() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

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
        const long peakBefore = peakMemoryKiB();
        try {
            target.run(readBytes(input));
        } catch (const dlw::Error& err) {
            EXPECT_STRNE(err.what(), "") << input;
        } catch (const std::exception& err) {
            ADD_FAILURE() << input << ": " << typeid(err).name() << " escaped: " << err.what();
        }
        EXPECT_LE(peakMemoryKiB() - peakBefore, kMaxPeakGrowthKiB)
            << input << " raised the peak memory by that many KiB";
    }
}

INSTANTIATE_TEST_SUITE_P(Targets,
                         FuzzRegressions,
                         testing::ValuesIn(dlw::fuzz::fuzzTargets()),
                         [](const auto& testInfo) { return testInfo.param.name; });

}  // namespace
