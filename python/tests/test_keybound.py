# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""pytest suite of the ctypes binding: the RFC 9449 examples, and requests signed with Python's `cryptography`."""
import base64
import hashlib
import json
import threading

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import keybound

# ----- RFC 9449 examples (Tests/Vectors/rfc-examples.md) -----

FIG2 = ("eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0Rs"
        "cEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2"
        "In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2"
        "VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37"
        "xRZT3Lg")
FIG7_PAYLOAD_IAT = 1562265296
FIG13_AUTHORIZATION = "DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
FIG_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
TOKEN_URL = "https://server.example.com/token"
RESOURCE_URL = "https://resource.example.org/protectedresource"


def rfc_vectors():
    """Figures 7 and 13, read from the vendored Tests/Vectors/rfc-examples.md (a missing file fails the test)."""
    import os
    import re
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "Tests", "Vectors", "rfc-examples.md")
    if not os.path.exists(path):
        pytest.fail(f"vendored test vectors missing: {path}")
    text = open(path, encoding="utf-8").read()
    blocks = re.findall(r"```\n(eyJ[^\n]+)\n```", text)
    return {"fig2": blocks[0], "fig7": blocks[1], "fig13": re.search(r"DPoP: (eyJ[^\n]+)", text).group(1)}


def header_version():
    """KB_VERSION_STRING and KB_VERSION_NUMBER of include/keybound.h in this source tree."""
    import os
    import re
    here = os.path.dirname(os.path.abspath(__file__))
    text = open(os.path.join(here, "..", "..", "include", "keybound.h"), encoding="utf-8").read()
    string = re.search(r'^#define KB_VERSION_STRING "([^"]+)"$', text, re.M).group(1)
    major, minor, patch = (int(re.search(rf"^#define KB_VERSION_{part} (\d+)$", text, re.M).group(1))
                           for part in ("MAJOR", "MINOR", "PATCH"))
    return string, major * 10000 + minor * 100 + patch


def test_version():
    string, number = header_version()
    assert keybound.__version__ == string
    assert keybound.version() == string
    assert keybound._lib.kb_version_number() == number


def test_rfc9449_figure2_token_endpoint():
    v = keybound.Verifier()
    ok = v.verify("POST", TOKEN_URL, dpop=[FIG2], now=1562262616, mode="token_endpoint")
    assert ok.jkt == FIG_JKT
    assert ok.proof_jti == "-BwC3ESc6acc2lTc"
    assert ok.sub is None and ok.exp is None
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("POST", TOKEN_URL, dpop=[FIG2], now=1562262616, mode="token_endpoint")
    assert refusal.value.status == 211 and refusal.value.http_status == 400
    assert json.loads(refusal.value.error_body)["error"] == "invalid_dpop_proof"
    assert refusal.value.www_authenticate is None


def test_rfc9449_figure7_reuses_the_jti_outside_the_window():
    vectors = rfc_vectors()
    assert vectors["fig2"] == FIG2
    v = keybound.Verifier()
    v.verify("POST", TOKEN_URL, dpop=[FIG2], now=1562262616, mode="token_endpoint")
    ok = v.verify("POST", TOKEN_URL, dpop=[vectors["fig7"]], now=FIG7_PAYLOAD_IAT, mode="token_endpoint")
    assert ok.jkt == FIG_JKT and ok.proof_jti == "-BwC3ESc6acc2lTc"


def test_rfc9449_figure13_opaque_token():
    vectors = rfc_vectors()
    v = keybound.Verifier()
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", RESOURCE_URL, FIG13_AUTHORIZATION, [vectors["fig13"]], now=1562262618, mode="opaque",
                 bound_jkt="NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    assert refusal.value.status == 311
    assert refusal.value.www_authenticate.startswith('DPoP error="invalid_token", error_description="Invalid DPoP')
    ok = v.verify("GET", RESOURCE_URL, FIG13_AUTHORIZATION, [vectors["fig13"]], now=1562262618, mode="opaque",
                  bound_jkt=FIG_JKT)
    assert ok.jkt == FIG_JKT and ok.proof_jti == "e1j3V_bKic8-LAEB"


# ----- Requests signed with `cryptography` -----

NOW = 1_700_000_000
ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example.com"
URL = "https://api.example.com/items"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value):
    return b64(json.dumps(value, separators=(",", ":")).encode())


def ec_jwk(public):
    numbers = public.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}


def thumbprint(jwk):
    canonical = json.dumps({k: jwk[k] for k in sorted(("crv", "kty", "x", "y"))}, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode()).digest())


def sign_es256(key, header, payload):
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class World:
    """An issuer key and a client key (P-256), and helpers to mint tokens and proofs."""

    def __init__(self):
        self.issuer_key = ec.generate_private_key(ec.SECP256R1())
        self.client_key = ec.generate_private_key(ec.SECP256R1())
        self.client_jwk = ec_jwk(self.client_key.public_key())
        self.jkt = thumbprint(self.client_jwk)
        issuer_jwk = dict(ec_jwk(self.issuer_key.public_key()), kid="k1", alg="ES256", use="sig")
        self.jwks = json.dumps({"keys": [issuer_jwk]})
        self.counter = 0

    def verifier(self, **kwargs):
        return keybound.Verifier(issuers=[(ISSUER, self.jwks, [AUDIENCE])], **kwargs)

    def token(self, **claims):
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "client_id": "app", "scope": "read write",
                   "exp": NOW + 600, "jti": "tok-1", "cnf": {"jkt": self.jkt}, "roles": ["a", "b"]}
        payload.update(claims)
        return sign_es256(self.issuer_key, {"alg": "ES256", "kid": "k1", "typ": "at+jwt"}, payload)

    def proof(self, method="GET", url=URL, token=None, iat=NOW, **claims):
        self.counter += 1
        payload = {"jti": f"proof-{self.counter}", "htm": method, "htu": url, "iat": iat}
        if token is not None:
            payload["ath"] = b64(hashlib.sha256(token.encode()).digest())
        payload.update(claims)
        return sign_es256(self.client_key, {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.client_jwk}, payload)


@pytest.fixture()
def world():
    return World()


def test_signed_request_verifies_with_claims(world):
    v = world.verifier()
    token = world.token()
    ok = v.verify("GET", URL + "?page=2", "DPoP " + token, [world.proof(token=token)], now=NOW,
                  claims=("roles", "scope", "missing"))
    assert (ok.sub, ok.client_id, ok.scope, ok.jkt, ok.token_jti, ok.issuer) == (
        "alice", "app", "read write", world.jkt, "tok-1", ISSUER)
    assert ok.exp == NOW + 600
    assert ok.claims == {"roles": b'["a","b"]', "scope": b'"read write"', "missing": None}


@pytest.mark.parametrize("change, status", [
    (lambda w, t: ("POST", URL, "DPoP " + t, [w.proof(token=t)]), 207),
    (lambda w, t: ("GET", "https://api.example.com/other", "DPoP " + t, [w.proof(token=t)]), 208),
    (lambda w, t: ("GET", URL, "DPoP " + t, [w.proof(token=t, iat=NOW - 120)]), 209),
    (lambda w, t: ("GET", URL, "DPoP " + t, [w.proof(token=t + "x")]), 210),
    (lambda w, t: ("GET", URL, "Bearer " + t, [w.proof(token=t)]), 101),
    (lambda w, t: ("GET", URL, None, [w.proof(token=t)]), 100),
    (lambda w, t: ("GET", URL, "DPoP " + t, []), 103),
    (lambda w, t: ("GET", URL, "DPoP " + t, [w.proof(token=t), w.proof(token=t)]), 104),
    (lambda w, t: ("GET", URL, "DPoP " + w.token(aud="https://else.example"), [w.proof(token=t)]), 210),
])
def test_signed_request_refusals(world, change, status):
    v = world.verifier()
    token = world.token()
    method, url, authorization, dpop = change(world, token)
    with pytest.raises(keybound.Refused) as refusal:
        v.verify(method, url, authorization, dpop, now=NOW)
    assert refusal.value.status == status
    assert refusal.value.name == keybound._lib.kb_status_name(status).decode()
    assert refusal.value.www_authenticate.startswith("DPoP")
    assert refusal.value.http_status in (400, 401)


def test_wrong_audience_and_binding(world):
    v = world.verifier()
    other = world.token(aud="https://else.example")
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", URL, "DPoP " + other, [world.proof(token=other)], now=NOW)
    assert refusal.value.status == 307
    unbound = world.token(cnf={"jkt": "A" * 43})
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", URL, "DPoP " + unbound, [world.proof(token=unbound)], now=NOW)
    assert refusal.value.status == 311
    assert 'error_description="Invalid DPoP key binding"' in refusal.value.www_authenticate


def test_replay_and_revocation(world):
    v = world.verifier()
    token = world.token()
    proof = world.proof(token=token)
    v.verify("GET", URL, "DPoP " + token, [proof], now=NOW)
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", URL, "DPoP " + token, [proof], now=NOW)
    assert refusal.value.status == 211
    v.revoke_token_jti("tok-1", until=NOW + 600, now=NOW)
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", URL, "DPoP " + token, [world.proof(token=token)], now=NOW)
    assert refusal.value.status == 312
    v.revoke_jkt(world.jkt, until=NOW + 600, now=NOW)
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("POST", "https://issuer.example/token", dpop=[world.proof("POST", "https://issuer.example/token")],
                 now=NOW, mode="token_endpoint")
    assert refusal.value.status == 313


def test_nonce_flow(world):
    secret = b"s" * 32
    v = world.verifier(options={keybound.OPT_NONCE_MODE: keybound.NONCE_REQUIRED}, nonce_secrets=[secret])
    token = world.token()
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", URL, "DPoP " + token, [world.proof(token=token)], now=NOW)
    assert refusal.value.status == 220 and refusal.value.rfc_error == "use_dpop_nonce"
    nonce = refusal.value.dpop_nonce
    assert nonce == v.mint_nonce(NOW) and len(nonce) == 27
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", URL, "DPoP " + token, [world.proof(token=token, nonce="x" * 27)], now=NOW)
    assert refusal.value.status == 221
    ok = v.verify("GET", URL, "DPoP " + token, [world.proof(token=token, nonce=nonce)], now=NOW)
    assert ok.sub == "alice" and len(ok.dpop_nonce) == 27


def test_key_rotation(world):
    v = world.verifier()
    token = world.token()
    with pytest.raises(keybound.KeyboundError) as error:
        v.replace_jwks(ISSUER, "{}")
    assert error.value.status == keybound.ERR_INVALID_JWKS
    with pytest.raises(keybound.KeyboundError) as error:
        v.replace_jwks(ISSUER, json.dumps({"keys": []}))  # no usable key: refused, the old set stays
    assert error.value.status == keybound.ERR_INVALID_JWKS
    assert v.verify("GET", URL, "DPoP " + token, [world.proof(token=token)], now=NOW).sub == "alice"
    # A set whose only key has another kid: the token's kid is then unknown (303).
    other = {"kty": "EC", "crv": "P-256", "kid": "other", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
             "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}
    v.replace_jwks(ISSUER, json.dumps({"keys": [other]}))
    with pytest.raises(keybound.Refused) as refusal:
        v.verify("GET", URL, "DPoP " + token, [world.proof(token=token)], now=NOW)
    assert refusal.value.status == 303
    v.replace_jwks(ISSUER, world.jwks)
    assert v.verify("GET", URL, "DPoP " + token, [world.proof(token=token)], now=NOW).sub == "alice"


def test_external_base_url(world):
    v = world.verifier(external_base_url="https://api.example.com/")
    token = world.token()
    assert v.verify("GET", "/items?q=1", "DPoP " + token, [world.proof(token=token)], now=NOW).sub == "alice"


def test_eddsa_proof_and_algorithm_policy(world):
    key = ed25519.Ed25519PrivateKey.generate()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(key.public_key().public_bytes_raw())}
    payload = {"jti": "ed-1", "htm": "POST", "htu": "https://issuer.example/token", "iat": NOW}
    signing_input = f"{b64json({'typ': 'dpop+jwt', 'alg': 'EdDSA', 'jwk': jwk})}.{b64json(payload)}"
    proof = f"{signing_input}.{b64(key.sign(signing_input.encode()))}"
    ok = world.verifier().verify("POST", "https://issuer.example/token", dpop=[proof], now=NOW, mode="token_endpoint")
    assert len(ok.jkt) == 43
    es_only = world.verifier(options={keybound.OPT_PROOF_ALGORITHMS: 1})
    with pytest.raises(keybound.Refused) as refusal:
        es_only.verify("POST", "https://issuer.example/token", dpop=[proof], now=NOW, mode="token_endpoint")
    assert refusal.value.status == 202


def test_configuration_errors(world):
    with pytest.raises(keybound.KeyboundError) as error:
        keybound.Verifier(issuers=[(ISSUER, "not json", [AUDIENCE])])
    assert error.value.status == keybound.ERR_INVALID_JWKS
    with pytest.raises(keybound.KeyboundError) as error:
        keybound.Verifier(options={keybound.OPT_STRICT_TOKEN_TYPE: 7})
    assert error.value.status == keybound.ERR_INVALID_CONFIG
    with pytest.raises(keybound.KeyboundError) as error:
        keybound.Verifier(options={keybound.OPT_NONCE_MODE: keybound.NONCE_REQUIRED})
    assert error.value.status == keybound.ERR_INVALID_CONFIG
    with pytest.raises(keybound.KeyboundError) as error:
        keybound.Verifier().mint_nonce(NOW)
    assert error.value.status == keybound.ERR_INVALID_CONFIG


def test_threads_share_one_verifier(world):
    v = world.verifier()
    token = world.token()
    proofs = [world.proof(token=token) for _ in range(40)]
    outcomes = []
    lock = threading.Lock()

    def work():
        for proof in proofs:
            try:
                v.verify("GET", URL, "DPoP " + token, [proof], now=NOW)
                result = "ok"
            except keybound.Refused as refusal:
                result = refusal.status
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == len(proofs)
    assert outcomes.count(211) == 3 * len(proofs)
