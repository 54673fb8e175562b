#!/usr/bin/env bash
# The clang build that scripts/sanitize.sh and scripts/fuzz.sh share (issue #14):
#   scripts/clang-build.sh BUILD_DIR TARGET...
# Installs clang and libFuzzer when missing (Debian's clang, libclang-rt-14-dev), configures
# BUILD_DIR once (RelWithDebInfo, AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer's
# coverage hooks, tests on, no GUI, no benchmarks) and builds TARGETs. One configuration serves
# both scripts, so CI compiles the library with clang once, not twice.
# Environment: DLW_JOBS (compile jobs, 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -lt 2 ]]; then
    echo "usage: scripts/clang-build.sh BUILD_DIR TARGET..." >&2
    exit 2
fi
build=$1
shift

# clang with libFuzzer: probe a one-line target, install only what is missing.
haveLibFuzzer() {
    local dir ok=0
    dir=$(mktemp -d)
    echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
        >"$dir/t.cpp"
    clang++ -fsanitize=fuzzer,address,undefined "$dir/t.cpp" -o "$dir/t" >/dev/null 2>&1 || ok=$?
    rm -rf "$dir"
    return $ok
}
if ! command -v clang++ >/dev/null || ! command -v ninja >/dev/null || ! haveLibFuzzer; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev ninja-build
    haveLibFuzzer || { echo "clang-build.sh: clang++ -fsanitize=fuzzer still fails" >&2; exit 1; }
fi

if [[ ! -f $build/build.ninja ]]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DDLW_BUILD_FUZZERS=ON -DDLW_BUILD_GUI=OFF -DDLW_BUILD_BENCH=OFF
fi
ninja -C "$build" -j "${DLW_JOBS:-2}" "$@"
