#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# keybound-serve behind a real nginx (IntegrationTests/sidecar/run.sh; docs/sidecar.md), then the demo page in a
# headless Chromium through nginx, auth_request and keybound-serve (IntegrationTests/sidecar-browser). Reuses the
# Integrations/ debug build that scripts/ci/integrations.sh made with the Redis trait (it builds every product of the
# package, keybound-serve and keybound-demo too): no second build of that package here. The fleet tests
# (test_fleet.py) start their own redis-server processes on loopback (persistence off), as they start nginx.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

bin="$(swift build --package-path Integrations --show-bin-path)"
KEYBOUND_SERVE="$bin/keybound-serve"
KEYBOUND_DEMO="$bin/keybound-demo"
for binary in "$KEYBOUND_SERVE" "$KEYBOUND_DEMO"; do
    [ -x "$binary" ] || fail "no $binary: scripts/ci/integrations.sh builds it (it runs first)"
done
export KEYBOUND_SERVE KEYBOUND_DEMO
run bash IntegrationTests/sidecar/run.sh

step "the demo page in headless Chromium through nginx and keybound-serve"
need_apt nginx chromium chromium-driver
need_pip requirements-dev.txt pytest cryptography
need_pip IntegrationTests/browser/requirements.txt selenium
export NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
export KEYBOUND_SCREENSHOT_DIR="${KEYBOUND_SCREENSHOT_DIR:-$root/Integrations/.build/screenshots}"
run python3 -m pytest -v -p no:cacheprovider IntegrationTests/sidecar-browser
echo "sidecar.sh: OK"
