#!/bin/sh
# #14: names that hold commas, quotes or line breaks keep `dlw compare --csv` parseable (RFC 4180
# quoting) and the text table one row per run; a file name that is not UTF-8 prints in
# `dlw predict --json` and in the text of `dlw predict` (errors too) with its odd byte as \xHH
# (as in events.jsonl), not as U+FFFD nor as the raw byte.
# Usage: csv_quotes.sh DLW EXPERIMENT.json BACKBONE WORKDIR
set -eu
dlw=$1 experiment=$2 backbone=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work"
name='a,"b"
c'
"$dlw" run "$experiment" --set "backbone.path=\"$backbone\"" --set sequence.tasks=1 \
    --set "name=$name" --out 'run,"1"' > /dev/null
"$dlw" compare --csv --group 'run,"1"' > group.csv
"$dlw" compare --csv 'run,"1"' > runs.csv
"$dlw" compare --group 'run,"1"' > group.txt
cp "$(dirname "$experiment")/../images/shirt_like.png" "$(printf 'caf\351.png')"
"$dlw" predict --json --run 'run,"1"' "$(printf 'caf\351.png')" > predict.json
"$dlw" predict --run 'run,"1"' "$(printf 'caf\351.png')" "$(printf 'gone\351.png')" \
    > predict.txt 2>&1 || true
/usr/bin/python3 - << 'PY'
import csv
import json
rows = list(csv.reader(open("group.csv", newline="")))
assert len(rows) == 2 and len(rows[1]) == len(rows[0]), rows
assert rows[1][0] == 'a,"b"\nc' and rows[1][1] == "duallora", rows[1]
runs = list(csv.reader(open("runs.csv", newline="")))
assert len(runs) == 2 and len(runs[1]) == len(runs[0]) and runs[1][-1] == 'run,"1"', runs
text = open("group.txt").read().splitlines()
assert len(text) == 2, text  # header and one row: the newline in the name is not a row break
predicted = json.load(open("predict.json", encoding="utf-8"))
assert predicted[0]["file"].endswith("caf\\xE9.png"), predicted[0]["file"]
text = open("predict.txt", "rb").read()
assert b"\xe9" not in text and text.count(b"caf\\xE9.png") == 1, text
assert b"gone\\xE9.png: image file does not exist" in text, text
print("PASS: CSV quoted, table one row per run, non-UTF-8 name escaped")
PY
