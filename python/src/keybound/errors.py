# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Exceptions: a refused request raises a `DPoPError` subclass; a bad configuration a `ConfigurationError`.

The class says which kind of refusal it is (docs/design.md "Errors"); `code` is the pinned status number, the same
as the Swift API's, the C ABI's and the CLI's.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from . import _native


class KeyboundError(Exception):
    """The base of the exceptions of verification and configuration (keybound.RemoteKeysError, about fetching keys,
    stands apart: its codes are names, not status numbers)."""

    code: int
    name: str

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.name = _native.status_name(code)
        self.detail = detail
        message = f"{self.name} ({code})"
        super().__init__(f"{message}: {detail}" if detail else message)


class ConfigurationError(KeyboundError, ValueError):
    """A configuration the library refused: invalid_argument 900, invalid_config 902, invalid_jwks 903, and for PEM
    issuer keys invalid_key_encoding 904, private_key_given 905, unusable_key 906."""


class DPoPError(KeyboundError):
    """A request that failed verification, with everything needed to answer it (RFC 9449 §5 and §7.1, RFC 6750 §3).

    Attributes:
        code: the status number (e.g. 211).
        name: its stable name (e.g. "proof_replayed").
        error: the RFC error code ("invalid_dpop_proof", "invalid_token", "use_dpop_nonce", ...) or None when the
            RFCs give none (missing credentials, server failures).
        description: a short reason naming the failed check; it never echoes request bytes.
        http_status: the HTTP status to answer with (400, 401, 403, 429, 5xx).
        www_authenticate: the `WWW-Authenticate` value (resource modes), or None.
        dpop_nonce: a fresh nonce for the `DPoP-Nonce` response header when nonces are on, or None.
        error_body: the JSON error body (token-endpoint mode), or None.
        retry_after: the seconds to send as `Retry-After` (RFC 9110 §10.2.3) with the HTTP 429 of
            ReplayQuotaExceeded, else None.
    """

    error: Optional[str]
    description: Optional[str]
    http_status: int
    www_authenticate: Optional[str]
    dpop_nonce: Optional[str]
    error_body: Optional[str]
    retry_after: Optional[int]

    def __init__(self, code: int, http_status: int, error: Optional[str] = None, description: Optional[str] = None,
                 www_authenticate: Optional[str] = None, dpop_nonce: Optional[str] = None,
                 error_body: Optional[str] = None, retry_after: Optional[int] = None) -> None:
        super().__init__(code, description or _native.status_string(code))
        self.error = error
        self.description = description
        self.http_status = http_status
        self.www_authenticate = www_authenticate
        self.dpop_nonce = dpop_nonce
        self.error_body = error_body
        self.retry_after = retry_after

    @property
    def headers(self) -> Dict[str, str]:
        """The response headers to send with the refusal: `WWW-Authenticate`, `DPoP-Nonce` and `Retry-After` when
        present."""
        headers: Dict[str, str] = {}
        if self.www_authenticate is not None:
            headers["WWW-Authenticate"] = self.www_authenticate
        if self.dpop_nonce is not None:
            headers["DPoP-Nonce"] = self.dpop_nonce
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class MissingCredentials(DPoPError):
    """No DPoP credentials: no `Authorization`, or another scheme (100, 101). HTTP 401 with a bare challenge
    (RFC 6750 §3.1: no error code)."""


class InvalidRequest(DPoPError):
    """A malformed request: e.g. a malformed `Authorization` or several `DPoP` headers (RFC 6750 invalid_request)."""


class InvalidProof(DPoPError):
    """The DPoP proof is missing or invalid (103, 2xx statuses; RFC 9449 invalid_dpop_proof)."""


class ReplayedProof(InvalidProof):
    """The DPoP proof was used before (211; RFC 9449 §11.1)."""


class UseNonce(DPoPError):
    """The server requires a nonce, or the proof's was stale (220, 221; RFC 9449 §8 use_dpop_nonce). Retry with
    the nonce in `dpop_nonce`."""


class ReplayQuotaExceeded(DPoPError):
    """The proof key holds its share of live replay entries (212; HTTP 429 in every mode, the token endpoint's
    included; Policy.replay_key_share). `retry_after` is the `Retry-After` to answer with (in `headers`): when the
    key's oldest entry expires, else the proof window. Nothing was recorded; a later proof of that key verifies once
    an entry has expired."""


class InvalidToken(DPoPError):
    """The access token is invalid, expired, for another audience, or not bound to the proof key (3xx;
    RFC 6750 invalid_token)."""


class Revoked(InvalidToken):
    """The token (312) or the client key (313) was revoked."""


class ClaimTypeError(InvalidToken):
    """A typed claim accessor (VerifiedRequest.claim_str, claim_int, ...) found the claim with another JSON type
    (`null` included), or an integer out of ±2^53 (310 token_claims; HTTP 401 invalid_token). Raised by the
    application's own call, after the request verified: answer it as the refusal it describes."""


class InsufficientUserAuthentication(DPoPError):
    """Step-up needed (314; RFC 9470): a newer `auth_time` or another `acr`."""


class InsufficientScope(DPoPError):
    """The token lacks a required scope (315; RFC 6750 §3.1; HTTP 403)."""


class BoundTokenAsBearer(InvalidToken):
    """A DPoP-bound token was sent as Bearer (316; RFC 9449 §7.2)."""


class ServerError(DPoPError):
    """A server-side failure (5xx: replay cache full, replay store unavailable or restarted, internal): the request
    is refused, fail closed."""


_BY_CODE: Dict[int, Type[DPoPError]] = {
    100: MissingCredentials, 101: MissingCredentials,
    211: ReplayedProof, 212: ReplayQuotaExceeded, 312: Revoked, 313: Revoked,
    314: InsufficientUserAuthentication, 315: InsufficientScope, 316: BoundTokenAsBearer,
}
_BY_RFC_ERROR: Dict[str, Type[DPoPError]] = {
    "invalid_request": InvalidRequest, "invalid_dpop_proof": InvalidProof, "use_dpop_nonce": UseNonce,
    "invalid_token": InvalidToken, "insufficient_scope": InsufficientScope,
    "insufficient_user_authentication": InsufficientUserAuthentication,
}


def error_class(code: int) -> Type[DPoPError]:
    """The exception class of a verification status."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if 500 <= code < 600:
        return ServerError
    rfc_error = _native.status_rfc_error(code)
    if rfc_error is not None and rfc_error in _BY_RFC_ERROR:
        return _BY_RFC_ERROR[rfc_error]
    return DPoPError
