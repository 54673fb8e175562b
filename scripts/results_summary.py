#!/usr/bin/env python3
"""Markdown for docs/results.md from scripts/ablation_table.sh's grouped tables.

Usage: results_summary.py OUT PRESET... (reads OUT/table-PRESET.csv, `dlw compare --group --csv`)

For each preset: one table of every method and ablation (mean ± sample SD over the seeds, both
class orders side by side), then what each part of DualLoRA contributes: the difference of the
mean final accuracy A_T between two variants ± its standard error sqrt(s_a²/n_a + s_b²/n_b).
Standard library only.
"""
import csv
import math
import sys

# (label, variant a, variant b): a − b is what the part adds.
CONTRASTS = [
    ("task predictor (eq. 5-8)", "duallora", "duallora -task-id"),
    ("random projection of the task feature", "duallora", "duallora -projection"),
    ("orthogonal adapter", "duallora", "duallora -orthogonal"),
    ("adapters and subspace memory over plain LoRA, same predictor", "duallora",
     "seq-lora +task-id"),
    ("over InfLoRA's per-task branches, same predictor", "duallora", "inflora +task-id"),
    ("soft gate of the residual pieces", "duallora soft-gate", "duallora"),
    ("against joint training", "duallora", "joint"),
    ("against RanPAC", "duallora", "ranpac"),
    ("against SD-LoRA", "duallora", "sd-lora"),
]

ORDER = ["duallora", "duallora -task-id", "duallora -projection", "duallora -orthogonal",
         "duallora soft-gate", "inflora", "inflora +task-id", "seq-lora", "seq-lora +task-id",
         "sd-lora", "ranpac", "ranpac -adapt", "joint"]

COLUMNS = [("A_T", "A_T"), ("TA_A_T", "task-aware A_T"), ("task-id", "task-ID %"),
           ("BWT", "BWT"), ("ECE_cal", "ECE cal %"), ("unfam", "unfamiliar %"),
           ("seconds", "train s"), ("all_s", "all s")]


def cell(row, key):
    mean = row.get(key + "_mean", "")
    sd = row.get(key + "_sd", "")
    if mean == "":
        return "-"
    return f"{float(mean):.1f} ± {float(sd or 0):.1f}"


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, presets = sys.argv[1], sys.argv[2:]
    print("<!-- made by scripts/results_summary.py from scripts/ablation_table.sh's runs -->")
    for preset in presets:
        rows = read(f"{out}/table-{preset}.csv")
        by = {(r["experiment"].rsplit("-", 1)[-1], r["method"]): r for r in rows}
        methods = [m for m in ORDER if any(k[1] == m for k in by)]
        methods += sorted({k[1] for k in by} - set(methods))
        runs = sum(int(r["runs"]) for r in rows)
        print(f"\n### `{preset}` ({runs} runs)\n")
        head = ["variant"]
        for _, name in COLUMNS:
            head += [f"{name} (identity)", f"{name} (shuffle)"]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for m in methods:
            line = [m]
            for key, _ in COLUMNS:
                for order in ("identity", "shuffle"):
                    r = by.get((order, m))
                    line.append(cell(r, key) if r else "")
            print("| " + " | ".join(line) + " |")
        print(f"\nWhat each part contributes on `{preset}`: difference of mean A_T (points) "
              "± its standard error.\n")
        print("| part | identity | shuffle |")
        print("|---|---|---|")
        for label, a, b in CONTRASTS:
            line = [f"{label} (`{a}` − `{b}`)"]
            for order in ("identity", "shuffle"):
                ra, rb = by.get((order, a)), by.get((order, b))
                if not ra or not rb:
                    line.append("")
                    continue
                diff = float(ra["A_T_mean"]) - float(rb["A_T_mean"])
                se = math.sqrt(float(ra["A_T_sd"] or 0) ** 2 / int(ra["runs"]) +
                               float(rb["A_T_sd"] or 0) ** 2 / int(rb["runs"]))
                line.append(f"{diff:+.2f} ± {se:.2f}")
            print("| " + " | ".join(line) + " |")


if __name__ == "__main__":
    main()
