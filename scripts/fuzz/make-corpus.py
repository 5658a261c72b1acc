#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the libFuzzer targets (Fuzz/corpus/<target>/) from our own fixtures: the RFC 9449
examples, the Python-generated requests (valid and single-fault, Tests/KeyboundTests/Fixtures) and their parts.
Deterministic: file names are the SHA-1 of the content, so re-running adds nothing new."""
import base64, hashlib, json, os, pathlib

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "Fuzz" / "corpus"
requests = json.loads((root / "Tests/KeyboundTests/Fixtures/dpop-requests.json").read_text())
cross = json.loads((root / "Tests/KeyboundTests/Fixtures/jws-cross-impl.json").read_text())

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)

cases = requests["cases"]
# A spread of cases: every valid one and one per attack id, to keep the corpora small.
chosen, seen = [], set()
for c in cases:
    if c["expect"]["ok"] or c["attack"] not in seen:
        chosen.append(c)
        seen.add(c["attack"])
for c in chosen:
    prefix = "T" if c["mode"] == "token-endpoint" else ""
    put("verify", prefix + "\n".join([c["method"], c["url"], c.get("authorization") or ""] + c["dpop"]))
    for value in c["dpop"] + ([c["authorization"][5:]] if c.get("authorization") else []):
        put("compact-jws", value)
        parts = value.split(".")
        for part in parts:
            put("base64url", part)
        try:
            header = b64d(parts[0])
            put("json", header)
            put("json", b64d(parts[1]))
            jwk = json.loads(header).get("jwk")
            if isinstance(jwk, dict):
                put("jwk", json.dumps(jwk, separators=(",", ":")))
        except Exception:
            pass
put("jwks", json.dumps(requests["jwks"], separators=(",", ":")))
for c in cross["cases"]:
    put("jwk", json.dumps(c["publicJWK"], separators=(",", ":")))
    put("jwks", json.dumps({"keys": [c["publicJWK"]]}, separators=(",", ":")))
    put("compact-jws", c["jws"])
for v in cross["thumbprintVariants"]:
    put("jwk", v["jwkText"])
for name in ["base64url", "json", "compact-jws", "jwk", "jwks", "verify"]:
    print(name, len(os.listdir(out / name)))
