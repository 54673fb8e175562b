#!/usr/bin/env bash
# Fuzzes every parser of outside data (issue #14): scripts/fuzz.sh SECONDS [TARGET...]
#   Builds the fuzz/ targets in the clang build that scripts/sanitize.sh shares (build-asan/,
#   scripts/clang-build.sh: RelWithDebInfo, ASan + UBSan + libFuzzer; installs clang if missing),
#   makes the seed corpora (fuzz/make_seeds.py, with one smoke run of dlw), runs each target for
#   SECONDS, two at a time, and prints per target: executions, exec/s, findings, corpus size.
#   Exits non-zero when any target found something; the inputs are in build-asan/findings/NAME/.
# Targets: safetensors idx cifar experiment checkpoint run_events image image_folder (default all).
# Environment: DLW_FUZZ_BUILD_DIR (build-asan), DLW_FUZZ_JOBS (targets at once, 2),
#   DLW_FUZZ_MAX_RUNS (stop a target after this many executions; -1 = only the time limit),
#   DLW_JOBS (compile jobs, 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
all=(safetensors idx cifar experiment checkpoint run_events image image_folder)
targets=("$@")
[[ $# -gt 0 ]] || targets=("${all[@]}")
build=${DLW_FUZZ_BUILD_DIR:-$root/build-asan}
jobs=${DLW_FUZZ_JOBS:-2}
maxRuns=${DLW_FUZZ_MAX_RUNS:--1}
start=$(date +%s)

echo "== build ($build)"
t0=$(date +%s)
"$root/scripts/clang-build.sh" "$build" dlw "${targets[@]/#/fuzz_}"
echo "== build: $(($(date +%s) - t0)) s"

set -a
# shellcheck source=../tests/sanitizers/options.env
. "$root/tests/sanitizers/options.env"
set +a
export OPENCV_LOG_LEVEL=ERROR

echo "== seeds"
run=$build/seed-run
if [[ ! -f $run/summary.json ]]; then
    rm -rf "$run"
    ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 "$build/app/dlw" --threads 1 run \
        "$root/tests/fixtures/experiments/smoke.json" \
        --set "backbone.path=\"$root/tests/fixtures/vit_reference/tiny_gray.safetensors\"" \
        --out "$run" >"$build/seed-run.log" 2>&1 ||
        echo "fuzz.sh: the smoke run failed (see $build/seed-run.log); run seeds left out"
fi
rm -rf "$build/seeds"
/usr/bin/python3 "$root/fuzz/make_seeds.py" "$root" "$build/seeds" "$run"

fuzzOne() {  # fuzzOne NAME: one target for $seconds; its log in $build/logs/NAME.log
    local name=$1 findings=$build/findings/$1 corpus=$build/corpus/$1 dict=()
    mkdir -p "$findings" "$corpus" "$build/logs" "$root/tests/fixtures/fuzz/$name"
    if compgen -G "$findings/*-*" >/dev/null; then  # earlier findings: kept, out of the count
        mkdir -p "$findings/earlier" && mv "$findings"/*-* "$findings/earlier/"
    fi
    [[ -f $root/fuzz/dictionaries/$name.dict ]] && dict=(-dict="$root/fuzz/dictionaries/$name.dict")
    "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -runs="$maxRuns" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$findings/" "$corpus" "$build/seeds/$name" \
        "$root/tests/fixtures/fuzz/$name" >"$build/logs/$name.log" 2>&1 || true
}
export -f fuzzOne
export build seconds maxRuns root

echo "== fuzz: ${#targets[@]} targets × $seconds s, $jobs at a time"
t0=$(date +%s)
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzzOne {}'
echo "== fuzz: $(($(date +%s) - t0)) s"

total=0
printf '%-13s %12s %8s %9s %s\n' target executions exec/s findings corpus
for name in "${targets[@]}"; do
    log=$build/logs/$name.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    found=$(find "$build/findings/$name" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [[ -z $execs ]]; then  # no final stats: the run died before them (a finding itself)
        found=$((found > 0 ? found : 1))
    fi
    files=$(find "$build/corpus/$name" -type f | wc -l)
    bytes=$(du -sk "$build/corpus/$name" | cut -f1)
    printf '%-13s %12s %8s %9s %s\n' "$name" "${execs:-?}" "${rate:-?}" "$found" \
        "$files files, $bytes KiB"
    total=$((total + found))
done
echo "fuzz.sh: ${#targets[@]} targets, $seconds s each, $total findings, $(($(date +%s) - start)) s in all (logs: $build/logs)"
[[ $total -eq 0 ]]
