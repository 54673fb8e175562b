#include "test_support.h"

#include "api/runtime.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <unistd.h>
#include <vector>

namespace dlw::test {
namespace {

// The folders tempDir() made, removed when the test program ends (a full ctest run made about
// 7,000 of them, 63 GB, and filled the disk). DLW_KEEP_TEST_DIRS=1 keeps them for a post-mortem.
class TempDirs {
public:
    void add(const std::filesystem::path& dir) {
        const std::lock_guard<std::mutex> lock(mutex_);
        dirs_.push_back(dir);
    }
    ~TempDirs() {
        if (std::getenv("DLW_KEEP_TEST_DIRS") != nullptr) {
            return;
        }
        for (const auto& dir : dirs_) {
            std::error_code ignored;  // a folder a test already removed is fine
            std::filesystem::remove_all(dir, ignored);
        }
    }

private:
    std::mutex mutex_;
    std::vector<std::filesystem::path> dirs_;
};

TempDirs& tempDirs() {
    static TempDirs dirs;
    return dirs;
}

// Every test program starts LibTorch at one intra-op thread: ctest runs as many programs at once
// as there are cores, and the wheel's LibTorch 2.x starts at the core count (Debian's at one), so
// the pretraining test took 86 s there against 8.6 s. A test that wants more threads sets them.
class OneThread : public ::testing::Environment {
public:
    void SetUp() override { applyThreads(1); }
};
[[maybe_unused]] const ::testing::Environment* const oneThread =
    ::testing::AddGlobalTestEnvironment(new OneThread);

}  // namespace

int runAllTests() {
    const int code = RUN_ALL_TESTS();
    const auto& unit = *::testing::UnitTest::GetInstance();
    if (code == 0 && unit.successful_test_count() == 0 && unit.skipped_test_count() > 0) {
        return kAllSkipped;
    }
    return code;
}

std::filesystem::path tempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    auto dir = std::filesystem::temp_directory_path() /
               ("dlw-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    tempDirs().add(dir);
    return dir;
}

std::filesystem::path writeBytes(const std::filesystem::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
}

bool leftOutUnderSanitizers() {
#if defined(__SANITIZE_ADDRESS__)  // GCC
    constexpr bool sanitized = true;
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
    constexpr bool sanitized = true;
#else
    constexpr bool sanitized = false;
#endif
#else
    constexpr bool sanitized = false;
#endif
    const char* all = std::getenv("DLW_SANITIZE_ALL");
    return sanitized && (all == nullptr || std::string(all) != "1");
}

}  // namespace dlw::test
