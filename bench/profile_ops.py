#!/usr/bin/env python3
"""Compares two Chrome traces of training steps op by op (issue 15).

    bench/profile_ops.py CPP.json PYTHON.json [--steps N] [--top 25]

CPP.json from `dlw_bench_step --profile`, PYTHON.json from `bench/reference/train_step.py
--profile` (LibTorch's legacy profiler and PyTorch's, both Chrome traces). For every operator
name: its self time (its own duration less that of the operators it called, per thread) in ms
per step and its number of calls per step, the two side by side, largest difference first.
Reads only the standard library.
"""
import argparse
import collections
import json


def self_times(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    threads = collections.defaultdict(list)
    for e in events:
        if e.get("ph") != "X" or "dur" not in e:
            continue
        if isinstance(data, dict) and e.get("cat") not in (None, "cpu_op", "Operator"):
            continue  # PyTorch's Kineto trace: python functions, user annotations...
        threads[(e.get("pid"), e.get("tid"))].append(
            (float(e["ts"]), float(e["dur"]), e["name"]))
    total = collections.Counter()
    calls = collections.Counter()
    for evs in threads.values():
        evs.sort(key=lambda t: (t[0], -t[1]))
        stack = []  # [end, name, child time]
        for ts, dur, name in evs:
            while stack and stack[-1][0] <= ts:
                end, n, child = stack.pop()
                total[n] -= child
            if stack:
                stack[-1][2] += dur
            total[name] += dur
            calls[name] += 1
            stack.append([ts + dur, name, 0.0])
        while stack:
            end, n, child = stack.pop()
            total[n] -= child
    return total, calls


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a", help="trace A (C++)")
    p.add_argument("b", help="trace B (Python)")
    p.add_argument("--steps", type=int, default=1, help="steps each trace holds")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    ta, ca = self_times(args.a)
    tb, cb = self_times(args.b)
    names = set(ta) | set(tb)
    k = 1000.0 * args.steps  # µs → ms per step
    rows = sorted(names, key=lambda n: -abs(ta[n] - tb[n]))
    print(f"{'operator':44s} {'A ms/step':>10s} {'B ms/step':>10s} {'A-B':>9s}"
          f" {'A calls':>8s} {'B calls':>8s}")
    for n in rows[: args.top]:
        print(f"{n[:44]:44s} {ta[n] / k:10.2f} {tb[n] / k:10.2f} {(ta[n] - tb[n]) / k:9.2f}"
              f" {ca[n] / args.steps:8.0f} {cb[n] / args.steps:8.0f}")
    print(f"{'all operators':44s} {sum(ta.values()) / k:10.2f} {sum(tb.values()) / k:10.2f}"
          f" {(sum(ta.values()) - sum(tb.values())) / k:9.2f}"
          f" {sum(ca.values()) / args.steps:8.0f} {sum(cb.values()) / args.steps:8.0f}")


if __name__ == "__main__":
    main()
