#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Turns Tests/KeyboundTests/Fixtures/dpop-requests.json into a line format the C tests read without a JSON parser.

Every value is hex-encoded (so any byte survives), "-" stands for an absent value:
    now <decimal>
    issuer <hex>
    audience <hex>
    jwks <hex>
    case <mode r|t> <expected status> <method> <url> <authorization|-> <dpop count> <dpop...> <jkt|-> <sub|-> <name>
"""
import json
import sys


# Deliberate differences from the oracle, the same as Tests/KeyboundTests/Verification/OracleRequestTests.swift:
# Keybound's JSON reader refuses U+0000 in any string, so C hosts never see a truncated value.
DELIBERATE_DIFFERENCES = {"A5 token kid with an escaped NUL (es-1\\u0000suffix)": 300}


def h(value):
    return "-" if value is None else value.encode("utf-8").hex() or "="


def main(source, target):
    with open(source, encoding="utf-8") as f:
        root = json.load(f)
    lines = [f"now {root['now']}", f"issuer {h(root['issuer'])}", f"audience {h(root['audience'])}",
             f"jwks {h(json.dumps(root['jwks'], separators=(',', ':')))}"]
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
