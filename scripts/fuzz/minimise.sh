#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rebuilds the committed seed corpora, Fuzz/seeds/<target>/, as the smallest set of inputs that keeps every coverage
# feature of: the current seeds, the seeds generated from our fixtures (Fuzz/corpus/, scripts/fuzz/make-corpus.py)
# and whatever fuzzing found (Fuzz/corpus-work/, when present). libFuzzer's -merge=1 into an empty directory does
# the minimising; inputs over 16 KiB (the fuzzing -max_len) are left out. Review and commit the result.
#
#   scripts/fuzz/minimise.sh [TARGET...]        default: every target
set -euo pipefail
cd "$(dirname "$0")/../.."
targets=("$@")
source scripts/fuzz/lib.sh
[ ${#targets[@]} -gt 0 ] || targets=("${FUZZ_TARGETS[@]}")
python3 scripts/fuzz/make-corpus.py
fuzz_build
bin=$FUZZ_BIN
for target in "${targets[@]}"; do
    inputs=()
    for dir in "Fuzz/seeds/$target" "Fuzz/corpus/$target" "Fuzz/corpus-work/$target"; do
        [ -d "$dir" ] && inputs+=("$dir")
    done
    merged=$(mktemp -d)
    echo "+ fuzz-$target -merge=1 $merged ${inputs[*]}"
    "$bin/fuzz-$target" -merge=1 -max_len=16384 -timeout=10 -rss_limit_mb=2048 "$merged" "${inputs[@]}" \
        2>"$merged.log" || { tail -30 "$merged.log"; exit 1; }
    grep -E "MERGE-OUTER: [0-9]+ new files" "$merged.log" || true
    rm -rf "Fuzz/seeds/$target"
    mkdir -p "Fuzz/seeds/$target"
    cp "$merged"/* "Fuzz/seeds/$target/"
    rm -rf "$merged" "$merged.log"
    echo "Fuzz/seeds/$target: $(ls "Fuzz/seeds/$target" | wc -l) files, $(du -sk "Fuzz/seeds/$target" | cut -f1) KiB"
done
