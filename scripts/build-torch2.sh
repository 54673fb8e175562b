#!/usr/bin/env bash
# The second configuration (#15): the engine, dlw, the window, the tests and the benchmarks built
# against the LibTorch 2.x that GPU users have: PyTorch's pinned pip wheel (CUDA-enabled; on a
# machine without a GPU it runs on the CPU), in the project's virtual environment .venv-torch2/.
#   1. .venv-torch2/: made with python3 -m venv when missing, then pip installs
#      scripts/torch2-requirements.txt (torch, timm, safetensors, numpy) when any pin is missing.
#      The first install downloads several GiB (the NVIDIA runtime wheels); it prints its time.
#   2. build-torch2/: CMake with -DCMAKE_PREFIX_PATH=torch.utils.cmake_prefix_path, C++20 (the
#      headers of PyTorch 2.12 and later need it). No CUDA toolkit is needed: the wheel's CUDA
#      runtime, installed with it, stands in for the toolkit LibTorch's CMake config asks for
#      (cmake/TorchCudaRuntime.cmake); nothing is compiled for the GPU.
# Usage: scripts/build-torch2.sh [--env-only | extra CMake arguments]
# Environment: DLW_TORCH2_VENV (.venv-torch2), DLW_TORCH2_BUILD_DIR (build-torch2), PYTHON
#   (python3, makes the environment), DLW_JOBS (compile jobs, nproc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${DLW_TORCH2_VENV:-$root/.venv-torch2}
build=${DLW_TORCH2_BUILD_DIR:-$root/build-torch2}
requirements=$root/scripts/torch2-requirements.txt
py=$venv/bin/python

# 1. The virtual environment and its pinned packages.
t0=$(date +%s)
# A venv without pip is one that python3 -m venv left half-made (Debian without python3-venv:
# "ensurepip is not available"); pip cannot be added to it later, so it is made again.
if [[ ! -x $py ]] || ! "$py" -m pip --version >/dev/null 2>&1; then
    if [[ -e $venv && ! -f $venv/pyvenv.cfg ]]; then
        echo "build-torch2: $venv exists and is no virtual environment (no pyvenv.cfg);" \
            "move it away or set DLW_TORCH2_VENV" >&2
        exit 1
    fi
    [[ -e $venv ]] && echo "build-torch2: $venv has no pip; making it again"
    if ! "${PYTHON:-python3}" -m venv --clear "$venv"; then
        rm -rf "$venv"  # a venv without pip would be taken as made on the next run
        echo "build-torch2: ${PYTHON:-python3} -m venv could not make $venv; on Debian install" \
            "python3-venv (scripts/setup.sh does)" >&2
        exit 1
    fi
fi
if ! "$py" - "$requirements" <<'PY'; then
import sys
from importlib.metadata import version, PackageNotFoundError
missing = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pin = line.split("==")
        try:
            if version(name) != pin:
                missing.append(line)
        except PackageNotFoundError:
            missing.append(line)
sys.exit(1 if missing else 0)
PY
    echo "build-torch2: installing $(grep -c '==' "$requirements") pinned packages into $venv"
    "$py" -m pip install -q --disable-pip-version-check -r "$requirements"
fi
echo "build-torch2: environment ready in $(($(date +%s) - t0)) s ($("$py" -c \
    'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'))"
[[ ${1:-} == --env-only ]] && exit 0

# 2. Configure and build.
prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')
abi=$("$py" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
if [[ $abi != 1 ]]; then
    echo "build-torch2: this wheel uses the old C++ ABI; Debian's Qt, OpenCV and GoogleTest use" \
        "the new one, so they cannot link with it" >&2
    exit 1
fi
# Only for a CUDA LibTorch configured through a toolkit (one without the NVIDIA runtime wheel
# beside it): without a list its CMake config probes the GPUs with a CUDA program in C++20, which
# CMake 3.25 cannot give nvcc; we compile no kernels (Ampere and Hopper; a cache variable, so
# that CMake's own re-runs see it too).
cuda=(-DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}")
t0=$(date +%s)
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=20 \
    -DCMAKE_PREFIX_PATH="$prefix" -DDLW_PYTHON="$py" "${cuda[@]}" "$@" >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    exit 1
}
cmake --build "$build" -j "${DLW_JOBS:-$(nproc)}" -- -k 0  # every error at once
echo "build-torch2: built $build in $(($(date +%s) - t0)) s"
