#!/bin/sh
# Rehearses scripts/gpu-check.sh on this Debian machine as the GPU machine will run it (#15): in a
# private mount namespace (unshare -rm, no root needed) Debian's development headers, LibTorch
# 1.13, OpenCV, GoogleTest's sources, the datasets and the CUDA toolkit (/usr/local/cuda-*, and
# /usr/local/bin with its nvcc wrapper: a GPU machine may have a CUDA PyTorch and no toolkit) are
# hidden under empty tmpfs mounts, so the build must take everything from the folder
# scripts/carry-deps.sh makes and the wheel in .venv-torch2/. Without a GPU, gpu-check.sh stops after the build saying so (exit 3): that exit
# is the rehearsal's success.
# Usage: scripts/gpu-rehearsal.sh [OUT (default /tmp/gpu-rehearsal)]
#   env BUILD (default OUT/build-gpu), PYTHON (default .venv-torch2/bin/python)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 1 "$@"
out=${1:-/tmp/gpu-rehearsal}
mkdir -p "$out"
[ -f "$here/build-gpu-deps/nlohmann/json.hpp" ] || "$here/scripts/carry-deps.sh"
[ -x "$here/.venv-torch2/bin/python" ] || "$here/scripts/build-torch2.sh" --env-only
export BUILD="${BUILD:-$out/build-gpu}" PYTHON="${PYTHON:-$here/.venv-torch2/bin/python}"
status=0
unshare -rm sh -c '
    for d in /usr/include/nlohmann /usr/include/CLI /usr/include/fmt /usr/include/gtest \
        /usr/include/gmock /usr/src/googletest /usr/share/datasets /usr/include/opencv4 \
        /usr/include/torch /usr/lib/x86_64-linux-gnu/cmake/Torch /usr/share/cmake/Torch \
        /usr/local/cuda-* /usr/local/bin; do
        [ -d "$d" ] && mount -t tmpfs none "$d"
    done
    exec "$0/scripts/gpu-check.sh" "$1"' "$here" "$out" || status=$?
# 3 is gpu-check.sh's "built, and no GPU here" and nothing else (4: its device check failed).
if [ "$status" -eq 3 ] && [ -x "$BUILD/app/dlw" ]; then
    echo "gpu-rehearsal: gpu-check.sh built everything from the carried folder and stopped at" \
        "the GPU, as it should here"
    exit 0
fi
echo "gpu-rehearsal: gpu-check.sh ended with $status" >&2
exit "$status"
