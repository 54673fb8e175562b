#include "test_support.h"

#include <atomic>
#include <cstdlib>
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

}  // namespace

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

}  // namespace dlw::test
