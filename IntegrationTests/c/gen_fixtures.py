#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Turns Tests/KeyboundTests/Fixtures/dpop-requests.json into a line format the C tests read without a JSON parser.

Every value is hex-encoded (so any byte survives), "-" stands for an absent value:
    now <decimal>
    issuer <hex>
    audience <hex>
    jwks <hex>
    pem <hex>          (the JWKS key es-1 as a PEM SubjectPublicKeyInfo, for kb_config_add_issuer_pem)
    case <mode r|t> <expected status> <method> <url> <authorization|-> <dpop count> <dpop...> <jkt|-> <sub|-> <name>
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


# Deliberate differences from the oracle, the same as Tests/KeyboundTests/Verification/OracleRequestTests.swift:
# Keybound's JSON reader refuses U+0000 in any string, so C hosts never see a truncated value.
DELIBERATE_DIFFERENCES = {"A5 token kid with an escaped NUL (es-1\\u0000suffix)": 300}


def h(value):
    return "-" if value is None else value.encode("utf-8").hex() or "="


def es1_pem(jwks):
    """The ES256 key `es-1` of the fixture JWKS as PEM (made by `cryptography`, not by Keybound)."""
    key = next(k for k in jwks["keys"] if k.get("kid") == "es-1")
    coordinate = lambda s: int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")
    public = ec.EllipticCurvePublicNumbers(coordinate(key["x"]), coordinate(key["y"]), ec.SECP256R1()).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def main(source, target):
    with open(source, encoding="utf-8") as f:
        root = json.load(f)
    lines = [f"now {root['now']}", f"issuer {h(root['issuer'])}", f"audience {h(root['audience'])}",
             f"jwks {h(json.dumps(root['jwks'], separators=(',', ':')))}", f"pem {h(es1_pem(root['jwks']))}"]
    for case in root["cases"]:
        expect = case["expect"]
        code = 0 if expect["ok"] else DELIBERATE_DIFFERENCES.get(case["name"], expect["code"])
        mode = "t" if case["mode"] == "token-endpoint" else "r"
        fields = ["case", mode, str(code), h(case["method"]), h(case["url"]), h(case["authorization"]),
                  str(len(case["dpop"]))] + [h(v) for v in case["dpop"]]
        fields += [h(expect.get("jkt")), h(expect.get("sub")), h(case["name"])]
        lines.append(" ".join(fields))
    with open(target, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    print(f"gen_fixtures.py: {len(root['cases'])} cases -> {target}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
