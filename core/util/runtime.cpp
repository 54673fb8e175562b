#include "api/runtime.h"

#include "api/error.h"
#include "torch_compat.h"

#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <thread>
#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/utsname.h>
#endif

namespace dlw {
namespace {

// LibTorch's CPU tensors come from malloc. By default glibc returns blocks above its (dynamic)
// mmap threshold and the free top of the heap to the kernel at every free, so each training
// step page-faults its activations in again: 221,615 page faults in 32 steps of the bundled
// backbone, 43,264 with these settings, and 13-30 % more images/s (perf stat, bench/README.md).
// Freed memory now stays in the process for the next step; peak use is unchanged.
void keepFreedMemory() {
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum; larger blocks are still mapped
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    });
#endif
}

// Whether this LibTorch was built with CUDA. torch::cuda::device_count() is 0 both for a CPU-only
// build (Debian's) and for a CUDA build on a machine without a GPU; only the second can be helped
// by another machine. hasCUDART() is true exactly when the CUDA runtime was compiled in (the
// CUDA hooks of libtorch_cuda are loaded), in LibTorch 1.13 and 2.x alike.
bool builtWithCuda() {
    return at::globalContext().hasCUDART();
}

}  // namespace

int applyThreads(int requested) {
    if (requested < 0) {
        throw Error(fmt::format("threads = {}: must be 0 (auto) or a positive count", requested));
    }
    int threads = requested;
    if (threads == 0) {
        threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    }
    torch::set_num_threads(threads);
    keepFreedMemory();
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
        if (!builtWithCuda()) {
            throw Error(fmt::format(
                "device '{}': this LibTorch ({}) was built without CUDA; build against a CUDA "
                "PyTorch's LibTorch (scripts/build-torch2.sh, scripts/build-gpu.sh)",
                requested, TORCH_VERSION));
        }
        if (index < 0 || index >= count) {
            throw Error(
                fmt::format("device '{}': this machine has {} CUDA device(s)", requested, count));
        }
        return fmt::format("cuda:{}", index);
    }
    throw Error(fmt::format("device '{}': expected \"auto\", \"cpu\" or \"cuda:N\"", requested));
}

namespace {

// "available, N device(s)" or "not available (why)". Never throws.
std::string cudaStatus() {
    std::string cuda;
    try {
        const int devices = builtWithCuda() && torch::cuda::is_available()
                                ? static_cast<int>(torch::cuda::device_count())
                                : 0;
        cuda = !builtWithCuda() ? "not available (this LibTorch was built without CUDA)"
               : devices == 0   ? "not available (no CUDA device or driver found)"
                                : fmt::format("available, {} device(s)", devices);
    } catch (const std::exception& e) {  // a broken driver: say so, --version must not fail
        cuda = fmt::format("not available ({})", e.what());
    }
    return cuda;
}

}  // namespace

std::string versionDetails() {
    return fmt::format("LibTorch {}\nCUDA: {}", TORCH_VERSION, cudaStatus());
}

std::vector<std::pair<std::string, std::string>> environmentFacts() {
    std::string cpu = "unknown";
    if (std::ifstream info("/proc/cpuinfo"); info) {
        for (std::string line; std::getline(info, line);) {
            if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
                cpu = line.substr(line.find(':') + 1);
                cpu.erase(0, cpu.find_first_not_of(' '));
                break;
            }
        }
    }
    std::string os = "unknown";
    if (utsname name{}; uname(&name) == 0) {
        os = fmt::format("{} {} {}", name.sysname, name.release, name.machine);
    }
    return {{"program", std::string("dlw ") + DLW_VERSION},
            {"libtorch", TORCH_VERSION},
            {"cuda", cudaStatus()},
            {"cpu", cpu},
            {"hardware_threads", std::to_string(std::thread::hardware_concurrency())},
            {"os", os}};
}

std::string runtimeDescription() {
    return fmt::format(
        "LibTorch {}, {} CPU thread(s), {}", TORCH_VERSION, torch::get_num_threads(),
        builtWithCuda() ? fmt::format("{} CUDA device(s)",
                                      torch::cuda::is_available() ? torch::cuda::device_count() : 0)
                        : std::string("built without CUDA"));
}

}  // namespace dlw
