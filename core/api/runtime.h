#pragma once
// Process-wide runtime settings: compute threads and device. Public, no LibTorch.

#include <string>
#include <utility>
#include <vector>

namespace dlw {

// Sets LibTorch's intra-op thread count once; 0 = auto (the machine's hardware threads). Also
// keeps freed memory in the process (glibc malloc settings) so training steps do not page-fault.
// Returns the resolved count, which callers record (experiment.json, summaries). Call from the
// main thread before any training starts.
int applyThreads(int requested);

// Resolves "auto", "cpu" or "cuda:N" to a concrete device string ("cpu" or "cuda:N").
// "auto" picks cuda:0 when CUDA is available. Throws dlw::Error for an unknown string or a CUDA
// device that does not exist.
std::string resolveDevice(const std::string& requested);

// A line for logs and the status bar: LibTorch version, threads, BLAS, CUDA devices.
std::string runtimeDescription();

// What `--version` prints after the program's own version line, one fact a line: the LibTorch
// version the program was built against, and whether CUDA is available, with each device's
// name ("CUDA: available, 1 device: cuda:0 NVIDIA H200"), or why not (a LibTorch without
// CUDA, or no device or driver). Never throws.
std::string versionDetails();

// What this process runs on, as (name, value) pairs in a fixed order: "program" (dlw and its
// version), "libtorch", "cuda" (as versionDetails says it), "cpu" (the model name from
// /proc/cpuinfo, "unknown" elsewhere), "hardware_threads", "os" (uname: system, release,
// machine). Recorded in each run folder (environment.json) and shown by reports. Never throws.
std::vector<std::pair<std::string, std::string>> environmentFacts();

}  // namespace dlw
