#!/usr/bin/env bash
# README command 1: install what is missing, build (Release), start the workbench.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
exec "${DLW_BUILD_DIR:-$root/build}/app/dlw-workbench" "$@"
