# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Keybound's verdict codes and their names (docs/design.md, include/keybound.h), as the Python generators and the
differential runner expect them (scripts/fixtures/generate.py, scripts/differential/generate.py and run.py)."""

# The refusals of one request, by check: the request (1xx), the proof (2xx), the access token (3xx).
REQUEST_CODES = {
    100: "missing_authorization", 101: "unsupported_scheme", 102: "malformed_authorization", 103: "missing_dpop_proof",
    104: "multiple_dpop_proofs", 200: "proof_malformed", 201: "proof_typ", 202: "proof_alg", 203: "proof_jwk",
    204: "proof_crit", 205: "proof_signature", 206: "proof_claims", 207: "proof_htm", 208: "proof_htu",
    209: "proof_iat", 210: "proof_ath", 211: "proof_replayed", 220: "nonce_required", 221: "nonce_invalid",
    300: "token_malformed", 301: "token_typ", 302: "token_alg", 303: "token_kid_unknown", 304: "token_key_mismatch",
    305: "token_signature", 306: "token_issuer", 307: "token_audience", 308: "token_expired",
    309: "token_not_yet_valid", 310: "token_claims", 311: "token_binding", 312: "token_revoked", 313: "key_revoked",
}

# A configuration the CLI refuses before any request: a JWK Set refused as a whole (docs/design.md "JWK Sets").
CONFIG_CODES = {903: "invalid_jwks"}

# Every code: acceptance (0), the refusals above, the replay cache running out of room (500), and the refused set.
CODES = {0: "ok", **REQUEST_CODES, 500: "replay_cache_full", **CONFIG_CODES}
