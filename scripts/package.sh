#!/usr/bin/env bash
# Builds the Debian package (build/dlw_VERSION_ARCH.deb, packaging/CMakeLists.txt) and tries it
# as a new user would on a machine that never built it (#17): a fresh Debian 12 made with
# debootstrap, `apt-get install ./dlw_*.deb` (Debian's packages for everything it depends on),
# then `dlw --version`, a one-epoch run of the default preset, `dlw report` of that run, and
# dlw-workbench under Xvfb with a screenshot; each step's time printed.
# Usage: scripts/package.sh [OUT (default package-check)]   (root; needs network for debootstrap
# and apt; about 15 minutes and 3 GB the first time, OUT/root is kept and reused)
# Writes OUT/report.html, OUT/workbench.png and OUT/log.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 1 "$@"
out=$(mkdir -p "${1:-package-check}" && cd "${1:-package-check}" && pwd)
root=$out/root
mirror=${DLW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
log=$out/log.txt
: >"$log"
step() {  # NAME COMMAND...: runs it, prints its seconds, stops the script on failure
    local name=$1 start=$SECONDS
    shift
    if "$@" >>"$log" 2>&1; then
        printf '%-28s %5d s\n' "$name" $((SECONDS - start))
    else
        printf '%-28s failed after %d s; the end of %s:\n' "$name" $((SECONDS - start)) "$log"
        tail -20 "$log"
        exit 1
    fi
}

step "build" "$here/scripts/build.sh"
rm -f "$here"/build/dlw_*.deb
step "cpack" sh -c "cd '$here/build' && cpack -G DEB"
deb=$(ls "$here"/build/dlw_*.deb)
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ */  depends: /'
if dpkg-deb -f "$deb" Depends | grep -q -- '-dev'; then
    echo "package.sh: the package depends on a -dev package" >&2
    exit 1
fi

if [[ ! -x $root/bin/sh ]]; then
    step "debootstrap" debootstrap --variant=minbase bookworm "$root" "$mirror"
fi
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    umount "$root/dev/pts" 2>/dev/null || true
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
mkdir -p "$root/dev/pts"
mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive HOME=/root LANG=C.UTF-8 "$@"; }
step "apt-get update" in_root apt-get update -qq
step "apt-get install ./dlw.deb" in_root apt-get install -y -qq "/tmp/${deb##*/}"
step "install xvfb, imagemagick" in_root apt-get install -y -qq --no-install-recommends \
    xvfb xauth imagemagick
in_root dlw --version | tee -a "$log"
step "dlw run (1 epoch)" in_root sh -c \
    'cd /root && rm -rf first && dlw run --preset default --set train.epochs=1 --out first'
in_root sh -c 'tail -3 /root/first/summary.json >/dev/null && dlw compare /root/first' |
    tee -a "$log"
step "dlw report" in_root dlw report /root/first --out /root/report.html
cp "$root/root/report.html" "$out/report.html"
step "dlw-workbench screenshot" in_root sh -c \
    'cd /root && xvfb-run -a -s "-screen 0 1600x1000x24" dlw-workbench --runs /root \
     --screenshot 6000:/root/workbench.png --quit-after 8000'
cp "$root/root/workbench.png" "$out/workbench.png"
echo "ok: $out/report.html, $out/workbench.png"
