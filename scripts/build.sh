#!/usr/bin/env bash
# Configures and builds DualLoRA Workbench (Release, Ninja) into build/ (or $DLW_BUILD_DIR).
# Extra arguments go to CMake's configure step, e.g. -DDLW_BUILD_GUI=OFF.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DLW_BUILD_DIR:-$root/build}
jobs=${DLW_JOBS:-$(nproc)}
# The timm reference tests (#15) need the project's virtual environment (DLW_TORCH2_VENV,
# .venv-torch2), made by scripts/build-torch2.sh; without it they skip.
python=""
venv=${DLW_TORCH2_VENV:-$root/.venv-torch2}
[[ -x $venv/bin/python ]] && python=$venv/bin/python
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDLW_PYTHON="$python" "$@" \
    >/dev/null
cmake --build "$build" -j "$jobs"
