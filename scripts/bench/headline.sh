#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# The headline table of BENCHMARKS.md: Keybound on both crypto backends against the raw crypto libraries and the
# libraries a service would otherwise use by hand (jwt-kit in Swift, PyJWT and joserfc in Python), all in one sitting,
# back to back, on the same scenario: a warm DPoP resource request (the access token already seen, RS256; a new ES256
# proof from a known client key), one thread, a fixed time per row, every row pinned to the same CPU. Not part of CI.
#
#   scripts/bench/headline.sh OUT.md             # the markdown block on standard output and in OUT.md
#   scripts/bench/headline.sh OUT.md --update    # and put it into BENCHMARKS.md and README.md between their markers
#
# Rows come from each harness's own JSON: `keybound bench --json` (the default build: raw OpenSSL and Keybound on
# OpenSSL; the SwiftCrypto-trait build: raw swift-crypto and Keybound on swift-crypto), the Benchmarks/ package's Peers
# suite (`--format jmh`: jwt-kit, and Keybound on both backends in the same harness), and
# python/bench/bench_verify.py --headline-json (raw ES256 through `cryptography`, the keybound package, PyJWT and
# joserfc by hand). BENCHMARKS.md "Headline" says what each row does and where the rows differ.
#
# Builds first, incrementally, each in its usual scratch path (one build per package and configuration):
#   swift build -c release --product keybound                                               (.build)
#   swift build -c release --traits default,SwiftCrypto --scratch-path .build-sc --product keybound   (.build-sc)
#   scripts/build-capi.sh --prefix .build-headline/dist                                      (.build-capi)
#   (cd Benchmarks && swift package --disable-sandbox benchmark list --target Peers)        (Benchmarks/.build)
# and a Python virtualenv with cryptography, PyJWT, joserfc (.build-python/venv, the pins of
# python/requirements-ci.txt; made when missing).
# Environment: KEYBOUND_HEADLINE_SECONDS (time per row, default 5), KEYBOUND_HEADLINE_CPU (the CPU every row is pinned
# to, default 0), KEYBOUND_HEADLINE_NO_BUILD=1 (use what is built), KEYBOUND_HEADLINE_TIMEOUT (seconds a row may take,
# default 600; a row that times out, fails or refuses a request fails the script), KEYBOUND_HEADLINE_WORK (the raw
# JSON files and the sitting's details; default .build-headline), KEYBOUND_HEADLINE_RENDER_ONLY=1 (no build, no run:
# the block again from the last sitting's files in KEYBOUND_HEADLINE_WORK).
# Needs: the Swift toolchain, python3 (3.9+), taskset (util-linux), timeout (coreutils).
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

out="${1:-}"
[ -n "$out" ] || fail "usage: scripts/bench/headline.sh OUT.md [--update]"
update=0
[ "${2:-}" = "--update" ] && update=1
seconds="${KEYBOUND_HEADLINE_SECONDS:-5}"
cpu="${KEYBOUND_HEADLINE_CPU:-0}"
limit="${KEYBOUND_HEADLINE_TIMEOUT:-600}"
work="${KEYBOUND_HEADLINE_WORK:-$root/.build-headline}"
mkdir -p "$work" "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
# Progress to standard error; the markdown block alone to standard output (descriptor 3) at the end.
exec 3>&1 1>&2

py="$root/.build-python/venv/bin/python"
render_only="${KEYBOUND_HEADLINE_RENDER_ONLY:-0}"
if [ "$render_only" != 1 ] && [ "${KEYBOUND_HEADLINE_NO_BUILD:-0}" != 1 ]; then
    step "builds (incremental)"
    run swift build -c release --product keybound
    run swift build -c release --traits default,SwiftCrypto --scratch-path .build-sc --product keybound
    run scripts/build-capi.sh --prefix "$work/dist"
    # The benchmark plugin builds its tool and the suite with its own parameters: `list` makes both, so the timed run
    # below builds nothing.
    (cd Benchmarks && run swift package --disable-sandbox benchmark list --target Peers)
    [ -x "$py" ] || run python3 -m venv "$root/.build-python/venv"
    pins=()
    while read -r pin; do
        pins+=("$pin")
    done < <(grep -E '^(cryptography|pyjwt|joserfc|cffi)==' python/requirements-ci.txt)
    "$py" -c 'import sys; from importlib import metadata as m
sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))' "${pins[@]}" 2>/dev/null \
        || run "$py" -m pip install -q --disable-pip-version-check "${pins[@]}"
fi
openssl_bin="$root/.build/release/keybound"
sc_bin="$root/.build-sc/release/keybound"
lib="$work/dist/lib/libkeybound.so.0"
if [ "$render_only" != 1 ]; then
    for file in "$openssl_bin" "$sc_bin" "$lib" "$py"; do
        [ -e "$file" ] || fail "missing $file (run without KEYBOUND_HEADLINE_NO_BUILD)"
    done
fi

if [ "$render_only" = 1 ]; then # the sitting's own time per row and CPU, for the commands the table prints
    [ -f "$work/sitting.json" ] || fail "no complete sitting in $work (run without KEYBOUND_HEADLINE_RENDER_ONLY)"
    seconds="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"])' "$work/sitting.json")"
    cpu="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cpu"])' "$work/sitting.json")"
fi
# The commands as the table prints them (relative to the repository root).
warm="--scenario warm --threads 1 --seconds $seconds --skip-replay --json"
cmd_openssl="taskset -c $cpu .build/release/keybound bench --backend openssl $warm"
cmd_sc="taskset -c $cpu .build-sc/release/keybound bench --backend swift-crypto $warm"
cmd_peers="cd Benchmarks && KEYBOUND_PEERS_SECONDS=$seconds taskset -c $cpu swift package --disable-sandbox benchmark"
cmd_peers+=" --target Peers --filter 'Peers\\..*\\.ES256\\.warm' --format jmh --path DIR"
cmd_python="PYTHONPATH=python/src KEYBOUND_LIB=$(realpath --relative-to="$root" "$lib") .build-python/venv/bin/python"
cmd_python+=" python/bench/bench_verify.py --cpu $cpu --seconds $seconds --headline-json FILE"
row() { # NAME COMMAND...: one row's harness, bounded, failing the script when it fails
    local name="$1"
    shift
    step "$name" >&2
    printf '+ %s\n' "$*" >&2
    timeout --kill-after=10 "$limit" "$@" || fail "$name failed or took more than $limit s (status $?)"
}

if [ "$render_only" != 1 ]; then
    load_before="$(uptime)"
    started="$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "load before: $load_before"
    rm -rf "$work/sitting.json" "$work/openssl.json" "$work/swift-crypto.json" "$work/python.json"
    rm -rf "$work/peers" && mkdir -p "$work/peers"
    row "keybound bench, OpenSSL (default build)" \
        taskset -c "$cpu" "$openssl_bin" bench --backend openssl --scenario warm --threads 1 --seconds "$seconds" \
        --skip-replay --json >"$work/openssl.json"
    row "keybound bench, swift-crypto (SwiftCrypto trait)" \
        taskset -c "$cpu" "$sc_bin" bench --backend swift-crypto --scenario warm --threads 1 --seconds "$seconds" \
        --skip-replay --json >"$work/swift-crypto.json"
    (cd Benchmarks && export KEYBOUND_PEERS_SECONDS="$seconds" && row "Benchmarks/ Peers: jwt-kit and Keybound" \
        taskset -c "$cpu" swift package --disable-sandbox benchmark --target Peers --filter 'Peers\..*\.ES256\.warm' \
        --format jmh --path "$work/peers" --no-progress)
    (export PYTHONPATH="$root/python/src" KEYBOUND_LIB="$lib" \
        && row "Python: raw cryptography, keybound, PyJWT, joserfc" \
        "$py" python/bench/bench_verify.py --cpu "$cpu" --seconds "$seconds" --headline-json "$work/python.json")
    load_after="$(uptime)"
    echo "load after: $load_after"
    commit="$(git rev-parse --short HEAD)"
    git diff --quiet HEAD -- Sources Package.swift Benchmarks python scripts || commit="$commit+changes"
    machine="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), nproc $(nproc)"
    # What the table's first line says about the sitting, kept beside the JSON files for KEYBOUND_HEADLINE_RENDER_ONLY.
    python3 -c 'import json, sys; json.dump(dict(zip(("started", "commit", "machine", "load_before", "load_after",
        "seconds", "cpu"), sys.argv[2:])), open(sys.argv[1], "w"), indent=1)' "$work/sitting.json" "$started" \
        "$commit" "$machine" "$load_before" "$load_after" "$seconds" "$cpu"
fi
[ -f "$work/sitting.json" ] || fail "no complete sitting in $work (run without KEYBOUND_HEADLINE_RENDER_ONLY)"

step "the table"
python3 - "$work" "$out" "$update" "$cmd_openssl" "$cmd_sc" "$cmd_peers" "$cmd_python" <<'PY'
import glob, json, re, sys, textwrap

work, out, update, cmd_openssl, cmd_sc, cmd_peers, cmd_python = sys.argv[1:]
sitting = json.load(open(f"{work}/sitting.json"))
started, commit, machine, seconds, cpu = (sitting[k] for k in ("started", "commit", "machine", "seconds", "cpu"))
load_before, load_after = sitting["load_before"], sitting["load_after"]


def fail(text):
    sys.exit(f"headline.sh: FAILED: {text}")


def warm(path, backend):
    report = json.load(open(path))
    rows = [s for s in report["scenarios"] if s["name"] == "warm" and s["threads"] == 1 and s["backend"] == backend]
    if len(rows) != 1:
        fail(f"{path}: no warm 1-thread row for {backend}")
    row = rows[0]
    if row["accepted"] != row["requests"] or row["requests"] == 0:
        fail(f"{path}: {row['accepted']} of {row['requests']} requests accepted")
    return report, row


openssl_report, openssl_row = warm(f"{work}/openssl.json", "openssl")
sc_report, sc_row = warm(f"{work}/swift-crypto.json", "swift-crypto")
if "raw_swift_crypto_per_second" not in sc_row:
    fail("the swift-crypto run has no raw swift-crypto figure")

peers = {}
for path in glob.glob(f"{work}/peers/*.jmh.json"):
    for element in json.load(open(path)):
        name = element["benchmark"].rsplit(".Peers.", 1)[-1]
        wall = (element.get("secondaryMetrics") or {}).get("Time (wall clock)")
        if wall is None:
            fail(f"{path}: {name} has no wall-clock metric")
        # The harness's mean time per request (µs), as a rate: requests / time over the whole run.
        peers[name] = 1e6 / wall["score"]
for name in ("jwtkit.ES256.warm", "keybound.openssl.ES256.warm", "keybound.swift-crypto.ES256.warm"):
    if name not in peers:
        fail(f"the Peers run has no {name} (found: {sorted(peers)})")

python = json.load(open(f"{work}/python.json"))
py = {row["name"]: row for row in python["rows"]}

raw_openssl = openssl_row["baseline_per_second"]
raw_sc = sc_row["raw_swift_crypto_per_second"]
raw_py = py["raw ES256 verify"]["per_second"]
openssl_version = re.sub(r"\s+\d+ \w+ \d{4}$", "", openssl_report["openssl_version"])
py_openssl = re.sub(r"\s+\d+ \w+ \d{4}$", "", python["cryptography_openssl"])
sc_lib = "swift-crypto (BoringSSL)"
rows = [
    # name, crypto library, rate, own raw rate, command
    ("raw OpenSSL ES256 verify", openssl_version, raw_openssl, raw_openssl, cmd_openssl),
    ("**Keybound**, OpenSSL backend (default)", openssl_version, openssl_row["verifies_per_second"], raw_openssl,
     cmd_openssl),
    ("raw swift-crypto ES256 verify", sc_lib, raw_sc, raw_sc, cmd_sc),
    ("**Keybound**, swift-crypto backend (trait)", sc_lib, sc_row["verifies_per_second"], raw_sc, cmd_sc),
    ("Keybound, OpenSSL, in the Peers harness", openssl_version, peers["keybound.openssl.ES256.warm"], raw_openssl,
     cmd_peers),
    ("Keybound, swift-crypto, in the Peers harness", sc_lib, peers["keybound.swift-crypto.ES256.warm"], raw_sc,
     cmd_peers),
    ("jwt-kit 5.8.0 by hand (Peers harness)", sc_lib, peers["jwtkit.ES256.warm"], raw_sc, cmd_peers),
    ("raw ES256 verify from Python (`cryptography`)", py_openssl + " (bundled by `cryptography`)", raw_py, raw_py,
     cmd_python),
    ("**Keybound** Python package", openssl_version + " (through libkeybound)", py["keybound"]["per_second"],
     raw_openssl, cmd_python),
    (f"{py['PyJWT']['library']} by hand", py_openssl + " (`cryptography`)", py["PyJWT"]["per_second"], raw_py,
     cmd_python),
    (f"{py['joserfc']['library']} by hand", py_openssl + " (`cryptography`)", py["joserfc"]["per_second"], raw_py,
     cmd_python),
]

lines = [
    "<!-- headline:begin (scripts/bench/headline.sh writes this block; paste its output over it) -->",
    f"One sitting, {started}, commit {commit}: every row back to back, {seconds} s each, 1 thread, pinned to CPU "
    f"{cpu} (`taskset`); {machine}; Python {python['python']}. Load (`uptime`) before: "
    f"`{load_before.strip()}`; after: `{load_after.strip()}`.",
    "",
    "| row | crypto library | requests/s | × raw OpenSSL ES256 | × its library's raw ES256 | command |",
    "| --- | --- | ---: | ---: | ---: | --- |",
]
for name, library, rate, own, command in rows:
    lines.append(f"| {name} | {library} | {rate:,.0f} | {rate / raw_openssl:.3f} | {rate / own:.3f} | `{command}` |")
lines += [
    "",
    "Within one harness (the steadier figures: `keybound bench` alternates the two sides in rounds, Peers and Python "
    "run theirs one after the other in one process): "
    f"`keybound bench`: Keybound on OpenSSL **{openssl_row['ratio_to_openssl']:.3f}**"
    f" × raw OpenSSL (CPU {openssl_row['cpu_ratio_to_openssl']:.3f}), on swift-crypto "
    f"**{sc_row['ratio_to_swift_crypto']:.3f}** × raw swift-crypto ({sc_row['ratio_to_openssl']:.3f} × raw OpenSSL); "
    f"Peers: Keybound **{peers['keybound.openssl.ES256.warm'] / peers['jwtkit.ES256.warm']:.2f}×** jwt-kit on "
    "OpenSSL, "
    f"**{peers['keybound.swift-crypto.ES256.warm'] / peers['jwtkit.ES256.warm']:.2f}×** on swift-crypto; Python: "
    f"keybound **{py['keybound']['per_second'] / py['PyJWT']['per_second']:.2f}×** PyJWT, "
    f"**{py['keybound']['per_second'] / py['joserfc']['per_second']:.2f}×** joserfc, "
    f"{py['keybound']['per_second'] / raw_py:.2f}× a bare ES256 verify through `cryptography`.",
]
shared = min([row["per_second"] * row["cpu_us_per_request"] / 1e6 for row in python["rows"]]
             + [row["verifies_per_second"] / row["cpu_verifies_per_second"] for row in (openssl_row, sc_row)]) < 0.9
shares = [f"`keybound bench` {row['verifies_per_second'] / row['cpu_verifies_per_second']:.2f} ({name})"
          for name, row in (("OpenSSL", openssl_row), ("swift-crypto", sc_row))]
py_shares = [row["per_second"] * row["cpu_us_per_request"] / 1e6 for row in python["rows"]]
shares.append(f"Python {min(py_shares):.2f}–{max(py_shares):.2f}")
lines += [
    "",
    "The share of the CPU each harness's timed loop got (CPU time ÷ wall time; 1.00 when it had the CPU to itself, "
    "Peers does not measure it): " + ", ".join(shares) + "."
    + (" **The machine was shared during this sitting**: the ratios within one harness hold, the absolute rates and "
       "the ratios across harnesses do not; run it again on a quiet machine before quoting them." if shared else ""),
    "<!-- headline:end -->",
]
for name, row in (("OpenSSL", openssl_row), ("swift-crypto", sc_row)):
    if row["elapsed_seconds"] < 0.9 * float(seconds):
        print(f"headline.sh: warning: Keybound on {name} ran {row['elapsed_seconds']} s of {seconds} s "
              "(keybound bench sizes its warm pool from the raw OpenSSL rate)", file=sys.stderr)


def wrap(text):
    """A paragraph in lines of at most 120 characters (tables and markers stay as they are)."""
    if text.startswith(("|", "<!--")) or not text:
        return text
    return textwrap.fill(text, width=120, break_long_words=False, break_on_hyphens=False)


block = "\n".join(wrap(line) for line in lines) + "\n"
readme = (
    "<!-- headline-ratios:begin (scripts/bench/headline.sh) -->"
    f"On a warm DPoP request (a cached RS256 access token, a new ES256 proof, 1 thread) Keybound verifies at "
    f"**{openssl_row['verifies_per_second'] / raw_openssl:.2f}×** the rate of a bare OpenSSL ES256 verify on its "
    f"OpenSSL backend and **{sc_row['verifies_per_second'] / raw_sc:.2f}×** a bare swift-crypto verify on its "
    f"swift-crypto backend; that is **{peers['keybound.openssl.ES256.warm'] / peers['jwtkit.ES256.warm']:.1f}×** "
    f"(OpenSSL) and **{peers['keybound.swift-crypto.ES256.warm'] / peers['jwtkit.ES256.warm']:.1f}×** (swift-crypto) "
    f"the same checks written by hand with jwt-kit, and from Python "
    f"**{py['keybound']['per_second'] / py['PyJWT']['per_second']:.1f}×** PyJWT and "
    f"**{py['keybound']['per_second'] / py['joserfc']['per_second']:.1f}×** joserfc by hand, which verify the "
    f"token on every request "
    f"(one sitting{' on a shared machine, a draft' if shared else ''}, {started}; "
    "[BENCHMARKS.md](BENCHMARKS.md#headline) has the table and the commands)."
    "<!-- headline-ratios:end -->"
)
readme = textwrap.fill(readme, width=120, break_long_words=False, break_on_hyphens=False)
with open(out, "w", encoding="utf-8") as handle:
    handle.write(block + "\nREADME.md:\n\n" + readme + "\n")
sys.stdout.write(block + "\nREADME.md:\n\n" + readme + "\n")

if update == "1":
    for path, begin, end, text in (
            ("BENCHMARKS.md", "<!-- headline:begin", "<!-- headline:end -->", block.rstrip("\n")),
            ("README.md", "<!-- headline-ratios:begin", "<!-- headline-ratios:end -->", readme)):
        content = open(path, encoding="utf-8").read()
        first, last = content.find(begin), content.find(end)
        if first < 0 or last < first:
            fail(f"{path} has no {begin} … {end} markers")
        content = content[:first] + text + content[last + len(end):]
        open(path, "w", encoding="utf-8").write(content)
        print(f"headline.sh: updated {path}", file=sys.stderr)
PY
[ -s "$out" ] || fail "no table written to $out"
cat "$out" >&3
