#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# The instruction gate (BENCHMARKS.md "The instruction gate"): Keybound's own instructions per request, counted by
# callgrind on fixed inputs, may not rise more than the baseline's tolerance (3 %) above
# Benchmarks/callgrind-baseline.json. Wall-clock figures play no part: counts do not depend on the machine's load.
#
# For each scenario (warm, new-token, new-client-key): `keybound bench --callgrind-inputs` writes the requests natively
# (committed issuer key, client keys from a fixed seed, fixed clock and jti), then callgrind runs
# `keybound bench --callgrind-run` on a stripped copy of the binary (valgrind 3.19 cannot read Swift 6.3's DWARF 5),
# collecting only inside three regions: Keybound verifying every request once, the crypto library doing the same
# requests' signature work the way Keybound's backend does it, and the SHA-256 of each request's access token.
#   own = (keybound - crypto - digest) / requests; the token SHA-256 is reported on its own line.
#
# Reuses the release build CI already makes (the allocation stage: swift test -c release --scratch-path
# .build-release); builds the keybound product there only when it is missing.
# Environment: KEYBOUND_CALLGRIND_BIN (a keybound binary to measure instead), KEYBOUND_CALLGRIND_BACKEND (openssl, or
# swift-crypto with a binary built with the SwiftCrypto trait), KEYBOUND_CALLGRIND_REQUESTS (default 400),
# KEYBOUND_CALLGRIND_BATCH_REQUESTS (requests of the batch-line point, default 1000),
# KEYBOUND_CALLGRIND_PROFILE=1 (also print each scenario's own instructions by stage; two more callgrind runs each),
# KEYBOUND_CALLGRIND_WRITE=path (write the measured figures as a baseline file there; does not gate),
# KEYBOUND_CALLGRIND_KEEP=dir (keep the inputs and callgrind outputs there).
# Needs: valgrind, python3, strip.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

need_apt valgrind binutils
BIN="${KEYBOUND_CALLGRIND_BIN:-.build-release/release/keybound}"
if [[ ! -x "$BIN" ]]; then
    run swift build -c release --scratch-path .build-release --product keybound
fi
BACKEND="${KEYBOUND_CALLGRIND_BACKEND:-openssl}"
REQUESTS="${KEYBOUND_CALLGRIND_REQUESTS:-400}"
BASELINE="Benchmarks/callgrind-baseline.json"
if [[ -n "${KEYBOUND_CALLGRIND_KEEP:-}" ]]; then
    work="$KEYBOUND_CALLGRIND_KEEP"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    remove_at_exit "$work"
fi

cp "$BIN" "$work/keybound"
strip -g "$work/keybound"

collect() { # OUT REGION... : one callgrind run collecting inside the named regions
    local out="$1"
    shift
    local toggles=()
    for region in "$@"; do toggles+=("--toggle-collect=$region"); done
    valgrind --tool=callgrind --collect-atstart=no "${toggles[@]}" --callgrind-out-file="$out" \
        "$work/keybound" bench --callgrind-run "$work/$scenario.jsonl" --backend "$BACKEND" >"$out.stdout" 2>"$out.log" \
        || { cat "$out.log" >&2; fail "callgrind run of $scenario failed"; }
}

for scenario in warm new-token new-client-key; do
    step "$scenario: $REQUESTS requests on $BACKEND"
    "$BIN" bench --callgrind-inputs "$scenario" --callgrind-requests "$REQUESTS" >"$work/$scenario.jsonl"
    collect "$work/$scenario.out" kbb_region_keybound kbb_region_crypto kbb_region_digest
    cat "$work/$scenario.out.stdout"
    callgrind_annotate --inclusive=yes --threshold=100 "$work/$scenario.out" >"$work/$scenario.inclusive.txt"
    if [[ "${KEYBOUND_CALLGRIND_PROFILE:-0}" == 1 ]]; then
        collect "$work/$scenario.kb.out" kbb_region_keybound
        collect "$work/$scenario.crypto.out" kbb_region_crypto kbb_region_digest
        callgrind_annotate --threshold=100 "$work/$scenario.kb.out" >"$work/$scenario.kb.txt"
        callgrind_annotate --threshold=100 "$work/$scenario.crypto.out" >"$work/$scenario.crypto.txt"
    fi
done

# batch-line: the CLI's own work per batch line (read, split, JSON request object, answer line), counted on the real
# `keybound verify --batch` over BATCH_REQUESTS warm requests plus the warm-up line: callgrind collects inside the
# batch loop (Verify.runBatch), and the verifier's own entry point, called once per line, is subtracted inclusive.
#   batch-line = (runBatch - Verifier.verify(method:url:...)) / lines
BATCH_REQUESTS="${KEYBOUND_CALLGRIND_BATCH_REQUESTS:-1000}"
step "batch-line: $BATCH_REQUESTS warm requests through keybound verify --batch"
"$BIN" bench --callgrind-inputs warm --callgrind-requests "$BATCH_REQUESTS" >"$work/batch-source.jsonl"
python3 scripts/lib/callgrind_report.py --batch-inputs "$work/batch-source.jsonl" "$work"
valgrind --tool=callgrind --collect-atstart=no '--toggle-collect=$s8keybound6VerifyV8runBatch*' \
    --callgrind-out-file="$work/batch-line.out" \
    "$work/keybound" verify --jwks "$work/batch-jwks.json" --issuer https://issuer.example \
    --audience https://api.example --now 1800000000 --batch "$work/batch-line.jsonl" \
    >"$work/batch-line.stdout" 2>"$work/batch-line.log" \
    || { cat "$work/batch-line.log" >&2; fail "callgrind run of keybound verify --batch failed"; }
callgrind_annotate --inclusive=yes --threshold=100 "$work/batch-line.out" >"$work/batch-line.inclusive.txt"

step "own instructions per request against $BASELINE"
python3 scripts/lib/callgrind_report.py "$work" "$BACKEND" "$REQUESTS" "$BASELINE" "${KEYBOUND_CALLGRIND_WRITE:-}"
