#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# keybound-serve's own instructions per auth request (BENCHMARKS.md "Forward-auth service"), counted by callgrind
# rather than timed, so that the machine's load plays no part. Not part of CI.
#
#   scripts/bench/serve-callgrind.sh
#
# The release keybound-serve (a stripped copy: valgrind 3.19 cannot read Swift 6.3's DWARF 5) runs under callgrind with
# the in-process replay store and the configuration of scripts/bench/sidecar-load.sh. `sidecar_requests.py send` then
# sends WARM + REQUESTS distinct pre-made warm requests (RS256 tokens of 16 client keys, a fresh ES256 proof each, the
# headers nginx would add) over CONNECTIONS keep-alive connections, one request in flight at a time: after the WARM
# first (every token and proof key is cached by then) `callgrind_control --zero`, after the last `--dump`. In that
# window:
#   total   every instruction of the process (every thread), per request;
#   verify  the inclusive instructions of Keybound's `Verifier.verify(_:mode:requirements:now:)` (the library's own
#           work on the same requests, signature checks and replay cache included), per request;
#   own     total - verify: keybound-serve's part (NIO's socket reads and writes on the user side, HTTP/1 decoding and
#           encoding, the header reads, the trusted-proxy and route checks, the answer, metrics, retain/release).
# The kernel's side of the socket calls is not counted here (perf stat on the load run, BENCHMARKS.md).
# Settings (environment): REQUESTS (2000), WARM (64), CONNECTIONS (4), KEYBOUND_SERVE (the binary; by default the
# release build, brought up to date here), KEEP (a folder to keep the callgrind output and the annotated profiles in), TOP (how many
# of keybound-serve's own functions to list by inclusive instructions; 40).
# The proofs live 60 s (the verifier's default) and are made once the server listens: REQUESTS must be sent within
# that (2,000 take about 30 s under callgrind here).
# Needs: valgrind, python3 with cryptography, strip.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
here="$root/scripts/bench"

: "${REQUESTS:=2000}" "${WARM:=64}" "${CONNECTIONS:=4}" "${TOP:=40}"
command -v valgrind >/dev/null || fail "valgrind is not installed (apt-get install valgrind)"
if [ -z "${KEYBOUND_SERVE:-}" ]; then
    run nice swift build -c release --package-path Integrations --product keybound-serve
    KEYBOUND_SERVE="$(swift build -c release --package-path Integrations --show-bin-path)/keybound-serve"
fi

if [ -n "${KEEP:-}" ]; then
    work="$KEEP"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    remove_at_exit "$work"
fi
cp "$KEYBOUND_SERVE" "$work/keybound-serve"
strip -g "$work/keybound-serve"

step "keys: an RS256 issuer, 16 ES256 clients with a token each"
run python3 "$here/sidecar_requests.py" keys "$work" --clients 16
port="$(free_port)"
sed -e "s|@SERVE_PORT@|$port|" "$here/serve.toml.in" > "$work/serve.toml"

step "keybound-serve under callgrind"
rm -f "$work/callgrind.out" "$work/callgrind.out.1"
echo "+ valgrind --tool=callgrind $work/keybound-serve $work/serve.toml &"
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$work/keybound-serve" "$work/serve.toml" \
    > "$work/valgrind.log" 2>&1 &
serve_pid=$!
track_pid "$serve_pid"
wait_port "$port" 2400 "$serve_pid" || { cat "$work/valgrind.log"; fail "keybound-serve did not start under callgrind"; }

step "$WARM + $REQUESTS requests over $CONNECTIONS connections; counted: the last $REQUESTS"
run python3 "$here/sidecar_requests.py" make "$work" "$work/requests" --count $(( WARM + REQUESTS )) --files 1 \
    --url "https://api.example/api/x"
run python3 "$here/sidecar_requests.py" send "$work/requests.0" --port "$port" --connections "$CONNECTIONS" \
    --warm "$WARM" --after-warm "callgrind_control --zero $serve_pid >/dev/null" \
    --after "callgrind_control --dump $serve_pid >/dev/null"
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "keybound-serve did not stop cleanly; $work/valgrind.log"

step "instructions per request"
callgrind_annotate --inclusive=yes --threshold=100 "$work/callgrind.out.1" > "$work/inclusive.txt"
python3 - "$work/callgrind.out.1" "$work/inclusive.txt" "$REQUESTS" "$TOP" <<'PY'
import re, sys
dump, inclusive, requests, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
total = next(int(l.split()[1]) for l in open(dump) if l.startswith("totals:"))
# Keybound.Verifier.verify(_: DPoPRequest, mode:requirements:now:) throws(KeyboundError), the synchronous entry point.
verify_symbol = ("$s8Keybound8VerifierC6verify_4mode12requirements3nowAA15VerifiedRequestVAA11DPoPRequestV_AA16"
                 "VerificationModeOAA12RequirementsVs5Int64VSgtAA0A5ErrorVYKF")
rows = []
for line in open(inclusive):
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S+?):(\S+)", line)
    if m:
        rows.append((int(m[1].replace(",", "")), m[3]))
verify = sum(count for count, name in rows if name == verify_symbol)
if verify == 0:
    sys.exit("serve-callgrind: Verifier.verify not found in the profile (inlined?)")
own = total - verify
print(f"requests counted: {requests}")
print(f"total instructions per request:            {total / requests:>12,.0f}")
print(f"Keybound's verify per request (inclusive): {verify / requests:>12,.0f}")
print(f"keybound-serve's own per request:          {own / requests:>12,.0f}")
print(f"\nkeybound-serve's own code by inclusive instructions per request (top {top}; nested, so they overlap):")
shown = 0
for count, name in rows:
    if shown >= top:
        break
    if re.search(r"KeyboundServe|ServerSupport|HTTPTypes|NIOHTTP1|swift_retain$|swift_release$|swift_alloc|^malloc$|^free$",
                 name) and count < total:
        print(f"{count / requests:>10,.0f}  {name}")
        shown += 1
PY
