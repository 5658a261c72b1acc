# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The verifier the example applications share, configured from the environment:

    KEYBOUND_ISSUER     the trusted issuer's `iss`
    KEYBOUND_AUDIENCE   this API's audience
    KEYBOUND_JWKS       the issuer's JWK Set (JSON)
    KEYBOUND_BASE_URL   optional: the public base URL when behind a proxy ("https://api.example.com/")
    KEYBOUND_NONCE_SECRET  optional: turns nonces on (RFC 9449 §8) with this secret (32 bytes or more)
    KEYBOUND_REPLAY_KEY_SHARE_FOR  optional: "JKT=N", one proof key's share of the replay cache (past it: 429 with
                        Retry-After)
"""

from __future__ import annotations

import os

import keybound


def verifier_from_env() -> keybound.Verifier:
    """A keybound.Verifier configured from the KEYBOUND_* variables."""
    secret = os.environ.get("KEYBOUND_NONCE_SECRET")
    share_for = os.environ.get("KEYBOUND_REPLAY_KEY_SHARE_FOR")
    jkt, _, share = (share_for or "").partition("=")
    policy = keybound.Policy(
        external_base_url=os.environ.get("KEYBOUND_BASE_URL") or None,
        nonce="required" if secret else "off",
        nonce_secrets=[secret.encode()] if secret else [],
        replay_key_shares={jkt: int(share)} if share_for else None,
    )
    issuer = keybound.Issuer(os.environ["KEYBOUND_ISSUER"], audiences=[os.environ["KEYBOUND_AUDIENCE"]],
                             jwks=os.environ["KEYBOUND_JWKS"])
    return keybound.Verifier(issuers=[issuer], policy=policy)
