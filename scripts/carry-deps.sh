#!/bin/sh
# Copies the header-only dependencies (nlohmann-json, CLI11, fmt), zlib's two headers, Gloo's
# headers (c10d's Gloo process group, core/torch_compat.h), GoogleTest's sources and
# Fashion-MNIST from this Debian machine into one folder, for a machine that has no Debian
# packages (the GPU machine: scripts/build-gpu.sh finds them through
# -DDLW_HEADER_DEPS, scripts/gpu-check.sh sets DLW_DATASETS to its datasets/).
# Usage: scripts/carry-deps.sh [OUT (default build-gpu-deps)]; prints the folder and its size.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 1 "$@"
out=${1:-$here/build-gpu-deps}
"$here/scripts/setup.sh" >/dev/null
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp -r /usr/include/nlohmann /usr/include/CLI /usr/include/fmt /usr/include/zlib.h \
    /usr/include/zconf.h /usr/include/gloo "$out.tmp/"
# GoogleTest's sources (built there with the tests) and Fashion-MNIST (DLW_DATASETS there).
cp -r /usr/src/googletest "$out.tmp/googletest"
mkdir -p "$out.tmp/datasets"
cp -r /usr/share/datasets/fashion-mnist "$out.tmp/datasets/"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out ($(du -sh "$out" | cut -f1))"
