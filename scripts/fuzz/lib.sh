# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The libFuzzer targets, build and run steps shared by scripts/fuzz.sh (long, logged runs), scripts/ci/fuzz-smoke.sh
# (CI) and scripts/fuzz/minimise.sh. Source it from the repository root; it defines variables and functions only.

# Every fuzz target (Fuzz/Targets/<target>, built as fuzz-<target>): the default when a script is given none.
FUZZ_TARGETS=(base64url json compact-jws jwk jwks pem verify batch-line)

# The Fuzz package's build: Swift with -sanitize=fuzzer,address, linked with lld.
FUZZ_BUILD_FLAGS=(--package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)

# fuzz_build: builds every target and sets FUZZ_BIN to the folder of the fuzz-<target> executables.
fuzz_build() {
    echo "+ swift build ${FUZZ_BUILD_FLAGS[*]}"
    swift build "${FUZZ_BUILD_FLAGS[@]}"
    FUZZ_BIN=$(swift build "${FUZZ_BUILD_FLAGS[@]}" --show-bin-path)
}

# fuzz_run TARGET SECONDS ARTIFACT_PREFIX LOG CORPUS_DIR...: runs fuzz-TARGET for SECONDS over the corpus folders
# (new inputs go to the first), libFuzzer's output to LOG, crashes, leaks and timeouts under ARTIFACT_PREFIX. Sets
# FUZZ_RC (its exit status), FUZZ_RUNS (executions), FUZZ_COV and FUZZ_FT (the last coverage and feature counts).
fuzz_run() {
    local target=$1 seconds=$2 artifacts=$3 log=$4
    shift 4
    set +e
    "$FUZZ_BIN/fuzz-$target" "$@" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts" 2>"$log"
    FUZZ_RC=$?
    set -e
    FUZZ_RUNS=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    FUZZ_COV=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    FUZZ_FT=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
}
