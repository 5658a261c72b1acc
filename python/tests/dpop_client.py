# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""A DPoP client for the tests, made with Python's `cryptography` (independent of Keybound): an issuer key that signs
access tokens (ES256, `typ: at+jwt`), a client key (P-256) that signs proofs, and the JWK Set the verifier trusts."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from typing import Any, Dict, Optional

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example.com"
URL = "https://api.example.com/items"
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def ec_jwk(public: ec.EllipticCurvePublicKey) -> Dict[str, str]:
    numbers = public.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")),
            "y": b64(numbers.y.to_bytes(32, "big"))}


def thumbprint(jwk: Dict[str, str]) -> str:
    canonical = json.dumps({k: jwk[k] for k in sorted(("crv", "kty", "x", "y"))}, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode()).digest())


def sign_es256(key: ec.EllipticCurvePrivateKey, header: Dict[str, Any], payload: Dict[str, Any]) -> str:
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def sign_rs256(key: rsa.RSAPrivateKey, header: Dict[str, Any], payload: Dict[str, Any]) -> str:
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


def header_version() -> str:
    """KB_VERSION_STRING of include/keybound.h in this source tree."""
    with open(os.path.join(REPO, "include", "keybound.h"), encoding="utf-8") as header:
        found = re.search(r'^#define KB_VERSION_STRING "([^"]+)"$', header.read(), re.M)
    assert found is not None
    return found.group(1)


class World:
    """An issuer key and a client key (P-256), and helpers to mint tokens and proofs. `now` defaults to the real
    clock, as the verifier's does. `token_alg` is the issuer's algorithm: ES256 (P-256), or RS256 (a 2048-bit RSA
    key, as the Swift benchmarks' issuers sign)."""

    def __init__(self, now: Optional[int] = None, token_alg: str = "ES256") -> None:
        self.now = now if now is not None else int(time.time())
        self.token_alg = token_alg
        self.client_key = ec.generate_private_key(ec.SECP256R1())
        self.client_jwk = ec_jwk(self.client_key.public_key())
        self.jkt = thumbprint(self.client_jwk)
        issuer_public: Dict[str, str]
        if token_alg == "RS256":
            self.rsa_issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            numbers = self.rsa_issuer_key.public_key().public_numbers()
            issuer_public = {"kty": "RSA", "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                             "e": b64(numbers.e.to_bytes(3, "big"))}
        elif token_alg == "ES256":
            self.issuer_key = ec.generate_private_key(ec.SECP256R1())
            issuer_public = ec_jwk(self.issuer_key.public_key())
        else:
            raise ValueError(f"token_alg must be ES256 or RS256, not {token_alg}")
        issuer_jwk = dict(issuer_public, kid="k1", alg=token_alg, use="sig")
        self.jwks_dict = {"keys": [issuer_jwk]}
        self.jwks = json.dumps(self.jwks_dict)
        self.counter = 0

    def token(self, kid: str = "k1", **claims: Any) -> str:
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "client_id": "app", "scope": "read write",
                   "exp": self.now + 600, "iat": self.now, "jti": "tok-1", "cnf": {"jkt": self.jkt},
                   "roles": ["a", "b"]}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        header = {"alg": self.token_alg, "kid": kid, "typ": "at+jwt"}
        if self.token_alg == "RS256":
            return sign_rs256(self.rsa_issuer_key, header, payload)
        return sign_es256(self.issuer_key, header, payload)

    def proof(self, method: str = "GET", url: str = URL, token: Optional[str] = None, iat: Optional[int] = None,
              **claims: Any) -> str:
        self.counter += 1
        payload: Dict[str, Any] = {"jti": f"proof-{self.counter}-{os.urandom(4).hex()}", "htm": method, "htu": url,
                                   "iat": self.now if iat is None else iat}
        if token is not None:
            payload["ath"] = b64(hashlib.sha256(token.encode()).digest())
        payload.update(claims)
        return sign_es256(self.client_key, {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.client_jwk}, payload)

    def headers(self, method: str = "GET", url: str = URL, token: Optional[str] = None,
                **claims: Any) -> Dict[str, str]:
        """Authorization and DPoP headers of a request to `url` (the htu must be the URL without query)."""
        token = token if token is not None else self.token()
        htu = url.split("?", 1)[0].split("#", 1)[0]
        return {"Authorization": f"DPoP {token}", "DPoP": self.proof(method, htu, token=token, **claims)}
