#!/bin/sh
# Screenshots of the window for docs/ and the README, as a user sees it at 1600×1000 under Xvfb:
# "Compare methods" on the default experiment, caught while duallora trains (running.png), then
# every plot tab once the four runs have finished (compare-tabN.png).
# Usage: scripts/screenshots.sh [OUT (default docs/screenshots)]   (about 2 minutes on 2 cores)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/args.sh"
dlw_args "$0" 1 "$@"
out=${1:-$here/docs/screenshots}
work=$(mktemp -d)
mkdir -p "$out"
xvfb-run -a -s "-screen 0 1600x1000x24" "$here/build/app/dlw-workbench" --runs "$work/runs" \
    --compare --screenshot "15000:$out/running.png" --final-screenshots "$out/compare" \
    2> "$work/stderr.txt"
echo "screenshots in $out; runs in $work/runs"
