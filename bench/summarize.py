#!/usr/bin/python3
"""Tables of scripts/bench.sh's JSON lines: training images/s C++ vs Python (median ratio of the
back-to-back pairs, with its range), achieved FLOP/s as a share of the GEMM peak, prediction
latency. Usage: bench/summarize.py bench-results.jsonl"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
peak = {(r["device"], r["precision"]): r["gflops"] for r in rows if r.get("benchmark") == "gemm"}
for (dev, prec), g in sorted(peak.items()):
    print(f"GEMM peak ({dev}, {prec}, {rows[0]['threads']} threads): {g:.1f} GFLOP/s")
steps = [r for r in rows if r["implementation"] in ("cpp", "python-eager") and "method" in r]
keys = sorted({(r["method"], r["backbone"], r["batch"], r.get("precision", "fp32"))
               for r in steps})
print(f"\n{'method':<9} {'backbone':<8} {'batch':>5} {'prec':<5} {'C++ img/s':>10} "
      f"{'Py img/s':>9} {'C++/Py':>7} {'range':>11} {'GFLOP/img':>9} {'C++ GFLOP/s':>11} "
      f"{'of peak':>7}")
for k in keys:
    def pick(impl):
        return [r for r in steps if (r["method"], r["backbone"], r["batch"],
                                     r.get("precision", "fp32")) == k
                and r["implementation"] == impl]
    cpp, py = pick("cpp"), pick("python-eager")
    if not cpp or not py:
        continue
    ratios = [a["images_per_second"] / b["images_per_second"] for a, b in zip(cpp, py)]
    gflops = statistics.median(r["achieved_gflops"] for r in cpp)
    p = peak.get((cpp[0]["device"], k[3]))
    share = f"{100 * gflops / p:6.1f}%" if p else "      -"
    print(f"{k[0]:<9} {k[1]:<8} {k[2]:>5} {k[3]:<5} "
          f"{statistics.median(r['images_per_second'] for r in cpp):>10.1f} "
          f"{statistics.median(r['images_per_second'] for r in py):>9.1f} "
          f"{statistics.median(ratios):>6.2f}x {min(ratios):>5.2f}-{max(ratios):<5.2f} "
          f"{cpp[0]['gflop_per_image']:>9.4f} {gflops:>11.1f} {share}")
pred = [r for r in rows if r["implementation"] == "cpp-predict"]
if pred:
    print(f"\n{'method':<9} {'backbone':<8} {'prec':<5} {'1 image p50':>11} {'p99':>8} "
          f"{'64 images p50':>13} {'p99':>8}   (ms; task identity and calibration included)")
    for r in pred:
        print(f"{r['method']:<9} {r['backbone']:<8} {r['precision']:<5} "
              f"{r['predict_b1_ms_p50']:>11.2f} {r['predict_b1_ms_p99']:>8.2f} "
              f"{r['predict_b64_ms_p50']:>13.2f} {r['predict_b64_ms_p99']:>8.2f}")
    by = {(r["method"], r["backbone"], r["precision"]): r for r in pred}
    for (m, b, p), r in sorted(by.items()):
        base = by.get(("seq-lora", b, p))
        if m == "duallora" and base:
            print(f"duallora / seq-lora on {b} ({p}): 1 image "
                  f"{r['predict_b1_ms_p50'] / base['predict_b1_ms_p50']:.2f}x, 64 images "
                  f"{r['predict_b64_ms_p50'] / base['predict_b64_ms_p50']:.2f}x (p50)")
    rss = {(r["method"], r["backbone"]): r["peak_rss_mib"] for r in pred}
    print("peak resident memory (MiB, training steps + prediction): " +
          ", ".join(f"{m} {b} {v:.0f}" for (m, b), v in sorted(rss.items())))
