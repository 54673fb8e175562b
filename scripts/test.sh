#!/usr/bin/env bash
# README command 2 (and CI): install what is missing, build, check formatting, run every test.
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
phase build "$root/scripts/build.sh"
phase format format_check
phase test ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
# #14: the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang, build-asan/),
# then every fuzz target for 10 s over its corpus and stored findings (clang, build-fuzz/).
phase sanitize "$root/scripts/sanitize.sh"
phase fuzz "$root/scripts/fuzz.sh" 10
echo "== total: $(($(date +%s) - start)) s"
