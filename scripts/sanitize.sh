#!/usr/bin/env bash
# The unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (issue #14):
#   scripts/sanitize.sh [CTEST ARGS...]
# Builds the core tests and the CLI in the clang build that scripts/fuzz.sh shares (build-asan/,
# scripts/clang-build.sh: ASan + UBSan, with libFuzzer's coverage hooks) and runs `ctest -L unit`
# with the run-time options of tests/sanitizers/options.env. Extra arguments go to ctest
# (e.g. -R Safetensors).
# Environment: DLW_ASAN_BUILD_DIR (build-asan), DLW_JOBS (compile jobs, 2), DLW_SANITIZE_ALL
# (1: also the tests that train several models, left out by default).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLW_ASAN_BUILD_DIR:-$root/build-asan}
t0=$(date +%s)
"$root/scripts/clang-build.sh" "$build" dlw_core_tests dlw
echo "== sanitizer build: $(($(date +%s) - t0)) s"
set -a
# shellcheck source=../tests/sanitizers/options.env
. "$root/tests/sanitizers/options.env"
set +a
t0=$(date +%s)
status=0
# The tests that train several models to compare them skip themselves here unless
# DLW_SANITIZE_ALL=1 (tests/test_support.h): 134 s of the 809 s that the unit tests took one
# after another under ASan (2026-11-30).
ctest --test-dir "$build" -L unit --output-on-failure -j "$(nproc)" "$@" || status=$?
echo "== sanitizer tests: $(($(date +%s) - t0)) s"
exit $status
