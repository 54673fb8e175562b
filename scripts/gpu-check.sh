#!/bin/sh
# The GPU check (#15): one prepared script for a machine with an NVIDIA GPU and a CUDA PyTorch but
# no Debian packages and no network. Carry the folder scripts/carry-deps.sh makes
# (build-gpu-deps/: headers, GoogleTest's sources, Fashion-MNIST) with the working tree. It
#   1. builds the headless configuration against python3's PyTorch (scripts/build-gpu.sh);
#   2. stops there, saying so, when torch.cuda.is_available() is false (exit 3);
#   3. runs the core tests with CUDA visible (the CUDA tests run instead of skipping);
#   4. benchmarks ViT-B/16 224² training (duallora and seq-lora, batch 64) in fp32, tf32 and bf16
#      against the wheel's own PyTorch eager (scripts/bench.sh): images/s, C++/Python, MFU
#      against the card's dense bf16 peak, prediction latency; peak GPU memory from nvidia-smi;
#   5. runs the default preset on CUDA and on the CPU: A_T must agree within 1 point.
# Writes OUT/gpu-check.json and prints its table. Budget: under 8 minutes on an H100-class card.
# Usage: scripts/gpu-check.sh [OUT (default gpu-check-out)]
#   env PYTHON (python3), DLW_HEADER_DEPS (build-gpu-deps), BUILD (build-gpu), REPEATS (3)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/gpu-check-out}
py=${PYTHON:-python3}
deps=${DLW_HEADER_DEPS:-$here/build-gpu-deps}
build=${BUILD:-$here/build-gpu}
repeats=${REPEATS:-3}
mkdir -p "$out"
start=$(date +%s)
stage() { echo "== gpu-check: $1 ($(($(date +%s) - start)) s)"; }

stage "build"
PYTHON=$py DLW_HEADER_DEPS=$deps "$here/scripts/build-gpu.sh" "$build"

stage "device"
if ! "$py" - > "$out/device.json" <<'PY'
import json, torch
if not torch.cuda.is_available():
    raise SystemExit(1)
p = torch.cuda.get_device_properties(0)
print(json.dumps({"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1),
                  "capability": f"{p.major}.{p.minor}", "torch": torch.__version__,
                  "cuda": torch.version.cuda}))
PY
then
    echo "gpu-check: built $build; torch.cuda.is_available() is false here, so the CUDA" \
        "tests, the benchmarks and the CUDA run need a machine with a GPU" >&2
    exit 3
fi
cat "$out/device.json"
export DLW_DATASETS="$deps/datasets"

stage "tests (CUDA visible)"
ctest --test-dir "$build" -L unit --output-on-failure -j 4 > "$out/tests.log" 2>&1 || {
    tail -40 "$out/tests.log"
    echo "gpu-check: tests failed (log: $out/tests.log)" >&2
    exit 1
}
grep -E "tests passed|Skipped" "$out/tests.log" || true

stage "benchmarks"
memlog="$out/nvidia-smi.csv"
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$memlog" &
    smi=$!
fi
BUILD=$build DEVICE=cuda PYTHON=$py PRECISIONS="fp32 tf32 bf16" \
    CONFIGS="duallora:vitb16:64 seq-lora:vitb16:64" \
    "$here/scripts/bench.sh" "$repeats" "$out/bench.jsonl" > "$out/bench.txt"
[ -n "${smi:-}" ] && kill "$smi" 2> /dev/null || true
cat "$out/bench.txt"

stage "default preset, CUDA and CPU"
for device in cuda cpu; do
    rm -rf "$out/default-$device"
    "$build/app/dlw" run --preset default --set "device=\"$device\"" --out "$out/default-$device" \
        > "$out/default-$device.log" 2>&1 || {
        tail -5 "$out/default-$device.log"
        exit 1
    }
done

stage "summary"
"$py" - "$out" "$(($(date +%s) - start))" <<'PY'
import json, os, statistics, sys
out, seconds = sys.argv[1], int(sys.argv[2])
device = json.load(open(os.path.join(out, "device.json")))
# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from the vendors' data sheets.
peaks = {"H200": 989.4, "H100 SXM": 989.4, "H100 NVL": 835.0, "H100 PCIe": 756.0,
         "H100": 989.4, "A100": 312.0, "L40S": 362.1, "L4": 121.0, "A10": 125.0,
         "RTX 4090": 165.2, "RTX 6000 Ada": 364.2}
peak = next((v for k, v in peaks.items() if k in device["name"]), None)
rows = [json.loads(l) for l in open(os.path.join(out, "bench.jsonl")) if l.strip()]
table = []
for prec in ("fp32", "tf32", "bf16"):
    for method in ("duallora", "seq-lora"):
        def pick(impl):
            return [r for r in rows if r.get("implementation") == impl
                    and r.get("method") == method and r.get("precision") == prec]
        cpp, py = pick("cpp"), pick("python-eager")
        if not cpp:
            continue
        ips = statistics.median(r["images_per_second"] for r in cpp)
        gflops = statistics.median(r["achieved_gflops"] for r in cpp)
        ratio = [a["images_per_second"] / b["images_per_second"] for a, b in zip(cpp, py)]
        pred = [r for r in rows if r.get("implementation") == "cpp-predict"
                and r.get("method") == method and r.get("precision") == prec]
        table.append({"method": method, "precision": prec, "images_per_second": ips,
                      "cpp_over_python": statistics.median(ratio) if ratio else None,
                      "ratio_range": [min(ratio), max(ratio)] if ratio else None,
                      "mfu_bf16_peak": gflops / 1000 / peak if peak else None,
                      "predict": {k: v for p in pred for k, v in p.items() if k.startswith("predict_b")}})
mem = os.path.join(out, "nvidia-smi.csv")
peak_mib = max((int(l) for l in open(mem) if l.strip().isdigit()), default=None) \
    if os.path.exists(mem) else None
at = {}
for dev in ("cuda", "cpu"):
    s = json.load(open(os.path.join(out, f"default-{dev}", "summary.json")))
    at[dev] = s["final_accuracy"]
result = {"device": device, "bf16_dense_peak_tflops": peak, "training": table,
          "peak_gpu_memory_mib": peak_mib, "default_preset_A_T": at,
          "A_T_difference": abs(at["cuda"] - at["cpu"]), "seconds": seconds}
tmp = os.path.join(out, ".gpu-check.json.tmp")
json.dump(result, open(tmp, "w"), indent=2)
os.replace(tmp, os.path.join(out, "gpu-check.json"))
print(f"{device['name']} ({device['memory_gib']} GiB), torch {device['torch']}, "
      f"bf16 dense peak {peak} TFLOP/s")
print(f"{'method':<9} {'prec':<5} {'img/s':>8} {'C++/Py':>7} {'range':>13} {'MFU':>6}")
for r in table:
    rng = r["ratio_range"]
    shown_range = f"{rng[0]:.2f}-{rng[1]:.2f}" if rng else ""
    mfu = "" if r["mfu_bf16_peak"] is None else f"{100 * r['mfu_bf16_peak']:5.1f}%"
    print(f"{r['method']:<9} {r['precision']:<5} {r['images_per_second']:8.1f} "
          f"{r['cpp_over_python'] or 0:7.2f} {shown_range:>13} {mfu:>6}")
print(f"peak GPU memory {peak_mib} MiB; default preset A_T cuda {at['cuda']:.2f} "
      f"cpu {at['cpu']:.2f} (difference {abs(at['cuda'] - at['cpu']):.2f}, goal <= 1)")
print(f"{seconds} s in all")
sys.exit(0 if abs(at["cuda"] - at["cpu"]) <= 1.0 else 1)
PY
