#!/usr/bin/env bash
# Configures and builds DualLoRA Workbench (Release, Ninja) into build/ (or $DLW_BUILD_DIR).
# Extra arguments go to CMake's configure step, e.g. -DDLW_BUILD_GUI=OFF.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLW_BUILD_DIR:-$root/build}
jobs=${DLW_JOBS:-$(nproc)}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j "$jobs"
