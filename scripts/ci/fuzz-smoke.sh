#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI smoke run of the libFuzzer targets: builds the Fuzz package once (Swift, -sanitize=fuzzer,address,
# as scripts/fuzz.sh does), then runs every target for FUZZ_SMOKE_SECONDS (default 15) on its committed, minimised
# seeds (Fuzz/seeds/<target>/). Fails on any crash, leak, timeout or out-of-memory, and on a target without seeds.
# Never appends to Fuzz/runs.log; new inputs go to a temporary directory; a failing input is copied to
# Fuzz/artifacts/<target>/ and its libFuzzer log printed.
#
#   scripts/ci/fuzz-smoke.sh [TARGET...]        default: every target
#
# Needs: the Swift toolchain (its clang runtime and lld), libssl-dev. Independent of the main package's .build.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
seconds=${FUZZ_SMOKE_SECONDS:-15}
targets=("$@")
source scripts/fuzz/lib.sh
[ ${#targets[@]} -gt 0 ] || targets=("${FUZZ_TARGETS[@]}")

start=$(date +%s)
fuzz_build
echo "fuzz build: $(( $(date +%s) - start ))s"

work=$(mktemp -d)
remove_at_exit "$work"
status=0
for target in "${targets[@]}"; do
    if [ ! -d "Fuzz/seeds/$target" ] || [ -z "$(ls -A "Fuzz/seeds/$target")" ]; then
        echo "error: no committed seeds in Fuzz/seeds/$target" >&2
        status=1
        continue
    fi
    mkdir -p "$work/$target" "$work/artifacts/$target"
    echo "+ fuzz-$target -max_total_time=$seconds Fuzz/seeds/$target"
    fuzz_run "$target" "$seconds" "$work/artifacts/$target/" "$work/$target.log" "$work/$target" "Fuzz/seeds/$target"
    seeds=$(ls "Fuzz/seeds/$target" | wc -l)
    echo "fuzz-$target: seconds=$seconds seeds=$seeds runs=$FUZZ_RUNS cov=$FUZZ_COV exit=$FUZZ_RC"
    if [ $FUZZ_RC -ne 0 ] || [ -n "$(ls -A "$work/artifacts/$target")" ]; then
        echo "=== FAILED: fuzz-$target (exit $FUZZ_RC); log tail:" >&2
        tail -60 "$work/$target.log" >&2
        mkdir -p "Fuzz/artifacts/$target"
        cp "$work/artifacts/$target/"* "Fuzz/artifacts/$target/" 2>/dev/null || true
        status=1
    fi
done
echo "fuzz smoke: $(( $(date +%s) - start ))s in all"
exit $status
