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
# and, for the two C library stages (capi.sh, capi-swift-crypto.sh), what they build and check alike:
#   capi_build SUFFIX [ARG...]           scripts/build-capi.sh ARG... --prefix dist$SUFFIX; sets `dist`, `work`
#                           (.build-capi$SUFFIX/ci, created) and `lib` (the installed libkeybound.so.0), and fails
#                           unless the library and the header are installed
#   capi_check_exports LIB HEADER WORK   LIB exports only kb_* symbols, and every function HEADER declares; writes
#                           WORK/exported.txt and WORK/declared.txt, prints the counts
#   capi_check_ldd LIB WORK [LIB...]     ldd LIB (kept in WORK/ldd.txt) names only the loader, libc, libm,
#                           libstdc++ and libgcc_s, plus the libraries named (e.g. libcrypto.so.3)
#   capi_c_tests DIST WORK [VGLIB]       IntegrationTests/c/test_capi.c (recorded and live fixtures) against DIST/lib:
#                           plain (gcc), under
#                           ASan+UBSan (clang), and under valgrind memcheck linked against VGLIB (default DIST/lib);
#                           writes WORK/valgrind-summary.txt
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

capi_build() {
    local suffix="$1"
    shift
    dist="$root/dist$suffix"
    work="$root/.build-capi$suffix/ci"
    lib="$dist/lib/libkeybound.so.0"
    mkdir -p "$work"
    run scripts/build-capi.sh "$@" --prefix "$dist"
    [ -f "$lib" ] && [ -f "$dist/include/keybound.h" ] || fail "dist$suffix/ lacks the library or the header"
}

capi_check_exports() {
    local lib="$1" header="$2" work="$3" others missing extra
    nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u > "$work/exported.txt"
    gcc -E -P -x c "$header" | grep -oE '\bkb_[a-z0-9_]+[[:space:]]*\(' | tr -d '( ' | sort -u > "$work/declared.txt"
    others="$(grep -v '^kb_' "$work/exported.txt" || true)"
    [ -z "$others" ] || fail "symbols other than kb_* are exported: $others"
    missing="$(comm -23 "$work/declared.txt" "$work/exported.txt")"
    [ -z "$missing" ] || fail "declared in keybound.h but not exported: $missing"
    extra="$(comm -13 "$work/declared.txt" "$work/exported.txt")"
    [ -z "$extra" ] || fail "exported but not declared in keybound.h: $extra"
    echo "exported kb_* symbols: $(wc -l < "$work/exported.txt" | tr -d ' ') (declared: $(wc -l < "$work/declared.txt" | tr -d ' '))"
}

capi_check_ldd() {
    local lib="$1" work="$2" allowed='linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1'
    local name unexpected
    shift 2
    for name in "$@"; do allowed+="|${name//./\\.}"; done
    ldd "$lib" | tee "$work/ldd.txt"
    unexpected="$(awk '{print $1}' "$work/ldd.txt" | grep -vE "^($allowed)\$" || true)"
    [ -z "$unexpected" ] || fail "unexpected dependencies: $unexpected"
}

capi_c_tests() {
    local dist="$1" work="$2" vglib="${3:-$1/lib}" vg_status
    local cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -g -I"$dist/include")
    local ldflags=(-L"$dist/lib" -lkeybound -Wl,-rpath,"$dist/lib" -pthread)
    step "C tests: fixtures, plain build (gcc, -std=c11 -Wall -Wextra -Werror -pedantic)"
    run python3 IntegrationTests/c/gen_fixtures.py Tests/KeyboundTests/Fixtures/dpop-requests.json "$work/fixtures.txt"
    # Requests signed at the real time (KB_NOW_CLOCK, requirements, typed claims, Bearer migration); made once, the
    # three runs below finish well inside their tokens' hour.
    run python3 IntegrationTests/c/gen_live_fixtures.py "$work/live.txt"
    run gcc "${cflags[@]}" -O2 IntegrationTests/c/test_capi.c -o "$work/test_capi" "${ldflags[@]}"
    run "$work/test_capi" "$work/fixtures.txt" "$work/live.txt"

    step "C tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
    run clang "${cflags[@]}" -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
        IntegrationTests/c/test_capi.c -o "$work/test_capi_asan" "${ldflags[@]}"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run "$work/test_capi_asan" "$work/fixtures.txt" "$work/live.txt"

    step "C tests under valgrind (memcheck, --leak-check=full)"
    run gcc "${cflags[@]}" -O0 IntegrationTests/c/test_capi.c -o "$work/test_capi_vg" \
        -L"$vglib" -lkeybound -Wl,-rpath,"$vglib" -pthread
    set +e
    valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 \
        --suppressions=IntegrationTests/c/valgrind.supp --log-file="$work/valgrind.log" \
        "$work/test_capi_vg" "$work/fixtures.txt" "$work/live.txt"
    vg_status=$?
    set -e
    grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|suppressed:|All heap blocks" \
        "$work/valgrind.log" | sed 's/^==[0-9]*== *//' | tee "$work/valgrind-summary.txt"
    [ "$vg_status" -eq 0 ] || { tail -60 "$work/valgrind.log"; fail "valgrind reported errors or leaks"; }
}
