#!/bin/sh
# Data parallel on this machine (#18): one experiment in 1 process with all the cores, then in
# N processes over Gloo (scripts/launch.sh) with the cores divided among them; prints each
# run's training images/s (summary.json), the share of the training time its steps spent
# summing gradients (events.jsonl: sync_seconds / train_seconds) and the largest difference of
# the two accuracy matrices. Figures only: nothing here passes or fails on a speed.
# Usage: scripts/bench-distributed.sh [N (default 2)] [OUT (default bench-distributed)]
#        [dlw run options (default: --preset default --set train.epochs=1)]
#   env DLW (default build/app/dlw)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2}
out=${2:-bench-distributed}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
case $n in '' | *[!0-9]* | 0 | 1)
    echo "bench-distributed.sh: N must be a whole number from 2, got '$n'" >&2
    exit 2
    ;;
esac
if [ $# -eq 0 ]; then
    set -- --preset default --set train.epochs=1
fi
dlw=${DLW:-$here/build/app/dlw}
cores=$(nproc)
rm -rf "$out"
mkdir -p "$out"
"$dlw" --threads "$cores" run "$@" --out "$out/one" > "$out/one.log"
DLW="$dlw" DLW_THREADS=$((cores / n > 0 ? cores / n : 1)) "$here/scripts/launch.sh" "$n" "$@" \
    --out "$out/many" > "$out/many.log"
figures() {  # RUN_DIR: images/s and the gradient-sum share of training
    python3 - "$1" << 'EOF'
import json, sys
run = sys.argv[1]
summary = json.load(open(f"{run}/summary.json"))
train = sync = 0.0
for line in open(f"{run}/events.jsonl"):
    e = json.loads(line)
    if e["type"] == "task_finished":
        train += e["train_seconds"]
        sync += e.get("sync_seconds", 0.0)
matrix = summary["accuracy_matrix"]
print(f"{summary['images_per_second']:.0f} {train:.1f} {sync:.1f} "
      f"{100 * sync / max(train, 1e-9):.1f} {json.dumps(matrix)}")
EOF
}
one=$(figures "$out/one")
many=$(figures "$out/many")
python3 - "$n" "$cores" "$one" "$many" << 'EOF'
import json, sys
n, cores = int(sys.argv[1]), int(sys.argv[2])
rows = []
for label, text in (("1 process", sys.argv[3]), (f"{n} processes (gloo)", sys.argv[4])):
    ips, train, sync, share, matrix = text.split(" ", 4)
    rows.append((label, ips, train, sync, share, json.loads(matrix)))
print(f"{'run':22} {'img/s':>8} {'train s':>8} {'sum s':>8} {'sum %':>6}   ({cores} cores)")
for label, ips, train, sync, share, _ in rows:
    print(f"{label:22} {ips:>8} {train:>8} {sync:>8} {share:>6}")
diff = max((abs(a - b) for ra, rb in zip(rows[0][5], rows[1][5]) for a, b in zip(ra, rb)
            if a is not None and b is not None), default=0.0)
print(f"largest accuracy_matrix difference: {diff:.2f} points")
EOF
