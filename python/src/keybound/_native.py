# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The C ABI of libkeybound (include/keybound.h), declared for ctypes.

Private: the public API is in keybound/__init__.py. Every function used is declared here once, with its argument and
result types, so that ctypes converts and checks them. ctypes releases the GIL around every call into a `CDLL`, so a
verification on one thread never blocks the interpreter's other threads.

The library is the one bundled in the wheel (keybound/libkeybound.so.0). $KEYBOUND_LIB names another build (the Redis
flavour, libkeybound-redis.so.0, or a development build); without a bundled copy the system's libkeybound.so.0 is
loaded.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Optional

U8P = ctypes.POINTER(ctypes.c_uint8)
SIZE = ctypes.c_size_t
VOIDP = ctypes.c_void_p
CHARP = ctypes.c_char_p

# Statuses of keybound.h that the binding itself handles.
OK = 0
ERR_INVALID_ARGUMENT = 900
ERR_BUFFER_TOO_SMALL = 901
ERR_INVALID_CONFIG = 902
ERR_INVALID_JWKS = 903
ERR_INVALID_KEY_ENCODING = 904
ERR_PRIVATE_KEY_GIVEN = 905
ERR_UNUSABLE_KEY = 906
ERR_TOKEN_CLAIMS = 310
ERR_REPLAY_QUOTA_EXCEEDED = 212

# kb_option values.
OPT_PROOF_MAX_AGE_SECONDS = 1
OPT_CLOCK_SKEW_SECONDS = 2
OPT_STRICT_TOKEN_TYPE = 3
OPT_MAX_TOKEN_BYTES = 4
OPT_MAX_PROOF_BYTES = 5
OPT_MAX_JSON_DEPTH = 6
OPT_MAX_JTI_BYTES = 7
OPT_RSA_MIN_BITS = 8
OPT_RSA_MAX_BITS = 9
OPT_PROOF_KEY_CACHE_SIZE = 10
OPT_TOKEN_CACHE_SIZE = 11
OPT_REPLAY_CACHE_CAPACITY = 12
OPT_KEY_MISS_INTERVAL_SECONDS = 13
OPT_MAX_REVOCATIONS = 14
OPT_ADVERTISE_ALGORITHMS = 15
OPT_PROOF_ALGORITHMS = 16
OPT_TOKEN_ALGORITHMS = 17
OPT_NONCE_MODE = 18
OPT_NONCE_WINDOW_SECONDS = 19
OPT_EXTERNAL_BASE_URL = 20
OPT_READ_CLOCK = 21
OPT_AUTH_TIME_FROM_IAT = 22
OPT_ALLOW_BEARER = 23
OPT_REPLAY_KEY_SHARE = 24
REQUIRE_MAX_AGE = 1

# kb_field values.
FIELD_SUB = 1
FIELD_CLIENT_ID = 2
FIELD_SCOPE = 3
FIELD_JKT = 4
FIELD_TOKEN_JTI = 5
FIELD_PROOF_JTI = 6
FIELD_ISSUER = 7
FIELD_DPOP_NONCE = 8
FIELD_ERROR_NAME = 9
FIELD_RFC_ERROR = 10
FIELD_ERROR_DESCRIPTION = 11
FIELD_WWW_AUTHENTICATE = 12
FIELD_ERROR_BODY = 13

ALGORITHMS = {"ES256": 1 << 0, "ES384": 1 << 1, "ES512": 1 << 2, "RS256": 1 << 3, "RS384": 1 << 4, "RS512": 1 << 5,
              "PS256": 1 << 6, "PS384": 1 << 7, "PS512": 1 << 8, "EdDSA": 1 << 9, "Ed25519": 1 << 10}
NONCE_MODES = {"off": 0, "required": 1, "required_bound": 2}
BACKENDS = {"default": 0, "openssl": 1, "swift-crypto": 2}


class KbMetrics(ctypes.Structure):
    """struct kb_metrics (the first layout, 72 bytes)."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("verified", ctypes.c_uint64),
                ("refused", ctypes.c_uint64), ("replay_cache_count", ctypes.c_uint64),
                ("replay_cache_capacity", ctypes.c_uint64), ("proof_key_cache_hits", ctypes.c_uint64),
                ("proof_key_cache_misses", ctypes.c_uint64), ("token_cache_hits", ctypes.c_uint64),
                ("token_cache_misses", ctypes.c_uint64)]


class KbRequirements(ctypes.Structure):
    """struct kb_requirements (the first layout): what one request needs from its token (scope, max_age, acr)."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("scope", CHARP), ("scope_len", SIZE),
                ("max_age", ctypes.c_int64), ("acr_values", CHARP), ("acr_values_len", SIZE)]


def library_path() -> str:
    """The file loaded: $KEYBOUND_LIB, else the copy bundled in this package, else the system's."""
    explicit = os.environ.get("KEYBOUND_LIB")
    if explicit:
        return explicit
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libkeybound.so.0")
    return bundled if os.path.exists(bundled) else "libkeybound.so.0"


PATH = library_path()
lib: Any = ctypes.CDLL(PATH)


def _declare(name: str, restype: Any, *argtypes: Any) -> None:
    function = getattr(lib, name)
    function.restype = restype
    function.argtypes = list(argtypes)


def has(name: str) -> bool:
    """Whether the loaded library exports `name` (e.g. the Redis flavour's kb_redis_store_new)."""
    return hasattr(lib, name)


_REQUEST = (VOIDP, CHARP, SIZE, CHARP, SIZE)
_PROOFS = (ctypes.POINTER(CHARP), ctypes.POINTER(SIZE), SIZE)

_declare("kb_version_number", ctypes.c_uint32)
_declare("kb_version_string", CHARP)
_declare("kb_status_name", CHARP, ctypes.c_int)
_declare("kb_status_string", CHARP, ctypes.c_int)
_declare("kb_status_rfc_error", CHARP, ctypes.c_int)
_declare("kb_status_http_status", ctypes.c_int, ctypes.c_int)
_declare("kb_backend_name", CHARP)
_declare("kb_backend_available", ctypes.c_int, ctypes.c_int)
_declare("kb_config_new", ctypes.c_int, ctypes.POINTER(VOIDP))
_declare("kb_config_free", None, VOIDP)
_declare("kb_config_set_int", ctypes.c_int, VOIDP, ctypes.c_int, ctypes.c_int64)
_declare("kb_config_set_str", ctypes.c_int, VOIDP, ctypes.c_int, CHARP, SIZE)
_declare("kb_config_set_backend", ctypes.c_int, VOIDP, ctypes.c_int)
_declare("kb_config_add_issuer", ctypes.c_int, VOIDP, CHARP, SIZE, CHARP, SIZE)
_declare("kb_config_add_audience", ctypes.c_int, VOIDP, CHARP, SIZE, CHARP, SIZE)
_declare("kb_config_add_nonce_secret", ctypes.c_int, VOIDP, CHARP, SIZE)
KEY_MISS_FN = ctypes.CFUNCTYPE(None, VOIDP, U8P, SIZE, U8P, SIZE)
_declare("kb_config_set_key_miss_callback", ctypes.c_int, VOIDP, KEY_MISS_FN, VOIDP)
_declare("kb_verifier_new", ctypes.c_int, VOIDP, ctypes.POINTER(VOIDP), CHARP, SIZE)
_declare("kb_verifier_free", None, VOIDP)
_declare("kb_verifier_backend_name", CHARP, VOIDP)
_declare("kb_verifier_replace_jwks", ctypes.c_int, VOIDP, CHARP, SIZE, CHARP, SIZE, CHARP, SIZE)
_declare("kb_verifier_skipped_key", ctypes.c_int, VOIDP, CHARP, SIZE, SIZE, ctypes.POINTER(SIZE), CHARP, SIZE)
_declare("kb_verifier_metrics", ctypes.c_int, VOIDP, ctypes.POINTER(KbMetrics))
_declare("kb_verifier_refusals", ctypes.c_int, VOIDP, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64))
_declare("kb_result_new", ctypes.c_int, ctypes.POINTER(VOIDP))
_declare("kb_result_free", None, VOIDP)
_declare("kb_result_status", ctypes.c_int, VOIDP)
_declare("kb_result_http_status", ctypes.c_int, VOIDP)
_declare("kb_result_field", ctypes.c_int, VOIDP, ctypes.c_int, ctypes.POINTER(U8P), ctypes.POINTER(SIZE))
# The same function without argtypes, for the hot path that copies a verified result out (seven calls per request):
# ctypes' argument conversion is then skipped (about 0.6 µs a call). Its callers pass exactly (c_void_p, int for the C
# int field, byref(c_void_p), byref(c_size_t)); never a bare Python int for the pointer, which would be truncated.
result_field_unchecked: Any = lib["kb_result_field"]
result_field_unchecked.restype = ctypes.c_int
_declare("kb_result_exp", ctypes.c_int, VOIDP, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double))
_declare("kb_verify", ctypes.c_int, *_REQUEST, CHARP, SIZE, *_PROOFS, ctypes.c_int64, VOIDP)
_declare("kb_verify_token_endpoint", ctypes.c_int, *_REQUEST, *_PROOFS, ctypes.c_int64, VOIDP)
_declare("kb_verify_opaque", ctypes.c_int, *_REQUEST, CHARP, SIZE, *_PROOFS, CHARP, SIZE, ctypes.c_int64, VOIDP)
_declare("kb_mint_nonce", ctypes.c_int, VOIDP, ctypes.c_int64, CHARP, SIZE, CHARP, SIZE, ctypes.POINTER(SIZE))
_declare("kb_revoke_token_jti", ctypes.c_int, VOIDP, CHARP, SIZE, ctypes.c_int64, ctypes.c_int64)
_declare("kb_revoke_jkt", ctypes.c_int, VOIDP, CHARP, SIZE, ctypes.c_int64, ctypes.c_int64)

# Per-request requirements (scope: 315, max_age / acr_values: 314), required claims and allowed client_ids. A
# $KEYBOUND_LIB from before they were added still loads; asking for them then raises ConfigurationError.
HAS_REQUIREMENTS = has("kb_verify_with_requirements")
if HAS_REQUIREMENTS:
    _declare("kb_verify_with_requirements", ctypes.c_int, *_REQUEST, CHARP, SIZE, *_PROOFS,
             ctypes.POINTER(KbRequirements), ctypes.c_int64, VOIDP)
    _declare("kb_config_add_required_claim", ctypes.c_int, VOIDP, CHARP, SIZE)
    _declare("kb_config_add_allowed_client_id", ctypes.c_int, VOIDP, CHARP, SIZE)

# The per-key replay share (212, HTTP 429 with Retry-After).
HAS_REPLAY_SHARE = has("kb_result_retry_after") and has("kb_config_set_replay_key_share")
if HAS_REPLAY_SHARE:
    _declare("kb_result_retry_after", ctypes.c_int, VOIDP, ctypes.POINTER(ctypes.c_int64))
    _declare("kb_config_set_replay_key_share", ctypes.c_int, VOIDP, CHARP, SIZE, ctypes.c_int64)

HAS_PEM = has("kb_config_add_issuer_pem")
if HAS_PEM:
    _declare("kb_config_add_issuer_pem", ctypes.c_int, VOIDP, CHARP, SIZE, CHARP, SIZE, CHARP, SIZE, CHARP, SIZE)

HAS_REDIS = has("kb_redis_store_new") and has("kb_config_set_redis_store")
if HAS_REDIS:
    _declare("kb_redis_store_new", ctypes.c_int, CHARP, SIZE, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(VOIDP))
    _declare("kb_config_set_redis_store", ctypes.c_int, VOIDP, VOIDP)
    _declare("kb_redis_store_free", None, VOIDP)


def text(pointer: Optional[bytes]) -> str:
    """A static C string from the library as str ('' for NULL)."""
    return pointer.decode() if pointer else ""


def status_name(status: int) -> str:
    """kb_status_name: the stable snake_case name of a status."""
    return text(lib.kb_status_name(status))


def status_string(status: int) -> str:
    """kb_status_string: a short English description of a status."""
    return text(lib.kb_status_string(status))


def status_rfc_error(status: int) -> Optional[str]:
    """kb_status_rfc_error: the RFC error code of a status, or None when the RFCs give none."""
    value = lib.kb_status_rfc_error(status)
    return value.decode() if value else None


def status_http_status(status: int) -> int:
    """kb_status_http_status: the HTTP status a resource server answers `status` with."""
    return int(lib.kb_status_http_status(status))


def version_string() -> str:
    """kb_version_string: the library's version."""
    return text(lib.kb_version_string())
