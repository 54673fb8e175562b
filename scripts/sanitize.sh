#!/usr/bin/env bash
# The unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (issue #14):
#   scripts/sanitize.sh [CTEST ARGS...]
# Configures build-asan/ with clang and DLW_SANITIZE=ON (no GUI, no benchmarks), builds the core
# tests and the CLI, and runs `ctest -L unit` with the run-time options of
# tests/sanitizers/options.env. Extra arguments go to ctest (e.g. -R Safetensors).
# Environment: DLW_ASAN_BUILD_DIR (build-asan), DLW_JOBS (compile jobs, 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLW_ASAN_BUILD_DIR:-$root/build-asan}
if ! command -v clang++ >/dev/null; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends clang
fi
t0=$(date +%s)
if [[ ! -f $build/build.ninja ]]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DDLW_SANITIZE=ON -DDLW_BUILD_GUI=OFF -DDLW_BUILD_BENCH=OFF
fi
ninja -C "$build" -j "${DLW_JOBS:-2}" dlw_core_tests dlw
echo "== sanitizer build: $(($(date +%s) - t0)) s"
set -a
# shellcheck source=../tests/sanitizers/options.env
. "$root/tests/sanitizers/options.env"
set +a
t0=$(date +%s)
status=0
ctest --test-dir "$build" -L unit --output-on-failure -j "$(nproc)" "$@" || status=$?
echo "== sanitizer tests: $(($(date +%s) - t0)) s"
exit $status
