#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# CI for the integrations package (Integrations/): the remote-key suites (against the local HTTPS server of
# Integrations/Tests/IntegrationsTestSupport/server.py, with a CA `openssl` makes at run time, and the root package's
# `keybound verify --issuer-url` running this package's helper `keybound-remote`), the Hummingbird and Vapor integrations' and the JWKS refresher's unit tests (the Vapor suite
# serves a real application on loopback), then the demo in a real headless Chromium. Needs: the Swift toolchain and
# libssl-dev and libhiredis-dev; openssl; Debian's chromium and chromium-driver; Python 3 with pytest, cryptography and selenium (pinned
# in IntegrationTests/browser/requirements.txt).
# Missing browser packages are installed here. The package builds once, in Integrations/.build (its own dependency
# graph: Hummingbird, HummingbirdAuth, Vapor, AsyncHTTPClient), so a first run builds those (several minutes on 2
# cores).
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

# --- What the browser test needs ----------------------------------------------------------------------------------
need_apt chromium chromium-driver openssl
# keybound-serve is built with the Redis trait (its shared replay store, docs/sidecar.md): hiredis.
need_apt libhiredis-dev
need_pip requirements-dev.txt pytest cryptography
need_pip IntegrationTests/browser/requirements.txt selenium

# --- Build and unit tests (debug: the demo needs no optimisation, and one debug build serves both) ----------------
# The CLI suite of KeyboundRemoteKeysTests runs the root package's `keybound` (the root build .ci/run made, reused
# as is with the same flags, KEYBOUND_SWIFT_BUILD_FLAGS, as scripts/ci/cli.sh does) with KEYBOUND_REMOTE naming the
# `keybound-remote` this package builds beside its tests.
# shellcheck disable=SC2086
run swift build ${KEYBOUND_SWIFT_BUILD_FLAGS:-} --product keybound
KEYBOUND_CLI_BINARY="$(swift build --show-bin-path)/keybound"
export KEYBOUND_CLI_BINARY
# With the package's Redis trait (keybound-serve's `store = "redis"`; it turns on the root package's Redis trait):
# scripts/ci/sidecar.sh runs this build's keybound-serve against real Redis servers.
run swift build --package-path Integrations --traits Redis --build-tests
run swift test --package-path Integrations --traits Redis --skip-build
bin="$(swift build --package-path Integrations --show-bin-path)"

# --- The demo, twice: nonces off and on, each on a free loopback port ---------------------------------------------
work="$(mktemp -d)"
remove_at_exit "$work"

start_demo() { # name port [flags...]
    local name="$1" port="$2"
    shift 2
    echo "+ $bin/keybound-demo --port $port $* &" >&2
    "$bin/keybound-demo" --port "$port" "$@" > "$work/$name.log" 2>&1 &
    local pid=$!
    track_pid "$pid"
    if wait_port "$port" 400 "$pid"; then
        echo "$name demo up at http://127.0.0.1:$port" >&2
        return 0
    fi
    echo "FAIL: the $name demo did not start; its output:" >&2
    cat "$work/$name.log" >&2
    exit 1
}

plain_port="$(free_port)"
start_demo plain "$plain_port"
nonce_port="$(free_port)"
start_demo nonces "$nonce_port" --nonces
# Step-up (RFC 9470): "delete account" needs a login at most 2 s old (5 minutes by default), so the test waits seconds.
stepup_port="$(free_port)"
start_demo stepup "$stepup_port" --step-up-max-age 2 --clock-skew 1

# --- The browser test -----------------------------------------------------------------------------------------------
export KEYBOUND_DEMO_URL="http://127.0.0.1:$plain_port"
export KEYBOUND_DEMO_NONCE_URL="http://127.0.0.1:$nonce_port"
export KEYBOUND_DEMO_STEPUP_URL="http://127.0.0.1:$stepup_port"
export KEYBOUND_SCREENSHOT_DIR="${KEYBOUND_SCREENSHOT_DIR:-$root/Integrations/.build/screenshots}"
started=$(date +%s.%N)
status=0
run python3 -m pytest -v -p no:cacheprovider IntegrationTests/browser || status=$?
finished=$(date +%s.%N)
took="$(python3 -c "print(f'{$finished - $started:.1f}')")"
echo "integrations.sh: browser test took $took s (screenshots in $KEYBOUND_SCREENSHOT_DIR)"
if [ "$status" -ne 0 ]; then
    echo "FAIL: the browser test failed (exit $status); demo logs:" >&2
    cat "$work/plain.log" "$work/nonces.log" "$work/stepup.log" >&2
    exit "$status"
fi
echo "integrations.sh: OK"
