#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# keybound-serve behind a real nginx (IntegrationTests/sidecar/run.sh; docs/sidecar.md). Reuses the Integrations/
# debug build that scripts/ci/integrations.sh made with the Redis trait (it builds every product of the package,
# keybound-serve too): no second build of that package here. The fleet tests (test_fleet.py) start their own
# redis-server processes on loopback (persistence off), as they start nginx.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

KEYBOUND_SERVE="$(swift build --package-path Integrations --show-bin-path)/keybound-serve"
[ -x "$KEYBOUND_SERVE" ] || fail "no $KEYBOUND_SERVE: scripts/ci/integrations.sh builds it (it runs first)"
export KEYBOUND_SERVE
run bash IntegrationTests/sidecar/run.sh
echo "sidecar.sh: OK"
