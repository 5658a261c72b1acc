#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# keybound-serve behind Debian's nginx (auth_request), end to end: IntegrationTests/sidecar/test_sidecar.py starts
# the Python upstream, keybound-serve (twice: nonces off and on) and nginx (three instances of nginx/nginx.conf.in)
# on free loopback ports, and signs tokens and proofs with `cryptography`; test_fleet.py starts two more instances
# behind one nginx sharing one redis-server, and a third on a redis-server it stops and starts again.
#
#   bash IntegrationTests/sidecar/run.sh          uses $KEYBOUND_SERVE (built with the Redis trait), else the
#                                                 Integrations/ debug build's keybound-serve (building it with
#                                                 --traits Redis when it is missing)
# Needs nginx and redis-server (installed here when missing), python3 with pytest and cryptography.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/ci.sh"

need_apt nginx redis-server libhiredis-dev
need_pip requirements-dev.txt pytest cryptography

if [ -z "${KEYBOUND_SERVE:-}" ]; then
    KEYBOUND_SERVE="$(swift build --package-path Integrations --show-bin-path)/keybound-serve"
    [ -x "$KEYBOUND_SERVE" ] || run swift build --package-path Integrations --traits Redis --product keybound-serve
fi
export KEYBOUND_SERVE
export NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
export REDIS_SERVER="${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}"
run python3 -m pytest -v -p no:cacheprovider IntegrationTests/sidecar
