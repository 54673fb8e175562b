#!/usr/bin/env bash
# README command 2 (and CI): install what is missing, build, check formatting, run every test, in
# both configurations (Debian's LibTorch 1.13 with the window; the pinned wheel's LibTorch 2.x).
# Prints the time of each phase.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLW_BUILD_DIR:-$root/build}
start=$(date +%s)
phase() {  # phase NAME COMMAND...: runs and times one phase
    local name=$1 t0
    shift
    t0=$(date +%s)
    echo "== $name"
    "$@"
    echo "== $name: $(($(date +%s) - t0)) s"
}
format_check() {
    cd "$root"
    git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run -Werror
}
phase setup "$root/scripts/setup.sh"
# #15: the pinned PyTorch wheel, timm and safetensors in .venv-torch2/ (pip; the first time
# downloads several GiB): the second configuration's LibTorch, and the timm reference fixtures
# of both builds. When they are missing, the download runs beside the first build, which then
# leaves the fixtures to a step of their own.
venv=${DLW_TORCH2_VENV:-$root/.venv-torch2}
if "$venv/bin/python" -c 'import timm, safetensors, torch' 2>/dev/null; then
    phase venv "$root/scripts/build-torch2.sh" --env-only
    phase build "$root/scripts/build.sh"
else
    venvLog=$(mktemp)
    venvStart=$(date +%s)
    "$root/scripts/build-torch2.sh" --env-only >"$venvLog" 2>&1 &
    venvPid=$!
    trap 'kill "$venvPid" 2>/dev/null || true' EXIT
    phase build "$root/scripts/build.sh" -DDLW_PYTHON=
    venvWait() {
        local rc=0
        wait "$venvPid" || rc=$?
        cat "$venvLog"
        rm -f "$venvLog"
        echo "(the environment was made beside the build in $(($(date +%s) - venvStart)) s)"
        return $rc
    }
    phase venv venvWait
    phase timm-fixtures "$root/scripts/build.sh"
fi
phase format format_check
phase test ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
# The same sources against the wheel's LibTorch 2.x (C++20, CUDA paths compiled, run on the CPU);
# the benchmarks are built against it on the GPU machine (scripts/gpu-check.sh), not here.
phase build-torch2 "$root/scripts/build-torch2.sh" -DDLW_BUILD_BENCH=OFF
phase test-torch2 ctest --test-dir "${DLW_TORCH2_BUILD_DIR:-$root/build-torch2}" \
    --output-on-failure -j "$(nproc)"
# #14: the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang, build-asan/),
# then every fuzz target for 10 s over its corpus and stored findings (clang, the same build-asan/).
phase sanitize "$root/scripts/sanitize.sh"
phase fuzz "$root/scripts/fuzz.sh" 10
echo "== total: $(($(date +%s) - start)) s"
