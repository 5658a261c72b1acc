# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Keybound: verify RFC 9449 DPoP requests from Python, with the Keybound C library (bundled in the wheel).

    import keybound

    verifier = keybound.Verifier(
        issuers=[keybound.Issuer("https://issuer.example", audiences=["https://api.example.com"], jwks=jwks)],
        policy=keybound.Policy(proof_max_age=60),
    )
    try:
        request = verifier.verify("GET", "https://api.example.com/items?page=2", headers)
        print(request.subject, request.scope, request.jkt)
    except keybound.DPoPError as refusal:
        respond(refusal.http_status, headers=refusal.headers)   # WWW-Authenticate, DPoP-Nonce

Framework integrations: keybound.fastapi, keybound.starlette, keybound.flask, keybound.django. Keys fetched from an
issuer's URL and kept fresh: keybound.RemoteKeys (keybound.remote).
"""

from __future__ import annotations

from . import _native
from ._verifier import Issuer, Metrics, PEMKey, Policy, RedisReplayStore, VerifiedRequest, Verifier
from .remote import FetchedKeys, RemoteKeys, RemoteKeysError, RemoteKeysEvent, RemoteKeysStatus
from .errors import (
    BoundTokenAsBearer,
    ClaimTypeError,
    ConfigurationError,
    DPoPError,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidProof,
    InvalidRequest,
    InvalidToken,
    KeyboundError,
    MissingCredentials,
    ReplayedProof,
    ReplayQuotaExceeded,
    Revoked,
    ServerError,
    UseNonce,
)

__all__ = [
    "BoundTokenAsBearer", "ClaimTypeError", "ConfigurationError", "DPoPError", "FetchedKeys", "HAS_REDIS",
    "InsufficientScope", "InsufficientUserAuthentication", "InvalidProof", "InvalidRequest", "InvalidToken", "Issuer",
    "KeyboundError", "LIBRARY_PATH", "Metrics", "MissingCredentials", "PEMKey", "Policy", "RedisReplayStore",
    "RemoteKeys", "RemoteKeysError", "RemoteKeysEvent", "RemoteKeysStatus", "ReplayQuotaExceeded", "ReplayedProof",
    "Revoked", "ServerError", "UseNonce", "VerifiedRequest", "Verifier", "backend_name", "backends", "version",
]


def version() -> str:
    """The loaded library's version (kb_version_string)."""
    return _native.version_string()


def backend_name() -> str:
    """The library's default crypto backend: "openssl" or "swift-crypto"."""
    return _native.text(_native.lib.kb_backend_name())


def backends() -> list[str]:
    """The crypto backends compiled into the loaded library."""
    return [name for name, number in _native.BACKENDS.items()
            if number and _native.lib.kb_backend_available(number)]


#: The version of this package: the bundled library's (one version for the C library and the package).
__version__: str = version()
#: Whether the loaded library has the Redis replay store (the libkeybound-redis.so.0 flavour).
HAS_REDIS: bool = _native.HAS_REDIS
#: The library file loaded.
LIBRARY_PATH: str = _native.PATH
