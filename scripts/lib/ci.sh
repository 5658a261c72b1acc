# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# What every CI stage (scripts/ci/*.sh) shares. Sourced, never run (.ci/run runs scripts/ci/*.sh only):
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
# Sourcing it sets `root` to the repository root and changes into it, names the stage (`ci_name`, the script's file
# name, as `fail` prints it) and installs one EXIT trap that cleans up after the stage (see at_exit). It defines:
#   step TEXT...            a heading: a blank line, then "==> TEXT" (CI_STEP_MARK replaces "==>")
#   run CMD [ARG...]        prints "+ CMD ARG..." on stdout, then runs the command
#   fail TEXT...            prints "<stage>.sh: FAILED: TEXT" on stderr and exits 1
#   need_apt PKG...         installs the Debian packages dpkg does not have (apt-get update once, then install)
#   need_pip FILE [NAME...] pip-installs the pinned requirements FILE unless every pin `NAME==VERSION` in it (or
#                           only the NAMEs given) is installed at that version
#   free_port               prints a free TCP port on 127.0.0.1
#   wait_port PORT [TRIES] [PID]   waits until 127.0.0.1:PORT accepts connections, trying every 0.05 s, 100 times
#                           unless TRIES says otherwise; fails early when PID (the server) has exited. Status 1 when
#                           the port never opened.
#   track_pid PID           a background process to kill (and wait for) when the stage exits
#   at_exit CMD             runs CMD (a string for eval) when the stage exits, after the tracked processes are
#                           stopped; in the order registered
#   remove_at_exit PATH...  removes the files or directories (rm -rf) when the stage exits, last
# The stage keeps its own `set -euo pipefail`; the EXIT trap keeps the stage's exit status. A stage registers its
# clean-ups with at_exit, track_pid and remove_at_exit: a `trap ... EXIT` of its own would replace this one.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
ci_name="$(basename "$0")"

step() { printf '\n%s %s\n' "${CI_STEP_MARK:-==>}" "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }
fail() { printf '%s: FAILED: %s\n' "$ci_name" "$*" >&2; exit 1; }

ci_apt_updated=0
need_apt() {
    local pkg ci_missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || ci_missing+=("$pkg")
    done
    [ ${#ci_missing[@]} -gt 0 ] || return 0
    if [ "$ci_apt_updated" = 0 ]; then
        run apt-get update -qq
        ci_apt_updated=1
    fi
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${ci_missing[@]}"
}

need_pip() {
    local file="$1"
    shift
    python3 - "$file" "$@" <<'PY' && return 0
import re, sys
from importlib import metadata
path, names = sys.argv[1], {n.lower() for n in sys.argv[2:]}
for line in open(path):
    pin = re.match(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
    if not pin or (names and pin[1].lower() not in names):
        continue
    try:
        if metadata.version(pin[1]) != pin[2]:
            sys.exit(1)
    except metadata.PackageNotFoundError:
        sys.exit(1)
PY
    run python3 -m pip install -q -r "$file"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
    local port="$1" tries="${2:-100}" pid="${3:-}" _
    for _ in $(seq "$tries"); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.05
    done
    return 1
}

ci_pids=()
ci_exit_cmds=()
ci_remove_paths=()
track_pid() { ci_pids+=("$1"); }
at_exit() { ci_exit_cmds+=("$1"); }
remove_at_exit() { ci_remove_paths+=("$@"); }
ci_cleanup() {
    local pid cmd
    set +e
    for pid in "${ci_pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${ci_pids[@]}"; do wait "$pid" 2>/dev/null; done
    for cmd in "${ci_exit_cmds[@]}"; do eval "$cmd"; done
    [ ${#ci_remove_paths[@]} -eq 0 ] || rm -rf "${ci_remove_paths[@]}"
}
trap ci_cleanup EXIT
