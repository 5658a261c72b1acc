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
# batch-line: byte 0 = line limit (0: the tool's 64 KiB), byte 1 = read chunk size (0: whole), then JSON Lines as
# `keybound verify --batch` reads them (the CLI tests' shapes: dpop as a string, an array, null; jkt; CRLF; blanks).
def batch(limit, chunk, text):
    put("batch-line", bytes([limit, chunk]) + (text.encode() if isinstance(text, str) else text))

batch_lines = []
for c in chosen[:24]:
    line = {"method": c["method"], "url": c["url"], "authorization": c.get("authorization"),
            "dpop": c["dpop"][0] if len(c["dpop"]) == 1 else c["dpop"]}
    if c["mode"] == "opaque":
        line["jkt"] = "w4ZumGmd1PcewA9ap18EJ2jooVqa2mKSwosxeU8TKCA"
    batch_lines.append(json.dumps(line, separators=(",", ":")))
for i, line in enumerate(batch_lines):
    batch(0, 0, line + "\n")
    batch(0, [1, 7, 64, 200][i % 4], line + "\r\n")
batch(0, 0, "\n".join(batch_lines[:4]) + "\n")
batch(0, 3, "\r\n\n  \t\n".join(batch_lines[:3]))
for text in ['{}', '[1]', '{"method":1,"url":"u"}', '{"method":"GET"}', '{"method":"GET","url":"u","dpop":null}',
             '{"method":"GET","url":"u","dpop":[]}', '{"method":"GET","url":"u","dpop":""}',
             '{"method":"GET","url":"u","authorization":null,"jkt":null,"x":{"y":[1,2.5e3,true]}}',
             '{"method":"GET","url":"u","dpop":[1]}', '{"method":"GET","url":"u","jkt":false}',
             '{"method":"G\\u0045T","url":"https://a/\\ud83d\\ude00","dpop":"a\\nb"}',
             '{"method":"GET","method":"GET","url":"u"}', '[' * 20, '{"a":' * 17 + '1' + '}' * 17]:
    batch(0, 0, text + "\n")
batch(8, 2, "0123456\n01234567\n012345678\n01234567\r\n012345678\r\n \t \n{}")
batch(1, 1, "\r\n\r\r\n \n{}\n")
batch(40, 5, '{"method":"GET","url":"https://a/x"}\n{"method":"GET","url":"https://a/xy"}\r\n')
# Issuer keys as PEM (Tests/Vectors/pem), and the DER inside each block, for the PEM and DER readings of fuzz-pem.
for path in sorted((root / "Tests/Vectors/pem").iterdir()):
    if path.suffix in (".pem", ".der"):
        put("pem", path.read_bytes())
    if path.suffix == ".pem":
        text = path.read_text()
        for block in text.split("-----BEGIN ")[1:]:
            body = block.split("-----", 1)[1].split("-----END", 1)[0]
            put("pem", base64.b64decode("".join(body.split())))
for name in ["base64url", "json", "compact-jws", "jwk", "jwks", "pem", "verify", "batch-line"]:
    print(name, len(os.listdir(out / name)))
