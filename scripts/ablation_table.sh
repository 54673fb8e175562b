#!/bin/sh
# The table of issue 4: every method and ablation of DESIGN §3.3, and the baselines of #16, on
# the `default` preset, seeds 0-2 and both class orders, then `dlw compare --group` (mean ± SD
# over seeds).
# Usage: scripts/ablation_table.sh [OUT (default ablation-runs)] [THREADS (default 0 = auto)]
# 72 runs of about half a minute each on a 2-core machine (54 of them took 25.6 minutes at
# THREADS 2 before sd-lora and ranpac were added).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 2 "$@"
dlw=${DLW:-$here/build/app/dlw}
out=${1:-ablation-runs}
threads=${2:-0}
dlw_count "$0" THREADS "$threads" 0
mkdir -p "$out/experiments"

variant() {  # NAME JSON-FRAGMENT
    for order in identity shuffle; do
        for seed in 0 1 2; do
            printf '{"name": "default-%s", "seed": %s, "sequence": {"class_order": "%s"}%s}\n' \
                "$order" "$seed" "$order" "$2" > "$out/experiments/$order-$seed-$1.json"
        done
    done
}
variant duallora ''
variant duallora-no-task-id ', "task_id": {"mode": "none"}'
variant duallora-soft-gate ', "method": {"gate": "soft"}'
variant duallora-no-orthogonal ', "method": {"orthogonal": false}'
variant inflora ', "method": {"name": "inflora"}'
variant inflora-task-id ', "method": {"name": "inflora"}, "task_id": {"mode": "lda"}'
variant seq-lora ', "method": {"name": "seq-lora"}'
variant seq-lora-task-id ', "method": {"name": "seq-lora"}, "task_id": {"mode": "lda"}'
variant joint ', "method": {"name": "joint"}'
variant sd-lora ', "method": {"name": "sd-lora"}'
variant ranpac ', "method": {"name": "ranpac"}'
variant ranpac-no-adapt ', "method": {"name": "ranpac", "ranpac_adapt_first": false}'

# Files whose run already finished are skipped, so an interrupted table can be continued.
todo=""
for f in "$out"/experiments/*.json; do
    stem=$(basename "$f" .json)
    if ! grep -qs '"completed": true' "$out/runs/$stem/summary.json"; then
        rm -rf "$out/runs/$stem"
        todo="$todo $f"
    fi
done
for f in $todo; do
    stem=$(basename "$f" .json)
    echo "== $stem"
    "$dlw" --threads "$threads" run "$f" --out "$out/runs/$stem" | tail -4
done
"$dlw" compare --group "$out"/runs/* | tee "$out/table.txt"
"$dlw" compare --group --csv "$out"/runs/* > "$out/table.csv"
"$dlw" compare --csv "$out"/runs/* > "$out/runs.csv"
