#include "test_support.h"

#include <atomic>
#include <unistd.h>

namespace dlw::test {

std::filesystem::path tempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    auto dir = std::filesystem::temp_directory_path() /
               ("dlw-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace dlw::test
