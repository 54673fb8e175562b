#!/bin/sh
# The tables of docs/results.md (issues 4 and 16): every method and ablation of DESIGN §3.3 and
# the baselines of #16 on the `default`, `deep` and `domain-shift` presets, seeds 0-2 and both
# class orders; then `dlw compare --group` per preset (mean ± SD over seeds) and
# scripts/results_summary.py, which writes OUT/results.md: the tables and what each part of
# DualLoRA contributes, with the commands.
# Usage: scripts/ablation_table.sh [OUT (default ablation-runs)] [THREADS (default 0 = auto)]
#        [PRESETS (default "default deep domain-shift")]
# 13 variants x 6 runs per preset; a default-preset run takes one to two minutes on a 2-core
# machine at THREADS 2. Runs that finished are kept, so an interrupted table continues where it
# stopped: run the same command again.
# RECORDS=DIR keeps each finished run's record in DIR/RUN (experiment.json, summary.json,
# environment.json and events.jsonl without its steps and per-image evaluations: what
# `dlw compare` reads, a few kB) and takes the runs recorded there as done, so a table continues
# on another machine or once OUT is gone; docs/results/runs holds those of docs/results.md.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 3 "$@"
dlw=${DLW:-$here/build/app/dlw}
out=${1:-ablation-runs}
threads=${2:-0}
presets=${3:-default deep domain-shift}
dlw_count "$0" THREADS "$threads" 0
for p in $presets; do
    case $p in
    default | deep | domain-shift) ;;
    *)
        echo "ablation_table.sh: PRESETS takes default, deep and domain-shift, got '$p'" >&2
        exit 2
        ;;
    esac
done
mkdir -p "$out/experiments"

variant() {  # PRESET NAME JSON-FRAGMENT
    for order in identity shuffle; do
        for seed in 0 1 2; do
            printf '{"preset": "%s", "name": "%s-%s", "seed": %s, "sequence": {"class_order": "%s"}%s}\n' \
                "$1" "$1" "$order" "$seed" "$order" "$3" > "$out/experiments/$1-$order-$seed-$2.json"
        done
    done
}
for p in $presets; do
    variant "$p" duallora ''
    variant "$p" duallora-no-task-id ', "task_id": {"mode": "none"}'
    variant "$p" duallora-no-projection ', "task_id": {"projection": 0, "tau": 2}'
    variant "$p" duallora-soft-gate ', "method": {"gate": "soft"}'
    variant "$p" duallora-no-orthogonal ', "method": {"orthogonal": false}'
    variant "$p" inflora ', "method": {"name": "inflora"}'
    variant "$p" inflora-task-id ', "method": {"name": "inflora"}, "task_id": {"mode": "lda"}'
    variant "$p" seq-lora ', "method": {"name": "seq-lora"}'
    variant "$p" seq-lora-task-id ', "method": {"name": "seq-lora"}, "task_id": {"mode": "lda"}'
    variant "$p" joint ', "method": {"name": "joint"}'
    variant "$p" sd-lora ', "method": {"name": "sd-lora"}'
    variant "$p" ranpac ', "method": {"name": "ranpac"}'
    variant "$p" ranpac-no-adapt ', "method": {"name": "ranpac", "ranpac_adapt_first": false}'
done

records=${RECORDS:-}
finished() {  # RUN-DIR: whether the run there finished
    grep -qs '"completed": true' "$1/summary.json"
}
record() {  # STEM: OUT/runs/STEM's record into RECORDS/STEM, atomically
    [ -n "$records" ] || return 0
    mkdir -p "$records"
    tmp=$(mktemp -d "$records/.tmp-XXXXXX")
    for f in experiment.json summary.json environment.json; do
        cp "$out/runs/$1/$f" "$tmp/"
    done
    grep -v '"type":"step"\|"type":"evaluation"' "$out/runs/$1/events.jsonl" > "$tmp/events.jsonl"
    rm -rf "${records:?}/$1"
    mv "$tmp" "$records/$1"
}

# Files whose run already finished (here or in RECORDS) are skipped, so an interrupted table
# can be continued.
todo=""
for p in $presets; do
    for f in "$out"/experiments/"$p"-*.json; do
        stem=$(basename "$f" .json)
        if [ -n "$records" ] && ! finished "$out/runs/$stem" && finished "$records/$stem"; then
            rm -rf "$out/runs/$stem"
            mkdir -p "$out/runs"
            cp -r "$records/$stem" "$out/runs/$stem"
        fi
        if ! finished "$out/runs/$stem"; then
            rm -rf "$out/runs/$stem"
            todo="$todo $f"
        fi
    done
done
for f in $todo; do
    stem=$(basename "$f" .json)
    echo "== $stem"
    "$dlw" --threads "$threads" run "$f" --out "$out/runs/$stem" | tail -4
    record "$stem"
done
for p in $presets; do
    "$dlw" compare --group "$out"/runs/"$p"-* | tee "$out/table-$p.txt"
    "$dlw" compare --group --csv "$out"/runs/"$p"-* > "$out/table-$p.csv"
    "$dlw" compare --csv "$out"/runs/"$p"-* > "$out/runs-$p.csv"
done
python3 "$here/scripts/results_summary.py" "$out" $presets > "$out/results.md"
echo "wrote $out/results.md"
