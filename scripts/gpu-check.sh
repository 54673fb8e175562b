#!/bin/sh
# The GPU check (#15): one prepared script for a machine with an NVIDIA GPU and a CUDA PyTorch but
# no Debian packages and no network. Carry the folder scripts/carry-deps.sh makes
# (build-gpu-deps/: headers, GoogleTest's sources, Fashion-MNIST) with the working tree. It
#   1. builds the headless configuration against python3's PyTorch (scripts/build-gpu.sh);
#   2. stops there, saying so, when torch.cuda.is_available() is false (exit 3, and only then);
#   3. runs the core tests with CUDA visible (the CUDA tests run instead of skipping);
#   4. benchmarks ViT-B/16 224² training (duallora and seq-lora, batch 64) in fp32, tf32 and bf16
#      against the wheel's own PyTorch eager (scripts/bench.sh): images/s, C++/Python, MFU
#      against the card's dense bf16 peak, prediction latency; peak GPU memory from nvidia-smi;
#   5. runs the default preset on CUDA and on the CPU: A_T must agree within 1 point;
#   6. process groups (#18): the default preset on CUDA through `--distributed` as a world of
#      one, which takes c10d's NCCL path (environment.json must name nccl; A_T within 1 point of
#      the run without a group), and tests/cli/distributed.sh: 2 CPU processes over Gloo.
# Writes OUT/gpu-check.json and prints its table. Budget: under 8 minutes on an H100-class card.
# Exit codes: 0 checked (A_T within 1 point), 1 a stage failed, 2 usage, 3 no GPU here (the build
# passed; only then), 4 the device check itself failed (a python without torch, a query error).
# Usage: scripts/gpu-check.sh [OUT (default gpu-check-out)]
#   env PYTHON (python3), DLW_HEADER_DEPS (build-gpu-deps), BUILD (build-gpu), REPEATS (3)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 1 "$@"
out=${1:-$here/gpu-check-out}
py=${PYTHON:-python3}
deps=${DLW_HEADER_DEPS:-$here/build-gpu-deps}
build=${BUILD:-$here/build-gpu}
repeats=${REPEATS:-3}
dlw_count "$0" REPEATS "$repeats" 1
# Before a build of many minutes: the python must have torch (the build takes LibTorch from it).
if ! err=$("$py" -c 'import torch' 2>&1); then
    printf '%s\n' "$err" | tail -1 >&2
    echo "gpu-check: $py cannot import torch, so the device cannot be checked; set PYTHON to" \
        "the python of a CUDA PyTorch" >&2
    exit 4
fi
mkdir -p "$out"
start=$(date +%s)
stage() { echo "== gpu-check: $1 ($(($(date +%s) - start)) s)"; }
# The memory logger runs in the background during the benchmarks; a failing stage must not leave
# it running (set -e exits before any kill written after the stage).
smi=
stop_logger() { [ -z "$smi" ] || kill "$smi" 2> /dev/null || true; }
trap stop_logger EXIT
trap 'exit 130' INT TERM  # dash runs the EXIT trap only on exit

stage "build"
PYTHON=$py DLW_HEADER_DEPS=$deps "$here/scripts/build-gpu.sh" "$build" || exit 1

stage "device"
# Exit 3 from the query means "no GPU"; anything else (a traceback, a broken driver) is a failure
# of the query itself and must not read as the rehearsal's expected stop.
device_status=0
"$py" - > "$out/device.json" 2> "$out/device.log" <<'PY' || device_status=$?
import json, torch
if not torch.cuda.is_available():
    raise SystemExit(3)
p = torch.cuda.get_device_properties(0)
print(json.dumps({"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1),
                  "capability": f"{p.major}.{p.minor}", "torch": torch.__version__,
                  "cuda": torch.version.cuda}))
PY
if [ "$device_status" -eq 3 ]; then
    echo "gpu-check: built $build; torch.cuda.is_available() is false here, so the CUDA" \
        "tests, the benchmarks and the CUDA run need a machine with a GPU" >&2
    exit 3
elif [ "$device_status" -ne 0 ]; then
    tail -5 "$out/device.log" >&2
    echo "gpu-check: built $build, but the device query with $py failed (exit" \
        "$device_status; log: $out/device.log)" >&2
    exit 4
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
    "$here/scripts/bench.sh" "$repeats" "$out/bench.jsonl" > "$out/bench.txt" || {
    tail -20 "$out/bench.txt"
    echo "gpu-check: benchmarks failed (output: $out/bench.txt)" >&2
    exit 1
}
stop_logger
smi=
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

stage "process groups: NCCL on one GPU, Gloo over 2 CPU processes (#18)"
rm -rf "$out/nccl-one"
RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=${MASTER_PORT:-29531} \
    "$build/app/dlw" run --preset default --set 'device="cuda"' --distributed \
    --out "$out/nccl-one" > "$out/nccl-one.log" 2>&1 || {
    tail -5 "$out/nccl-one.log"
    echo "gpu-check: the NCCL run failed (log: $out/nccl-one.log)" >&2
    exit 1
}
grep -q '"process_group": "nccl"' "$out/nccl-one/environment.json" || {
    echo "gpu-check: the --distributed CUDA run did not use NCCL:" >&2
    grep process_group "$out/nccl-one/environment.json" >&2 || true
    exit 1
}
sh "$here/tests/cli/distributed.sh" "$build/app/dlw" "$here/scripts/launch.sh" \
    "$here/tests/fixtures/experiments/smoke.json" \
    "$here/tests/fixtures/vit_reference/tiny_gray.safetensors" "$out/gloo" \
    > "$out/gloo.log" 2>&1 || {
    tail -20 "$out/gloo.log"
    echo "gpu-check: 2 processes over Gloo failed (log: $out/gloo.log)" >&2
    exit 1
}
tail -6 "$out/gloo.log"

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
for dev, folder in (("cuda", "default-cuda"), ("cpu", "default-cpu"), ("nccl", "nccl-one")):
    s = json.load(open(os.path.join(out, folder, "summary.json")))
    at[dev] = s["final_accuracy"]
gloo = [l.strip() for l in open(os.path.join(out, "gloo.log")) if "largest" in l]
result = {"device": device, "bf16_dense_peak_tflops": peak, "training": table,
          "peak_gpu_memory_mib": peak_mib, "default_preset_A_T": at,
          "A_T_difference": abs(at["cuda"] - at["cpu"]),
          "nccl_A_T_difference": abs(at["nccl"] - at["cuda"]), "gloo_2_processes": gloo,
          "seconds": seconds}
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
print(f"NCCL (one rank on the GPU) A_T {at['nccl']:.2f}, without a group {at['cuda']:.2f} "
      f"(difference {abs(at['nccl'] - at['cuda']):.2f}, goal <= 1); Gloo, 2 CPU processes:")
for line in gloo:
    print(f"  {line}")
print(f"{seconds} s in all")
sys.exit(0 if abs(at["cuda"] - at["cpu"]) <= 1.0 and abs(at["nccl"] - at["cuda"]) <= 1.0 else 1)
PY
