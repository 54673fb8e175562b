#!/bin/sh
# A run killed with SIGKILL in the middle of its second task, then resumed with
# `dlw run --resume`, ends with the same accuracy_matrix as the same run left alone.
# Usage: sigkill_resume.sh DLW EXPERIMENT.json BACKBONE WORKDIR
set -eu
dlw=$1 experiment=$2 backbone=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
set -- --set "backbone.path=\"$backbone\"" --set data.train_per_class=150 \
    --set train.epochs=3 --set checkpoint.every_steps=2

"$dlw" run "$experiment" "$@" --out "$work/whole" > "$work/whole.log"

"$dlw" run "$experiment" "$@" --out "$work/killed" > "$work/killed.log" &
pid=$!
tries=0
until ls "$work"/killed/checkpoints/task-002-step-*.json > /dev/null 2>&1; do
    tries=$((tries + 1))
    if [ $tries -gt 3000 ] || ! kill -0 $pid 2> /dev/null; then
        echo "FAIL: the run ended or stalled before an in-task checkpoint of task 2"
        exit 1
    fi
    sleep 0.02
done
kill -9 $pid
wait $pid || true
echo "killed at $(cat "$work/killed/checkpoints/latest.json" | tr -d '\n ')"
test ! -f "$work/killed/summary.json" || ! grep -q '"completed": true' "$work/killed/summary.json"

"$dlw" run --resume "$work/killed" > "$work/resumed.log"

matrix() { awk '/"accuracy_matrix"/ { on = 1 } /"average_incremental_accuracy"/ { on = 0 } on' "$1"; }
matrix "$work/whole/summary.json" > "$work/whole.matrix"
matrix "$work/killed/summary.json" > "$work/resumed.matrix"
test -s "$work/whole.matrix"
if cmp -s "$work/whole.matrix" "$work/resumed.matrix"; then
    echo "PASS: same accuracy_matrix after SIGKILL and resume"
    cat "$work/resumed.matrix"
else
    echo "FAIL: accuracy_matrix differs"
    diff "$work/whole.matrix" "$work/resumed.matrix" || true
    exit 1
fi
