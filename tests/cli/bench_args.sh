#!/bin/sh
# #15: dlw_bench_step and scripts/bench.sh refuse bad arguments with one clear line and a nonzero
# exit: no abort from an uncaught dlw::Error (exit 134), no segfault at --steps 0, no LibTorch
# stack trace at --batch -3, no empty table with exit 0. Nothing here measures anything.
# Usage: bench_args.sh BUILD_DIR SCRIPTS_DIR WORKDIR
set -u
build=$1 scripts=$2 work=$3
step=$build/bench/dlw_bench_step
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0

# expect NAME PATTERN COMMAND...: a nonzero exit that is no crash (CLI11 exits 105 for an option
# out of range, the benchmark 1 or 2), PATTERN in stderr, no stack trace, nothing on stdout.
expect() {
    name=$1 pattern=$2
    shift 2
    "$@" > out.txt 2> err.txt
    rc=$?
    if [ $rc -ge 1 ] && [ $rc -lt 128 ] && grep -Eq -- "$pattern" err.txt &&
        ! grep -Eq "terminate called|Exception raised from|frame #" err.txt && [ ! -s out.txt ]; then
        echo "PASS $name: exit $rc, $(head -1 err.txt)"
    else
        echo "FAIL $name: exit $rc:"
        cat err.txt out.txt
        failures=$((failures + 1))
    fi
}

expect "device gpu" "dlw_bench_step: error: device 'gpu'" "$step" --device gpu --steps 1
expect "device cuda:99" "dlw_bench_step: error: .*cuda:99" "$step" --device cuda:99 --gemm-peak
expect "steps 0" "--steps.*0" "$step" --steps 0
expect "batch 0" "--batch.*0" "$step" --batch 0
expect "batch -3" "--batch.*-3" "$step" --batch -3
expect "threads -1" "--threads.*-1" "$step" --threads -1
expect "bench.sh abc" "REPEATS must be a whole number" env PREDICT=0 "$scripts/bench.sh" abc b.jsonl
expect "bench.sh 0" "REPEATS must be a whole number of at least 1, got '0'" \
    "$scripts/bench.sh" 0 b.jsonl
expect "bench.sh cuda:99" "dlw_bench_step: error: .*cuda:99" \
    env BUILD="$build" DEVICE=cuda:99 "$scripts/bench.sh" 1 b.jsonl

[ $failures -eq 0 ] && echo "ALL PASS" || echo "$failures FAILURE(S)"
