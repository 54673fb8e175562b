# Sourced by the scripts that take positional arguments (folders, counts), so that an option is
# never taken for a folder: `scripts/gpu-check.sh --help` once made a folder named --help and
# started a 20-minute build (#15). POSIX sh, for the /bin/sh and the bash scripts alike.

# dlw_args SCRIPT MAX ARG...: on -h or --help prints SCRIPT's header comment (its usage) and
# exits 0; refuses any other argument that starts with '-', or more than MAX arguments, with
# exit 2 and a line naming the script and the argument.
dlw_args() {
    _script=$1 _max=$2
    shift 2
    for _a in "$@"; do
        case $_a in
        -h | --help)
            sed -n '2,/^set -/{/^#/s/^# \{0,1\}//p;}' "$_script"
            exit 0
            ;;
        -*)
            echo "${_script##*/}: unknown option '$_a' (--help shows the usage)" >&2
            exit 2
            ;;
        esac
    done
    if [ "$#" -gt "$_max" ]; then
        echo "${_script##*/}: at most $_max argument(s), got $# (--help shows the usage)" >&2
        exit 2
    fi
}

# dlw_count SCRIPT NAME VALUE MIN: exits 2 naming NAME unless VALUE is a whole number >= MIN.
dlw_count() {
    case $3 in
    '' | *[!0-9]*) ;;
    *) [ "$3" -ge "$4" ] && return 0 ;;
    esac
    echo "${1##*/}: $2 must be a whole number of at least $4, got '$3'" >&2
    exit 2
}
