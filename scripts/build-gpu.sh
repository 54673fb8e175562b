#!/bin/sh
# Builds the headless engine (dlw and the benchmarks) against the LibTorch inside python3's
# PyTorch: on the GPU machine, a CUDA wheel. GUI, OpenCV and tests are switched off; nlohmann-json,
# CLI11 and fmt come header-only from the folder scripts/carry-deps.sh made here (that machine has
# no Debian packages and no network). Nothing else is needed there but CMake and a compiler.
# Usage: scripts/build-gpu.sh [BUILD_DIR (default build-gpu)]
#   env PYTHON (default python3), DLW_HEADER_DEPS (default build-gpu-deps),
#   TORCH_PREFIX (a LibTorch CMake prefix; default: python's torch.utils.cmake_prefix_path)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build-gpu}
py=${PYTHON:-python3}
deps=${DLW_HEADER_DEPS:-$here/build-gpu-deps}
if [ ! -f "$deps/nlohmann/json.hpp" ]; then
    echo "build-gpu: $deps has no nlohmann/json.hpp; run scripts/carry-deps.sh on a Debian" \
        "machine and carry build-gpu-deps" >&2
    exit 2
fi
prefix=${TORCH_PREFIX:-$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')}
# PyTorch 2.12 and later require C++20 of code that includes their headers.
std=$("$py" -c 'import torch; v = torch.__version__.split("+")[0].split(".")
print(20 if (int(v[0]), int(v[1])) >= (2, 12) else 17)' 2>/dev/null || echo 17)
generator=
command -v ninja >/dev/null && generator="-G Ninja"
start=$(date +%s)
# shellcheck disable=SC2086
cmake -S "$here" -B "$out" $generator -DCMAKE_BUILD_TYPE=Release -DDLW_BUILD_GUI=OFF \
    -DDLW_WITH_OPENCV=OFF -DDLW_BUILD_TESTS=OFF -DDLW_HEADER_DEPS="$deps" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_STANDARD="$std" >"$out.configure.log" 2>&1 || {
    cat "$out.configure.log" >&2
    exit 1
}
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$out" --parallel "$jobs" --target dlw dlw_bench_step dlw_bench_backbone
echo "build-gpu: built $out/app/dlw and $out/bench/ (C++$std, LibTorch from $prefix)" \
    "in $(($(date +%s) - start)) s"
