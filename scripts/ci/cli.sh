#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# CI for the `keybound` command-line tool, beyond `swift test` (which already runs Tests/KeyboundCLITests
# against the built binary). This runs the worked example of docs/cli.md, as a newcomer would paste it, so
# the documentation cannot drift from the tool. Needs: the Swift toolchain and libssl-dev (nothing else).
# Assumes `swift build` already ran in the repository root; reuses .build.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

# KEYBOUND_SWIFT_BUILD_FLAGS: the flags the root build used (.ci/run sets them), so that this reuses it as is.
# shellcheck disable=SC2086
run swift build ${KEYBOUND_SWIFT_BUILD_FLAGS:-} --product keybound
BIN="$(swift build --show-bin-path)"
export PATH="$BIN:$PATH"

work="$(mktemp -d)"
remove_at_exit "$work"
cd "$work"

# The README's worked example, extracted and run exactly as written (a newcomer pastes the same block).
example=$(awk '/<!-- worked-example/{f=1; next} f && /^```sh/{g=1; next} g && /^```/{exit} g{print}' \
    "$root/README.md")
[ -n "$example" ] || { echo "FAIL: no worked example found in README.md" >&2; exit 1; }
printf '%s\n' "$example" > example.sh
echo "+ source example.sh (README.md, Command line)" >&2
# Sourced (with set -euo pipefail in force), so TOKEN and PROOF stay defined for the replay check below.
source ./example.sh > example.out
out=$(cat example.out)
echo "$out"
case "$out" in
    '{"ok":true,"sub":"alice",'*) ;;
    *) echo "FAIL: the worked example did not verify" >&2; exit 1 ;;
esac
# The same request twice in one batch: the second is a replay (exit status 1).
line=$(printf '{"method":"GET","url":"https://api.example/orders","authorization":"DPoP %s","dpop":"%s"}' \
    "$TOKEN" "$PROOF")
printf '%s\n%s\n' "$line" "$line" > requests.jsonl
set +e
batch=$(keybound verify --jwks jwks.json --issuer https://issuer.example --audience https://api.example \
    --batch requests.jsonl)
status=$?
set -e
echo "$batch"
if [ "$status" -ne 1 ] || ! grep -q '"name":"proof_replayed"' <<<"$batch"; then
    echo "FAIL: the replay was not refused with exit status 1 (got $status)" >&2
    exit 1
fi
echo "cli.sh: worked example OK"
