# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""A small ctypes binding of libkeybound (include/keybound.h): verify RFC 9449 DPoP requests from Python.

    import keybound
    v = keybound.Verifier(issuers=[("https://issuer.example", jwks_json, ["https://api.example.com"])])
    try:
        ok = v.verify("GET", "https://api.example.com/items", authorization, [dpop], now=int(time.time()))
        print(ok.sub, ok.jkt)
    except keybound.Refused as refusal:
        respond(refusal.http_status, {"WWW-Authenticate": refusal.www_authenticate})

The library is found through $KEYBOUND_LIB, else dist/lib/libkeybound.so.0 of this repository, else the system's
libkeybound.so.0. A Verifier may be shared by threads: each thread gets its own kb_result.
"""
import ctypes
import os
import threading

_u8p = ctypes.POINTER(ctypes.c_uint8)
_size = ctypes.c_size_t

# Options (kb_option) and flags, as in keybound.h.
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
NONCE_OFF, NONCE_REQUIRED, NONCE_REQUIRED_BOUND = 0, 1, 2

OK = 0
ERR_INVALID_ARGUMENT = 900
ERR_BUFFER_TOO_SMALL = 901
ERR_INVALID_CONFIG = 902
ERR_INVALID_JWKS = 903
ERR_INVALID_KEY_ENCODING = 904
ERR_PRIVATE_KEY_GIVEN = 905
ERR_UNUSABLE_KEY = 906

_FIELDS = {"sub": 1, "client_id": 2, "scope": 3, "jkt": 4, "token_jti": 5, "proof_jti": 6, "issuer": 7,
           "dpop_nonce": 8, "error_name": 9, "rfc_error": 10, "error_description": 11, "www_authenticate": 12,
           "error_body": 13}


def _find_library():
    explicit = os.environ.get("KEYBOUND_LIB")
    if explicit:
        return explicit
    here = os.path.dirname(os.path.abspath(__file__))
    local = os.path.join(here, "..", "..", "dist", "lib", "libkeybound.so.0")
    return local if os.path.exists(local) else "libkeybound.so.0"


_lib = ctypes.CDLL(_find_library())


def _declare(name, restype, *argtypes):
    function = getattr(_lib, name)
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


_vp = ctypes.c_void_p
_declare("kb_version_number", ctypes.c_uint32)
_declare("kb_version_string", ctypes.c_char_p)
_declare("kb_status_name", ctypes.c_char_p, ctypes.c_int)
_declare("kb_status_string", ctypes.c_char_p, ctypes.c_int)
_declare("kb_status_rfc_error", ctypes.c_char_p, ctypes.c_int)
_declare("kb_status_http_status", ctypes.c_int, ctypes.c_int)
_declare("kb_config_new", ctypes.c_int, ctypes.POINTER(_vp))
_declare("kb_config_free", None, _vp)
_declare("kb_config_set_int", ctypes.c_int, _vp, ctypes.c_int, ctypes.c_int64)
_declare("kb_config_set_str", ctypes.c_int, _vp, ctypes.c_int, ctypes.c_char_p, _size)
_declare("kb_config_add_issuer", ctypes.c_int, _vp, ctypes.c_char_p, _size, ctypes.c_char_p, _size)
_declare("kb_config_add_audience", ctypes.c_int, _vp, ctypes.c_char_p, _size, ctypes.c_char_p, _size)
_declare("kb_config_add_nonce_secret", ctypes.c_int, _vp, ctypes.c_char_p, _size)
_declare("kb_verifier_new", ctypes.c_int, _vp, ctypes.POINTER(_vp), ctypes.c_char_p, _size)
_declare("kb_verifier_free", None, _vp)
_declare("kb_verifier_replace_jwks", ctypes.c_int, _vp, ctypes.c_char_p, _size, ctypes.c_char_p, _size,
         ctypes.c_char_p, _size)
_declare("kb_result_new", ctypes.c_int, ctypes.POINTER(_vp))
_declare("kb_result_free", None, _vp)
_declare("kb_result_http_status", ctypes.c_int, _vp)
_declare("kb_result_field", ctypes.c_int, _vp, ctypes.c_int, ctypes.POINTER(_u8p), ctypes.POINTER(_size))
_declare("kb_result_exp", ctypes.c_int, _vp, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double))
_declare("kb_result_claim", ctypes.c_int, _vp, ctypes.c_char_p, _size, ctypes.POINTER(_u8p), ctypes.POINTER(_size))
_request_args = [_vp, ctypes.c_char_p, _size, ctypes.c_char_p, _size]
_dpop_args = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(_size), _size]
_declare("kb_verify", ctypes.c_int, *_request_args, ctypes.c_char_p, _size, *_dpop_args, ctypes.c_int64, _vp)
_declare("kb_verify_token_endpoint", ctypes.c_int, *_request_args, *_dpop_args, ctypes.c_int64, _vp)
_declare("kb_verify_opaque", ctypes.c_int, *_request_args, ctypes.c_char_p, _size, *_dpop_args, ctypes.c_char_p,
         _size, ctypes.c_int64, _vp)
_declare("kb_mint_nonce", ctypes.c_int, _vp, ctypes.c_int64, ctypes.c_char_p, _size, ctypes.c_char_p, _size,
         ctypes.POINTER(_size))
_declare("kb_revoke_token_jti", ctypes.c_int, _vp, ctypes.c_char_p, _size, ctypes.c_int64, ctypes.c_int64)
_declare("kb_revoke_jkt", ctypes.c_int, _vp, ctypes.c_char_p, _size, ctypes.c_int64, ctypes.c_int64)


class KeyboundError(Exception):
    """A status other than KB_OK from a configuration or management call."""

    def __init__(self, status, detail=""):
        self.status = status
        self.name = _lib.kb_status_name(status).decode()
        super().__init__(f"{self.name} ({status}){': ' + detail if detail else ''}")


class Refused(Exception):
    """A request that failed verification, with what to answer (RFC 9449 §5, §7.1)."""

    def __init__(self, status, http_status, fields):
        self.status = status
        self.http_status = http_status
        self.name = fields.get("error_name") or _lib.kb_status_name(status).decode()
        self.rfc_error = fields.get("rfc_error")
        self.description = fields.get("error_description")
        self.www_authenticate = fields.get("www_authenticate")
        self.dpop_nonce = fields.get("dpop_nonce")
        self.error_body = fields.get("error_body")
        super().__init__(f"{self.name} ({status}): {self.description}")


class Verified:
    """What a successful verification established (copied out of the result)."""

    def __init__(self, fields, exp, claims):
        self.sub = fields.get("sub")
        self.client_id = fields.get("client_id")
        self.scope = fields.get("scope")
        self.jkt = fields.get("jkt")
        self.token_jti = fields.get("token_jti")
        self.proof_jti = fields.get("proof_jti")
        self.issuer = fields.get("issuer")
        self.dpop_nonce = fields.get("dpop_nonce")
        self.exp = exp
        self.claims = claims  # name -> raw JSON bytes (or None), for the names asked for


def _b(value):
    return value.encode() if isinstance(value, str) else value


def _check(status, detail=""):
    if status != OK:
        raise KeyboundError(status, detail)


class Verifier:
    """A kb_verifier. `issuers` is a list of (issuer, jwks_json, [audiences]); `options` maps OPT_* to ints."""

    def __init__(self, issuers=(), options=None, nonce_secrets=(), external_base_url=None):
        self._handle = None
        self._results = []
        cfg = _vp()
        _check(_lib.kb_config_new(ctypes.byref(cfg)))
        try:
            for issuer, jwks, audiences in issuers:
                issuer, jwks = _b(issuer), _b(jwks)
                _check(_lib.kb_config_add_issuer(cfg, issuer, len(issuer), jwks, len(jwks)), "issuer")
                for audience in audiences:
                    audience = _b(audience)
                    _check(_lib.kb_config_add_audience(cfg, issuer, len(issuer), audience, len(audience)))
            for option, value in (options or {}).items():
                _check(_lib.kb_config_set_int(cfg, option, value), f"option {option}")
            for secret in nonce_secrets:
                _check(_lib.kb_config_add_nonce_secret(cfg, secret, len(secret)), "nonce secret")
            if external_base_url is not None:
                url = _b(external_base_url)
                _check(_lib.kb_config_set_str(cfg, OPT_EXTERNAL_BASE_URL, url, len(url)))
            handle = _vp()
            err = ctypes.create_string_buffer(256)
            _check(_lib.kb_verifier_new(cfg, ctypes.byref(handle), err, len(err)), err.value.decode())
        finally:
            _lib.kb_config_free(cfg)
        self._handle = handle
        self._local = threading.local()
        self._results = []
        self._lock = threading.Lock()

    def close(self):
        if getattr(self, "_handle", None):
            for result in self._results:
                _lib.kb_result_free(result)
            self._results = []
            _lib.kb_verifier_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def _result(self):
        result = getattr(self._local, "result", None)
        if result is None:
            result = _vp()
            _check(_lib.kb_result_new(ctypes.byref(result)))
            with self._lock:
                self._results.append(result)
            self._local.result = result
        return result

    def _fields(self, result):
        fields = {}
        for name, number in _FIELDS.items():
            pointer, length = _u8p(), _size()
            _check(_lib.kb_result_field(result, number, ctypes.byref(pointer), ctypes.byref(length)))
            if pointer:
                fields[name] = ctypes.string_at(pointer, length.value).decode()
        return fields

    def verify(self, method, url, authorization=None, dpop=(), now=0, mode="resource", bound_jkt=None, claims=()):
        """Verifies a request; returns Verified or raises Refused. `dpop` lists every DPoP header value.
        `mode` is "resource", "token_endpoint" or "opaque" (then `bound_jkt` is the token's cnf.jkt)."""
        result = self._result()
        method, url = _b(method), _b(url)
        values = [_b(v) for v in dpop]
        count = len(values)
        array = (ctypes.c_char_p * max(count, 1))(*values)
        lengths = (_size * max(count, 1))(*[len(v) for v in values])
        if mode == "token_endpoint":
            status = _lib.kb_verify_token_endpoint(self._handle, method, len(method), url, len(url), array, lengths,
                                                   count, now, result)
        else:
            auth = _b(authorization) if authorization is not None else None
            auth_len = len(auth) if auth is not None else 0
            if mode == "opaque":
                jkt = _b(bound_jkt or b"")
                status = _lib.kb_verify_opaque(self._handle, method, len(method), url, len(url), auth, auth_len,
                                               array, lengths, count, jkt, len(jkt), now, result)
            elif mode == "resource":
                status = _lib.kb_verify(self._handle, method, len(method), url, len(url), auth, auth_len, array,
                                        lengths, count, now, result)
            else:
                raise ValueError(f"unknown mode {mode!r}")
        fields = self._fields(result)
        if status != OK:
            raise Refused(status, _lib.kb_result_http_status(result), fields)
        present, exp = ctypes.c_int(), ctypes.c_double()
        _check(_lib.kb_result_exp(result, ctypes.byref(present), ctypes.byref(exp)))
        found = {}
        for name in claims:
            raw_name = _b(name)
            pointer, length = _u8p(), _size()
            _check(_lib.kb_result_claim(result, raw_name, len(raw_name), ctypes.byref(pointer), ctypes.byref(length)))
            found[name] = ctypes.string_at(pointer, length.value) if pointer else None
        return Verified(fields, exp.value if present.value else None, found)

    def mint_nonce(self, now, jkt=None):
        """A fresh nonce for the DPoP-Nonce header (RFC 9449 §8)."""
        jkt = _b(jkt or b"")
        needed = _size()
        status = _lib.kb_mint_nonce(self._handle, now, jkt, len(jkt), None, 0, ctypes.byref(needed))
        if status != ERR_BUFFER_TOO_SMALL:
            _check(status)
        out = ctypes.create_string_buffer(needed.value)
        _check(_lib.kb_mint_nonce(self._handle, now, jkt, len(jkt), out, len(out), ctypes.byref(needed)))
        return out.raw[:needed.value].decode()

    def replace_jwks(self, issuer, jwks):
        issuer, jwks = _b(issuer), _b(jwks)
        err = ctypes.create_string_buffer(256)
        _check(_lib.kb_verifier_replace_jwks(self._handle, issuer, len(issuer), jwks, len(jwks), err, len(err)),
               err.value.decode())

    def revoke_token_jti(self, jti, until, now):
        jti = _b(jti)
        _check(_lib.kb_revoke_token_jti(self._handle, jti, len(jti), until, now))

    def revoke_jkt(self, jkt, until, now):
        jkt = _b(jkt)
        _check(_lib.kb_revoke_jkt(self._handle, jkt, len(jkt), until, now))


def version():
    """The loaded library's version (kb_version_string), which is Keybound's KeyboundVersion."""
    return _lib.kb_version_string().decode()


# The version of this binding is the library's: defined once, in Sources/Keybound/Keybound.swift (KeyboundVersion).
__version__ = version()
