#!/usr/bin/env bash
# Crash safety of a run (#14): SIGKILL a small `dlw run` at random moments (before its first
# checkpoint, in the middle of tasks, while checkpoints and summary.json are written: with a
# checkpoint after every step, writes are always under way), check after every kill that each
# file of the run folder parses (scripts/check_run_folder.py), resume, and at the end compare the
# accuracy_matrix with an uninterrupted run's. Then, where this user may mount a tmpfs (root),
# the same run on a full disk and on a folder turned read-only: a clear error, every file still
# parses, and after making room the run resumes to the same matrix.
# Usage: scripts/soak.sh [KILLS (default 20)] [WORKDIR]   (DLW=path/to/dlw to choose the binary)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 2 "$@"
kills=${1:-20}
dlw_count "$0" KILLS "$kills" 1
work=${2:-$(mktemp -d)}
dlw=${DLW:-$here/build/app/dlw}
check=$here/scripts/check_run_folder.py
if [[ ! -x /usr/bin/python3 ]]; then  # the checker's interpreter, from Debian
    apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 >/dev/null
fi
[[ -x $dlw ]] || { echo "soak: $dlw missing: build first (scripts/build.sh)"; exit 2; }
rm -rf "$work" && mkdir -p "$work"
start=$(date +%s)
args=("$here/tests/fixtures/experiments/smoke.json"
      --set "backbone.path=\"$here/tests/fixtures/vit_reference/tiny_gray.safetensors\""
      --set data.train_per_class=300 --set train.epochs=2 --set checkpoint.every_steps=1)
matrix() { awk '/"accuracy_matrix"/ { on = 1 } /"average_incremental_accuracy"/ { on = 0 } on' "$1"; }

t0=$(date +%s.%N)
"$dlw" run "${args[@]}" --out "$work/whole" > "$work/whole.log"
whole=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
matrix "$work/whole/summary.json" > "$work/whole.matrix"
echo "uninterrupted run: ${whole} s"

run=$work/killed
survived=0 before_first=0 failures=0
# Until `kills` kills have landed: a run that finished before its kill starts again from scratch.
for ((k = 1; survived < kills && k <= 4 * kills; ++k)); do
    if [[ -f $run/experiment.json ]]; then
        "$dlw" run --resume "$run" > "$work/run-$k.log" 2>&1 &
    else  # killed before experiment.json: --out takes the folder back
        "$dlw" run "${args[@]}" --out "$run" > "$work/run-$k.log" 2>&1 &
    fi
    pid=$!
    # Every third kill early (start-up, before the first checkpoint); the others anywhere in
    # the run's length.
    if ((k % 3 == 1)); then
        delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.3 + 1.5 * r / 32768 }')
    else
        delay=$(awk -v r=$RANDOM -v t="$whole" 'BEGIN { printf "%.3f", 1.0 + 0.8 * t * r / 32768 }')
    fi
    sleep "$delay"
    if ! kill -9 $pid 2> /dev/null; then
        wait $pid || true
        echo "(the run had finished before ${delay} s; it starts again from scratch)"
        rm -rf "$run"
        continue
    fi
    wait $pid 2> /dev/null || true
    survived=$((survived + 1))
    where="before the first checkpoint"
    if [[ -f $run/checkpoints/latest.json ]]; then
        where=$(tr -d '\n ' < "$run/checkpoints/latest.json")
    else
        before_first=$((before_first + 1))
    fi
    out=""
    if [[ -d $run ]] && ! out=$(/usr/bin/python3 "$check" "$run"); then
        echo "FAIL kill $k after ${delay} s ($where):"
        echo "$out"
        failures=$((failures + 1))
    else
        echo "kill $survived after ${delay} s: $where; ${out:-no run folder yet}"
    fi
done
if [[ -f $run/experiment.json ]]; then
    "$dlw" run --resume "$run" > "$work/final.log" 2>&1
else
    "$dlw" run "${args[@]}" --out "$run" > "$work/final.log" 2>&1
fi
/usr/bin/python3 "$check" "$run" || failures=$((failures + 1))
matrix "$run/summary.json" > "$work/killed.matrix"
if ((survived < kills)); then
    echo "FAIL: only $survived of $kills kills landed (every other run finished first)"
    failures=$((failures + 1))
elif cmp -s "$work/whole.matrix" "$work/killed.matrix"; then
    echo "PASS: $survived kills ($before_first before the first checkpoint), same accuracy_matrix"
else
    echo "FAIL: accuracy_matrix differs after $survived kills"
    diff "$work/whole.matrix" "$work/killed.matrix" || true
    failures=$((failures + 1))
fi

# expect_failed NAME RC ERRFILE PATTERN: the run exited 2 with PATTERN on stderr and every file
# of its folder still parses.
expect_failed() {
    if [[ $2 -eq 2 ]] && grep -q "$4" "$3" && /usr/bin/python3 "$check" "$disk/run" > /dev/null; then
        echo "PASS $1: exit 2, $(tail -1 "$3")"
    else
        echo "FAIL $1: exit $2: $(cat "$3")"
        failures=$((failures + 1))
    fi
}
# expect_resumed NAME: `--resume` of the folder ends with the uninterrupted run's matrix.
expect_resumed() {
    "$dlw" run --resume "$disk/run" > "$work/$1-resumed.log" 2>&1
    matrix "$disk/run/summary.json" > "$work/$1.matrix"
    if cmp -s "$work/whole.matrix" "$work/$1.matrix"; then
        echo "PASS $1: resumed, same accuracy_matrix"
    else
        echo "FAIL $1: the resumed run's matrix differs"
        failures=$((failures + 1))
    fi
}

# A full disk and a read-only folder, for real: a small tmpfs (root only).
disk=$work/disk
mkdir -p "$disk"
if mount -t tmpfs -o size=48k tmpfs "$disk" 2> /dev/null; then
    # (errexit holds in traps too: every command here must not fail)
    trap 'kill ${pid:-} 2> /dev/null || true; wait 2> /dev/null || true
          umount "$disk/run/checkpoints" 2> /dev/null || true; umount "$disk" 2> /dev/null || true' EXIT
    set +e
    "$dlw" run "${args[@]}" --out "$disk/run" > "$work/full.log" 2> "$work/full.err"
    rc=$?
    set -e
    expect_failed "disk full" $rc "$work/full.err" "No space left on device"
    mount -o remount,size=64m "$disk"  # room again
    expect_resumed "disk-full"
    rm -rf "${disk:?}/run"
    # checkpoints/ turns read-only under the running process (a read-only bind mount over it:
    # remounting the whole tmpfs is refused while events.jsonl is open for writing).
    "$dlw" run "${args[@]}" --out "$disk/run" > "$work/ro.log" 2> "$work/ro.err" &
    pid=$!
    until [[ -f $disk/run/checkpoints/latest.json ]] || ! kill -0 $pid 2> /dev/null; do
        sleep 0.05
    done
    mount --bind "$disk/run/checkpoints" "$disk/run/checkpoints"
    # Refused (busy) while the run has a checkpoint file open for writing: try between writes.
    for ((try = 0; try < 200; ++try)); do
        mount -o remount,bind,ro "$disk/run/checkpoints" 2> /dev/null && break
        sleep 0.01
    done
    set +e
    wait $pid
    rc=$?
    set -e
    expect_failed "read-only" $rc "$work/ro.err" "Read-only file system"
    umount "$disk/run/checkpoints"  # writable again
    expect_resumed "read-only"
else
    echo "SKIP disk full / read-only: cannot mount a tmpfs here (needs root)"
fi
echo "soak: $(($(date +%s) - start)) s, $failures failure(s); logs in $work"
((failures == 0))
