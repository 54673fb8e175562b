#include "api/runtime.h"

#include "api/error.h"
#include "torch_compat.h"

#include <fmt/format.h>
#include <thread>

namespace dlw {

int applyThreads(int requested) {
    if (requested < 0) {
        throw Error(fmt::format("threads = {}: must be 0 (auto) or a positive count", requested));
    }
    int threads = requested;
    if (threads == 0) {
        threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    }
    torch::set_num_threads(threads);
    return threads;
}

std::string resolveDevice(const std::string& requested) {
    if (requested == "cpu") {
        return "cpu";
    }
    if (requested == "auto") {
        return torch::cuda::is_available() ? "cuda:0" : "cpu";
    }
    if (requested.rfind("cuda", 0) == 0) {
        const std::string indexText = requested == "cuda" ? "0" : requested.substr(5);
        if (requested != "cuda" && (requested.size() < 6 || requested[4] != ':')) {
            throw Error(
                fmt::format("device '{}': expected \"auto\", \"cpu\" or \"cuda:N\"", requested));
        }
        const int count = static_cast<int>(torch::cuda::device_count());
        int index = -1;
        try {
            index = std::stoi(indexText);
        } catch (const std::exception&) {
            throw Error(fmt::format("device '{}': expected \"cuda:N\" with N a number", requested));
        }
        if (index < 0 || index >= count) {
            throw Error(
                fmt::format("device '{}': this machine has {} CUDA device(s)", requested, count));
        }
        return fmt::format("cuda:{}", index);
    }
    throw Error(fmt::format("device '{}': expected \"auto\", \"cpu\" or \"cuda:N\"", requested));
}

std::string runtimeDescription() {
    return fmt::format("LibTorch {}, {} CPU thread(s), {} CUDA device(s)", TORCH_VERSION,
                       torch::get_num_threads(),
                       torch::cuda::is_available() ? torch::cuda::device_count() : 0);
}

}  // namespace dlw
