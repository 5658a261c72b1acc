# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Issuer, Policy, Verifier and VerifiedRequest: the Pythonic face of kb_config, kb_verifier and kb_result."""

from __future__ import annotations

import base64
import ctypes
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _headers, _native
from ._native import lib
from .errors import ClaimTypeError, ConfigurationError, error_class

JWKSInput = Union[str, bytes, Mapping[str, Any]]
ScopeInput = Union[str, Sequence[str], None]
URLInput = Union[str, bytes]


def _check(status: int, detail: str = "") -> None:
    if status != _native.OK:
        raise ConfigurationError(status, detail)


def _jwks_bytes(jwks: JWKSInput) -> bytes:
    if isinstance(jwks, bytes):
        return jwks
    if isinstance(jwks, str):
        return jwks.encode("utf-8")
    return json.dumps(jwks, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class PEMKey:
    """One issuer key as PEM text: a public key (`-----BEGIN PUBLIC KEY-----`) or an X.509 certificate, of which only
    the subject public key is used (its signature, validity and chain are NOT checked). `kid` is the one its tokens
    carry; `alg` (e.g. "ES256") restricts it to one JWS algorithm, None allows any of the key's type."""

    kid: str
    pem: Union[str, bytes]
    alg: Optional[str] = None


@dataclass(frozen=True)
class Issuer:
    """A trusted token issuer: its exact `iss` value, the audiences this server accepts from it (a token must name at
    least one; RFC 9068 §4), and its keys: a JWK Set (RFC 7517 §5) as JSON text or as a dict, PEM keys, or both.
    A refused PEM key raises ConfigurationError 904 (not one public key or certificate), 905 (a private key) or 906
    (an unusable key, or an alg that disagrees with it)."""

    identifier: str
    audiences: Sequence[str]
    jwks: Optional[JWKSInput] = None
    pem_keys: Sequence[PEMKey] = ()


@dataclass(frozen=True)
class Policy:
    """Verification policy. Every field left None keeps the library's default (docs/design.md "Contracts →
    Defaults").

    Attributes:
        proof_max_age: seconds a proof stays acceptable after its `iat` (0..86400; default 60).
        clock_skew: seconds of clock difference tolerated (0..3600; default 5).
        strict_token_type: require `typ: at+jwt` on access tokens (RFC 9068 §4; default False).
        max_token_bytes, max_proof_bytes, max_json_depth, max_jti_bytes: input bounds.
        rsa_min_bits, rsa_max_bits: accepted RSA modulus sizes.
        proof_key_cache_size, token_cache_size, replay_cache_capacity: cache sizes (entries).
        key_miss_interval: seconds between two key-miss reports per issuer.
        max_revocations: how many live revocations are held.
        advertise_algorithms: list the accepted algorithms (`algs`) in challenges (default True).
        proof_algorithms, token_algorithms: accepted JWS algorithms, e.g. ["ES256", "EdDSA"] (default: all).
        nonce: "off" (default), "required" or "required_bound" (RFC 9449 §8); needs nonce_secrets.
        nonce_secrets: secrets of at least 32 bytes; the first mints, all are accepted (rotation).
        nonce_window: seconds a nonce stays valid (1..86400; default 300).
        external_base_url: the public base URL ("https://api.example.com/") when the application sits behind a proxy:
            requests are then verified with their origin-form target ("/path?query") against it. Forwarded headers are
            never read.
        backend: "default", "openssl" or "swift-crypto" (when the library has it).
        required_claims: claims every access token must carry (else InvalidToken 310, naming the claim).
        allowed_client_ids: when given, only tokens with one of these `client_id`s are accepted (else 310).
        auth_time_from_iat: let a token's `iat` stand in for a missing `auth_time` under a `max_age` requirement
            (weaker: a refresh mints a new `iat` without the user authenticating again; default False).
        allow_bearer: Bearer migration mode (RFC 9449 §7.2; default False): also accept `Authorization: Bearer
            <token>` without a `DPoP` header for a JWT access token without `cnf` (the VerifiedRequest then has
            `jkt=None`, `proof_id=None`, `scheme="Bearer"`); a `cnf` token sent as Bearer is BoundTokenAsBearer
            (316), Bearer with a `DPoP` header InvalidRequest (102). Off, Bearer is MissingCredentials (101).
        replay_key_share: the most live replay entries one proof key (`jkt`) may hold in the in-process replay
            cache, past which its proofs are refused with ReplayQuotaExceeded (212, HTTP 429 with `Retry-After`):
            0..replay_cache_capacity, 0 turns it off; default capacity / 8.
        replay_key_shares: per-key shares in place of replay_key_share, by `jkt` (0: unlimited for that key).
    """

    proof_max_age: Optional[int] = None
    clock_skew: Optional[int] = None
    strict_token_type: Optional[bool] = None
    max_token_bytes: Optional[int] = None
    max_proof_bytes: Optional[int] = None
    max_json_depth: Optional[int] = None
    max_jti_bytes: Optional[int] = None
    rsa_min_bits: Optional[int] = None
    rsa_max_bits: Optional[int] = None
    proof_key_cache_size: Optional[int] = None
    token_cache_size: Optional[int] = None
    replay_cache_capacity: Optional[int] = None
    key_miss_interval: Optional[int] = None
    max_revocations: Optional[int] = None
    advertise_algorithms: Optional[bool] = None
    proof_algorithms: Optional[Sequence[str]] = None
    token_algorithms: Optional[Sequence[str]] = None
    nonce: str = "off"
    nonce_secrets: Sequence[bytes] = ()
    nonce_window: Optional[int] = None
    external_base_url: Optional[str] = None
    backend: Optional[str] = None
    required_claims: Sequence[str] = ()
    allowed_client_ids: Sequence[str] = ()
    auth_time_from_iat: Optional[bool] = None
    allow_bearer: Optional[bool] = None
    replay_key_share: Optional[int] = None
    replay_key_shares: Optional[Mapping[str, int]] = None

    def _int_options(self) -> List[Tuple[int, int]]:
        plain = [
            (_native.OPT_PROOF_MAX_AGE_SECONDS, self.proof_max_age), (_native.OPT_CLOCK_SKEW_SECONDS, self.clock_skew),
            (_native.OPT_STRICT_TOKEN_TYPE, self.strict_token_type),
            (_native.OPT_MAX_TOKEN_BYTES, self.max_token_bytes), (_native.OPT_MAX_PROOF_BYTES, self.max_proof_bytes),
            (_native.OPT_MAX_JSON_DEPTH, self.max_json_depth), (_native.OPT_MAX_JTI_BYTES, self.max_jti_bytes),
            (_native.OPT_RSA_MIN_BITS, self.rsa_min_bits), (_native.OPT_RSA_MAX_BITS, self.rsa_max_bits),
            (_native.OPT_PROOF_KEY_CACHE_SIZE, self.proof_key_cache_size),
            (_native.OPT_TOKEN_CACHE_SIZE, self.token_cache_size),
            (_native.OPT_REPLAY_CACHE_CAPACITY, self.replay_cache_capacity),
            (_native.OPT_KEY_MISS_INTERVAL_SECONDS, self.key_miss_interval),
            (_native.OPT_MAX_REVOCATIONS, self.max_revocations),
            (_native.OPT_ADVERTISE_ALGORITHMS, self.advertise_algorithms),
            (_native.OPT_NONCE_WINDOW_SECONDS, self.nonce_window),
            (_native.OPT_AUTH_TIME_FROM_IAT, self.auth_time_from_iat),
            (_native.OPT_ALLOW_BEARER, self.allow_bearer),
            (_native.OPT_REPLAY_KEY_SHARE, self.replay_key_share),
        ]
        options = [(option, int(value)) for option, value in plain if value is not None]
        for option, names in ((_native.OPT_PROOF_ALGORITHMS, self.proof_algorithms),
                              (_native.OPT_TOKEN_ALGORITHMS, self.token_algorithms)):
            if names is not None:
                unknown = [name for name in names if name not in _native.ALGORITHMS]
                if unknown:
                    raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"unknown algorithm {unknown[0]!r}")
                options.append((option, sum({_native.ALGORITHMS[name] for name in names})))
        if self.nonce not in _native.NONCE_MODES:
            raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"unknown nonce mode {self.nonce!r}")
        options.append((_native.OPT_NONCE_MODE, _native.NONCE_MODES[self.nonce]))
        return options


@dataclass(frozen=True)
class VerifiedRequest:
    """What a successful verification established. Copied out of the library at once; `claims` is decoded from the
    verified access token on first use.

    Attributes:
        jkt: the RFC 7638 thumbprint of the proof key (token endpoint: bind the new token to it as `cnf.jkt`); None
            for a Bearer request (Policy.allow_bearer).
        subject: the token's `sub`, or None (token endpoint, opaque tokens, or absent).
        client_id: the token's `client_id`, or None.
        scope: the token's `scope`, split on spaces ([] when absent).
        expires_at: the token's `exp` in whole Unix seconds, or None (token endpoint, opaque tokens).
        issuer: the token's `iss`, or None.
        token_id: the token's `jti`, or None.
        proof_id: the proof's `jti` (None for a Bearer request).
        dpop_nonce: a fresh nonce for the `DPoP-Nonce` response header when nonces are on, else None.
    """

    jkt: Optional[str]
    subject: Optional[str]
    client_id: Optional[str]
    scope: List[str]
    expires_at: Optional[int]
    issuer: Optional[str]
    token_id: Optional[str]
    proof_id: Optional[str]
    dpop_nonce: Optional[str]
    _token_payload: Optional[bytes] = field(default=None, repr=False, compare=False)

    @cached_property
    def claims(self) -> Dict[str, Any]:
        """Every claim of the verified access token, as a dict ({} for opaque tokens and the token endpoint).
        Decoded from the token the library verified (its JSON has no duplicate names: docs/design.md)."""
        if self._token_payload is None:
            return {}
        padded = self._token_payload + b"=" * (-len(self._token_payload) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))
        return value if isinstance(value, dict) else {}

    @property
    def scheme(self) -> str:
        """The scheme the request was verified with: "DPoP", or "Bearer" in Bearer migration mode."""
        return "Bearer" if self.jkt is None else "DPoP"

    # Typed claims (docs/design.md "Typed claims"): None when the claim is absent (or there is no JWT access token);
    # ClaimTypeError (310 token_claims) when it has another JSON type, `null` included.

    def _typed(self, name: str, kind: str, accept: Callable[[Any], bool]) -> Any:
        value = self.claims.get(name, _ABSENT)
        if value is _ABSENT:
            return None
        if not accept(value):
            raise _claim_type_error(name, kind)
        return value

    def claim_str(self, name: str) -> Optional[str]:
        """The string claim `name` (unescaped)."""
        value: Optional[str] = self._typed(name, "a string", lambda v: isinstance(v, str))
        return value

    def claim_int(self, name: str) -> Optional[int]:
        """The integer claim `name`: a number with no fractional part (`42`, `42.0`, `4.2e1`) within ±2^53."""
        value = self._typed(name, "an integer within ±2^53", _is_exact_integer)
        return None if value is None else int(value)

    def claim_float(self, name: str) -> Optional[float]:
        """The number claim `name` as a float: any JSON number within ±2^53 (as NumericDates)."""
        value = self._typed(name, "a number within ±2^53", _is_bounded_number)
        return None if value is None else float(value)

    def claim_bool(self, name: str) -> Optional[bool]:
        """The boolean claim `name`."""
        value: Optional[bool] = self._typed(name, "a boolean", lambda v: isinstance(v, bool))
        return value

    def claim_strings(self, name: str) -> Optional[List[str]]:
        """The claim `name` as a list of strings: a JSON array of strings only (a single string and the
        space-separated `scope` are not split; `scope` is VerifiedRequest.scope)."""
        value: Optional[List[str]] = self._typed(
            name, "an array of strings", lambda v: isinstance(v, list) and all(isinstance(e, str) for e in v))
        return None if value is None else list(value)


_ABSENT = object()
_EXACT = 1 << 53


def _is_bounded_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and -_EXACT <= value <= _EXACT


def _is_exact_integer(value: Any) -> bool:
    return _is_bounded_number(value) and (isinstance(value, int) or float(value).is_integer())


def _claim_type_error(name: str, kind: str) -> ClaimTypeError:
    description = f"claim {name!r} is not {kind}"
    return ClaimTypeError(_native.ERR_TOKEN_CLAIMS, _native.status_http_status(_native.ERR_TOKEN_CLAIMS),
                          error="invalid_token", description=description)


@dataclass(frozen=True)
class Metrics:
    """A snapshot of a verifier's counters (kb_verifier_metrics)."""

    verified: int
    refused: int
    replay_cache_count: Optional[int]
    replay_cache_capacity: Optional[int]
    proof_key_cache_hits: int
    proof_key_cache_misses: int
    token_cache_hits: int
    token_cache_misses: int


class RedisReplayStore:
    """A replay store shared by many instances through Redis (docs/redis.md). Only when the loaded library is the
    Redis flavour (`keybound.HAS_REDIS`; libkeybound-redis.so.0, named by $KEYBOUND_LIB).

    `url` is redis://[[user]:password@]HOST[:PORT][/DB] or unix://PATH[?db=N&password=P]; `pool_size` the number of
    connections (0: 8); `timeout_ms` the per-command timeout (0: 100). When Redis does not answer, requests are refused
    with status 501 (fail closed)."""

    def __init__(self, url: str, pool_size: int = 0, timeout_ms: int = 0) -> None:
        self._handle: Optional[int] = None
        if not _native.HAS_REDIS:
            raise ConfigurationError(_native.ERR_INVALID_CONFIG,
                                     f"{_native.PATH} has no Redis replay store (build it with --with-redis)")
        raw = url.encode("utf-8")
        handle = ctypes.c_void_p()
        _check(lib.kb_redis_store_new(raw, len(raw), pool_size, timeout_ms, ctypes.byref(handle)), "Redis URL")
        self._handle = handle.value

    def close(self) -> None:
        """Releases this reference (verifiers made with the store keep theirs)."""
        if self._handle is not None:
            lib.kb_redis_store_free(self._handle)
            self._handle = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # at interpreter exit the module's globals may already be gone
            pass


class _Slot:
    """A kb_result and the out-parameters read from it: one per concurrent verification, reused."""

    __slots__ = ("result", "handle", "pointer", "length", "present", "exp", "pointer_ref", "length_ref")

    def __init__(self) -> None:
        handle = ctypes.c_void_p()
        _check(lib.kb_result_new(ctypes.byref(handle)))
        self.result = handle.value
        self.handle = handle  # a c_void_p, for result_field_unchecked
        self.pointer = ctypes.c_void_p()
        self.length = _native.SIZE()
        self.present = ctypes.c_int()
        self.exp = ctypes.c_double()
        self.pointer_ref = ctypes.byref(self.pointer)
        self.length_ref = ctypes.byref(self.length)

    def field(self, which: int) -> Optional[str]:
        _native.result_field_unchecked(self.handle, which, self.pointer_ref, self.length_ref)
        address = self.pointer.value
        if address is None:
            return None
        return ctypes.string_at(address, self.length.value).decode("utf-8")


_MODE_RESOURCE, _MODE_TOKEN_ENDPOINT, _MODE_OPAQUE = 0, 1, 2


def _words(value: ScopeInput, what: str) -> bytes:
    if value is None:
        return b""
    words = value.split() if isinstance(value, str) else list(value)
    if any(not word or " " in word for word in words):
        raise ConfigurationError(_native.ERR_INVALID_ARGUMENT, f"{what}: empty or space-holding value")
    return " ".join(words).encode("utf-8")


def _requirements(scope: ScopeInput, max_age: Optional[int],
                  acr_values: ScopeInput) -> Optional[_native.KbRequirements]:
    """The kb_requirements of one request, or None when it requires nothing beyond a valid, bound token."""
    if scope is None and max_age is None and acr_values is None:
        return None
    if not _native.HAS_REQUIREMENTS:
        raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"{_native.PATH} has no per-request requirements")
    if max_age is not None and max_age < 0:
        raise ConfigurationError(_native.ERR_INVALID_ARGUMENT, "max_age must not be negative")
    raw_scope, raw_acr = _words(scope, "scope"), _words(acr_values, "acr_values")
    return _native.KbRequirements(
        struct_size=ctypes.sizeof(_native.KbRequirements),
        flags=_native.REQUIRE_MAX_AGE if max_age is not None else 0,
        scope=raw_scope or None, scope_len=len(raw_scope), max_age=max_age or 0,
        acr_values=raw_acr or None, acr_values_len=len(raw_acr))


def _key_miss_callback(hook: Callable[[str, Optional[str]], None]) -> Any:
    """The C callback calling `hook(issuer, kid)`. ctypes takes the GIL for it; an exception the hook raises is
    logged (logger "keybound") and never crosses into the library."""

    def call(_ctx: Optional[int], issuer: Any, issuer_len: int, kid: Any, kid_len: int) -> None:
        try:
            name = ctypes.string_at(issuer, issuer_len).decode("utf-8", "replace")
            kid_text = ctypes.string_at(kid, kid_len).decode("utf-8", "replace") if kid else None
            hook(name, kid_text)
        except Exception:  # the library must never see a Python exception
            logging.getLogger("keybound").exception("the on_key_miss hook raised")

    return _native.KEY_MISS_FN(call)


class Verifier:
    """Verifies DPoP requests (RFC 9449) against trusted issuers and a policy. Thread-safe: share one per process.

    The GIL is released while the library verifies, so threads verify in parallel. Each call reads the clock
    (`clock`, by default `time.time`) unless `now` is given. `on_key_miss(issuer, kid)` is called (at most once per
    Policy.key_miss_interval per issuer, on the verifying thread) when a token names a `kid` its issuer's key set
    lacks: fetch the JWK Set again and install it with replace_jwks (Keybound does no network I/O).

        verifier = keybound.Verifier(issuers=[keybound.Issuer("https://issuer.example", ["https://api.example"],
                                                                jwks=jwks_json)])
        request = verifier.verify("GET", "https://api.example/items", headers)
    """

    def __init__(self, issuers: Iterable[Issuer] = (), policy: Optional[Policy] = None, *,
                 clock: Callable[[], float] = time.time, replay_store: Optional[RedisReplayStore] = None,
                 on_key_miss: Optional[Callable[[str, Optional[str]], None]] = None) -> None:
        self._handle: Optional[int] = None
        self._key_miss: Any = None
        self._slots: List[_Slot] = []
        self._all_slots: List[_Slot] = []
        self._lock = threading.Lock()
        self._clock = clock
        self.policy = policy or Policy()
        #: Whether a verification may wait on the network (an external replay store): async integrations then run
        #: it in a worker thread instead of on the event loop.
        self.blocking = replay_store is not None
        self._nonces = self.policy.nonce != "off"
        cfg = ctypes.c_void_p()
        _check(lib.kb_config_new(ctypes.byref(cfg)))
        try:
            self._configure(cfg, list(issuers), replay_store)
            if on_key_miss is not None:
                self._key_miss = _key_miss_callback(on_key_miss)
                _check(lib.kb_config_set_key_miss_callback(cfg, self._key_miss, None), "on_key_miss")
            handle = ctypes.c_void_p()
            errbuf = ctypes.create_string_buffer(512)
            _check(lib.kb_verifier_new(cfg, ctypes.byref(handle), errbuf, len(errbuf)), errbuf.value.decode())
        finally:
            lib.kb_config_free(cfg)
        self._handle = handle.value

    def _configure(self, cfg: ctypes.c_void_p, issuers: List[Issuer], store: Optional[RedisReplayStore]) -> None:
        for issuer in issuers:
            name = issuer.identifier.encode("utf-8")
            if issuer.jwks is None and not issuer.pem_keys:
                raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"issuer {issuer.identifier!r} has no keys")
            if issuer.jwks is not None:
                jwks = _jwks_bytes(issuer.jwks)
                _check(lib.kb_config_add_issuer(cfg, name, len(name), jwks, len(jwks)),
                       f"issuer {issuer.identifier!r}")
            if issuer.pem_keys and not _native.HAS_PEM:
                raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"{_native.PATH} takes no PEM keys")
            for key in issuer.pem_keys:
                kid = key.kid.encode("utf-8")
                alg = (key.alg or "").encode("utf-8")
                pem = _headers.as_bytes(key.pem)
                _check(lib.kb_config_add_issuer_pem(cfg, name, len(name), kid, len(kid), alg or None, len(alg), pem,
                                                    len(pem)), f"PEM key {key.kid!r} of {issuer.identifier!r}")
            if isinstance(issuer.audiences, str):
                raise ConfigurationError(_native.ERR_INVALID_CONFIG, "audiences must be a list of strings")
            for audience in issuer.audiences:
                raw = audience.encode("utf-8")
                _check(lib.kb_config_add_audience(cfg, name, len(name), raw, len(raw)), f"audience {audience!r}")
        for option, value in self.policy._int_options():
            _check(lib.kb_config_set_int(cfg, option, value), f"option {option}")
        shares = self.policy.replay_key_shares or {}
        if (self.policy.replay_key_share is not None or shares) and not _native.HAS_REPLAY_SHARE:
            raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"{_native.PATH} has no per-key replay share")
        for jkt, share in shares.items():
            raw_jkt = jkt.encode("utf-8")
            _check(lib.kb_config_set_replay_key_share(cfg, raw_jkt, len(raw_jkt), share), f"replay share of {jkt!r}")
        for secret in self.policy.nonce_secrets:
            _check(lib.kb_config_add_nonce_secret(cfg, secret, len(secret)), "nonce secret")
        if self.policy.external_base_url is not None:
            url = self.policy.external_base_url.encode("utf-8")
            _check(lib.kb_config_set_str(cfg, _native.OPT_EXTERNAL_BASE_URL, url, len(url)), "external_base_url")
        claim_rules = [(lib_name, values) for lib_name, values in (
            ("kb_config_add_required_claim", self.policy.required_claims),
            ("kb_config_add_allowed_client_id", self.policy.allowed_client_ids)) if values]
        if claim_rules and not _native.HAS_REQUIREMENTS:
            raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"{_native.PATH} has no claim rules")
        for lib_name, names in claim_rules:
            if isinstance(names, str):
                raise ConfigurationError(_native.ERR_INVALID_CONFIG, "claim rules must be lists of strings")
            for rule in names:
                raw_rule = rule.encode("utf-8")
                _check(getattr(lib, lib_name)(cfg, raw_rule, len(raw_rule)), f"{lib_name} {rule!r}")
        if self.policy.backend is not None:
            if self.policy.backend not in _native.BACKENDS:
                raise ConfigurationError(_native.ERR_INVALID_CONFIG, f"unknown backend {self.policy.backend!r}")
            _check(lib.kb_config_set_backend(cfg, _native.BACKENDS[self.policy.backend]), "backend")
        if store is not None:
            if store._handle is None:
                raise ConfigurationError(_native.ERR_INVALID_ARGUMENT, "the replay store was closed")
            _check(lib.kb_config_set_redis_store(cfg, store._handle), "replay store")

    # ----- lifetime

    def close(self) -> None:
        """Releases the library's verifier. No verification may be running; later calls raise."""
        with self._lock:
            for slot in self._all_slots:
                lib.kb_result_free(slot.result)
            self._all_slots, self._slots = [], []
            if self._handle is not None:
                lib.kb_verifier_free(self._handle)
                self._handle = None

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else self.backend
        return f"<keybound.Verifier {state}, nonce={self.policy.nonce!r}, blocking={self.blocking}>"

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_lock", None) is not None:
            try:
                self.close()
            except Exception:  # at interpreter exit the module's globals may already be gone; the OS frees it all
                pass

    def _live(self) -> int:
        handle = self._handle
        if handle is None:
            raise ConfigurationError(_native.ERR_INVALID_ARGUMENT, "the verifier was closed")
        return handle

    def _now(self, now: Optional[float]) -> int:
        return int(self._clock() if now is None else now)

    # ----- verifying

    def verify(self, method: str, url: URLInput, headers: Any, *, scope: ScopeInput = None,
               max_age: Optional[int] = None, acr_values: ScopeInput = None,
               now: Optional[float] = None) -> VerifiedRequest:
        """Verifies a resource request (RFC 9449 §7): `Authorization: DPoP <JWT>` and one `DPoP` proof.

        Args:
            method: the request method, as received (case-sensitive).
            url: the absolute request URL as received (not percent-decoded), or the origin-form target
                ("/path?query") when the policy has an external_base_url.
            headers: the request headers: any mapping (case-insensitive; a list value is several fields), a
                multidict, Werkzeug/Starlette headers, or (name, value) pairs.
            scope: scopes the token must all hold ("read write" or ["read", "write"]); else InsufficientScope
                (315, HTTP 403, the challenge naming them; RFC 6750 §3.1).
            max_age: the most seconds since the user authenticated (`auth_time`); else
                InsufficientUserAuthentication (314, RFC 9470).
            acr_values: acceptable `acr` values, any one of them; else InsufficientUserAuthentication (314).
            now: the current Unix time; default: the verifier's clock.

        Returns the VerifiedRequest; raises a DPoPError subclass when the request is refused.
        """
        requirements = _requirements(scope, max_age, acr_values)
        return self._run(_MODE_RESOURCE, method, url, headers, now, None, requirements)

    def verify_token_endpoint(self, method: str, url: URLInput, headers: Any, *,
                              now: Optional[float] = None) -> VerifiedRequest:
        """Verifies a token-endpoint request (RFC 9449 §5): a DPoP proof alone. Bind the new token to the returned
        `jkt`. A refusal carries `error_body` (the JSON to answer with) and HTTP 400 (5xx for server failures)."""
        return self._run(_MODE_TOKEN_ENDPOINT, method, url, headers, now, None)

    def verify_opaque(self, method: str, url: URLInput, headers: Any, *, bound_jkt: str,
                      now: Optional[float] = None) -> VerifiedRequest:
        """Verifies a request whose access token is opaque and was introspected by the application: `bound_jkt` is
        the token's `cnf.jkt`. The proof, its `ath`, the binding and key revocation are checked; `claims` is {}."""
        return self._run(_MODE_OPAQUE, method, url, headers, now, bound_jkt.encode("utf-8"))

    def _run(self, mode: int, method: str, url: URLInput, headers: Any, now: Optional[float],
             bound_jkt: Optional[bytes], requirements: Optional[_native.KbRequirements] = None) -> VerifiedRequest:
        handle = self._live()
        authorization, proofs = _headers.read(headers)
        raw_method = method.encode("utf-8")
        raw_url = _headers.as_bytes(url)
        count = len(proofs)
        array = (_native.CHARP * count)(*proofs) if count else None
        lengths = (_native.SIZE * count)(*[len(p) for p in proofs]) if count else None
        clock = self._now(now)
        try:
            slot = self._slots.pop()
        except IndexError:
            slot = _Slot()
            with self._lock:
                self._all_slots.append(slot)
        try:
            if requirements is not None:
                status = lib.kb_verify_with_requirements(
                    handle, raw_method, len(raw_method), raw_url, len(raw_url), authorization,
                    len(authorization or b""), array, lengths, count, ctypes.byref(requirements), clock, slot.result)
            elif mode == _MODE_RESOURCE:
                status = lib.kb_verify(handle, raw_method, len(raw_method), raw_url, len(raw_url), authorization,
                                       len(authorization or b""), array, lengths, count, clock, slot.result)
            elif mode == _MODE_TOKEN_ENDPOINT:
                status = lib.kb_verify_token_endpoint(handle, raw_method, len(raw_method), raw_url, len(raw_url),
                                                      array, lengths, count, clock, slot.result)
            else:
                status = lib.kb_verify_opaque(handle, raw_method, len(raw_method), raw_url, len(raw_url),
                                              authorization, len(authorization or b""), array, lengths, count,
                                              bound_jkt, len(bound_jkt or b""), clock, slot.result)
            if status != _native.OK:
                raise self._refusal(status, slot)
            return self._verified(mode, slot, authorization)
        finally:
            self._slots.append(slot)

    def _refusal(self, status: int, slot: _Slot) -> Exception:
        if status >= 900:
            return ConfigurationError(status, "invalid argument")
        http_status = int(lib.kb_result_http_status(slot.result))
        retry_after: Optional[int] = None
        if status == _native.ERR_REPLAY_QUOTA_EXCEEDED and _native.HAS_REPLAY_SHARE:
            seconds = ctypes.c_int64()
            if lib.kb_result_retry_after(slot.result, ctypes.byref(seconds)) == _native.OK:
                retry_after = int(seconds.value)
        return error_class(status)(
            status, http_status, error=slot.field(_native.FIELD_RFC_ERROR),
            description=slot.field(_native.FIELD_ERROR_DESCRIPTION),
            www_authenticate=slot.field(_native.FIELD_WWW_AUTHENTICATE),
            dpop_nonce=slot.field(_native.FIELD_DPOP_NONCE) if self._nonces else None,
            error_body=slot.field(_native.FIELD_ERROR_BODY), retry_after=retry_after)

    def _verified(self, mode: int, slot: _Slot, authorization: Optional[bytes]) -> VerifiedRequest:
        payload: Optional[bytes] = None
        expires_at: Optional[int] = None
        if mode == _MODE_RESOURCE:
            lib.kb_result_exp(slot.result, ctypes.byref(slot.present), ctypes.byref(slot.exp))
            if slot.present.value:
                expires_at = int(slot.exp.value)
            if authorization is not None:
                token = authorization.partition(b" ")[2].strip(b" ")
                segments = token.split(b".")
                payload = segments[1] if len(segments) == 3 else None
        scope = slot.field(_native.FIELD_SCOPE)
        return VerifiedRequest(
            jkt=slot.field(_native.FIELD_JKT),
            subject=slot.field(_native.FIELD_SUB),
            client_id=slot.field(_native.FIELD_CLIENT_ID),
            scope=scope.split() if scope else [],
            expires_at=expires_at,
            issuer=slot.field(_native.FIELD_ISSUER),
            token_id=slot.field(_native.FIELD_TOKEN_JTI),
            proof_id=slot.field(_native.FIELD_PROOF_JTI),
            dpop_nonce=slot.field(_native.FIELD_DPOP_NONCE) if self._nonces else None,
            _token_payload=payload)

    # ----- nonces, revocation, keys, metrics

    def mint_nonce(self, jkt: Optional[str] = None, *, now: Optional[float] = None) -> str:
        """A fresh nonce for the `DPoP-Nonce` response header (RFC 9449 §8). `jkt` is used with nonce mode
        "required_bound". Raises ConfigurationError when nonces are off."""
        handle = self._live()
        raw = (jkt or "").encode("utf-8")
        out = ctypes.create_string_buffer(64)
        needed = _native.SIZE()
        _check(lib.kb_mint_nonce(handle, self._now(now), raw, len(raw), out, len(out), ctypes.byref(needed)),
               "mint_nonce")
        return out.raw[:needed.value].decode("ascii")

    def revoke_token(self, jti: str, until: float, *, now: Optional[float] = None) -> None:
        """Refuses the access token with this `jti` (status 312) until `until` (Unix seconds, usually its `exp`)."""
        raw = jti.encode("utf-8")
        _check(lib.kb_revoke_token_jti(self._live(), raw, len(raw), int(until), self._now(now)), "revoke_token")

    def revoke_key(self, jkt: str, until: float, *, now: Optional[float] = None) -> None:
        """Refuses every request proved with the client key `jkt` (status 313) until `until` ("log out this
        device")."""
        raw = jkt.encode("utf-8")
        _check(lib.kb_revoke_jkt(self._live(), raw, len(raw), int(until), self._now(now)), "revoke_key")

    def replace_jwks(self, issuer: str, jwks: JWKSInput) -> None:
        """Installs a new key set for a trusted issuer (rotation). An invalid set raises ConfigurationError and
        the old one stays in force."""
        name = issuer.encode("utf-8")
        raw = _jwks_bytes(jwks)
        errbuf = ctypes.create_string_buffer(512)
        _check(lib.kb_verifier_replace_jwks(self._live(), name, len(name), raw, len(raw), errbuf, len(errbuf)),
               errbuf.value.decode())

    def skipped_keys(self, issuer: str) -> List[str]:
        """The entries of the issuer's key set that Keybound skipped, one line each (`key 2 (kid "enc-1"): use is
        not sig`)."""
        name = issuer.encode("utf-8")
        count = _native.SIZE()
        text = ctypes.create_string_buffer(512)
        _check(lib.kb_verifier_skipped_key(self._live(), name, len(name), 0, ctypes.byref(count), text, len(text)),
               "skipped_keys")
        lines = []
        for index in range(count.value):
            _check(lib.kb_verifier_skipped_key(self._live(), name, len(name), index, ctypes.byref(count), text,
                                               len(text)), "skipped_keys")
            lines.append(text.value.decode("utf-8"))
        return lines

    def metrics(self) -> Metrics:
        """The verifier's counters since it was made."""
        raw = _native.KbMetrics(struct_size=ctypes.sizeof(_native.KbMetrics))
        _check(lib.kb_verifier_metrics(self._live(), ctypes.byref(raw)), "metrics")
        external = (1 << 64) - 1
        return Metrics(raw.verified, raw.refused,
                       None if raw.replay_cache_count == external else raw.replay_cache_count,
                       None if raw.replay_cache_capacity == external else raw.replay_cache_capacity,
                       raw.proof_key_cache_hits, raw.proof_key_cache_misses, raw.token_cache_hits,
                       raw.token_cache_misses)

    def refusals(self, code: int) -> int:
        """How many requests this verifier refused with the status `code` (1xx-5xx)."""
        out = ctypes.c_uint64()
        _check(lib.kb_verifier_refusals(self._live(), code, ctypes.byref(out)), "refusals")
        return int(out.value)

    @property
    def backend(self) -> str:
        """The crypto backend this verifier runs on ("openssl" or "swift-crypto")."""
        return _native.text(lib.kb_verifier_backend_name(self._live()))
