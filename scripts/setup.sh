#!/usr/bin/env bash
# Installs what DualLoRA Workbench needs from Debian 12's repositories, and nothing else.
# Idempotent and quiet when everything is already there; runs as root with no TTY (CI) or
# through sudo. Usage: scripts/setup.sh [--dev]   (--dev adds the tools for screenshots and
# the python reference scripts: xvfb, imagemagick, python3-torch, python3-torchvision).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache clang-format git
  libtorch-dev libopenblas0-openmp
  libgloo-dev  # the Gloo headers that LibTorch's c10d headers include (#18, data parallel)
  qt6-base-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libgtest-dev nlohmann-json3-dev libcli11-dev libfmt-dev zlib1g-dev
  dataset-fashion-mnist
  clang libclang-rt-14-dev python3  # the sanitizer and fuzzing phases of scripts/test.sh
  python3-venv  # scripts/build-torch2.sh makes .venv-torch2 with python3 -m venv (ensurepip)
)
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(xvfb xauth imagemagick python3-torch python3-torchvision)
fi

# OpenCV's digits sheet lives in opencv-doc (312 MiB); we extract only that one file.
digits_dir=/usr/share/doc/opencv-doc/examples/data
digits=$digits_dir/digits.png

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)) || [[ ! -f $digits ]]; then
  echo "setup: installing ${missing[*]:-} ${digits##*/}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
fi
if ((${#missing[@]} > 0)); then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ ! -f $digits ]]; then
  tmp=$(mktemp -d)
  chmod 0777 "$tmp"  # apt-get download writes as the _apt user
  (cd "$tmp" && apt-get download -qq opencv-doc >/dev/null)
  dpkg-deb --fsys-tarfile "$tmp"/opencv-doc_*.deb |
    tar -x -C "$tmp" ".$digits" 2>/dev/null ||
    dpkg-deb -x "$tmp"/opencv-doc_*.deb "$tmp/x"
  src=$tmp/.$digits
  [[ -f $src ]] || src=$tmp/x$digits
  "${sudo_cmd[@]}" install -D -m 0644 "$src" "$digits"
  rm -rf "$tmp"
fi
