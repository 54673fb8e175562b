#!/bin/sh
# #15: the scripts that take a folder or a count never take an option for one (gpu-check.sh
# --help made a folder named --help and started a 20-minute build): --help prints the usage and
# exits 0, an unknown option or a surplus argument exits 2 naming it, and gpu-check.sh with a
# python that has no torch stops before building with its own exit code (4), not the "no GPU"
# exit 3 that gpu-rehearsal.sh takes as success. Nothing here builds or writes into the repo.
# Usage: script_args.sh SCRIPTS_DIR WORKDIR
set -u
scripts=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0

# expect NAME CODE PATTERN COMMAND...: exit code CODE and PATTERN in stdout + stderr.
expect() {
    name=$1 code=$2 pattern=$3
    shift 3
    "$@" > out.txt 2>&1
    rc=$?
    if [ $rc -eq "$code" ] && grep -Eq -- "$pattern" out.txt; then
        echo "PASS $name"
    else
        echo "FAIL $name: exit $rc (expected $code):"
        cat out.txt
        failures=$((failures + 1))
    fi
}

for s in gpu-check gpu-rehearsal build-gpu carry-deps bench ablation_table screenshots soak; do
    expect "$s --help" 0 "^Usage: scripts/$s.sh" "$scripts/$s.sh" --help
    expect "$s unknown option" 2 "$s.sh: unknown option '--nope'" "$scripts/$s.sh" --nope
done
expect "gpu-check two folders" 2 "at most 1 argument" "$scripts/gpu-check.sh" a b
PYTHON=/bin/false expect "gpu-check without torch" 4 "/bin/false cannot import torch" \
    "$scripts/gpu-check.sh" out
test ! -e out || { echo "FAIL: gpu-check made its folder before its checks"; failures=1; }
test ! -e ./--help || { echo "FAIL: a folder named --help"; failures=$((failures + 1)); }

[ $failures -eq 0 ] && echo "ALL PASS" || echo "$failures FAILURE(S)"
