#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Makes the C tests' "live" requests: tokens and proofs signed (with Python's `cryptography`) at the real time this
script runs, for the tests that leave the clock to the library (KB_NOW_CLOCK), and tokens with the claims the
per-request requirements, the typed claim readers and the Bearer migration mode read.

Output, one item a line, every value hex-encoded as gen_fixtures.py does ("-" for absent):
    now <decimal>
    issuer <hex>
    audience <hex>
    jwks <hex>
    live <name> <authorization|-> <dpop|->
The requests are for GET https://api.example.com/items.
"""
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "lib"))
import keybound_keys as K  # noqa: E402

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example.com"
URL = "https://api.example.com/items"


def h(value):
    return "-" if value is None else value.encode("utf-8").hex() or "="


def jws(header: dict, payload: dict, priv) -> str:
    signing_input = K.b64u(K.cj(header)) + "." + K.b64u(K.cj(payload))
    return signing_input + "." + K.b64u(K.crypto_sign(priv, "ES256", signing_input.encode()))


def main(target):
    now = int(time.time())
    rng = random.Random(now)
    issuer_key, client_key = K.ec_key("P-256", rng), K.ec_key("P-256", rng)
    issuer_jwk = dict(K.public_jwk(issuer_key), kid="k1", alg="ES256", use="sig")
    client_jwk = K.public_jwk(client_key)
    jkt = K.thumbprint(client_jwk)

    def token(name, bound=True, **claims):
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 3600, "jti": name}
        if bound:
            payload["cnf"] = {"jkt": jkt}
        payload.update(claims)
        return jws({"typ": "at+jwt", "alg": "ES256", "kid": "k1"}, payload, issuer_key)

    def proof(tok, jti, iat=now):
        payload = {"jti": jti, "htm": "GET", "htu": URL, "iat": iat,
                   "ath": K.b64u(K.sha256(tok.encode()))}
        return jws({"typ": "dpop+jwt", "alg": "ES256", "jwk": client_jwk}, payload, client_key)

    rich = token("rich", scope="read write", client_id="c-1", auth_time=now - 100, acr="urn:mfa",
                 n=42, big=9007199254740993, f=1.5, b=True, roles=["a", "b"], esc="q\"u\u00e9", neg=-7)
    plain = token("plain", scope="read")
    unbound = token("unbound", bound=False, scope="read")
    lines = [f"now {now}", f"issuer {h(ISSUER)}", f"audience {h(AUDIENCE)}",
             f"jwks {h(K.cj({'keys': [issuer_jwk]}).decode())}"]

    def live(name, authorization, dpop):
        lines.append(f"live {name} {h(authorization)} {h(dpop)}")

    for i in range(1, 9):
        live(f"rich-{i}", "DPoP " + rich, proof(rich, f"rich-{i}"))
    live("rich-stale", "DPoP " + rich, proof(rich, "rich-stale", iat=now - 3600))
    live("plain-1", "DPoP " + plain, proof(plain, "plain-1"))
    live("plain-2", "DPoP " + plain, proof(plain, "plain-2"))
    live("bearer-unbound", "Bearer " + unbound, None)
    live("bearer-bound", "Bearer " + rich, None)
    with open(target, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    print(f"gen_live_fixtures.py: {len(lines) - 4} requests at {now} -> {target}")


if __name__ == "__main__":
    main(sys.argv[1])
