#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# Builds the DocC documentation of the Keybound module with the toolchain's own tools (no package dependency):
# the module as the debug build compiled it (`swift build --target Keybound`, a no-op after a full build), its
# public symbol graph by `swift-symbolgraph-extract`, then `docc convert` over Sources/Keybound/Docs.docc.
# Warnings are errors. $KEYBOUND_SWIFT_BUILD_FLAGS (e.g. "--traits default,SwiftCrypto") selects the build to reuse.
#
# Usage: scripts/docs.sh [--output DIR] [--static-hosting BASE_PATH]
#   --output DIR            where the archive goes (default .build/docs/Keybound.doccarchive)
#   --static-hosting PATH   also transform it for static hosting under PATH (e.g. keybound)
#   -h, --help              this text
# Preview in a browser: docc preview Sources/Keybound/Docs.docc --additional-symbol-graph-dir .build/docs/symbol-graphs
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
output="$root/.build/docs/Keybound.doccarchive"
hosting=""
while [ $# -gt 0 ]; do
    case "$1" in
        --output) output="$2"; shift 2 ;;
        --static-hosting) hosting="$2"; shift 2 ;;
        -h|--help) sed -n '/^# Builds/,/^# Preview/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "docs.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

tools="$(dirname "$(command -v swift)")"
docc="$(command -v docc || echo "$tools/docc")"
extract="$(command -v swift-symbolgraph-extract || echo "$tools/swift-symbolgraph-extract")"
[ -x "$docc" ] && [ -x "$extract" ] || { echo "docs.sh: the toolchain's docc or swift-symbolgraph-extract is missing" >&2; exit 1; }

# shellcheck disable=SC2086
swift build --target Keybound ${KEYBOUND_SWIFT_BUILD_FLAGS:-}
# shellcheck disable=SC2086
bin="$(swift build --show-bin-path ${KEYBOUND_SWIFT_BUILD_FLAGS:-})"
graphs="$root/.build/docs/symbol-graphs"
rm -rf "$graphs" && mkdir -p "$graphs"
"$extract" -module-name Keybound -I "$bin/Modules" -I "$root/Sources/COpenSSL" \
    -I "$root/Sources/CKeyboundHints/include" -target "$(uname -m)-unknown-linux-gnu" \
    -output-dir "$graphs" -minimum-access-level public
[ -s "$graphs/Keybound.symbols.json" ] || { echo "docs.sh: no symbol graph was extracted" >&2; exit 1; }

rm -rf "$output"
args=(convert Sources/Keybound/Docs.docc --additional-symbol-graph-dir "$graphs"
      --fallback-display-name Keybound --fallback-bundle-identifier org.keybound.Keybound
      --output-path "$output" --warnings-as-errors)
if [ -n "$hosting" ]; then args+=(--transform-for-static-hosting --hosting-base-path "$hosting"); fi
"$docc" "${args[@]}"
echo "docs.sh: documentation archive at $output"
