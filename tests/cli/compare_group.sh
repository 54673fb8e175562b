#!/bin/sh
# #15: a run's precision is visible, and `dlw compare --group` keeps precisions apart. Runs that
# differ only by seed, threads or device are one experiment (one row, mean ± SD over them);
# runs that differ by precision (or any other key that changes results) are separate rows, each
# naming the key it differs in. The console header names the precision, and tf32 on the CPU,
# where it does nothing, says so in one warning line.
# Usage: compare_group.sh DLW EXPERIMENT.json BACKBONE WORKDIR
set -eu
dlw=$1 experiment=$2 backbone=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work"
failures=0
fail() {
    echo "FAIL $1"
    failures=$((failures + 1))
}
run() {  # OUT THREADS [--set KEY=VALUE]...
    out=$1 threads=$2
    shift 2
    "$dlw" --threads "$threads" run "$experiment" --set "backbone.path=\"$backbone\"" \
        --set sequence.tasks=1 --set 'device="cpu"' --out "$out" "$@" > "$out.log" 2> "$out.err"
}
run fp32-s0 1
run fp32-s1 2 --set seed=1 # another seed and thread count: the same experiment
run tf32 1 --set 'precision="tf32"'
run bf16 1 --set 'precision="bf16"'
run lr 1 --set train.lr=0.001  # a key no method variant names

grep -q "on cpu, fp32 (1 thread(s))" fp32-s0.log || fail "header without precision: $(head -1 fp32-s0.log)"
grep -q "on cpu, bf16" bf16.log || fail "bf16 header: $(head -1 bf16.log)"
if [ "$(grep -c 'warning: precision "tf32" acts on CUDA matmuls only' tf32.err)" -ne 1 ]; then
    fail "tf32 on the CPU without one warning line: $(cat tf32.err)"
fi
if [ -s fp32-s0.err ]; then fail "a warning for fp32: $(cat fp32-s0.err)"; fi

"$dlw" compare --group fp32-s0 fp32-s1 tf32 bf16 lr > group.txt
"$dlw" compare --csv --group fp32-s0 fp32-s1 tf32 bf16 lr > group.csv
cat group.txt
[ "$(wc -l < group.csv)" -eq 5 ] || fail "expected a header and 4 rows"
# Each row names the keys it differs in from the rows of the same name and method.
grep -q "^smoke,duallora precision=fp32 train.lr=0.0005,2," group.csv ||
    fail "fp32 seeds 0 and 1 (1 and 2 threads) are not one row of 2 runs"
grep -q "^smoke,duallora precision=tf32 train.lr=0.0005,1," group.csv || fail "no tf32 row"
grep -q "^smoke,duallora precision=bf16 train.lr=0.0005,1," group.csv || fail "no bf16 row"
grep -q "^smoke,duallora precision=fp32 train.lr=0.001,1," group.csv || fail "no lr 0.001 row"
"$dlw" compare --csv --group fp32-s0 fp32-s1 > same.csv
grep -q "^smoke,duallora,2," same.csv || fail "one experiment's row names keys: $(cat same.csv)"

# Columns line up whatever the widths of the names and cells: every line of the grouped table
# (its last column right-aligned) is equally wide, and so is every line of the per-run table up
# to its last column, the run folder.
run long 1 --set 'name="an-experiment-name-longer-than-sixteen"' --set method.name=seq-lora
"$dlw" compare --group fp32-s0 fp32-s1 long > long.txt
cat long.txt
widths() { sed 's/±/+/g' "$1" | awk '{ sub(/ +[^ ]+$/, "", $0) } { print length($0) }' | sort -u | wc -l; }
[ "$(sed 's/±/+/g' long.txt | awk '{ print length($0) }' | sort -u | wc -l)" -eq 1 ] ||
    fail "the grouped table's lines differ in width"
"$dlw" compare fp32-s0 long > runs.txt
cat runs.txt
[ "$(widths runs.txt)" -eq 1 ] || fail "the per-run table's columns do not line up"

[ $failures -eq 0 ] && echo "ALL PASS" || echo "$failures FAILURE(S)"
