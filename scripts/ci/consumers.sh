#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# A Swift service that depends on Keybound with its default traits (IntegrationTests/swift-consumer): what SwiftPM
# resolves for it (only swift-argument-parser besides Keybound: swift-crypto is behind the SwiftCrypto trait and
# must be neither fetched nor built), then its build and run. The C consumers (pkg-config, CMake) run in capi.sh.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
consumer="$root/IntegrationTests/swift-consumer"
cd "$consumer"

echo "+ swift package resolve (IntegrationTests/swift-consumer)"
rm -rf .build/checkouts .build/repositories Package.resolved
swift package resolve
fetched="$(ls .build/checkouts 2>/dev/null | sort | tr '\n' ' ')"
echo "fetched: ${fetched:-nothing}"
swift package show-dependencies
[ "$fetched" = "swift-argument-parser " ] || {
    echo "consumers.sh: a default-traits consumer fetched '$fetched' (expected swift-argument-parser only)" >&2; exit 1; }

echo "+ swift build && swift run Consumer"
swift build --product Consumer
output="$(swift run --skip-build Consumer)"
echo "$output"
[ "$output" = "jkt 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" ] || {
    echo "consumers.sh: the consumer printed something else" >&2; exit 1; }
echo "consumers.sh: the Swift consumer resolved, built and verified"
