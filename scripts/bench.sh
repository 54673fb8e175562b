#!/bin/sh
# C++ engine vs the PyTorch-eager reference, one training step, interleaved repeats on this
# machine (issue 6). Prints a table of images/s and the median C++/Python ratio with its range,
# and writes every measurement to OUT (JSON lines).
# Usage: scripts/bench.sh [REPEATS (default 5)] [OUT (default bench-results.jsonl)]
#        CONFIGS="duallora:bundled:64 seq-lora:vitb16:8" THREADS=2 scripts/bench.sh
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
repeats=${1:-5}
out=${2:-bench-results.jsonl}
threads=${THREADS:-0}
configs=${CONFIGS:-"duallora:bundled:64 seq-lora:bundled:64 duallora:vitb16:8 seq-lora:vitb16:8"}
: > "$out"
for r in $(seq "$repeats"); do
    for c in $configs; do
        method=${c%%:*} rest=${c#*:}
        backbone=${rest%%:*} batch=${rest#*:}
        steps=20
        [ "$backbone" = vitb16 ] && steps=3
        set -- --method "$method" --backbone "$backbone" --batch "$batch" --steps "$steps" \
            --threads "$threads"
        "$here/build/bench/dlw_bench_step" "$@" >> "$out"
        /usr/bin/python3 "$here/bench/reference/train_step.py" "$@" >> "$out"
    done
    echo "repeat $r/$repeats done" >&2
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = sorted({(r["method"], r["backbone"], r["batch"]) for r in rows})
print(f"{'method':<10} {'backbone':<8} {'batch':>5} {'C++ img/s':>10} {'Python img/s':>12} "
      f"{'C++/Python median':>18} {'range':>13}")
for k in keys:
    cpp = [r["images_per_second"] for r in rows if (r["method"], r["backbone"], r["batch"]) == k
           and r["implementation"] == "cpp"]
    py = [r["images_per_second"] for r in rows if (r["method"], r["backbone"], r["batch"]) == k
          and r["implementation"] == "python-eager"]
    ratios = [a / b for a, b in zip(cpp, py)]  # each repeat's pair ran back to back
    print(f"{k[0]:<10} {k[1]:<8} {k[2]:>5} {statistics.median(cpp):>10.1f} "
          f"{statistics.median(py):>12.1f} {statistics.median(ratios):>18.2f} "
          f"{min(ratios):>6.2f}-{max(ratios):.2f}")
PY
