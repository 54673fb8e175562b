#!/bin/sh
# The engine against its two references (issue 6), on this machine: the PyTorch-eager twin of
# one training step (bench/reference/train_step.py), interleaved repeats, median C++/Python ratio
# with its range; the machine's matrix-multiply peak and each step's share of it (FLOPs as in
# bench/README.md); prediction latency p50/p99 at batch 1 and 64 (duallora vs seq-lora).
# Every measurement goes to OUT as a JSON line; the tables go to standard output.
# Usage: scripts/bench.sh [REPEATS (default 5)] [OUT (default bench-results.jsonl)]
#   env CONFIGS="duallora:bundled:64 seq-lora:vitb16:8" (method:backbone:batch), THREADS (0 =
#   all cores), DEVICE (cpu, cuda), PRECISIONS ("fp32", or e.g. "tf32 bf16" on a GPU),
#   BUILD (default build; build-gpu on the GPU machine), PYTHON (default /usr/bin/python3),
#   PREDICT (1 = also time prediction, default 1)
# Exit codes: 0 measured, 2 bad arguments, else the failing measurement's (its message on stderr).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 2 "$@"
repeats=${1:-5}
out=${2:-bench-results.jsonl}
threads=${THREADS:-0}
device=${DEVICE:-cpu}
precisions=${PRECISIONS:-fp32}
build=${BUILD:-$here/build}
python=${PYTHON:-/usr/bin/python3}
configs=${CONFIGS:-"duallora:bundled:64 seq-lora:bundled:64 duallora:vitb16:8 seq-lora:vitb16:8"}
step="$build/bench/dlw_bench_step"
# Checked before anything runs: `seq abc` fails inside the loop's word list, where set -e does not
# see it, and the script went on to print an empty table with exit 0.
dlw_count "$0" REPEATS "$repeats" 1
dlw_count "$0" THREADS "$threads" 0
case ${PREDICT:-1} in 0 | 1) ;; *)
    echo "bench.sh: PREDICT must be 0 or 1, got '${PREDICT}'" >&2
    exit 2
    ;;
esac
for c in $configs; do
    case $c in *:*:*) ;; *)
        echo "bench.sh: CONFIGS entry '$c' is not method:backbone:batch" >&2
        exit 2
        ;;
    esac
    dlw_count "$0" "the batch of CONFIGS entry '$c'" "${c##*:}" 1
done
if [ ! -x "$step" ]; then
    echo "bench.sh: $step not found; build first (scripts/build.sh) or set BUILD" >&2
    exit 2
fi
: > "$out"
for p in $precisions; do
    "$step" --gemm-peak --threads "$threads" --device "$device" --precision "$p" >> "$out"
done
for r in $(seq "$repeats"); do
    for p in $precisions; do
        for c in $configs; do
            method=${c%%:*} rest=${c#*:}
            backbone=${rest%%:*} batch=${rest#*:}
            steps=20
            [ "$backbone" = vitb16 ] && [ "$device" = cpu ] && steps=3
            set -- --method "$method" --backbone "$backbone" --batch "$batch" --steps "$steps" \
                --threads "$threads" --device "$device" --precision "$p"
            "$step" "$@" >> "$out"
            "$python" "$here/bench/reference/train_step.py" "$@" >> "$out"
        done
    done
    echo "repeat $r/$repeats done" >&2
done
if [ "${PREDICT:-1}" = 1 ]; then
    for p in $precisions; do
        for c in $configs; do
            method=${c%%:*} rest=${c#*:}
            "$step" --method "$method" --backbone "${rest%%:*}" --steps 2 --batch 8 --predict \
                --threads "$threads" --device "$device" --precision "$p" |
                sed 's/"implementation": "cpp"/"implementation": "cpp-predict"/' >> "$out"
        done
    done
fi
"$python" "$here/bench/summarize.py" "$out"
