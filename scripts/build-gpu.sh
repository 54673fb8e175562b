#!/bin/sh
# Builds the headless engine (dlw, the benchmarks and the core tests) against the LibTorch inside
# python3's PyTorch: on the GPU machine, a CUDA wheel. GUI and OpenCV are switched off;
# nlohmann-json, CLI11, fmt and GoogleTest's sources come from the folder scripts/carry-deps.sh
# made here (that machine has no Debian packages and no network). Nothing else is needed there
# but CMake and a compiler: no CUDA toolkit, as the CUDA runtime wheel that pip installs with a
# CUDA PyTorch stands in for it (cmake/TorchCudaRuntime.cmake; without either, configuring stops
# saying what to install).
# Usage: scripts/build-gpu.sh [BUILD_DIR (default build-gpu)]
#   env PYTHON (default python3), DLW_HEADER_DEPS (default build-gpu-deps),
#   TORCH_PREFIX (a LibTorch CMake prefix; default: python's torch.utils.cmake_prefix_path)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 1 "$@"
out=${1:-$here/build-gpu}
py=${PYTHON:-python3}
deps=${DLW_HEADER_DEPS:-$here/build-gpu-deps}
if [ ! -f "$deps/nlohmann/json.hpp" ]; then
    echo "build-gpu: $deps has no nlohmann/json.hpp; run scripts/carry-deps.sh on a Debian" \
        "machine and carry build-gpu-deps" >&2
    exit 2
fi
if [ -z "${TORCH_PREFIX:-}" ]; then
    prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)') || {
        echo "build-gpu: $py cannot import torch; set PYTHON to the python of a PyTorch, or" \
            "TORCH_PREFIX to a LibTorch CMake prefix" >&2
        exit 2
    }
else
    prefix=$TORCH_PREFIX
fi
# PyTorch 2.12 and later require C++20 of code that includes their headers.
std=$("$py" -c 'import torch; v = torch.__version__.split("+")[0].split(".")
print(20 if (int(v[0]), int(v[1])) >= (2, 12) else 17)' 2>/dev/null || echo 17)
generator=
command -v ninja >/dev/null && generator="-G Ninja"
# The core tests when GoogleTest's sources were carried (OpenCV's image tests are left out).
tests=OFF targets="dlw dlw_bench_step dlw_bench_backbone"
if [ -f "$deps/googletest/CMakeLists.txt" ]; then
    tests=ON targets="$targets dlw_core_tests"
fi
# Only for a CUDA LibTorch configured through a toolkit (no NVIDIA runtime wheel beside it): its
# CMake config probes the GPUs with a CUDA program in C++20 when no list is given, which CMake
# before 3.26 cannot compile; we build no kernels (the list only fills its flags).
# (A cache variable, so that CMake's own re-runs see it too.)
arch=${TORCH_CUDA_ARCH_LIST:-8.0;9.0}
start=$(date +%s)
# shellcheck disable=SC2086
cmake -S "$here" -B "$out" $generator -DCMAKE_BUILD_TYPE=Release -DDLW_BUILD_GUI=OFF \
    -DDLW_WITH_OPENCV=OFF -DDLW_BUILD_TESTS=$tests -DDLW_HEADER_DEPS="$deps" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_STANDARD="$std" -DTORCH_CUDA_ARCH_LIST="$arch" \
    >"$out.configure.log" 2>&1 || {
    cat "$out.configure.log" >&2
    exit 1
}
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086
cmake --build "$out" --parallel "$jobs" --target $targets
echo "build-gpu: built $out/app/dlw and $out/bench/ (C++$std, LibTorch from $prefix)" \
    "in $(($(date +%s) - start)) s"
