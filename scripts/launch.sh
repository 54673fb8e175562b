#!/usr/bin/env bash
# One data-parallel run over N processes on this machine (#18), as
#   torchrun --standalone --nproc_per_node N --no_python dlw run EXPERIMENT --distributed ...
# would start it: each process gets RANK = LOCAL_RANK = 0..N-1, WORLD_SIZE = N,
# MASTER_ADDR = 127.0.0.1 and MASTER_PORT (a free port unless set). When a process fails, the
# others are stopped (SIGTERM) and the script exits with the first failure's status. Ctrl-C (or
# SIGINT to this script) stops every rank after the same step (resume with --resume); a second
# one stops them at once.
# Usage: scripts/launch.sh N EXPERIMENT.json [dlw run options: --out DIR (required), --set ...]
#        scripts/launch.sh N --resume RUN_DIR  (any number of processes: the global batch holds)
#        DLW=path/to/dlw to choose the program (default build/app/dlw), DLW_THREADS=K for
#        `dlw --threads K` in each process (default: the cores divided among the processes).
set -euo pipefail
if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
    echo "launch.sh: needs bash 5.1 or later (wait -n -p), this is $BASH_VERSION" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/launch.sh N EXPERIMENT.json [dlw run options, e.g. --out DIR]" >&2
    echo "       scripts/launch.sh N --resume RUN_DIR" >&2
    exit 2
fi
n=$1
shift
dlw=${DLW:-$here/build/app/dlw}
if ! [ -x "$dlw" ]; then
    echo "launch.sh: $dlw is not an executable; build first (scripts/build.sh) or set DLW" >&2
    exit 2
fi
threads=${DLW_THREADS:-$(($(nproc) / n > 0 ? $(nproc) / n : 1))}
port=${MASTER_PORT:-$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null || echo 29500)}

pids=()
stopAll() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
}
interrupted=0
# Ctrl-C, from the terminal or as `kill -INT` to this script, is forwarded to every rank once: each
# stops after the step they agree on, resumable (exit 130). The ranks run in process groups of
# their own (set -m), so the terminal's Ctrl-C reaches this script alone and no rank gets it
# twice (a second SIGINT makes dlw leave at once). A second Ctrl-C stops them with SIGTERM.
# shellcheck disable=SC2317  # called by the trap
onInt() {
    interrupted=$((interrupted + 1))
    if [ "$interrupted" -gt 1 ]; then
        stopAll
        return
    fi
    for pid in "${pids[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
    done
}
trap onInt INT
trap 'stopAll; exit 143' TERM
trap 'stopAll; exit 129' HUP  # a closed terminal: the ranks are not in its process group
set -m
for ((rank = 0; rank < n; rank++)); do
    RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=$n LOCAL_WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 \
        MASTER_PORT=$port "$dlw" --threads "$threads" run "$@" --distributed &
    pids+=($!)
done
set +m
status=0
running=("${pids[@]}")
while [ ${#running[@]} -gt 0 ]; do
    finished=""
    rc=0
    wait -n -p finished "${running[@]}" || rc=$?
    if [ -z "${finished:-}" ]; then  # a signal interrupted the wait (bash unsets it): wait again
        continue
    fi
    left=()
    for pid in "${running[@]}"; do
        [ "$pid" = "$finished" ] || left+=("$pid")
    done
    running=("${left[@]}")
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
        status=$rc
        # After Ctrl-C (130: a rank that stopped on it) the ranks stop by themselves.
        if [ "$interrupted" -eq 0 ] && [ "$rc" -ne 130 ]; then
            echo "launch.sh: a process (pid $finished) exited with status $rc; stopping the" \
                "others" >&2
            stopAll
        fi
    fi
done
exit "$status"
