#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets of Fuzz/ (Swift, -sanitize=fuzzer,address) and runs each for a given time, on its
# committed, minimised seed corpus (Fuzz/seeds/<target>/) plus the seeds generated from our fixtures
# (Fuzz/corpus/<target>/), logging executions and coverage to Fuzz/runs.log.
#
#   scripts/fuzz.sh [--no-log] [SECONDS_PER_TARGET] [TARGET...]      default: 60 seconds, every target
#
# --no-log runs without appending to Fuzz/runs.log (trial runs; scripts/ci/fuzz-smoke.sh is the CI smoke run).
# New inputs found go to Fuzz/corpus-work/<target>/ (not committed); crashes, leaks and timeouts to
# Fuzz/artifacts/<target>/. scripts/fuzz/minimise.sh folds what was found back into Fuzz/seeds (-merge=1).
set -euo pipefail
cd "$(dirname "$0")/.."
log_runs=1
if [ "${1:-}" = "--no-log" ]; then log_runs=0; shift; fi
seconds=${1:-60}
shift || true
targets=("$@")
source scripts/fuzz/lib.sh
[ ${#targets[@]} -gt 0 ] || targets=("${FUZZ_TARGETS[@]}")
python3 scripts/fuzz/make-corpus.py
fuzz_build
status=0
for target in "${targets[@]}"; do
    mkdir -p "Fuzz/corpus-work/$target" "Fuzz/artifacts/$target"
    seeds=()
    [ -d "Fuzz/seeds/$target" ] && seeds+=("Fuzz/seeds/$target")
    echo "=== fuzz-$target for ${seconds}s"
    log=$(mktemp)
    fuzz_run "$target" "$seconds" "Fuzz/artifacts/$target/" "$log" \
        "Fuzz/corpus-work/$target" "${seeds[@]}" "Fuzz/corpus/$target"
    line="$(date -u +%Y-%m-%dT%H:%MZ) fuzz-$target seconds=$seconds runs=$FUZZ_RUNS cov=$FUZZ_COV ft=$FUZZ_FT exit=$FUZZ_RC"
    if [ $log_runs -eq 1 ]; then echo "$line" | tee -a Fuzz/runs.log; else echo "$line (not logged)"; fi
    if [ $FUZZ_RC -ne 0 ]; then tail -40 "$log"; status=1; fi
    rm -f "$log"
done
exit $status
