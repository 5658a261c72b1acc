#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI smoke run of the libFuzzer targets (issue 9): builds the Fuzz package once (Swift, -sanitize=fuzzer,address,
# as scripts/fuzz.sh does), then runs every target for FUZZ_SMOKE_SECONDS (default 15) on its committed, minimised
# seeds (Fuzz/seeds/<target>/). Fails on any crash, leak, timeout or out-of-memory, and on a target without seeds.
# Never appends to Fuzz/runs.log; new inputs go to a temporary directory; a failing input is copied to
# Fuzz/artifacts/<target>/ and its libFuzzer log printed.
#
#   scripts/ci/fuzz-smoke.sh [TARGET...]        default: every target
#
# Needs: the Swift toolchain (its clang runtime and lld), libssl-dev. Independent of the main package's .build.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SMOKE_SECONDS:-15}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(base64url json compact-jws jwk jwks verify batch-line)
flags=(--package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)

start=$(date +%s)
echo "+ swift build ${flags[*]}"
swift build "${flags[@]}"
bin=$(swift build "${flags[@]}" --show-bin-path)
echo "fuzz build: $(( $(date +%s) - start ))s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in "${targets[@]}"; do
    if [ ! -d "Fuzz/seeds/$target" ] || [ -z "$(ls -A "Fuzz/seeds/$target")" ]; then
        echo "error: no committed seeds in Fuzz/seeds/$target" >&2
        status=1
        continue
    fi
    mkdir -p "$work/$target" "$work/artifacts/$target"
    echo "+ fuzz-$target -max_total_time=$seconds Fuzz/seeds/$target"
    set +e
    "$bin/fuzz-$target" "$work/$target" "Fuzz/seeds/$target" -max_total_time="$seconds" \
        -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$target/" 2>"$work/$target.log"
    rc=$?
    set -e
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/$target.log" | grep -oE '[0-9]+$' || echo 0)
    cov=$(grep -oE 'cov: [0-9]+' "$work/$target.log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    seeds=$(ls "Fuzz/seeds/$target" | wc -l)
    echo "fuzz-$target: seconds=$seconds seeds=$seeds runs=$runs cov=$cov exit=$rc"
    if [ $rc -ne 0 ] || [ -n "$(ls -A "$work/artifacts/$target")" ]; then
        echo "=== FAILED: fuzz-$target (exit $rc); log tail:" >&2
        tail -60 "$work/$target.log" >&2
        mkdir -p "Fuzz/artifacts/$target"
        cp "$work/artifacts/$target/"* "Fuzz/artifacts/$target/" 2>/dev/null || true
        status=1
    fi
done
echo "fuzz smoke: $(( $(date +%s) - start ))s in all"
exit $status
