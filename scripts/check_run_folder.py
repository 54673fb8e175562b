#!/usr/bin/python3
"""Checks that every file of a dlw run folder parses, as DESIGN §6 promises after any crash.

Usage: check_run_folder.py RUN_DIR   (exit 0 and one line "ok: ..." or exit 1 naming each problem)

- experiment.json, split.json, summary.json, checkpoints/*.json: whole JSON objects, no NaN or Infinity;
- events.jsonl: every complete line a JSON object with "v" and "type", step losses finite
  numbers (a partial last line is what a kill leaves, and is allowed);
- checkpoints/*.safetensors: 8-byte header length, JSON header, offsets inside the file, the
  file exactly as long as its data;
- checkpoints/latest.json names a checkpoint whose .json and .safetensors both exist.
Temporary files of unfinished writes ("*.tmp-*") are not files of the run and are skipped.
"""
import json
import math
import os
import struct
import sys


def strict_json(text):
    def bad_constant(name):
        raise ValueError(f"non-finite number {name}")
    return json.loads(text, parse_constant=bad_constant)


def check_json(path, problems):
    try:
        with open(path, "rb") as f:
            value = strict_json(f.read().decode("utf-8"))
        if not isinstance(value, dict):
            problems.append(f"{path}: not a JSON object")
        return value
    except (ValueError, UnicodeDecodeError) as e:
        problems.append(f"{path}: {e}")
    return None


def check_events(path, problems):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    complete = lines[:-1]  # the last piece is partial (or empty)
    for number, line in enumerate(complete, 1):
        try:
            event = strict_json(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(f"{path}: line {number}: {e}")
            continue
        if not isinstance(event, dict) or "type" not in event or "v" not in event:
            problems.append(f"{path}: line {number}: not an event")
        elif event["type"] == "step" and not (
                isinstance(event.get("loss"), (int, float)) and math.isfinite(event["loss"])):
            problems.append(f"{path}: line {number}: step loss {event.get('loss')!r}")
    return len(complete)


def check_safetensors(path, problems):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            problems.append(f"{path}: shorter than the header length")
            return
        (length,) = struct.unpack("<Q", head)
        if 8 + length > size:
            problems.append(f"{path}: header length {length} past the end ({size} bytes)")
            return
        try:
            header = strict_json(f.read(length).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(f"{path}: header: {e}")
            return
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, stop = entry["data_offsets"]
        end = max(end, stop)
        if not 0 <= begin <= stop:
            problems.append(f"{path}: tensor {name}: offsets {begin}, {stop}")
    if 8 + length + end != size:
        problems.append(f"{path}: data ends at {8 + length + end}, file has {size} bytes")


def main():
    run = sys.argv[1]
    problems = []
    files = 0
    for root, _, names in os.walk(run):
        for name in names:
            path = os.path.join(root, name)
            if ".tmp-" in name:
                continue
            files += 1
            if name == "events.jsonl":
                check_events(path, problems)
            elif name.endswith(".json"):
                check_json(path, problems)
            elif name.endswith(".safetensors"):
                check_safetensors(path, problems)
            else:
                problems.append(f"{path}: not a file a run writes")
    latest_path = os.path.join(run, "checkpoints", "latest.json")
    if os.path.exists(latest_path):
        latest = check_json(latest_path, problems) or {}
        stem = latest.get("checkpoint", "")
        for ext in (".json", ".safetensors"):
            if not os.path.exists(os.path.join(run, "checkpoints", stem + ext)):
                problems.append(f"{latest_path}: points at {stem}{ext}, which is missing")
    for p in problems:
        print(f"problem: {p}")
    if problems:
        return 1
    print(f"ok: {files} files parse in {run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
