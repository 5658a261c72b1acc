#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# Differential testing: random valid and single-fault DPoP requests made by Python's joserfc and
# cryptography, run through `keybound verify --batch`, verdicts compared (docs/differential.md).
# Assumes `swift build` (debug) already ran in the repository root. Needs: python3 with the packages of
# requirements-dev.txt (cryptography, joserfc).
# Environment: DIFF_COUNT (cases for the fixed seed, default 5000), DIFF_EXTRA_COUNT (cases for the extra seed,
# default 2500), DIFF_SEED (the extra seed; default random, printed),
# KEYBOUND (default .build/debug/keybound).
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
KEYBOUND="${KEYBOUND:-.build/debug/keybound}"
COUNT="${DIFF_COUNT:-5000}"
EXTRA_COUNT="${DIFF_EXTRA_COUNT:-2500}"
FIXED_SEED=20260611
EXTRA_SEED="${DIFF_SEED:-$(python3 -c 'import secrets; print(secrets.randbelow(2**31))')}"

if [[ ! -x "$KEYBOUND" ]]; then
    echo "differential: $KEYBOUND is missing: run 'swift build' first" >&2
    exit 2
fi
python3 -c 'import cryptography, joserfc' || {
    echo "differential: install the Python packages: python3 -m pip install -r requirements-dev.txt" >&2
    exit 2
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/keybound-diff.XXXXXX")"
status=0
for run in "$FIXED_SEED:$COUNT" "$EXTRA_SEED:$EXTRA_COUNT"; do
    seed="${run%%:*}"
    count="${run##*:}"
    echo "+ differential: seed $seed, $count cases (reproduce: python3 scripts/differential/generate.py --seed $seed --count $count --out DIR && python3 scripts/differential/run.py --cases DIR --keybound $KEYBOUND)"
    out="$WORK/seed-$seed"
    python3 -W ignore scripts/differential/generate.py --seed "$seed" --count "$count" --out "$out"
    if ! python3 scripts/differential/run.py --cases "$out" --keybound "$KEYBOUND"; then
        echo "differential: DISAGREEMENTS for seed $seed; cases, outputs and disagreements kept in $out" >&2
        status=1
    fi
done
if [[ $status -eq 0 ]]; then
    rm -rf "$WORK"
    echo "differential: both seeds agree ($FIXED_SEED, $EXTRA_SEED)"
fi
exit $status
