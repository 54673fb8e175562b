#pragma once
// Helpers the benchmarks share.

#include "api/error.h"
#include "data/batch_loader.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include <sys/resource.h>
#include <vector>

namespace dlw::bench {

// For `catch (...)` around a benchmark's main body: reports the exception being handled in one
// line "NAME: error: ..." and returns the exit code: 2 for a dlw::Error (bad input: a device
// that is not there, a backbone file that is no ViT), as in dlw, else 1 (LibTorch refusing a
// tensor; its message without the C++ stack trace). Uncaught, they ended in std::terminate's
// abort (exit 134) or a LibTorch stack trace. Call only inside a catch block.
inline int reportException(const char* name) {
    try {
        throw;
    } catch (const Error& e) {
        fmt::print(stderr, "{}: error: {}\n", name, e.what());
        return 2;
    } catch (const c10::Error& e) {
        fmt::print(stderr, "{}: error: {}\n", name, e.what_without_backtrace());
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: error: {}\n", name, e.what());
    }
    return 1;
}

// The process's peak resident memory so far, MiB.
inline double peakResidentMiB() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

// Images/s of the batch loader alone (batch 64) over `order` of `data`: in a run it prepares
// the next batch on its own thread while the current one trains.
inline double loaderImagesPerSecond(const ImageDataset& data,
                                    std::vector<int64_t> order,
                                    const ImageTransform& transform,
                                    bool augment) {
    const auto t0 = std::chrono::steady_clock::now();
    BatchLoader loader(data, std::move(order), 64, transform, augment, /*seed=*/0);
    int64_t images = 0;
    while (auto batch = loader.next()) {
        images += batch->images.size(0);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(images) / s;
}

}  // namespace dlw::bench
