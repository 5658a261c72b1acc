#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Differential testing, part 1: generate random DPoP requests with expected verdicts.

    python3 scripts/differential/generate.py --seed 1 --count 5000 --out /tmp/diff

writes into --out:
  cases.jsonl        one case per line: the request (method, url, authorization, dpop), its profile, fault class
                     (SECURITY.md item, or a contract of docs/design.md), fault name, the expected verdict (accept,
                     or the exact Keybound code), and for the JWKS classes the case's own key set with the entries
                     the CLI must report as skipped (or whether it must refuse the set)
  jwks.json          the trusted issuer's key set
  nonce-secrets.txt  the nonce secrets of the nonce profiles (hex, newest first)
  meta.json          seed, clock, issuer, audiences and the keybound CLI options of each profile

Every case is either valid or carries exactly one fault (SECURITY.md), applied to an otherwise valid request; where a
signature is needed, the changed bytes are re-signed with the right key, so only the fault can cause a refusal.
Valid JWS are encoded and signed by joserfc (an implementation independent of Keybound), with keys from
`cryptography`; what joserfc refuses to produce (mutated header/claims bytes, broken signatures, keys it will not
import) is signed over the exact bytes with `cryptography`. Expected verdicts follow RFC 9449, RFC 7515/7518/7519
and RFC 3986 normalisation, with docs/design.md's policy defaults (limits, algorithm list, time window) and error codes.
Where Keybound deliberately departs from the RFC text, the case expects the RFC verdict and names the deliberate
difference (`deliberate`); run.py's allow-list holds the Keybound verdict for each (see docs/differential.md).

One seed gives the same keys, the same cases and the same expectations on every run. Only the bytes of signatures
made by joserfc with randomised schemes (ECDSA's k, PSS's salt) change between runs; no verdict depends on them.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import hmac
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from joserfc import jws as jose_jws  # noqa: E402
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey  # noqa: E402

import keybound_htu as HTU  # noqa: E402
import keybound_keys as K  # noqa: E402
from keybound_codes import CODES  # noqa: E402
from keybound_keys import b64u, b64u_int, cj, seg, sha256  # noqa: E402

ISSUER = "https://issuer.example"
AUDIENCES = ["https://api.example.com", "urn:example:api"]
MAX_AGE, SKEW = 60, 5
NONCE_WINDOW = 300
TOKEN_URL = "https://issuer.example/token"
ALL_ALGS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA", "Ed25519"]

class _Auto:
    def __repr__(self):
        return "AUTO"


AUTO = _Auto()   # filled in when the request is built
DROP = object()  # member removed


class NotApplicable(Exception):
    """The random base request does not admit this mutation: draw another one."""


# ----------------------------------------------------------------------------------------------------------------
# Keys


class ProofKey:
    """A client key: a real private key (jose = its joserfc import) or a hand-built JWK with a signer."""

    def __init__(self, priv=None, jwk=None, signer=None, label=""):
        self.priv = priv
        self.jwk = jwk if jwk is not None else K.public_jwk(priv)
        self.signer = signer
        self.label = label
        self.jose = None
        if priv is not None:
            try:
                kind = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}[self.jwk["kty"]]
                self.jose = kind.import_key(priv)
            except Exception:  # noqa: BLE001 -- joserfc refuses some keys (e.g. Ed448 for OKP signing is fine)
                self.jose = None

    def sign(self, alg, data, **kw):
        if self.signer is not None:
            return self.signer(data)
        return K.crypto_sign(self.priv, alg, data, **kw)


class IssuerKey(ProofKey):
    def __init__(self, priv, kid, alg):
        super().__init__(priv=priv, label=kid)
        self.kid = kid
        self.alg = alg  # declared "alg" in the JWKS, or None

    def entry(self):
        e = {"kid": self.kid, "use": "sig"}
        if self.alg:
            e["alg"] = self.alg
        e.update(self.jwk)
        return e


_JKT: dict[bytes, str] = {}


def jkt_of(jwk: dict) -> str:
    key = cj(jwk)
    if key not in _JKT:
        _JKT[key] = _jkt_of(jwk)
    return _JKT[key]


def _jkt_of(jwk: dict) -> str:
    """RFC 7638 thumbprint; joserfc's for importable keys, cross-checked with the generator's own."""
    own = K.thumbprint(jwk)
    try:
        kind = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}[jwk["kty"]]
        theirs = kind.import_key({m: jwk[m] for m in jwk if m not in ("alg", "kid", "use")}).thumbprint()
        assert theirs == own, (jwk, theirs, own)
    except (ValueError, KeyError, TypeError):
        pass
    except Exception:  # noqa: BLE001 -- joserfc refuses off-curve points etc.; ours stands
        pass
    return own


# ----------------------------------------------------------------------------------------------------------------
# The request under construction


class Req:
    def __init__(self, g: "Gen", profile: str = "resource"):
        rng = g.rng
        self.g = g
        self.profile = profile
        self.endpoint = profile == "token-endpoint"
        if self.endpoint:
            self.method, self.url, self.htu = "POST", TOKEN_URL, TOKEN_URL
        else:
            self.method = rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "PATCH"])
            self.url, self.htu = g.random_url()
        self.pkey, self.palg = g.random_proof_key()
        self.ph = g.shuffled({"typ": "dpop+jwt", "alg": AUTO, "jwk": AUTO})
        self.pc = g.shuffled({"jti": g.jti(), "htm": AUTO, "htu": AUTO, "iat": g.random_iat()})
        self.ph_raw = self.pc_raw = self.psig = self.ppost = None
        self.ath = AUTO
        self.nonce = AUTO if profile.startswith("nonce") else None
        self.tkey = g.random_issuer()
        self.talg = g.rng.choice(g.token_algs[self.tkey.kid])
        self.sub = g.random_sub()
        aud = rng.choice(AUDIENCES)
        claims = {"iss": ISSUER, "aud": aud if rng.random() < 0.6 else g.aud_array(aud), "sub": self.sub,
                  "client_id": "client-" + str(rng.randrange(1000)), "scope": rng.choice(["read", "read write", "a"]),
                  "iat": g.now - rng.randrange(0, 3000), "exp": g.now + rng.randrange(10, 3600),
                  "jti": g.jti(), "cnf": {"jkt": AUTO}}
        if rng.random() < 0.3:
            claims["nbf"] = g.now - rng.randrange(0, 100)
        if rng.random() < 0.2:
            del claims["client_id"]
        self.th = g.shuffled({"alg": AUTO, "kid": AUTO, "typ": rng.choice(["at+jwt", "at+jwt", "application/at+jwt"])})
        self.tc = g.shuffled(claims)
        self.th_raw = self.tc_raw = self.tsig = self.tpost = None
        self.bind = AUTO
        self.auth = None
        self.dpop = None
        self.line_jkt = None
        # Opaque mode: a reference token (RFC 9449 §7: any token68), bound by the batch line's jkt.
        self.opaque_token = b64u(rng.randbytes(rng.randrange(16, 40))) + rng.choice(["", ".x", "~1", "=="])
        self.expect_sub = AUTO
        self.jwks = None  # a key set of the request's own (JWKS classes), else the profile's jwks.json


def resolve(obj, fill):
    if isinstance(obj, dict):
        return {k: resolve(fill(k) if v is AUTO else v, fill) for k, v in obj.items()}
    return obj


# ----------------------------------------------------------------------------------------------------------------
# The generator


class Gen:
    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        rng = self.rng
        self.now = 1_760_000_000 + rng.randrange(1_000_000)
        self.counter = 0
        self.cases: list[dict] = []
        self.signers = collections.Counter()
        print(f"generating keys for seed {seed} ...", file=sys.stderr)
        # The trusted issuer: several keys, most declaring their alg.
        self.issuers = [
            IssuerKey(K.ec_key("P-256", rng), "es256-1", "ES256"),
            IssuerKey(K.ec_key("P-384", rng), "es384-1", "ES384"),
            IssuerKey(K.ec_key("P-521", rng), "es512-1", "ES512"),
            IssuerKey(K.rsa_test_key("issuer-rs256"), "rs256-1", "RS256"),
            IssuerKey(K.rsa_test_key("issuer-ps256"), "ps256-1", "PS256"),
            IssuerKey(K.rsa_test_key("issuer-any"), "rsa-any", None),
            IssuerKey(K.ed_key(rng), "ed-1", "EdDSA"),
            IssuerKey(K.ed_key(rng), "ed25519-1", "Ed25519"),
            IssuerKey(K.ec_key("P-256", rng), "es-noalg", None),
        ]
        self.by_kid = {k.kid: k for k in self.issuers}
        self.token_algs = {
            "es256-1": ["ES256"], "es384-1": ["ES384"], "es512-1": ["ES512"], "rs256-1": ["RS256"],
            "ps256-1": ["PS256"], "rsa-any": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
            "ed-1": ["EdDSA"], "ed25519-1": ["Ed25519"], "es-noalg": ["ES256"],
        }
        # Another issuer (not trusted) and an attacker.
        self.foreign = IssuerKey(K.ec_key("P-256", rng), "es256-1", "ES256")
        self.attacker = ProofKey(K.ec_key("P-256", rng), label="attacker P-256")
        # Client keys: a pool (returning clients hit the proof-key cache) plus fresh EC/OKP keys per case.
        self.rsa_pool = {2048: [ProofKey(K.rsa_test_key("client-2048a")), ProofKey(K.rsa_test_key("client-2048b"))],
                         3072: [ProofKey(K.rsa_test_key("client-3072"))], 4096: [ProofKey(K.rsa_test_key("client-4096"))]}
        self.ec_pool = {crv: [ProofKey(K.ec_key(crv, rng), label=crv) for _ in range(4)]
                        for crv in ("P-256", "P-384", "P-521")}
        self.ed_pool = [ProofKey(K.ed_key(rng), label="Ed25519") for _ in range(4)]
        self.weak = {
            1024: ProofKey(K.rsa_test_key("client-1024"), label="RSA 1024"),
            2047: ProofKey(K.rsa_test_key("client-2047"), label="RSA 2047"),
            # Above the 4096-bit default: the size check comes before any RSA work, so a random odd modulus of
            # 4104 bits (no private key) with a signature-length string of bytes is enough.
            4104: ProofKey(jwk={"kty": "RSA", "n": b64u_int(rng.getrandbits(4104) | (1 << 4103) | 1), "e": "AQAB"},
                           signer=lambda si: bytes(513), label="RSA 4104 (hand)"),
        }
        self.rsa_e3 = ProofKey(K.rsa_test_key("client-e3"), label="RSA 2048 e=3")
        self.other_curves = {name: ProofKey(priv, label=name) for name, priv in K.other_curve_keys(rng).items()}
        self.nonce_secrets = [rng.randbytes(32), rng.randbytes(32)]
        self.revoked_token_jti = "revoked-" + b64u(rng.randbytes(9))
        self.revoked_key = ProofKey(K.ec_key("P-256", rng), label="revoked client")
        self.revoked_jkt = jkt_of(self.revoked_key.jwk)

    # ---- random parts
    def shuffled(self, d: dict) -> dict:
        items = list(d.items())
        if self.rng.random() < 0.5:
            self.rng.shuffle(items)
        return dict(items)

    def jti(self) -> str:
        self.counter += 1
        return b64u(self.rng.randbytes(self.rng.randrange(8, 24))) + "-" + str(self.counter)

    def random_iat(self):
        r = self.rng.random()
        if r < 0.7:
            return self.now - self.rng.randrange(0, 30)
        if r < 0.8:
            return self.now - MAX_AGE - SKEW  # lower edge, inclusive
        if r < 0.85:
            return self.now + SKEW  # upper edge, inclusive
        return round(self.now - self.rng.uniform(0, MAX_AGE), 3)

    def random_sub(self) -> str:
        return self.rng.choice(["alice", "bob", "user-" + str(self.rng.randrange(10**6)), "caf\u00e9", "\u00fcser",
                                "\U0001f511-key"])

    def aud_array(self, aud):
        others = ["https://other.example", "urn:x"]
        arr = [aud] + self.rng.sample(others, self.rng.randrange(0, 3))
        self.rng.shuffle(arr)
        return arr

    def random_issuer(self) -> IssuerKey:
        return self.rng.choice(self.issuers)

    def random_ec_proof_key(self, r):
        """Gives the request an ECDSA proof key (any of the three curves) and returns the curve's name."""
        r.pkey, r.palg = self.random_proof_key(["ES256", "ES384", "ES512"])
        return K.EC_ALG_CRV[r.palg]

    def random_proof_key(self, kinds=None):
        rng = self.rng
        kind = rng.choices(kinds or ["ES256", "ES384", "ES512", "RSA", "EdDSA"], [40, 10, 10, 25, 15][:len(kinds or "abcde")])[0]
        if kind in ("ES256", "ES384", "ES512"):
            crv = K.EC_ALG_CRV[kind]
            key = rng.choice(self.ec_pool[crv]) if rng.random() < 0.5 else ProofKey(K.ec_key(crv, rng), label=crv)
            return key, kind
        if kind == "EdDSA":
            key = rng.choice(self.ed_pool) if rng.random() < 0.5 else ProofKey(K.ed_key(rng), label="Ed25519")
            return key, rng.choice(["EdDSA", "Ed25519"])
        bits = rng.choice([2048, 2048, 3072, 4096])
        return rng.choice(self.rsa_pool[bits]), rng.choice(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])

    HOSTS = ["api.example.com", "rs.example.org", "127.0.0.1", "[::1]", "xn--bcher-kva.example"]
    SEGMENTS = ["api", "items", "v1", "orders", "~user", "a.b", "x-y_z", "%2F", "caf%C3%A9", "1234", "A"]

    def random_url(self):
        """A request URL and a random htu that is equal to it under docs/design.md's (RFC 3986 §6.2.2/6.2.3) rules."""
        rng = self.rng
        scheme = rng.choice(["https", "https", "http"])
        host = rng.choice(self.HOSTS)
        port = rng.choice([None, None, None, 8443, 8080])
        path = "".join("/" + rng.choice(self.SEGMENTS) for _ in range(rng.randrange(0, 4)))
        authority = host + (f":{port}" if port else "")
        url = f"{scheme}://{authority}{path}"
        if rng.random() < 0.3:
            url += "?" + rng.choice(["x=1", "q=a%20b&y", "", "a=/b"])
        if rng.random() < 0.05:
            url += "#frag"
        # Now an equivalent htu.
        h_scheme = scheme.upper() if rng.random() < 0.1 else scheme
        h_host = "".join(c.upper() if rng.random() < 0.5 else c for c in host) if rng.random() < 0.15 else host
        h_port = port
        if port is None and rng.random() < 0.15:
            h_port = 443 if scheme == "https" else 80
        h_path = path
        if rng.random() < 0.1:
            h_path = h_path.replace("~", rng.choice(["%7E", "%7e"]))
        if rng.random() < 0.1 and h_path:
            h_path = "/x/.." + h_path if rng.random() < 0.5 else "/." + h_path
        if rng.random() < 0.1 and "%2F" in h_path:
            h_path = h_path.replace("%2F", "%2f")
        if rng.random() < 0.1 and "items" in h_path:
            h_path = h_path.replace("items", "%69tems", 1)
        if not path and rng.random() < 0.5:
            h_path = "/"
        htu = f"{h_scheme}://{h_host}{f':{h_port}' if h_port else ''}{h_path}"
        if rng.random() < 0.05:
            htu += "?ignored=1"  # RFC 9449 §4.3 check 9: query and fragment are ignored
        return url, htu

    # ---- nonces (docs/design.md "Nonces")
    def nonce(self, *, window_delta=0, secret=0, context=b""):
        w = (self.now // NONCE_WINDOW + window_delta) % 2**32
        wb = w.to_bytes(4, "big")
        mac = hmac.new(self.nonce_secrets[secret], b"keybound-nonce-v1" + wb + context, hashlib.sha256).digest()
        return b64u(wb + mac[:16])

    # ---- signing
    def compact(self, header, payload, key: ProofKey, alg: str, sig=None, raw=False):
        """JWS compact serialization. joserfc encodes and signs whenever the inputs are ordinary (dict header,
        exact payload bytes, a key and alg it accepts, no signature override); otherwise exact bytes are signed
        with `cryptography` (or the override)."""
        payload_b = payload if isinstance(payload, bytes) else cj(payload)
        if isinstance(header, dict) and sig is None and key.jose is not None and not raw and "crit" not in header:
            try:
                token = jose_jws.serialize_compact(header, payload_b, key.jose, algorithms=[alg])
                self.signers["joserfc"] += 1
                return token
            except Exception:  # noqa: BLE001 -- joserfc refuses: sign the exact bytes ourselves
                pass
        header_b = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
        si = (b64u(header_b) + "." + b64u(payload_b)).encode("ascii")
        self.signers["cryptography"] += 1
        signature = sig(si) if sig is not None else key.sign(alg, si)
        return si.decode() + "." + b64u(signature)

    # ---- building one case
    def emit(self, r: Req, cls: str, fault: str, expect: int, deliberate: str | None = None):
        pjwk = dict(r.pkey.jwk)
        ph = resolve(r.ph, lambda k: {"alg": r.palg, "jwk": pjwk}[k])
        token = None
        authorization = None
        uses_token = r.profile not in ("token-endpoint", "opaque")
        bind = jkt_of(pjwk) if r.bind is AUTO else r.bind
        if uses_token:
            th = resolve(r.th, lambda k: {"alg": r.talg, "kid": r.tkey.kid}[k])
            tc = r.tc
            if isinstance(tc.get("cnf"), dict):
                tc = {**tc, "cnf": resolve(tc["cnf"], lambda k: bind)}
            hb = r.th_raw(th) if r.th_raw else th
            pb = r.tc_raw(tc) if r.tc_raw else cj(tc)
            token = self.compact(hb, pb, r.tkey, r.talg, sig=r.tsig)
            if r.tpost:
                token = r.tpost(token)
            authorization = r.auth(token) if r.auth else "DPoP " + token
        elif r.profile == "opaque":
            token = r.opaque_token
            authorization = "DPoP " + token
        pc = resolve(r.pc, lambda k: {"htm": r.method, "htu": r.htu}[k])
        if token is not None and r.ath is not None:
            if r.ath is AUTO:
                pc["ath"] = b64u(sha256(token.encode()))
            elif r.ath is not DROP:
                pc["ath"] = r.ath(token) if callable(r.ath) else r.ath
        if r.nonce is AUTO:
            pc["nonce"] = self.nonce(context=jkt_of(pjwk).encode() if r.profile == "nonce-bound" else b"")
        elif r.nonce is not None and r.nonce is not DROP:
            pc["nonce"] = r.nonce(pjwk) if callable(r.nonce) else r.nonce
        hb = r.ph_raw(ph) if r.ph_raw else ph
        pb = r.pc_raw(pc) if r.pc_raw else cj(pc)
        proof = self.compact(hb, pb, r.pkey, r.palg, sig=r.psig)
        if r.ppost:
            proof = r.ppost(proof)
        dpop = r.dpop(proof) if r.dpop else [proof]
        case = {"id": len(self.cases) + 1, "profile": r.profile, "class": cls, "fault": fault,
                "method": r.method, "url": r.url, "authorization": authorization, "dpop": dpop}
        if r.profile == "opaque":
            case["jkt"] = r.line_jkt if r.line_jkt is not None else jkt_of(pjwk)
        if expect == 0:
            sub = None
            if uses_token:
                sub = r.tc.get("sub") if r.expect_sub is AUTO else r.expect_sub
            case["expect"] = {"ok": True, "jkt": jkt_of(pjwk), "sub": sub}
        else:
            case["expect"] = {"ok": False, "code": expect, "name": CODES[expect]}
        if deliberate:
            case["deliberate"] = deliberate
        if r.jwks is not None:
            case["jwks"] = r.jwks
        self.cases.append(case)
        return case, proof, token


# ----------------------------------------------------------------------------------------------------------------
# Mutation helpers


def rep(old: str, new: str):
    """A textual replacement on the compact JSON bytes of a header or claims object (exactly one occurrence)."""
    def f(d):
        raw = cj(d)
        if raw.count(old.encode()) != 1:
            raise NotApplicable
        return raw.replace(old.encode(), new.encode())
    return f


ALPH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TOKEN68 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")


def is_token68(value: str) -> bool:
    body = value.rstrip("=")
    return bool(body) and all(c in TOKEN68 for c in body)


def b64_mutations(s: str, rng: random.Random):
    """Non-canonical spellings of a base64url segment (RFC 7515 §2, RFC 4648 §3.5): (name, text) or None."""
    i = rng.randrange(0, max(1, len(s)))
    options = [
        ("padding", s + ("=" * (-len(s) % 4) or "=")),
        ("space inside", s[:i] + " " + s[i:]),
        ("LF inside", s[:i] + "\n" + s[i:]),
        ("'%' inside", s[:i] + "%" + s[i:]),
        ("'!' inside", s[:i] + "!" + s[i:]),
        ("'~' inside", s[:i] + "~" + s[i:]),
        ("length 1 mod 4", s + "A" * ((1 - len(s)) % 4 or 4)),
    ]
    if "-" in s:
        options.append(("'+' for '-'", s.replace("-", "+", 1)))
    if "_" in s:
        options.append(("'/' for '_'", s.replace("_", "/", 1)))
    if len(s) % 4 in (2, 3):
        mask = 0xF if len(s) % 4 == 2 else 0x3
        last = ALPH.index(s[-1])
        if not last & 1 and mask:
            options.append(("non-zero unused bits", s[:-1] + ALPH[last | 1]))
    return rng.choice(options)


def seg_b64_mutation(index: int, rng: random.Random, holder: dict):
    """Post-signing mutation of compact segment `index` by one of b64_mutations; its name goes to holder["name"]."""
    def mutate(segment: str) -> str:
        holder["name"], out = b64_mutations(segment, rng)
        return out
    return seg(index, mutate)


def apply_one(g: "Gen", r: "Req", cls, cases, prefix: str = ""):
    """Applies one (name, change, expected code) of a table of cases to `r` and emits it; `cls` is the fault class or
    a function of the expected code that names it."""
    name, change, code = g.rng.choice(cases)
    change()
    return g.emit(r, cls(code) if callable(cls) else cls, prefix + name, code)


def nest(depth: int):
    v = []
    for _ in range(depth - 1):
        v = [v]
    return v


# ----------------------------------------------------------------------------------------------------------------
# The fault catalogue: each function builds one case (or a few) from a fresh random request and returns nothing.
# Expected codes follow docs/design.md's check order where a fault could touch two checks.

FAULTS: list[tuple[str, int, object]] = []


def fault(cls: str, weight: int = 10, kinds: int = 0, profile: str | None = "resource"):
    """Registers a fault class: the function is called with the generator, a fresh request of `profile` (None when
    the function builds its own) and, with `kinds`, a kind drawn below it."""
    def deco(fn):
        def build(g: Gen):
            r = Req(g, profile) if profile else None
            return fn(g, r, g.rng.randrange(kinds)) if kinds else fn(g, r)
        FAULTS.append((cls, weight, build))
        return fn
    return deco


@fault("valid", 160)
def valid(g: Gen, r: Req):
    rng = g.rng
    variant = rng.randrange(12)
    name = "valid"
    if variant == 0:
        r.auth = lambda t: rng.choice(["dpop ", "DPOP ", "dPoP "]) + t
        name = "valid: scheme case (RFC 9110 §11.1)"
    elif variant == 1:
        r.ph["jwk"] = dict(reversed(list(r.pkey.jwk.items())))
        name = "valid: jwk members reordered (one thumbprint, RFC 7638)"
    elif variant == 2:
        r.ph["jwk"] = {"kid": "c" + str(rng.randrange(99)), **r.pkey.jwk, "use": "sig", "alg": r.palg}
        name = "valid: jwk with kid/use/matching alg"
    elif variant == 3:
        r.ph["jku"] = "https://attacker.example/jwks"  # A6: ignored
        name = "valid: proof header jku ignored (no fetching)"
    elif variant == 4:
        r.pc["nonce"] = b64u(rng.randbytes(20))
        name = "valid: nonce claim ignored when nonces are off"
    elif variant == 5:
        r.th["typ"] = "at+jwt"
        r.tc["aud"] = g.aud_array(AUDIENCES[1])
        name = "valid: aud array (RFC 7519 §4.1.3)"
    elif variant == 6:
        r.pc["jti"] = (r.pc["jti"] + "j" * 256)[:256]
        name = "valid: jti of 256 bytes (docs/design.md bound)"
    return g.emit(r, "valid", name, 0)


@fault("valid-token-endpoint", 25, profile="token-endpoint")
def valid_endpoint(g: Gen, r: Req):
    g.emit(r, "valid", "valid: token-endpoint", 0)


@fault("valid-opaque", 10, profile="opaque")
def valid_opaque(g: Gen, r: Req):
    g.emit(r, "valid", "valid: opaque token bound by jkt", 0)


@fault("valid-nonce", 15, profile=None)
def valid_nonce(g: Gen, _: None):
    profile = g.rng.choice(["nonce", "nonce-bound"])
    r = Req(g, profile)
    if g.rng.random() < 0.3:
        ctx = b""
        r.nonce = lambda jwk: g.nonce(window_delta=-1, secret=g.rng.randrange(2),
                                      context=jkt_of(jwk).encode() if profile == "nonce-bound" else ctx)
        g.emit(r, "D12", "nonce of the previous window or the older secret: accepted", 0)
    else:
        g.emit(r, "valid", "valid: " + profile, 0)


@fault("valid-strict", 8, profile="strict")
def valid_strict(g: Gen, r: Req):
    g.emit(r, "valid", "valid: strict token typ", 0)


@fault("A1", 12)
def a1(g: Gen, r: Req):
    rng = g.rng
    v = rng.choice(["none", "None", "NONE", "nOnE", "none ", "", DROP, 0, ["ES256"], None, "HS256 "])
    empty = rng.random() < 0.5
    proof = rng.random() < 0.5
    header = r.ph if proof else r.th
    if v is DROP:
        del header["alg"]
    else:
        header["alg"] = v
    if empty and proof:
        r.psig = lambda si: b""
    elif empty:
        r.tsig = lambda si: b""
    g.emit(r, "A1", f"{'proof' if proof else 'token'} alg {v!r}", 202 if proof else 302)


@fault("A2", 10)
def a2(g: Gen, r: Req):
    rng = g.rng
    alg, h = rng.choice([("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)])
    if rng.random() < 0.6:
        key = r.tkey
        pub = key.priv.public_key()
        secret = rng.choice([
            pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
            cj(key.jwk)])
        r.th["alg"] = alg
        r.tsig = _hmac_signer(secret, h, alg)
        g.emit(r, "A2", f"token {alg} keyed with the issuer public key", 302)
    else:
        r.ph["alg"] = alg
        r.psig = _hmac_signer(cj(r.pkey.jwk), h, alg)
        g.emit(r, "A2", f"proof {alg} keyed with its own jwk", 202)


def _hmac_signer(secret: bytes, h, alg):
    """The MAC of the key-confusion attack, made with the stdlib: joserfc refuses PEM- and JWK-looking HMAC secrets
    (its own guard against this very attack), so it cannot produce these inputs."""
    del alg
    return lambda si: hmac.new(secret, si, h).digest()


@fault("A3", 14, kinds=9)
def a3(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        r.palg = "ES256"
        r.pkey = rng.choice(g.ec_pool["P-384"] + g.ec_pool["P-521"])
        return g.emit(r, "A3", "proof ES256 with a P-384/P-521 jwk", 203)
    if kind == 1:
        r.pkey = rng.choice(g.ec_pool["P-256"])
        r.palg = rng.choice(["RS256", "PS256", "EdDSA", "ES384"])
        return g.emit(r, "A3", f"proof {r.palg} with an EC P-256 jwk", 203)
    if kind == 2:
        r.pkey = g.rsa_pool[2048][0]
        r.palg = rng.choice(["ES256", "EdDSA", "Ed25519"])
        return g.emit(r, "A3", f"proof {r.palg} with an RSA jwk", 203)
    if kind == 3:
        name = rng.choice(["secp256k1", "Ed448", "X25519"])
        r.pkey = g.other_curves[name]
        r.palg = {"secp256k1": "ES256", "Ed448": "EdDSA", "X25519": "EdDSA"}[name]
        if name == "X25519":
            r.psig = lambda si: bytes(64)
        return g.emit(r, "A3", f"proof jwk crv {name}", 203)
    if kind == 4:
        wrong = rng.choice([a for a in ALL_ALGS if a != r.palg])
        r.ph["jwk"] = {**r.pkey.jwk, "alg": wrong}
        return g.emit(r, "A3", "proof jwk alg member contradicts the header alg", 203)
    if kind == 5:
        r.pkey = rng.choice(g.rsa_pool[2048])
        r.palg, other = rng.choice([("PS256", "RS256"), ("RS256", "PS256"), ("PS384", "RS384")])
        r.psig = lambda si: r.pkey.sign(other, si)
        return g.emit(r, "A3", f"proof {r.palg} signed with {other} padding", 205)
    # Token side: alg against the key found by kid (304), or a padding swap (305).
    if kind == 6:
        r.tkey = rng.choice([k for k in g.issuers if k.kid != "rsa-any"])
        r.talg = rng.choice([a for a in ALL_ALGS if a not in g.token_algs[r.tkey.kid]
                             and not (r.tkey.kid == "es-noalg" and a == "ES256")])
        return g.emit(r, "A3", f"token {r.talg} with kid {r.tkey.kid}", 304)
    if kind == 7:
        r.tkey = g.by_kid["rsa-any"]
        r.talg = rng.choice(["ES256", "EdDSA", "ES512", "Ed25519"])
        return g.emit(r, "A3", f"token {r.talg} with the RSA key that declares no alg", 304)
    r.tkey = g.by_kid[rng.choice(["ps256-1", "rs256-1"])]
    r.talg = g.token_algs[r.tkey.kid][0]
    other = "RS256" if r.talg == "PS256" else "PS256"
    r.tsig = lambda si: r.tkey.sign(other, si)
    return g.emit(r, "A3", f"token {r.talg} signed with {other} padding", 305)


@fault("A4", 8)
def a4(g: Gen, r: Req):
    rng = g.rng
    att = g.attacker
    r.tkey = g.by_kid["es256-1"]
    r.talg = "ES256"
    kind = rng.randrange(3)
    r.tsig = lambda si: att.sign("ES256", si)
    if kind == 0:
        r.th["jwk"] = att.jwk
        g.emit(r, "A4", "token header embeds the attacker's jwk, signed by it", 305)
    elif kind == 1:
        r.th["jwk"] = att.jwk
        r.th["kid"] = "attacker-1"
        g.emit(r, "A4", "token header embeds the attacker's jwk with an unknown kid", 303)
    else:
        r.th["x5c"] = [base64.b64encode(rng.randbytes(300)).decode()]
        g.emit(r, "A4", "token header carries x5c, signed by the attacker", 305)


@fault("A5", 10)
def a5(g: Gen, r: Req):
    rng = g.rng
    kid = rng.choice(["../../../../dev/null", "/etc/passwd", "' OR '1'='1", "*)(uid=*", r.tkey.kid.upper(),
                      r.tkey.kid + " ", 1, [r.tkey.kid], {"kid": r.tkey.kid}, None, "e\u0301s256-1", "unknown"])
    r.th["kid"] = kid
    if rng.random() < 0.15:
        r.th["kid"] = "a" * 9000
        return g.emit(r, "C6", "token kid of 9000 bytes (size limit first)", 300)
    if rng.random() < 0.1:
        r.th["kid"] = AUTO
        r.th_raw = lambda h: rep(f'"kid":"{r.tkey.kid}"', f'"kid":"{r.tkey.kid}\\u0000x"')(h)
        return g.emit(r, "A5", "token kid with an escaped NUL (an unknown kid to RFC 8259)", 303,
                      deliberate="nul-escape")
    g.emit(r, "A5", f"token kid {kid!r}", 303)


@fault("A6", 5)
def a6(g: Gen, r: Req):
    rng = g.rng
    member, value = rng.choice([("jku", "http://169.254.169.254/latest/meta-data/"), ("x5u", "https://a.example/c"),
                                ("jku", "file:///etc/keys.json")])
    r.th[member] = value
    if rng.random() < 0.5:
        r.tkey, r.talg = g.by_kid["es256-1"], "ES256"
        r.tsig = lambda si: g.attacker.sign("ES256", si)
        g.emit(r, "A6", f"token {member} to an attacker URL, signed by the attacker", 305)
    else:
        g.emit(r, "A6", f"token {member} present, signed by the issuer: ignored", 0)


@fault("A7", 10)
def a7(g: Gen, r: Req):
    rng = g.rng
    salt, mgf = rng.choice([(0, None), (20, None), (64, None), (48, None), (None, "sha1"), (None, "512"),
                            (None, "384")])
    if rng.random() < 0.6:
        r.pkey = rng.choice(g.rsa_pool[2048] + g.rsa_pool[3072])
        r.palg = "PS256"
        if mgf == "256" or salt == 32:
            raise NotApplicable
        r.psig = lambda si: r.pkey.sign("PS256", si, salt=salt, mgf=mgf)
        g.emit(r, "A7", f"proof PS256 salt {salt} mgf {mgf}", 205)
    else:
        r.tkey = g.by_kid["ps256-1"]
        r.talg = "PS256"
        r.tsig = lambda si: r.tkey.sign("PS256", si, salt=salt, mgf=mgf)
        g.emit(r, "A7", f"token PS256 salt {salt} mgf {mgf}", 305)


@fault("A8", 12)
def a8(g: Gen, r: Req):
    rng = g.rng
    base = g.rsa_pool[2048][0]
    n = base.priv.public_key().public_numbers().n
    kind = rng.randrange(7)
    r.palg = "RS256"
    if kind == 0:
        e = rng.choice(["AQ", "Ag", b64u_int(65538), "AA", "", "AAEAAQ", b64u_int(2**32 + 1)])
        r.pkey = ProofKey(jwk={"kty": "RSA", "n": b64u_int(n), "e": e},
                          signer=lambda si: K.emsa_pkcs1_v15_sha256(si, 256))
        return g.emit(r, "A8", f"proof RSA e={e!r}", 203)
    if kind == 1:
        bits = rng.choice([1024, 2047, 4104])
        r.pkey = g.weak[bits]
        return g.emit(r, "A8", f"proof RSA {bits}-bit modulus", 203)
    if kind == 2:
        r.pkey = ProofKey(jwk={"kty": "RSA", "n": b64u(b"\x00" + n.to_bytes(256, "big")), "e": "AQAB"},
                          signer=lambda si: base.sign("RS256", si))
        r.bind = jkt_of(base.jwk)
        return g.emit(r, "A8", "proof RSA n with a leading zero octet", 203)
    if kind == 3:
        r.pkey = ProofKey(jwk={"kty": "RSA", "n": b64u_int(rng.getrandbits(16392) | (1 << 16391) | 1), "e": "AQAB"},
                          signer=lambda si: b"\x01" * 256)
        return g.emit(r, "A8", "proof RSA jwk of 16392 bits (CPU DoS: refused before any RSA work)", 203)
    if kind == 4:
        r.pkey = ProofKey(jwk={"kty": "RSA", "n": b64u_int(n - 1), "e": "AQAB"},  # n is odd: n - 1 is even
                          signer=lambda si: base.sign("RS256", si))
        return g.emit(r, "A8", "proof RSA even modulus", 203)
    if kind == 5:
        r.ph["jwk"] = {"kty": "RSA", "e": "AQAB"}
        r.pkey = base
        return g.emit(r, "A8", "proof RSA jwk without n", 203)
    r.pkey = g.rsa_e3
    r.palg = rng.choice(["RS256", "PS256"])
    return g.emit(r, "A8", "proof RSA e = 3 (allowed: odd, 3 <= e < 2^32)", 0)


@fault("A9", 8)
def a9(g: Gen, r: Req):
    rng = g.rng
    members = rng.choice([{"crit": ["exp2"], "exp2": 1}, {"crit": []}, {"crit": ["alg"]}, {"crit": ["x"]},
                          {"crit": "b64"}, {"crit": ["b64"], "b64": False}, {"crit": None}])
    if rng.random() < 0.5:
        r.ph.update(members)
        g.emit(r, "A9", f"proof crit {members}", 204)
    else:
        r.th.update(members)
        g.emit(r, "A9", f"token crit {members}", 300)


def _ec_sig_fault(rng, crv, valid_sig: bytes):
    n = K.CURVE_N[crv]
    size = K.CURVE_SIZE[crv]
    r0, s0 = int.from_bytes(valid_sig[:size], "big"), int.from_bytes(valid_sig[size:], "big")
    name, (r, s) = rng.choice([("r = s = 0", (0, 0)), ("r = 0", (0, 1)), ("s = 0", (1, 0)), ("r = n", (n, s0)),
                               ("s = n", (r0, n)), ("r + n", (r0 + n, s0)), ("s = n - 1, r = n - 1", (n - 1, n - 1)),
                               ("all ones", (2**(8 * size) - 1, 2**(8 * size) - 1))])
    if r >= 2**(8 * size) or s >= 2**(8 * size):
        return name, None
    return name, r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _ec_sig_fault_signer(rng, key: ProofKey, alg: str, holder: dict):
    """A signer that signs as `key` and `alg`, then puts an out-of-range r or s in the signature (_ec_sig_fault),
    naming it in holder["name"]; NotApplicable when that value does not fit the signature's width."""
    crv = K.EC_ALG_CRV[alg]

    def sign(si):
        holder["name"], out = _ec_sig_fault(rng, crv, key.sign(alg, si))
        if out is None:
            raise NotApplicable
        return out
    return sign


@fault("B1", 10)
def b1(g: Gen, r: Req):
    rng = g.rng
    proof = rng.random() < 0.6
    holder = {}
    if proof:
        r.pkey, r.palg = g.random_proof_key(["ES256", "ES384", "ES512"])
        r.psig = _ec_sig_fault_signer(rng, r.pkey, r.palg, holder)
        case, _, _ = g.emit(r, "B1", "proof ECDSA r/s out of range", 205)
    else:
        r.tkey = g.by_kid[rng.choice(["es256-1", "es384-1", "es512-1"])]
        r.talg = r.tkey.alg
        r.tsig = _ec_sig_fault_signer(rng, r.tkey, r.talg, holder)
        case, _, _ = g.emit(r, "B1", "token ECDSA r/s out of range", 305)
    case["fault"] += ": " + holder["name"]


@fault("B2", 10)
def b2(g: Gen, r: Req):
    rng = g.rng
    proof = rng.random() < 0.6
    muts = [("DER", None), ("drop last byte", lambda s: s[:-1]), ("sign byte", lambda s: b"\x00" + s),
            ("two trailing zeros", lambda s: s + b"\x00\x00"), ("doubled width", lambda s: bytes(len(s)) + s),
            ("1024 bytes", lambda s: (s + bytes(1024))[:1024]), ("empty", lambda s: b"")]
    name, f = rng.choice(muts)
    if proof:
        r.pkey, r.palg = g.random_proof_key(["ES256", "ES384", "ES512"])
        key, alg = r.pkey, r.palg
        r.psig = (lambda si: K.crypto_sign(key.priv, alg, si, der=True)) if f is None else (
            lambda si: f(key.sign(alg, si)))
        g.emit(r, "B2", f"proof {alg} signature {name}", 205)
    else:
        r.tkey = g.by_kid[rng.choice(["es256-1", "es384-1", "es512-1"])]
        r.talg = r.tkey.alg
        key, alg = r.tkey, r.talg
        r.tsig = (lambda si: K.crypto_sign(key.priv, alg, si, der=True)) if f is None else (
            lambda si: f(key.sign(alg, si)))
        g.emit(r, "B2", f"token {alg} signature {name}", 305)


@fault("B3", 8)
def b3(g: Gen, r: Req):
    """High-s: still valid (JWS does not require low s); the same jti again is a replay (key is jkt + jti)."""
    rng = g.rng
    crv = g.random_ec_proof_key(r)
    n, size = K.CURVE_N[crv], K.CURVE_SIZE[crv]

    def high(key, alg):
        def f(si):
            raw = key.sign(alg, si)
            s = int.from_bytes(raw[size:], "big")
            return raw[:size] + (n - s).to_bytes(size, "big")
        return f
    if rng.random() < 0.3:
        r.tkey = g.by_kid["es256-1"]
        r.talg = "ES256"
        n2 = K.CURVE_N["P-256"]

        def thigh(si):
            raw = r.tkey.sign("ES256", si)
            return raw[:32] + (n2 - int.from_bytes(raw[32:], "big")).to_bytes(32, "big")
        r.tsig = thigh
        return g.emit(r, "B3", "token ECDSA with s replaced by n - s: valid", 0)
    r.psig = high(r.pkey, r.palg)
    _, proof, _ = g.emit(r, "B3", "proof ECDSA with s replaced by n - s: valid", 0)
    # The original (low-s) signature over the same bytes, same jti: a replay.
    parts = proof.split(".")
    si = (parts[0] + "." + parts[1]).encode()
    case = g.cases[-1]
    again = dict(case)
    again["id"] = len(g.cases) + 1
    again["fault"] = "the same proof with the other (low-s) signature: replay"
    again["class"] = "B3"
    again["dpop"] = [parts[0] + "." + parts[1] + "." + b64u(r.pkey.sign(r.palg, si))]
    again["expect"] = {"ok": False, "code": 211, "name": CODES[211]}
    g.cases.append(again)


@fault("B4", 10)
def b4(g: Gen, r: Req):
    rng = g.rng
    proof = rng.random() < 0.6
    if proof:
        r.pkey = rng.choice(g.rsa_pool[2048] + g.rsa_pool[3072])
        r.palg = rng.choice(["RS256", "PS256", "RS512"])
        key, alg = r.pkey, r.palg
    else:
        key = g.by_kid[rng.choice(["rs256-1", "ps256-1"])]
        alg = key.alg
        r.tkey, r.talg = key, alg
    n = key.priv.public_key().public_numbers().n
    k = (n.bit_length() + 7) // 8
    name, f = rng.choice([("leading zero byte", lambda s: b"\x00" + s), ("first byte removed", lambda s: s[1:]),
                          ("s = 0", lambda s: bytes(k)), ("s = n", lambda s: n.to_bytes(k, "big")),
                          ("s = n - 1", lambda s: (n - 1).to_bytes(k, "big")),
                          ("s + n", lambda s: (int.from_bytes(s, "big") + n).to_bytes(k + 1, "big")),
                          ("empty", lambda s: b""), ("left-padded to 2k", lambda s: bytes(k) + s),
                          ("one bit flipped", lambda s: s[:-1] + bytes([s[-1] ^ 1]))])
    signer = lambda si: f(key.sign(alg, si))  # noqa: E731
    if proof:
        r.psig = signer
        g.emit(r, "B4", f"proof {alg} signature {name}", 205)
    else:
        r.tsig = signer
        g.emit(r, "B4", f"token {alg} signature {name}", 305)


@fault("B5", 10)
def b5(g: Gen, r: Req):
    rng = g.rng
    r.pkey, r.palg = g.random_proof_key(["EdDSA"])
    key = r.pkey
    kind = rng.randrange(4)
    if kind == 0:
        def f(si, add=rng.choice([K.ED_L, 2**253, K.ED_P])):
            raw = key.sign("EdDSA", si)
            s = int.from_bytes(raw[32:], "little") + add
            if s >= 2**256:
                raise NotApplicable
            return raw[:32] + s.to_bytes(32, "little")
        r.psig = f
        return g.emit(r, "B5", "proof Ed25519 S + L / 2^253 / p", 205)
    if kind == 1:
        name, f = rng.choice([("R bit flip", lambda s: bytes([s[0] ^ 1]) + s[1:]), ("R = 0", lambda s: bytes(32) + s[32:]),
                              ("63 bytes", lambda s: s[:63]), ("65 bytes", lambda s: s + b"\x00"),
                              ("S bit flip", lambda s: s[:40] + bytes([s[40] ^ 4]) + s[41:])])
        r.psig = lambda si: f(key.sign("EdDSA", si))
        return g.emit(r, "B5", f"proof Ed25519 signature {name}", 205)
    if kind == 2:
        x = rng.choice([b"\x01" + bytes(31), (K.ED_P - 1).to_bytes(32, "little"), bytes(32)])
        r.pkey = ProofKey(jwk={"kty": "OKP", "crv": "Ed25519", "x": b64u(x)},
                          signer=lambda si: b"\x01" + bytes(31) + bytes(32))
        return g.emit(r, "B5", "proof Ed25519 identity/small-order key with the universal forgery", 203)
    raw = K.b64u_decode(key.jwk["x"])
    x = rng.choice([raw[:31], raw + b"\x00", b"\xff" * 31 + b"\x7f"])
    r.pkey = ProofKey(jwk={"kty": "OKP", "crv": "Ed25519", "x": b64u(x)}, signer=lambda si: key.sign("EdDSA", si))
    return g.emit(r, "B5", "proof Ed25519 x of wrong length or non-canonical", 203)


@fault("C1", 18)
def c1(g: Gen, r: Req):
    rng = g.rng
    where = rng.randrange(6)
    if where in (0, 1):
        idx = rng.randrange(3)
        holder = {}
        post = seg_b64_mutation(idx, rng, holder)
        what, code = ("proof", 200) if where == 0 else ("token", 300)
        if where == 0:
            r.ppost = post
        else:
            r.tpost = post
        case, _, _ = g.emit(r, "C1", f"{what} segment", code)
        case["fault"] = f"{what} segment {idx} with {holder['name']}"
        if where == 1 and not is_token68(case["authorization"][5:]):
            case["expect"] = {"ok": False, "code": 102, "name": CODES[102]}
            case["fault"] += " (not token68: check 1 first)"
        return
    if where == 2:
        member = rng.choice([m for m in ("x", "y", "n", "e") if m in r.pkey.jwk])
        v = r.pkey.jwk[member]
        name, out = b64_mutations(v, rng)
        r.ph["jwk"] = {**r.pkey.jwk, member: out}
        return g.emit(r, "C1", f"proof jwk.{member} with {name}", 203)
    if where == 3:
        holder = {}

        def ath(t):
            name, out = b64_mutations(b64u(sha256(t.encode())), rng)
            holder["name"] = name
            return out
        r.ath = ath
        case, _, _ = g.emit(r, "C1", "proof ath", 210)
        case["fault"] = f"proof ath with {holder['name']}"
        return
    if where == 4:
        holder = {}
        bind = jkt_of(r.pkey.jwk)
        name, out = b64_mutations(bind, rng)
        r.bind = out
        return g.emit(r, "C1", f"token cnf.jkt with {name}", 311)
    profile = rng.choice(["nonce", "nonce-bound"])
    r = Req(g, profile)
    holder = {}

    def nonce(jwk):
        good = g.nonce(context=jkt_of(jwk).encode() if profile == "nonce-bound" else b"")
        name, out = b64_mutations(good, rng)
        holder["name"] = name
        return out
    r.nonce = nonce
    case, _, _ = g.emit(r, "C1", "nonce", 221)
    case["fault"] = f"nonce with {holder['name']}"


@fault("C2", 10)
def c2(g: Gen, r: Req):
    rng = g.rng
    name, f = rng.choice([
        ("2 segments", lambda t: t.rsplit(".", 1)[0]), ("4 segments", lambda t: t + ".AAAA"),
        ("5 segments", lambda t: t + ".AA.AA"), ("trailing dot", lambda t: t + "."),
        ("empty header", lambda t: "." + t.split(".", 1)[1]),
        ("empty payload", lambda t: t.split(".")[0] + ".." + t.split(".")[2]),
        ("'..'", lambda t: t.replace(".", "..", 1)), ("9000 dots", lambda t: t + "." * 9000),
        ("JSON serialization", lambda t: json.dumps({"protected": t.split(".")[0], "payload": t.split(".")[1],
                                                     "signature": t.split(".")[2]})),
        ("leading space", lambda t: " " + t)])
    if rng.random() < 0.55:
        r.ppost = f
        g.emit(r, "C2", f"proof {name}", 200)
    else:
        r.tpost = f
        case, _, _ = g.emit(r, "C2", f"token {name}", 300)
        if not is_token68(case["authorization"][5:]) or case["authorization"][5:].startswith(" "):
            case["expect"] = {"ok": False, "code": 102, "name": CODES[102]}
            case["fault"] += " (not token68: check 1 first)"
    if rng.random() < 0.2:
        r2 = Req(g)
        which = rng.choice(["array", "string", "null"])
        body = {"array": lambda c: cj(list(c.values())), "string": lambda c: b'"x"', "null": lambda c: b"null"}[which]
        if rng.random() < 0.5:
            r2.pc_raw = body
            g.emit(r2, "C2", f"proof payload is a JSON {which}", 200)
        else:
            r2.tc_raw = body
            g.emit(r2, "C2", f"token payload is a JSON {which}", 300)


@fault("C3", 12, kinds=8)
def c3(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        r.ph_raw = lambda h: cj(h)[:-1] + b',"alg":"none"}'
        return g.emit(r, "C3", "proof header duplicate alg", 200)
    if kind == 1:
        r.ph_raw = lambda h: b'{"typ":"jwt",' + cj(h)[1:]
        return g.emit(r, "C3", "proof header duplicate typ (jwt first)", 200)
    if kind == 2:
        r.ph_raw = lambda h: cj(h)[:-1] + b',"\\u0061lg":"none"}'
        return g.emit(r, "C3", "proof header escaped duplicate \\u0061lg", 200)
    if kind == 3:
        r.ph_raw = lambda h: cj(h).replace(b'"kty":', b'"kty":"oct","kty":', 1)
        return g.emit(r, "C3", "proof jwk duplicate kty", 200)
    if kind == 4:
        m = rng.choice(["htm", "htu", "jti", "iat"])
        r.pc_raw = lambda c: cj(c)[:-1] + b',"' + m.encode() + b'":' + cj(c[m]) + b"}"
        return g.emit(r, "C3", f"proof payload duplicate {m} (same value)", 200)
    if kind == 5:
        r.tc_raw = lambda c: cj(c).replace(b'"cnf":', b'"cnf":{"jkt":"x"},"cnf":', 1)
        return g.emit(r, "C3", "token duplicate cnf", 300)
    if kind == 6:
        r.tc_raw = lambda c: cj(c).replace(b'{"jkt":', b'{"jkt":"x","jkt":', 1)
        return g.emit(r, "C3", "token duplicate jkt inside cnf", 300)
    m = rng.choice(["aud", "iss", "sub", "exp"])
    r.tc_raw = lambda c: b'{"' + m.encode() + b'":' + cj(c[m]) + b"," + cj(c)[1:]
    return g.emit(r, "C3", f"token duplicate {m}", 300)


C4_MUTS = [
    ("trailing comma", lambda b: b[:-1] + b",}"),
    ("comment", lambda b: b[:-1] + b"//c\n}"),
    ("single quotes", lambda b: b"{'a':1," + b[1:]),
    ("NaN", lambda b: b[:-1] + b',"x":NaN}'),
    ("leading +", lambda b: b[:-1] + b',"x":+1}'),
    ("leading zero", lambda b: b[:-1] + b',"x":01}'),
    ("'1.'", lambda b: b[:-1] + b',"x":1.}'),
    ("'.5'", lambda b: b[:-1] + b',"x":.5}'),
    ("raw control char", lambda b: b[:-1] + b',"x":"a\x01"}'),
    ("BOM", lambda b: b"\xef\xbb\xbf" + b),
    ("UTF-16", lambda b: b.decode("utf-8").encode("utf-16-le")),
    ("overlong UTF-8", lambda b: b[:-1] + b',"x":"\xc0\xaf"}'),
    ("CESU surrogate", lambda b: b[:-1] + b',"x":"\xed\xa0\x80"}'),
    ("truncated UTF-8", lambda b: b[:-1] + b',"x":"\xe2\x82"}'),
    ("byte FF", lambda b: b[:-1] + b',"x":"\xff"}'),
    ("trailing bytes", lambda b: b + b"x"),
    ("two objects", lambda b: b + b"{}"),
    ("bad escape \\x", lambda b: b[:-1] + b',"x":"\\x41"}'),
    ("unterminated string", lambda b: b[:-1] + b',"x":"abc}'),
    ("True", lambda b: b[:-1] + b',"x":True}'),
]


@fault("C4", 14)
def c4(g: Gen, r: Req):
    rng = g.rng
    name, f = rng.choice(C4_MUTS)
    part = rng.randrange(4)
    if rng.random() < 0.12:
        ws = lambda d: json.dumps(d, indent=rng.choice([None, 1, "\t"]),  # noqa: E731
                                  separators=(" ,\r\n", " :\t"), ensure_ascii=False).encode()
        if part < 2:
            r.ph_raw, r.pc_raw = ws, ws
        else:
            r.th_raw, r.tc_raw = ws, ws
        return g.emit(r, "C4", "RFC 8259 whitespace between tokens: accepted", 0)
    if part == 0:
        r.ph_raw = lambda h: f(cj(h))
        return g.emit(r, "C4", f"proof header {name}", 200)
    if part == 1:
        r.pc_raw = lambda c: f(cj(c))
        return g.emit(r, "C4", f"proof payload {name}", 200)
    if part == 2:
        r.th_raw = lambda h: f(cj(h))
        return g.emit(r, "C4", f"token header {name}", 300)
    r.tc_raw = lambda c: f(cj(c))
    return g.emit(r, "C4", f"token payload {name}", 300)


@fault("C5", 12, kinds=9)
def c5(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        esc = rng.choice([b"b", b"B"])
        r.ph_raw = lambda h: cj(h).replace(b'"typ":"dpop+jwt"', b'"typ":"dpop\\u002' + esc + b'jwt"')
        return g.emit(r, "C5", "proof typ dpop\\u002bjwt (equal after unescaping): accepted", 0)
    if kind == 1:
        r.pc_raw = lambda c: cj(c).replace(b'"htm":"' + c["htm"][:1].encode(),
                                           b'"htm":"\\u00' + format(ord(c["htm"][0]), "02x").encode(), 1)
        return g.emit(r, "C5", "proof htm with an escaped first letter: accepted", 0)
    if kind == 2:
        r.pc_raw = lambda c: cj(c).replace(b'"htu":"' + c["htu"].encode() + b'"',
                                           b'"htu":"' + c["htu"].replace("/", "\\/").encode() + b'"', 1)
        return g.emit(r, "C5", "proof htu with escaped solidi: accepted", 0)
    if kind == 3:
        r.tc_raw = lambda c: cj(c).replace(b'"jkt":"' + c["cnf"]["jkt"][:1].encode(),
                                           b'"jkt":"\\u00' + format(ord(c["cnf"]["jkt"][0]), "02x").encode(), 1)
        return g.emit(r, "C5", "token cnf.jkt with an escaped first character: accepted", 0)
    if kind == 4:
        r.tc["sub"] = "cafe"
        r.tc_raw = lambda c: cj(c).replace(b'"sub":"cafe"', b'"sub":"cafe\\u0301"')
        r.expect_sub = "cafe\u0301"
        return g.emit(r, "C5", "token sub NFD (escaped) returned unnormalised: accepted", 0)
    if kind == 5:
        r.pc["htm"] = r.method + "\u0301"
        return g.emit(r, "C5", "proof htm with a combining mark differs", 207)
    if kind == 6:
        where = rng.choice(["proof", "token"])
        if where == "proof":
            r.pc_raw = lambda c: cj(c)[:-1] + b',"x":"\\ud800"}'
            return g.emit(r, "C5", "proof extra claim with a lone surrogate escape", 0, deliberate="lone-surrogate")
        r.tc_raw = lambda c: cj(c)[:-1] + b',"x":"\\udc00\\ud800"}'
        return g.emit(r, "C5", "token extra claim with a reversed surrogate pair", 0, deliberate="lone-surrogate")
    if kind == 7 and rng.random() < 0.2:
        where = rng.choice(["jti", "htu"])
        r.pc_raw = lambda c: cj(c).replace(b'"' + where.encode() + b'":"', b'"' + where.encode() + b'":"x\\u0000', 1)
        return g.emit(r, "C5", f"proof {where} with an escaped NUL", 0 if where == "jti" else 208,
                      deliberate="nul-escape")
    if kind == 7:
        # The same jti spelled with an escape is the same jti: replay (the replay key uses the unescaped jti).
        _, proof, _ = g.emit(r, "C5", "first use of a jti", 0)
        jti = r.pc["jti"]
        r2 = Req(g)
        r2.pkey, r2.palg = r.pkey, r.palg
        r2.pc["jti"] = jti
        r2.pc_raw = lambda c: cj(c).replace(b'"jti":"' + jti[:1].encode(),
                                            b'"jti":"\\u00' + format(ord(jti[0]), "02x").encode(), 1)
        return g.emit(r2, "C5", "the same jti with an escaped first character: replay", 211)
    r.th["kid"] = AUTO
    r.th_raw = lambda h: cj(h).replace(b'"kid":"' + r.tkey.kid[:1].encode(),
                                       b'"kid":"\\u00' + format(ord(r.tkey.kid[0]), "02x").encode(), 1)
    return g.emit(r, "C5", "token kid with an escaped first character: accepted", 0)


@fault("C6", 10, kinds=7)
def c6(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        r.pc["pad"] = "x" * rng.randrange(8200, 12000)
        return g.emit(r, "C6", "proof over 8 KiB", 200)
    if kind == 1:
        r.tc["pad"] = "x" * rng.randrange(8200, 12000)
        return g.emit(r, "C6", "token over 8 KiB", 300)
    if kind == 2:
        d = rng.choice([17, 20, 100, 1000])
        r.pc["x"] = nest(d)
        return g.emit(r, "C6", f"proof claim nested {d} deep", 200)
    if kind == 3:
        d = rng.choice([20, 40, 1000])
        r.ph["jwk"] = {**r.pkey.jwk, "ext": nest(d)}
        return g.emit(r, "C6", f"proof jwk member nested {d} deep", 200)
    if kind == 4:
        d = rng.choice([20, 100, 1000])
        r.tc["cnf"] = {"jkt": AUTO, "ext": nest(d)}
        return g.emit(r, "C6", f"token cnf nested {d} deep", 300)
    if kind == 5:
        r.pc_raw = lambda c: cj(c)[:-1] + b',"x":"' + b"\\u0041" * 1500 + b'"}'
        return g.emit(r, "C6", "proof with 1500 \\u0041 escapes (over 8 KiB)", 200)
    r.pc_raw = lambda c: cj(c)[:-1] + b',"x":1' + b"0" * 9000 + b"}"
    return g.emit(r, "C6", "proof number of 9000 digits (over 8 KiB)", 200)


@fault("C7", 16)
def c7(g: Gen, r: Req):
    rng = g.rng
    now = g.now
    kind = rng.randrange(6)
    iat_raw = lambda v: (lambda c: cj({**c, "iat": 0}).replace(b'"iat":0', b'"iat":' + v.encode(), 1))  # noqa
    if kind == 0:
        v = rng.choice([f'"{now}"', "true", "null", "[]", "{}"])
        r.pc_raw = iat_raw(v)
        return g.emit(r, "C7", f"proof iat {v}", 206)
    if kind == 1:
        v, ok = rng.choice([(f"{now}.5", True), (f"{now // 10**8}.{now % 10**8:08d}e8", True),
                            (f"{now}0e-1", True), ("-1", False), ("0", False), ("-0", False), ("1e19", False),
                            ("9223372036854775808", False), ("1e308", False), ("1e400", False),
                            ("-1e400", False), (f"{now + 5}.001", False), (f"{now - 65}.001", True),
                            (f"{now - 66}.999", False)])
        r.pc_raw = iat_raw(v)
        return g.emit(r, "C7", f"proof iat {v}", 0 if ok else 209)
    exp_raw = lambda v: (lambda c: cj({**c, "exp": 0}).replace(b'"exp":0', b'"exp":' + v.encode(), 1))  # noqa
    if kind == 2:
        v = rng.choice([f'"{now + 600}"', "true", "null", "[]", "{}", "1e400"])
        r.tc_raw = exp_raw(v)
        return g.emit(r, "C7", f"token exp {v}", 310)
    if kind == 3:
        v, code = rng.choice([(f"{now + 600}.5", 0), (str(now - 4), 0), (f"{now - 5}.5", 0), ("-1", 308),
                              ("0", 308), ("-0", 308), (str(now - 5), 308), (f"{now - 6}.5", 308),
                              (str(now - 3600), 308), ("1e300", 0), ("9007199254740993", 0)])
        r.tc_raw = exp_raw(v)
        return g.emit(r, "C7", f"token exp {v}", code,
                      deliberate="numericdate-range" if v in ("1e300", "9007199254740993") else None)
    if kind == 4:
        v, code = rng.choice([(now + 5, 0), (now + 5.5, 309), (now + 6, 309), (now + 3600, 309), (str(now), 310),
                              (None, 310), (now - 10**6, 0)])
        r.tc["nbf"] = v
        return g.emit(r, "C7", f"token nbf {v!r}", code)
    r.tc["iat"] = rng.choice([str(now), None, [now], True])
    return g.emit(r, "C7", f"token iat {r.tc['iat']!r} (wrong type)", 310)


@fault("C8", 16)
def c8(g: Gen, r: Req):
    rng = g.rng
    cases = [
        ("token aud []", lambda: r.tc.update(aud=[]), 307),
        ("token aud other", lambda: r.tc.update(aud=["https://other.example"]), 307),
        ("token aud number", lambda: r.tc.update(aud=1), 310),
        ("token aud object", lambda: r.tc.update(aud={"a": AUDIENCES[0]}), 310),
        ("token aud array with a number", lambda: r.tc.update(aud=[AUDIENCES[0], 1]), 310),
        ("token iss number", lambda: r.tc.update(iss=1), 310),
        ("token iss trailing slash", lambda: r.tc.update(iss=ISSUER + "/"), 306),
        ("token iss missing", lambda: r.tc.pop("iss"), 306),
        ("token sub number", lambda: r.tc.update(sub=42), 310),
        ("token jti number", lambda: r.tc.update(jti=7), 310),
        ("token client_id number", lambda: r.tc.update(client_id=1), 310),
        ("token scope array", lambda: r.tc.update(scope=["read"]), 310),
        ("token cnf string", lambda: r.tc.update(cnf="x"), 310),
        ("token cnf.jkt number", lambda: r.tc.update(cnf={"jkt": 1}), 311),
        ("token cnf with x5t#S256 too: accepted", lambda: r.tc.update(cnf={"jkt": AUTO, "x5t#S256": "AAAA"}), 0),
        ("token without exp", lambda: r.tc.pop("exp"), 310),
        ("proof jti number", lambda: r.pc.update(jti=12345), 206),
        ("proof jti missing", lambda: r.pc.pop("jti"), 206),
        ("proof jti empty", lambda: r.pc.update(jti=""), 206),
        ("proof jti 257 bytes", lambda: r.pc.update(jti="j" * 257), 206),
        ("proof jti 129 two-byte characters (258 bytes)", lambda: r.pc.update(jti="\u00e9" * 129), 206),
        ("proof htu array", lambda: r.pc.update(htu=[r.htu]), 206),
        ("proof htu missing", lambda: r.pc.pop("htu"), 206),
        ("proof htm null", lambda: r.pc.update(htm=None), 206),
        ("proof htm missing", lambda: r.pc.pop("htm"), 206),
        ("proof iat missing", lambda: r.pc.pop("iat"), 206),
        ("proof ath number", lambda: setattr(r, "ath", 1), 210),
    ]
    apply_one(g, r, "C8", cases)


@fault("D1", 12, kinds=5)
def d1(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        v = rng.choice([DROP, "JWT", "at+jwt", "dpop+jwt ", "dpop", 1, None, "jwt"])
        if v is DROP:
            del r.ph["typ"]
        else:
            r.ph["typ"] = v
        return g.emit(r, "D1", f"proof typ {v!r}", 201)
    if kind == 1:
        if rng.random() < 0.5:
            v = rng.choice(["application/dpop+jwt", "DPOP+JWT", "DPoP+jwt", "application/DPoP+JWT"])
            r.ph["typ"] = v
            return g.emit(r, "D1", f"proof typ {v!r} (same media type, RFC 7515 §4.1.9)", 0,
                          deliberate="typ-media-type")
        v = rng.choice(["AT+JWT", "at+JWT", "Application/at+jwt"])
        r.th["typ"] = v
        return g.emit(r, "D1", f"token typ {v!r} (same media type, RFC 7515 §4.1.9)", 0,
                      deliberate="typ-media-type")
    if kind == 2:
        v = rng.choice(["dpop+jwt", "secevent+jwt", 1, "jwt+at"])
        r.th["typ"] = v
        return g.emit(r, "D1", f"token typ {v!r}", 301)
    if kind == 3:
        v = rng.choice(["JWT", DROP])
        if v is DROP:
            del r.th["typ"]
        else:
            r.th["typ"] = v
        if rng.random() < 0.4:
            r.profile = "strict"
            return g.emit(r, "D1", f"strict: token typ {v if v is not DROP else 'absent'}", 301)
        return g.emit(r, "D1", f"token typ {v if v is not DROP else 'absent'} (RFC 9068 §4 requires at+jwt)", 301,
                      deliberate="token-typ-compat")
    case, proof, token = g.emit(r, "D1", "proof and token swapped between the headers", 201)
    case["authorization"], case["dpop"] = "DPoP " + proof, [token]


@fault("D2", 10, kinds=4)
def d2(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0 and r.pkey.priv is not None:
        priv = K.private_members(r.pkey.priv)
        member = rng.choice(list(priv))
        r.ph["jwk"] = {**r.pkey.jwk, member: priv[member]}
        return g.emit(r, "D2", f"proof jwk carries private {member}", 203)
    if kind == 1:
        r.ph["jwk"] = {**r.pkey.jwk, **K.private_members(r.pkey.priv)}
        return g.emit(r, "D2", "proof jwk is the full private key", 203)
    if kind == 2:
        v = rng.choice(["", None, 0, "AA"])
        member = rng.choice(["d", "p", "k", "oth"])
        r.ph["jwk"] = {**r.pkey.jwk, member: v}
        return g.emit(r, "D2", f"proof jwk with {member}={v!r}", 203)
    r.ph["jwk"] = {"kty": "oct", "k": b64u(rng.randbytes(32))}
    return g.emit(r, "D2", "proof jwk is a symmetric oct key", 203)


@fault("D3", 12)
def d3(g: Gen, r: Req):
    rng = g.rng
    crv = g.random_ec_proof_key(r)
    size, p = K.CURVE_SIZE[crv], K.CURVE_P[crv]
    jwk = r.pkey.jwk
    x = int.from_bytes(K.b64u_decode(jwk["x"]), "big")
    y = int.from_bytes(K.b64u_decode(jwk["y"]), "big")
    name, members = rng.choice([
        ("off the curve (y + 1)", {"y": b64u_int((y + 1) % p, size)}),
        ("(0, 0)", {"x": b64u(bytes(size)), "y": b64u(bytes(size))}),
        ("x = p", {"x": b64u_int(p, size)}), ("x = p - 1", {"x": b64u_int(p - 1, size)}),
        ("y + p", {"y": b64u_int(p + y, size + 1)}),
        ("x missing a leading byte", {"x": b64u(K.b64u_decode(jwk["x"])[1:])}),
        ("x with an extra leading zero", {"x": b64u(b"\x00" + K.b64u_decode(jwk["x"]))}),
        ("y missing", {"y": DROP}), ("crv P-256K", {"crv": "P-256K"}), ("crv p-256", {"crv": crv.lower()}),
        ("crv P-224", {"crv": "P-224"}), ("kty ec", {"kty": "ec"}), ("crv number", {"crv": 256}),
        ("x number", {"x": x}), ("kty missing", {"kty": DROP}),
    ])
    new = {k: v for k, v in {**jwk, **members}.items() if v is not DROP}
    r.ph["jwk"] = new
    r.bind = jkt_of(jwk)
    g.emit(r, "D3", f"proof {crv} jwk {name}", 203)


@fault("D4", 12, kinds=6)
def d4(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        victim = jkt_of(r.pkey.jwk)
        r.pkey, r.palg = g.random_proof_key()
        if jkt_of(r.pkey.jwk) == victim:
            raise NotApplicable
        r.bind = victim
        return g.emit(r, "D4", "stolen token: proof by another key", 311)
    if kind == 1:
        jwk = r.pkey.jwk
        req = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
        canon = {m: jwk[m] for m in req}
        name, value = rng.choice([
            ("with kid in the hash", b64u(sha256(cj({**canon, "kid": "k"})))),
            ("over another member order", b64u(sha256(cj(dict(reversed(list(canon.items()))))))),
            ("with whitespace", b64u(sha256(json.dumps(canon).encode()))),
            ("in hex", sha256(cj(canon)).hex()),
            ("standard base64 padded", base64.b64encode(sha256(cj(canon))).decode()),
            ("SHA-384", b64u(hashlib.sha384(cj(canon)).digest()))])
        if value == jkt_of(jwk):
            raise NotApplicable
        r.bind = value
        return g.emit(r, "D4", f"cnf.jkt computed {name}", 311)
    if kind == 2:
        r.tc.pop("cnf")
        return g.emit(r, "D4", "token without cnf", 311)
    if kind == 3:
        r.tc["cnf"] = rng.choice([{}, {"x5t#S256": "AAAA"}])
        return g.emit(r, "D4", "token cnf without jkt", 311)
    if kind == 4:
        r.auth = lambda t: rng.choice(["Bearer ", "bearer ", "Basic "]) + t
        return g.emit(r, "D4", "bound token presented with another scheme (downgrade)", 101)
    r2 = Req(g, "opaque")
    r2.line_jkt = jkt_of(g.attacker.jwk)
    return g.emit(r2, "D4", "opaque mode: proof key differs from the bound jkt", 311)


@fault("D5", 10)
def d5(g: Gen, r: Req):
    rng = g.rng
    name, f = rng.choice([
        ("of another token", lambda t: b64u(sha256(t.encode() + b"x"))), ("missing", DROP),
        ("standard base64", lambda t: base64.b64encode(sha256(t.encode())).decode()),
        ("hex", lambda t: sha256(t.encode()).hex()), ("over 'DPoP <AT>'", lambda t: b64u(sha256(b"DPoP " + t.encode()))),
        ("SHA-384", lambda t: b64u(hashlib.sha384(t.encode()).digest())), ("empty", lambda t: ""),
        ("null", lambda t: None), ("upper-cased", lambda t: b64u(sha256(t.encode())).upper())])
    r.ath = f
    if name == "upper-cased":
        r.ath = lambda t: b64u(sha256(t.encode())).swapcase()
    g.emit(r, "D5", f"proof ath {name}", 210)


@fault("D6", 10, kinds=5)
def d6(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        r.tc["aud"] = rng.choice(["https://other.example", "https://api.example.com/", "urn:example:API"])
        return g.emit(r, "D6", "token for another audience", 307)
    if kind == 1:
        r.tc["iss"] = rng.choice(["https://other-issuer.example", "https://ISSUER.example", "https://issuer.example/"])
        return g.emit(r, "D6", "token with an untrusted iss", 306)
    if kind == 2:
        r.tkey, r.talg = g.by_kid["es256-1"], "ES256"
        r.tsig = lambda si: g.foreign.sign("ES256", si)
        return g.emit(r, "D6", "token signed by another issuer's key with the same kid", 305)
    if kind == 3:
        r.tc["exp"] = g.now - rng.randrange(5, 10**6)
        return g.emit(r, "D6", "token expired", 308)
    if kind == 4 and "nbf" not in r.tc:
        r.tc["nbf"] = g.now + rng.randrange(6, 10**5)
        return g.emit(r, "D6", "token not yet valid", 309)
    r.tc["jti"] = g.revoked_token_jti
    return g.emit(r, "D6", "token jti revoked", 312)


@fault("E4", 6)
def e4_cached_token(g: Gen, r: Req):
    """A token verified (and cached) once, presented again: the cache never skips binding or replay checks."""
    rng = g.rng
    case, proof, token = g.emit(r, "E4", "first use of a token (cached)", 0)
    r2 = Req(g)
    r2.th_raw = r2.tc_raw = None
    r2.tsig = None
    kind = rng.randrange(2)
    if kind == 0:
        r2.pkey, r2.palg = g.random_proof_key()
        if jkt_of(r2.pkey.jwk) == jkt_of(r.pkey.jwk):
            raise NotApplicable
        r2.auth = lambda t: "DPoP " + token
        r2.ath = lambda t: b64u(sha256(token.encode()))
        return g.emit(r2, "E4", "cached token with another client's proof", 311)
    r2.pkey, r2.palg = r.pkey, r.palg
    r2.auth = lambda t: "DPoP " + token
    r2.ath = lambda t: b64u(sha256(token.encode()))
    r2.expect_sub = r.tc.get("sub")
    return g.emit(r2, "E4", "cached token with a new proof by its own key: accepted", 0)


@fault("D6-revoked-key", 4, profile=None)
def d6_revoked(g: Gen, _: None):
    r = Req(g, g.rng.choice(["resource", "resource", "token-endpoint"]))
    r.pkey, r.palg = g.revoked_key, "ES256"
    g.emit(r, "D6", f"client key revoked ({r.profile})", 313)


@fault("D7", 12)
def d7(g: Gen, r: Req):
    rng = g.rng
    cases = [
        ("two DPoP values", lambda: setattr(r, "dpop", lambda p: [p, p]), 104),
        ("proxy-combined DPoP value", lambda: setattr(r, "dpop", lambda p: [p + ", " + p]), 200),
        ("no DPoP header", lambda: setattr(r, "dpop", lambda p: []), 103),
        # Scheme before proof (RFC 6750 §3.1): another scheme and no DPoP header is 101, not 103.
        ("another scheme, no DPoP header",
         lambda: (setattr(r, "auth", lambda t: rng.choice(["Bearer ", "Basic "]) + t), setattr(r, "dpop", lambda p: [])),
         101),
        ("empty DPoP value", lambda: setattr(r, "dpop", lambda p: [""]), 200),
        ("DPoP value with surrounding spaces", lambda: setattr(r, "dpop", lambda p: [" " + p + " "]), 200),
        ("no Authorization", lambda: setattr(r, "auth", lambda t: None), 100),
        ("empty Authorization", lambda: setattr(r, "auth", lambda t: ""), 100),
        ("'DPoP<TAB>token'", lambda: setattr(r, "auth", lambda t: "DPoP\t" + t), 102),
        ("'DPoP'", lambda: setattr(r, "auth", lambda t: "DPoP"), 102),
        ("'DPoP '", lambda: setattr(r, "auth", lambda t: "DPoP "), 102),
        ("token with ','", lambda: setattr(r, "auth", lambda t: "DPoP " + t + ",x"), 102),
        ("two Authorization values combined", lambda: setattr(r, "auth", lambda t: f"DPoP {t}, DPoP {t}"), 102),
        ("Basic scheme", lambda: setattr(r, "auth", lambda t: "Basic dXNlcjpwYXNz"), 101),
        ("scheme DPoPx", lambda: setattr(r, "auth", lambda t: "DPoPx " + t), 101),
    ]
    if rng.random() < 0.1:
        r.auth = lambda t: "DPoP  " + t
        return g.emit(r, "D7", "'DPoP  token' (two spaces; RFC 9110 §11.4: 1*SP)", 0, deliberate="auth-multiple-spaces")
    if rng.random() < 0.1:
        r2 = Req(g, "token-endpoint")
        r2.dpop = rng.choice([lambda p: [], lambda p: [p, p]])
        n = len(r2.dpop("x"))
        return g.emit(r2, "D7", f"token-endpoint: {n} DPoP values", 103 if n == 0 else 104)
    apply_one(g, r, "D7", cases)


@fault("D8", 20, kinds=4)
def d8(g: Gen, r: Req, kind: int):
    rng = g.rng
    if kind == 0:
        v = rng.choice([r.method.lower(), "POST" if r.method != "POST" else "GET", r.method + " ", "", " " + r.method])
        r.pc["htm"] = v
        return g.emit(r, "D8", f"proof htm {v!r}", 207)
    # htu faults against a fixed request so the mutation is unambiguous.
    r.url = rng.choice(["https://api.example.com/api/items", "https://api.example.com/api/items?x=1"])
    base = "https://api.example.com/api/items"
    if kind == 1:
        v = rng.choice(["http://api.example.com/api/items", "https://evil.example.com/api/items",
                        "https://api.example.com:8443/api/items", base + "/", "https://api.example.com/API/items",
                        "https://api.example.com/api%2Fitems", "https://user@api.example.com/api/items",
                        "/api/items", " " + base, base + " ", "ftp://api.example.com/api/items",
                        "https://api.example.com:0/api/items", "https://api.example.com:65536/api/items",
                        "https://api.example.com/api/it%zzems", "", "https://", "https://api.example.com./api/items",
                        "https://b\u00fccher.example/api/items", "https://api.example.com/api/items%2F",
                        "https://api.example.com/api/%49tems", "https:/api.example.com/api/items",
                        "https://api.example.com:/api/items?x" if False else "https://api.example.com:443x/api/items",
                        "https://api.example.com/api/./items/..", "https://api.example.com/api/items%"])
        r.htu = v
        return g.emit(r, "D8", f"proof htu {v!r}", 208)
    if kind == 2:
        v = rng.choice(["HTTPS://API.EXAMPLE.COM/api/items", "https://api.example.com:443/api/items",
                        "https://api.example.com/api/%69tems", "https://api.example.com/api/./x/../items",
                        base + "?y=2", base + "#f", "https://api.example.com/api/items?", "https://Api.Example.Com/api/items",
                        "https://api.example.com/./api/items", "https://api.example.com/api/x/../items"])
        r.htu = v
        return g.emit(r, "D8", f"proof htu {v!r} (equal after normalisation)", 0)
    bad_url = rng.choice(["not a url", "/api/items", "https://api.example.com:99999/a", "ftp://api.example.com/a",
                          "https://user@api.example.com/a", ""])
    r.url = bad_url
    r.htu = base
    return g.emit(r, "D8", f"request URL {bad_url!r} is not an absolute http(s) URL", 208)


@fault("D9", 14)
def d9(g: Gen, r: Req):
    rng = g.rng
    now = g.now
    v, code = rng.choice([(now - 65, 0), (now + 5, 0), (now - 66, 209), (now + 6, 209), (now - 65.5, 209),
                          (now + 5.5, 209), (now - 64.5, 0), (now + 4.5, 0), (now - 3600, 209), (now + 3600, 209),
                          (2**63, 209), (-2**63, 209), (now - 65.001, 209), (now + 5.001, 209), (1e308, 209)])
    r.pc["iat"] = v
    if rng.random() < 0.15:
        r2 = Req(g, "token-endpoint")
        r2.pc["iat"] = v
        return g.emit(r2, "D9", f"token-endpoint proof iat now{v - now:+}", code)
    g.emit(r, "D9", f"proof iat now{v - now:+}", code)


@fault("D10", 12, profile=None)
def d10(g: Gen, _: None):
    rng = g.rng
    profile = rng.choice(["resource", "resource", "token-endpoint", "nonce"])
    r = Req(g, profile)
    case, proof, token = g.emit(r, "D10", "first use", 0)
    kind = rng.randrange(3)
    if kind == 0:
        again = dict(case, id=len(g.cases) + 1, fault="the same request again: replay",
                     expect={"ok": False, "code": 211, "name": CODES[211]})
        g.cases.append(again)
    elif kind == 1:
        # Same jti, same key, fresh token and iat: still a replay.
        r2 = Req(g, profile)
        r2.pkey, r2.palg = r.pkey, r.palg
        r2.pc["jti"] = r.pc["jti"]
        g.emit(r2, "D10", "same key and jti in a new proof: replay", 211)
    else:
        r2 = Req(g, profile)
        r2.pc["jti"] = r.pc["jti"]
        if jkt_of(r2.pkey.jwk) == jkt_of(r.pkey.jwk):
            r2.pkey = ProofKey(K.ec_key("P-256", rng))
            r2.palg = "ES256"
        g.emit(r2, "D10", "same jti under another client key: accepted (replay is per key)", 0)


@fault("D12", 14, profile=None)
def d12(g: Gen, _: None):
    rng = g.rng
    profile = rng.choice(["nonce", "nonce-bound"])
    r = Req(g, profile)
    ctx = lambda jwk: jkt_of(jwk).encode() if profile == "nonce-bound" else b""  # noqa: E731
    name, nonce, code, deliberate = rng.choice([
        ("missing", DROP, 220, None),
        ("two windows old", lambda j: g.nonce(window_delta=-2, context=ctx(j)), 221, None),
        ("from the next window", lambda j: g.nonce(window_delta=1, context=ctx(j)), 221, None),
        ("for another key", lambda j: g.nonce(context=jkt_of(g.attacker.jwk).encode()), 221, None),
        ("MAC bit flipped", lambda j: _flip(g.nonce(context=ctx(j)), rng), 221, None),
        ("a number", lambda j: 12345, 221, None),
        ("empty", lambda j: "", 221, None),
        ("under an unknown secret", lambda j: b64u(rng.randbytes(20)), 221, None),
        ("escaped spelling of a valid nonce", "escaped", 0, "nonce-escaped"),
    ])
    if name == "for another key" and profile == "nonce":
        nonce = lambda j: g.nonce(context=b"x")  # noqa: E731 -- unbound nonces have an empty context
    if nonce == "escaped":
        r.nonce = lambda j: g.nonce(context=ctx(j))
        r.pc_raw = lambda c: cj(c).replace(b'"nonce":"' + c["nonce"][:1].encode(),
                                           b'"nonce":"\\u00' + format(ord(c["nonce"][0]), "02x").encode(), 1)
    else:
        r.nonce = nonce
    g.emit(r, "D12", f"{profile}: nonce {name}", code, deliberate=deliberate)


def _flip(nonce: str, rng) -> str:
    raw = bytearray(K.b64u_decode(nonce))
    raw[rng.randrange(4, len(raw))] ^= 1 << rng.randrange(8)
    return b64u(bytes(raw))


@fault("D-token-kid", 6)
def d_kid(g: Gen, r: Req):
    del r.th["kid"]
    g.emit(r, "A5", "token without kid; the issuer has several keys (RFC 7515: kid is optional)", 0,
           deliberate="token-kid-absent")


@fault("E-endpoint", 14, profile="token-endpoint")
def endpoint_faults(g: Gen, r: Req):
    """Proof-only faults in token-endpoint mode (no access token, no ath)."""
    rng = g.rng
    apply_one(g, r, lambda code: "D8" if code in (207, 208) else "E", [
        ("htm GET", lambda: r.pc.update(htm="GET"), 207),
        ("htu of the resource server", lambda: setattr(r, "htu", "https://api.example.com/a"), 208),
        ("typ JWT", lambda: r.ph.update(typ="JWT"), 201),
        ("private jwk", lambda: r.ph.update(jwk={**r.pkey.jwk, **K.private_members(r.pkey.priv)}), 203),
        ("signed by another key", lambda: setattr(r, "psig", lambda si: g.attacker.sign("ES256", si)
                                                   if r.palg == "ES256" else bytes(7)), 205),
        ("crit", lambda: r.ph.update(crit=["x"]), 204),
        ("ath present without a token: ignored", lambda: r.pc.update(ath=b64u(rng.randbytes(32))), 0),
    ], prefix="token-endpoint: ")


# ----------------------------------------------------------------------------------------------------------------
# The contracts of docs/design.md: JWK Sets as issuers publish them, `htu` (raw characters, dot segments, the
# external base URL, scheme first) and bounded work (the 512-member bound, colliding and escaped member names).

BASE_URL = "https://rs.example.net/api/"  # the base-url profile's external base URL


def _same_htu(r: Req, base: str | None = None) -> int:
    """The expected code of a request whose only question is its `htu`, from the independent oracle
    (scripts/lib/keybound_htu.py): 0 when equal under docs/design.md's rules, else 208."""
    try:
        return 0 if HTU.same(r.url, r.htu, base) else 208
    except HTU.Unspecified:
        raise NotApplicable from None


def _emit_htu(g: Gen, r: Req, cls: str, name: str, intended: bool, base: str | None = None):
    code = _same_htu(r, base)
    assert (code == 0) == intended, (name, r.url, r.htu, code)  # the construction and the oracle agree
    return g.emit(r, cls, f"{name}: {r.url!r} vs htu {r.htu!r}", code)


# Rule 8: characters sent raw that are percent-encoded before the comparison, with their UTF-8 escapes.
RAW_CHARACTERS = ["^", "{", "}", "`", "|", "[", "]", "\u00e9", "\u20ac", "\U0001f511"]
REFUSED_CHARACTERS = [" ", '"', "<", ">", "\\", "\x01", "\x7f", "\t"]


def _escaped(ch: str, rng: random.Random) -> str:
    text = "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
    return text.lower() if rng.random() < 0.3 else text


@fault("H-raw", 12, kinds=5)
def htu_raw(g: Gen, r: Req, kind: int):
    rng = g.rng
    origin = rng.choice(["https://api.example.com", "http://127.0.0.1:8080", "https://[::1]:8443"])
    ch = rng.choice(RAW_CHARACTERS)
    seg = rng.choice(["q", "a", "items"]) + "/x" + ch + "y"
    if kind == 0:  # raw on one side, escaped on the other
        raw, esc = origin + "/" + seg, origin + "/" + seg.replace(ch, _escaped(ch, rng))
        r.url, r.htu = (raw, esc) if rng.random() < 0.5 else (esc, raw)
        return _emit_htu(g, r, "H-raw", "raw character against its escape", True)
    if kind == 1:  # raw on both sides, the request with a query of raw characters
        r.url, r.htu = origin + "/" + seg + "?q=" + rng.choice(["^", "{a}", "`b`", "\u00e9"]), origin + "/" + seg
        return _emit_htu(g, r, "H-raw", "raw characters on both sides (query ignored)", True)
    if kind == 2:  # the escape of another character
        other = rng.choice([c for c in RAW_CHARACTERS if c != ch])
        r.url, r.htu = origin + "/" + seg, origin + "/" + seg.replace(ch, _escaped(other, rng))
        return _emit_htu(g, r, "H-raw", "raw character against another one's escape", False)
    bad = rng.choice(REFUSED_CHARACTERS)
    good, refused = origin + "/" + seg, origin + "/" + seg.replace(ch, bad)
    r.url, r.htu = (good, refused) if kind == 3 else (refused, good)
    return _emit_htu(g, r, "H-raw", f"refused character {bad!r} in the {'htu' if kind == 3 else 'request'} path", False)


# (request path, htu path, equal): dot segments in any encoding, on either side (rules 4 and 5).
DOT_PATHS = [
    ("/a/c", "/a/./b/../c", True), ("/a/c", "/a/%2E/b/%2E%2E/c", True), ("/a/c", "/a/%2e/b/.%2E/c", True),
    ("/c", "/../../c", True), ("/a/", "/a/b/..", True), ("/a", "/a/b/..", False), ("/a/...", "/a/...", True),
    ("/a", "/a/...", False), ("/a/..%2Fb", "/a/..%2fb", True), ("/b", "/a/..%2Fb", False),
    ("/a/b/../c", "/a/c", True), ("/a/%2E%2E/c", "/c", True), ("/a/%2E%2E/c", "/a/c", False),
    ("/a/.%2e/%2E/c", "/c", True), ("/api/v1", "/api/v1/.", False), ("/api/v1/", "/api/v1/.", True),
]


@fault("H-dots", 8)
def htu_dots(g: Gen, r: Req):
    rng = g.rng
    origin = rng.choice(["https://api.example.com", "http://rs.example.org:8080"])
    url, htu, equal = rng.choice(DOT_PATHS)
    if rng.random() < 0.5:
        url, htu = htu, url
    r.url, r.htu = origin + url, origin + htu
    return _emit_htu(g, r, "H-dots", "dot segments", equal)


# (origin-form target, htu, equal) under BASE_URL (docs/design.md "Behind a proxy").
BASE_TARGETS = [
    ("/a/../../internal", "https://rs.example.net/internal", False),
    ("/a/../../internal", "https://rs.example.net/api/internal", True),
    ("/%2E%2E/%2e%2E/internal", "https://rs.example.net/api/internal", True),
    ("/.%2E/internal", "https://rs.example.net/internal", False),
    ("/x/./y?q=1", "https://rs.example.net/api/x/y", True),
    ("/items", "HTTPS://RS.EXAMPLE.NET:443/api/items", True),
    ("/items", "https://rs.example.net/items", False),
    ("/items", "https://rs.example.net/api/../items", False),
    ("/items/", "https://rs.example.net/api/items", False),
    ("/q/x^y", "https://rs.example.net/api/q/x%5Ey", True),
    ("/caf\u00e9", "https://rs.example.net/api/caf%C3%A9", True),
    ("/", "https://rs.example.net/api/", True),
    ("/a b", "https://rs.example.net/api/a%20b", False),
    ("/a#b", "https://rs.example.net/api/a", False),
]


@fault("H-base", 8, profile="base-url")
def htu_base(g: Gen, r: Req):
    r.url, r.htu, equal = g.rng.choice(BASE_TARGETS)
    return _emit_htu(g, r, "H-base", f"base {BASE_URL}", equal, base=BASE_URL)


@fault("scheme", 6, kinds=5, profile=None)
def scheme_first(g: Gen, _: None, kind: int):
    """docs/design.md "Scheme first": the scheme is decided before a DPoP header is required, in resource and
    opaque-token modes; the token endpoint ignores Authorization."""
    profile, auth, proofs, code = [
        ("token-endpoint", "Basic dXNlcjpwYXNz", True, 0), ("token-endpoint", "Basic dXNlcjpwYXNz", False, 103),
        ("opaque", "Bearer abc", False, 101), ("resource", None, False, 100), ("opaque", "Bearer abc", True, 101),
    ][kind]
    r = Req(g, profile)
    if not proofs:
        r.dpop = lambda p: []
    case, _, _ = g.emit(r, "scheme", f"{profile}: Authorization {auth!r}, {'a' if proofs else 'no'} DPoP header", code)
    case["authorization"] = auth


# ---- JWK Sets (docs/design.md "JWK Sets"): skip and report, or refuse the whole set


def _skipped_entry(g: Gen, rng: random.Random):
    """An entry Keybound cannot verify with, for exactly one reason: (entry, reason word the warning must contain;
    "" when the reason is the key's own validation)."""
    ec_jwk = K.public_jwk(K.ec_key("P-256", rng))
    rsa_jwk = K.public_jwk(K.rsa_test_key(rng.choice(["client-2048a", "client-3072"])))
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice([{"kty": "AKP", "alg": "ML-DSA-44", "pub": b64u(rng.randbytes(48))},
                           {"kty": "oct", "alg": "HS256"}, {"kty": "ECX", "crv": "P-256"}]), "kty"
    if kind == 1:
        return dict(g.other_curves[rng.choice(["Ed448", "X25519", "secp256k1"])].jwk), "curve"
    if kind == 2:
        return {**ec_jwk, "alg": rng.choice(["ES256K", "RSA-OAEP-256", "ECDH-ES", "HS256", "none"])}, "alg"
    if kind == 3:
        return {**ec_jwk, "alg": rng.choice(["ES384", "RS256", "EdDSA"])}, "alg"
    if kind == 4:
        return {**rng.choice([ec_jwk, rsa_jwk]), "use": "enc"}, "use"
    if kind == 5:
        return K.public_jwk(K.rsa_test_key("client-1024")), "modulus"
    if kind == 6:
        return {"kty": "RSA", "n": b64u_int(rng.getrandbits(4104) | (1 << 4103) | 1), "e": "AQAB"}, "modulus"
    if kind == 7:
        y = int.from_bytes(K.b64u_decode(ec_jwk["y"]), "big")
        return rng.choice([{**ec_jwk, "y": b64u_int((y + 1) % K.CURVE_P["P-256"], 32)}, {**rsa_jwk, "e": "Ag"},
                           {"kty": "OKP", "crv": "Ed25519", "x": b64u(bytes(32))}]), ""
    return {**ec_jwk, "kid": 7}, "kid"


def _usable_entry(g: Gen) -> tuple[IssuerKey, dict, str]:
    """One of the trusted issuer's keys under a new kid: (the key, its entry, the kid it has in jwks.json)."""
    base = g.rng.choice(g.issuers)
    key = IssuerKey(base.priv, "sig-" + str(g.rng.randrange(1000)), base.alg)
    entry = key.entry()
    if g.rng.random() < 0.3:
        del entry["use"]
    return key, entry, base.kid


def _token_with(g: Gen, r: Req, key: IssuerKey, base_kid: str):
    """The request's token signed by `key` (whose algorithms are those of `base_kid` in jwks.json)."""
    r.tkey = key
    r.talg = g.rng.choice(g.token_algs[base_kid])


@fault("JWKS-skip", 3, profile=None)
def jwks_skip(g: Gen, _: None):
    """A set with entries to skip (reported on stderr, one line each) and one usable key, which verifies."""
    rng = g.rng
    key, usable, base_kid = _usable_entry(g)
    entries, reasons = [usable], [None]
    for n in range(rng.randrange(1, 5)):
        entry, reason = _skipped_entry(g, rng)
        if "kid" not in entry and rng.random() < 0.8:
            entry["kid"] = key.kid if rng.random() < 0.2 else f"skip-{n}"  # a skipped key may share the kid
        entries.append(entry)
        reasons.append(reason)
    order = list(range(len(entries)))
    rng.shuffle(order)
    doc = {"keys": [entries[i] for i in order]}
    skipped = [[pos, entries[i]["kid"] if isinstance(entries[i].get("kid"), str) else None, reasons[i]]
               for pos, i in enumerate(order) if reasons[i] is not None]
    jwks = {"id": g.counter, "document": json.dumps(doc), "loads": True, "skipped": skipped}
    g.counter += 1
    r = Req(g, "jwks")
    r.jwks = jwks
    _token_with(g, r, key, base_kid)
    g.emit(r, "JWKS-skip", f"{len(skipped)} entries skipped, the usable key verifies", 0)
    other = [kid for _, kid, _ in skipped if kid is not None and kid != key.kid]
    if other:
        r2 = Req(g, "jwks")
        r2.jwks = jwks
        _token_with(g, r2, IssuerKey(key.priv, rng.choice(other), key.alg), base_kid)
        g.emit(r2, "JWKS-skip", "a token naming a skipped entry's kid", 303)
    r3 = Req(g, "jwks")
    r3.jwks = jwks
    _token_with(g, r3, key, base_kid)
    del r3.th["kid"]
    g.emit(r3, "JWKS-skip", "a token without kid: the set's only usable key", 0)


def _refused_set(g: Gen, rng: random.Random, key: IssuerKey, usable: dict) -> tuple[str, str]:
    """(name, document) of a set refused as a whole."""
    kind = rng.randrange(5)
    skipped = [_skipped_entry(g, rng)[0] for _ in range(rng.randrange(0, 3))]
    if kind == 0:
        text = json.dumps({"keys": [usable, *skipped]})
        return rng.choice([("top-level array", json.dumps([usable])), ("a bare JWK", json.dumps(usable)),
                           ("keys is an object", json.dumps({"keys": usable})), ("no keys member", "{}"),
                           ("keys is a string", '{"keys":"' + b64u(rng.randbytes(9)) + '"}'),
                           ("duplicate keys member", '{"keys":[],' + text[1:]), ("trailing bytes", text + "x")])
    if kind == 1:
        member = rng.choice(["d", "p", "q", "dp", "dq", "qi", "oth"])
        value = [{"r": "AQ", "d": "AQ", "t": "AQ"}] if member == "oth" else b64u(rng.randbytes(32))
        target = rng.choice([usable, *skipped])
        target[member] = value
        return f"an entry with private member {member}", json.dumps({"keys": [usable, *skipped]})
    if kind == 2:
        oct_key = {"kty": "oct", "k": b64u(rng.randbytes(32)), "kid": "hmac-1"}
        return "a symmetric key with k", json.dumps({"keys": [usable, oct_key, *skipped]})
    if kind == 3:
        other = rng.choice([k for k in g.issuers if k.priv is not key.priv])
        twin = IssuerKey(other.priv, key.kid, other.alg).entry()
        return "two usable keys with one kid", json.dumps({"keys": [usable, *skipped, twin]})
    return "no usable key", json.dumps({"keys": skipped})


@fault("JWKS-whole", 2, profile=None)
def jwks_whole(g: Gen, _: None):
    """A set refused as a whole: the CLI refuses the configuration (invalid_jwks) before any request."""
    rng = g.rng
    key, usable, base_kid = _usable_entry(g)
    name, document = _refused_set(g, rng, key, usable)
    r = Req(g, "jwks")
    r.jwks = {"id": g.counter, "document": document, "loads": False, "skipped": []}
    g.counter += 1
    _token_with(g, r, key, base_kid)
    g.emit(r, "JWKS-whole", name, 903)


# ---- Bounded work (docs/design.md "Bounded work"): at most 512 members per JOSE object


def _fnv1a32(data: bytes, h: int = 0x811C9DC5) -> int:
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


# Six pairs of blocks that take FNV-1a-32 (an unkeyed name hash) from one state to one state after the prefix "c-",
# found by a birthday search: any choice of one block per pair gives one hash, so these 64 names all collide.
COLLIDING_BLOCKS = [("qajvg2", "8qy6z3"), ("4y80s4", "sbgl5m"), ("2uhegw", "jqp7ka"), ("1tkpgs", "wmwob0"),
                    ("m2k7qi", "en1aie"), ("ayfu2r", "qjeuvx")]
COLLIDING_NAMES = ["c-"]
for _a, _b in COLLIDING_BLOCKS:
    COLLIDING_NAMES = [n + blk for n in COLLIDING_NAMES for blk in (_a, _b)]
assert len({_fnv1a32(n.encode()) for n in COLLIDING_NAMES}) == 1 and len(set(COLLIDING_NAMES)) == 64


def _members(names, escape_every: int = 0) -> bytes:
    """`"name":0` members, the first character of every `escape_every`-th name written as a \\u escape."""
    out = []
    for i, name in enumerate(names):
        spelled = name
        if escape_every and i % escape_every == 0:
            spelled = "\\u%04x" % ord(name[0]) + name[1:]
        out.append(b'"' + spelled.encode() + b'":0')
    return b",".join(out)


def _two_char_names(count: int) -> list[str]:
    return [a + b for a in ALPH for b in ALPH][:count]  # two characters: no JOSE member is that short


# Where members are added: (name, the Req attribute holding its raw-bytes hook, the nested member or None, code).
BOUNDED_OBJECTS = [("proof header", "ph_raw", None, 200), ("proof payload", "pc_raw", None, 200),
                   ("proof jwk", "ph_raw", "jwk", 200), ("token header", "th_raw", None, 300),
                   ("token payload", "tc_raw", None, 300), ("token cnf", "tc_raw", "cnf", 300)]


def _with_members(extra: bytes, nested: str | None, count_to: int | None):
    """A raw-bytes hook adding `extra` members to the object (or to its `nested` member); with `count_to`, names
    are trimmed so the object ends with exactly that many members."""
    def hook(d):
        inner = d[nested] if nested else d
        add = extra
        if count_to is not None:
            add = _members(_two_char_names(count_to - len(inner)))
        grown = cj(inner)[:-1] + b"," + add + b"}"
        return cj(d).replace(cj(inner), grown, 1) if nested else grown
    return hook


@fault("W", 8, kinds=4)
def bounded_work(g: Gen, r: Req, kind: int):
    rng = g.rng
    where, attr, nested, code = rng.choice(BOUNDED_OBJECTS)
    if kind in (0, 1):
        count = 512 + kind
        setattr(r, attr, _with_members(b"", nested, count))
        name, expect = f"{where} with {count} members", (0 if kind == 0 else code)
    else:
        names = list(COLLIDING_NAMES)
        rng.shuffle(names)
        extra = _members(names, escape_every=rng.choice([0, 2, 3]))
        if kind == 3:
            extra += b',"\\u0063' + names[rng.randrange(64)][1:].encode() + b'":1'
        setattr(r, attr, _with_members(extra, nested, None))
        name = f"{where} with 64 names colliding under FNV-1a" + (", one repeated (escaped)" if kind == 3 else "")
        expect = code if kind == 3 else 0
    case, proof, token = g.emit(r, "W", name, expect)
    if len(proof) > 8000 or (token is not None and len(token) > 8000):
        raise NotApplicable  # the size bound would answer first



PROFILES = {
    # name: extra keybound verify options (the common ones are added by run.py)
    "resource": [],
    "strict": ["--strict-token-type"],
    "token-endpoint": ["--mode", "token-endpoint"],
    "opaque": ["--mode", "opaque"],
    "nonce": ["--require-nonce"],
    "nonce-bound": ["--require-nonce", "--nonce-bound-to-key"],
    "base-url": ["--base-url", BASE_URL],
    "jwks": [],  # each case names its own key set (run.py gives it as --jwks)
}


def generate(seed: int, count: int) -> Gen:
    g = Gen(seed)
    weights = [w for _, w, _ in FAULTS]
    while len(g.cases) < count:
        cls, _, fn = g.rng.choices(FAULTS, weights)[0]
        mark = len(g.cases)
        state = g.rng.getstate()
        try:
            fn(g)
        except NotApplicable:
            del g.cases[mark:]
            g.rng.setstate(state)
            g.rng.random()  # move on deterministically
    del g.cases[count:]  # a cut can only drop the second half of a replay pair, never its first use
    return g


def main() -> int:
    sys.setrecursionlimit(20000)  # json.dumps of the deeply nested (C6) members
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: a random one, printed)")
    ap.add_argument("--count", type=int, default=5000, help="number of cases (default 5000)")
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    g = generate(seed, args.count)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "cases.jsonl", "w", encoding="utf-8") as f:
        for case in g.cases:
            f.write(json.dumps(case, ensure_ascii=True, separators=(",", ":")) + "\n")
    (out / "jwks.json").write_text(json.dumps({"keys": [k.entry() for k in g.issuers]}, indent=1) + "\n")
    (out / "nonce-secrets.txt").write_text("# newest first\n" + "".join(s.hex() + "\n" for s in g.nonce_secrets))
    meta = {"seed": seed, "count": len(g.cases), "now": g.now, "issuer": ISSUER, "audiences": AUDIENCES,
            "max_age": MAX_AGE, "skew": SKEW, "revoke_token_jti": g.revoked_token_jti, "revoke_jkt": g.revoked_jkt,
            "profiles": PROFILES, "signers": dict(g.signers),
            "generator": "scripts/differential/generate.py (joserfc + cryptography)"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    classes = collections.Counter(c["class"] for c in g.cases)
    print(f"seed {seed}: {len(g.cases)} cases in {out} ({', '.join(f'{k} {v}' for k, v in sorted(classes.items()))}); "
          f"JWS signed by joserfc {g.signers['joserfc']}, by cryptography over exact bytes {g.signers['cryptography']}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
