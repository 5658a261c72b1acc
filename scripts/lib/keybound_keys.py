# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Keys, JWKs, base64url and signing helpers shared by the Python generators of test inputs:
scripts/differential/generate.py, scripts/fixtures/generate.py and scripts/fixtures/crypto_fixtures.py.

Everything here is made with Python's `cryptography` (an implementation independent of Keybound). A script imports
it after putting this folder on its path:

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
    import keybound_keys as K

- encodings: `b64u`, `b64u_int`, `b64u_decode`, `int_bytes`, `cj` (compact JSON), `sha256`;
- curve and hash tables (`HASH`, `CURVES`, `EC_ALG_CRV`, `CURVE_SIZE`, `CURVE_P`, `CURVE_N`, `ED_P`, `ED_L`);
- JWKs of `cryptography` keys: `public_jwk`, `private_members`, and the RFC 7638 `thumbprint`;
- signing exact bytes as a JWS algorithm would (`crypto_sign`, `emsa_pkcs1_v15_sha256`) and mutating one segment of
  a compact JWS after signing (`seg`);
- seeded keys (the differential generator's: one seed always gives the same keys): `ec_key`, `ed_key` and
  `other_curve_keys` derive from a seeded `random.Random`; RSA keys come from a committed file of test keys,
  scripts/differential/rsa-test-keys.json (`rsa_test_key`), regenerated with
  `python3 scripts/lib/keybound_keys.py --make-rsa-keys`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa, utils, x25519

HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1, "secp256k1": ec.SECP256K1}
EC_ALG_CRV = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
CURVE_SIZE = {"P-256": 32, "P-384": 48, "P-521": 66, "secp256k1": 32}
CURVE_P = {
    "P-256": 2**256 - 2**224 + 2**192 + 2**96 - 1,
    "P-384": 2**384 - 2**128 - 2**96 + 2**32 - 1,
    "P-521": 2**521 - 1,
}
CURVE_N = {
    "P-256": int("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16),
    "P-384": int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
                 16),
    # Note: SECURITY.md section F prints this constant with one 'f' missing (a 517-bit number); this is the
    # SEC 2 / FIPS 186-4 order, 521 bits.
    "P-521": int("01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc"
                 "0148f709a5d03bb5c9b8899c47aebb6fb71e91386409", 16),
    "secp256k1": int("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16),
}
assert [CURVE_N[c].bit_length() for c in ("P-256", "P-384", "P-521")] == [256, 384, 521]
ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493


# ----------------------------------------------------------------------------------------------------------------
# Encodings


def int_bytes(value: int, length: int | None = None) -> bytes:
    """Big-endian bytes of `value`: `length` of them, or as few as hold it (at least one)."""
    if length is None:
        length = max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_int(value: int, length: int | None = None) -> str:
    return b64u(int_bytes(value, length))


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cj(obj) -> bytes:
    """Compact JSON, exact UTF-8 bytes."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ----------------------------------------------------------------------------------------------------------------
# RSA keys: a committed set of test keys (seeded prime search in pure Python takes a minute on this machine, which
# the CI budget cannot afford). Regenerate with `python3 scripts/lib/keybound_keys.py --make-rsa-keys`.

RSA_KEYS_PATH = Path(__file__).resolve().parents[1] / "differential" / "rsa-test-keys.json"
RSA_KEY_SPECS = {  # name: (bits, e)
    "issuer-rs256": (2048, 65537), "issuer-ps256": (2048, 65537), "issuer-any": (3072, 65537),
    "client-2048a": (2048, 65537), "client-2048b": (2048, 65537), "client-3072": (3072, 65537),
    "client-4096": (4096, 65537), "client-1024": (1024, 65537), "client-2047": (2047, 65537),
    "client-e3": (2048, 3), "attacker-2048": (2048, 65537),
}
_RSA_CACHE: dict[str, rsa.RSAPrivateKey] = {}


def rsa_test_key(name: str) -> rsa.RSAPrivateKey:
    if not _RSA_CACHE:
        for key_name, nums in json.loads(RSA_KEYS_PATH.read_text())["keys"].items():
            n, e, d, p, q = (int(nums[m], 16) for m in ("n", "e", "d", "p", "q"))
            pub = rsa.RSAPublicNumbers(e, n)
            _RSA_CACHE[key_name] = rsa.RSAPrivateNumbers(
                p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), pub
            ).private_key(unsafe_skip_rsa_key_validation=True)
    return _RSA_CACHE[name]


def make_rsa_keys() -> None:
    """Writes rsa-test-keys.json with fresh keys made by `cryptography` (test keys only: never use them elsewhere)."""
    out = {}
    for name, (bits, e) in RSA_KEY_SPECS.items():
        priv = rsa.generate_private_key(public_exponent=e, key_size=bits)
        pn = priv.private_numbers()
        assert pn.public_numbers.n.bit_length() == bits
        out[name] = {"bits": bits, "n": format(pn.public_numbers.n, "x"), "e": format(e, "x"),
                     "d": format(pn.d, "x"), "p": format(pn.p, "x"), "q": format(pn.q, "x")}
    RSA_KEYS_PATH.write_text(json.dumps({"note": "RSA TEST KEYS for scripts/differential only (public in the "
                                         "repository: never trust them).", "keys": out}, indent=1) + "\n")


def ec_key(crv: str, rng: random.Random) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(rng.randrange(1, CURVE_N[crv]), CURVES[crv]())


def ed_key(rng: random.Random) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))


def other_curve_keys(rng: random.Random) -> dict:
    """Keys of types Keybound must refuse in a proof: secp256k1, Ed448, X25519 (seeded)."""
    return {
        "secp256k1": ec_key("secp256k1", rng),
        "Ed448": ed448.Ed448PrivateKey.from_private_bytes(rng.randbytes(57)),
        "X25519": x25519.X25519PrivateKey.from_private_bytes(rng.randbytes(32)),
    }


# ----------------------------------------------------------------------------------------------------------------
# JWKs and signing with cryptography (exact bytes)


def curve_name(priv: ec.EllipticCurvePrivateKey) -> str:
    """The JWK `crv` of an EC key."""
    return {v.name: k for k, v in CURVES.items()}[priv.curve.name]


def public_jwk(priv) -> dict:
    """The public JWK of a `cryptography` private key: members in the usual order, no kid."""
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        nums = priv.public_key().public_numbers()
        crv = curve_name(priv)
        size = CURVE_SIZE[crv]
        return {"kty": "EC", "crv": crv, "x": b64u_int(nums.x, size), "y": b64u_int(nums.y, size)}
    if isinstance(priv, rsa.RSAPrivateKey):
        nums = priv.public_key().public_numbers()
        return {"kty": "RSA", "n": b64u_int(nums.n), "e": b64u_int(nums.e)}
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    crv = ("Ed25519" if isinstance(priv, ed25519.Ed25519PrivateKey)
           else "Ed448" if isinstance(priv, ed448.Ed448PrivateKey) else "X25519")
    return {"kty": "OKP", "crv": crv, "x": b64u(raw)}


def private_members(priv) -> dict:
    """The private JWK members of a `cryptography` private key (add them to `public_jwk` for a private JWK)."""
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        return {"d": b64u_int(priv.private_numbers().private_value, CURVE_SIZE[curve_name(priv)])}
    if isinstance(priv, rsa.RSAPrivateKey):
        pn = priv.private_numbers()
        return {"d": b64u_int(pn.d), "p": b64u_int(pn.p), "q": b64u_int(pn.q), "dp": b64u_int(pn.dmp1),
                "dq": b64u_int(pn.dmq1), "qi": b64u_int(pn.iqmp)}
    raw = priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    return {"d": b64u(raw)}


def thumbprint(jwk: dict) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url (the generators' own; the differential generator cross-checks it
    with joserfc's)."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x"),
                "oct": ("k", "kty")}[jwk["kty"]]
    return b64u(sha256(cj({m: jwk[m] for m in required})))


def crypto_sign(priv, alg: str, data: bytes, *, salt: int | None = None, mgf: str | None = None,
                der: bool = False, deterministic: bool = True) -> bytes:
    """Signs `data` as `alg` would, adapted to the key's type (so alg/key mismatch cases still carry a signature
    made by the key). ECDSA is raw r||s unless `der`, and deterministic (RFC 6979) unless not `deterministic`
    (then k is random). RSA signs with PSS for a PS algorithm or when `salt` or `mgf` is given (salt length = hash
    length and MGF1 with the same hash unless they say otherwise; `mgf` is "sha1" or a hash size such as "512"),
    else with PKCS#1 v1.5."""
    bits = alg[-3:] if alg[-3:] in HASH else "256"
    h = HASH[bits]()
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        sig = priv.sign(data, ec.ECDSA(h, deterministic_signing=True) if deterministic else ec.ECDSA(h))
        if der:
            return sig
        r, s = utils.decode_dss_signature(sig)
        size = CURVE_SIZE[curve_name(priv)]
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if isinstance(priv, rsa.RSAPrivateKey):
        if alg.startswith("PS") or salt is not None or mgf is not None:
            mgf_hash = hashes.SHA1() if mgf == "sha1" else HASH[mgf or bits]()
            pad = padding.PSS(mgf=padding.MGF1(mgf_hash), salt_length=h.digest_size if salt is None else salt)
            return priv.sign(data, pad, h)
        return priv.sign(data, padding.PKCS1v15(), h)
    return priv.sign(data)


def emsa_pkcs1_v15_sha256(data: bytes, k: int) -> bytes:
    """EMSA-PKCS1-v1_5 encoding of SHA-256(data) in k bytes (RFC 8017 §9.2): the e = 1 "signature"."""
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + sha256(data)
    return b"\x00\x01" + b"\xff" * (k - len(digest_info) - 3) + b"\x00" + digest_info


def seg(index: int, fn):
    """Post-signing mutation of one segment of a compact JWS: `fn` maps segment `index` to its replacement."""
    def f(token: str) -> str:
        parts = token.split(".")
        parts[index] = fn(parts[index])
        return ".".join(parts)
    return f


if __name__ == "__main__":
    if sys.argv[1:] == ["--make-rsa-keys"]:
        make_rsa_keys()
    else:
        sys.exit("usage: keybound_keys.py --make-rsa-keys")
