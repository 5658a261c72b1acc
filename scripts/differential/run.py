#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Differential testing, part 2: run generated cases through `keybound verify --batch` and compare verdicts.

    python3 scripts/differential/run.py --cases /tmp/diff --keybound .build/debug/keybound

Reads the directory written by generate.py, runs one `keybound verify --batch` per profile (all requests of a
profile go through one verifier, in generation order, so replays are seen) and one per key set for the cases that
bring their own (whose warnings on standard error, or refusal of the set, are checked first), and compares each
output line with the
case's expectation: an accepted case must be accepted with the expected `jkt` and `sub`; a refused case must be
refused with exactly the expected code. A case that names a deliberate difference passes when Keybound gives the
verdict the allow-list below documents for it. Prints a histogram (fault class -> count and the Keybound codes it
reached, and the checks reached overall), writes `results.jsonl` and `disagreements.jsonl` next to the cases, and
exits 1 on any disagreement, 2 on a usage or run error.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from keybound_codes import CONFIG_CODES, REQUEST_CODES  # noqa: E402

# Deliberate differences between Keybound and the RFC text, each explained in docs/differential.md (and in the
# SECURITY.md text proposed there). Key: the `deliberate` id a case carries. `keybound`: the codes Keybound gives
# instead (0 = accepted). Keep this list short: anything else that differs is a bug in Keybound or in the generator.
ALLOW_LIST = {
    # RFC 7515 §4.1.9: typ is a media type, compared case-insensitively, "application/" may be omitted; so
    # "application/dpop+jwt", "DPOP+JWT" (proof) and "AT+JWT" (token) name the expected types. Keybound compares
    # typ exactly with the lower-case short forms RFC 9449 §4.2 and RFC 9068 §4 print (docs/design.md check 3).
    "typ-media-type": {201, 301},
    # RFC 9068 §4 requires typ at+jwt for JWT access tokens; Keybound accepts JWT or no typ by default because many
    # issuers still send them (docs/design.md "Defaults"); --strict-token-type follows the RFC (the strict profile checks it).
    "token-typ-compat": {0},
    # RFC 7515 §4.1.4: kid is optional, so a verifier may try the issuer's keys in turn. Keybound verifies a token
    # without kid only when the issuer has exactly one key (docs/design.md "Defaults"): one signature check per token.
    "token-kid-absent": {303},
    # RFC 8259 §8.2: "\ud800" is grammatical JSON (an unpaired surrogate escape). Keybound refuses it as malformed
    # (SECURITY.md C5c: such strings have no UTF-8 form and split parsers).
    "lone-surrogate": {200, 300},
    # RFC 8259 §7: a nonce spelled with escapes is the same string. Keybound checks the nonce's raw bytes and refuses
    # escaped spellings (nonce_invalid, with a fresh nonce): a nonce it mints never needs escaping.
    "nonce-escaped": {221},
    # RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]: more than one space is allowed.
    # Keybound accepts exactly one space (SECURITY.md D7), as RFC 9449 §7.1's examples and most servers do.
    "auth-multiple-spaces": {102},
    # RFC 8259 §7 allows "\u0000" in strings. Keybound refuses U+0000 in any JSON string (SECURITY.md "Decisions"):
    # C hosts that use strlen would see a truncated value.
    "nul-escape": {200, 300},
    # RFC 7519 §2: a NumericDate is any JSON number. Keybound refuses time claims beyond ±2^53 (SECURITY.md
    # "Decisions"): exact integer arithmetic, no overflow. An exp that far away is refused as token_claims.
    "numericdate-range": {310},
}

def profile_args(name: str, meta: dict, root: Path, jwks: Path) -> list[str]:
    args = ["--jwks", str(jwks), "--issuer", meta["issuer"]]
    for aud in meta["audiences"]:
        args += ["--audience", aud]
    args += ["--now", str(meta["now"]), "--max-age", str(meta["max_age"]), "--skew", str(meta["skew"]),
             "--revoke-token-jti", meta["revoke_token_jti"], "--revoke-jkt", meta["revoke_jkt"]]
    extra = meta["profiles"][name]
    args += extra
    if "--require-nonce" in extra:
        args += ["--nonce-secret-file", str(root / "nonce-secrets.txt")]
    return args


# `keybound: warning: JWKS <path>: skipped key N (kid "x"): reason`, one line per skipped entry of a key set.
WARNING = re.compile(r'^keybound: warning: JWKS (.*?): skipped key (\d+)(?: \(kid ("(?:[^"\\]|\\.)*")\))?: (.*)$')


def check_key_set(jwks: dict, path: Path, proc, lines: list[str]) -> tuple[str, list[dict] | None]:
    """The key set's own verdict: ("", None) when the CLI read it as the case expects, with the outputs of its
    requests taken from `lines`; for a set refused as a whole, the CLI's refusal stands for every request. Otherwise
    (detail, None). A loaded set must print exactly one warning per skipped entry, in document order, with the entry's
    index and kid and a reason naming the expected rule."""
    stderr = proc.stderr.decode("utf-8", "replace").splitlines()
    if not jwks["loads"]:
        refused = [line for line in stderr if line.startswith(f"keybound: invalid JWKS {path}: ")]
        if proc.returncode != 2 or not refused or lines:
            return f"expected the set refused (exit 2, 'invalid JWKS'), got exit {proc.returncode}: {stderr[:2]}", None
        return "", [{"ok": False, "code": 903, "name": CONFIG_CODES[903], "reason": refused[0]}]
    seen = []
    for line in stderr:
        m = WARNING.match(line)
        if m and m.group(1) == str(path):
            seen.append([int(m.group(2)), json.loads(m.group(3)) if m.group(3) else None, m.group(4)])
        elif line.strip():
            return f"unexpected stderr line {line!r}", None
    expected = jwks["skipped"]
    agree = len(seen) == len(expected) and all(
        (i, kid) == (ei, ekid) and word in reason for (i, kid, reason), (ei, ekid, word) in zip(seen, expected))
    if not agree:
        return f"warnings: expected {expected}, got {seen}", None
    return "", None


def outcome_code(out: dict) -> int:
    return 0 if out.get("ok") else int(out.get("code", -1))


def judge(case: dict, out: dict) -> tuple[str, str]:
    """('agree' | 'deliberate' | 'disagree', detail)."""
    exp = case["expect"]
    got = outcome_code(out)
    if exp["ok"]:
        agree = got == 0 and out.get("jkt") == exp["jkt"] and out.get("sub") == exp["sub"]
        detail = "" if agree else (f"expected accept (jkt {exp['jkt']}, sub {exp['sub']!r}), got "
                                   + (f"accept (jkt {out.get('jkt')}, sub {out.get('sub')!r})" if got == 0
                                      else f"{got} {out.get('name')}: {out.get('reason')}"))
    else:
        agree = got == exp["code"]
        detail = "" if agree else (f"expected {exp['code']} {exp['name']}, got "
                                   + ("accept" if got == 0 else f"{got} {out.get('name')}: {out.get('reason')}"))
    if agree:
        return "agree", ""
    deliberate = case.get("deliberate")
    if deliberate in ALLOW_LIST and got in ALLOW_LIST[deliberate]:
        return "deliberate", deliberate
    return "disagree", detail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", required=True, help="directory written by generate.py")
    ap.add_argument("--keybound", default=".build/debug/keybound", help="the keybound binary")
    ap.add_argument("--show", type=int, default=20, help="disagreements printed in full (default 20)")
    args = ap.parse_args()
    root = Path(args.cases)
    meta = json.loads((root / "meta.json").read_text())
    cases = [json.loads(line) for line in (root / "cases.jsonl").read_text().splitlines() if line.strip()]
    # One verifier per profile, and one per key set for the cases that bring their own (JWKS classes).
    groups: dict[tuple, list[dict]] = collections.defaultdict(list)
    for case in cases:
        groups[(case["profile"], case["jwks"]["id"] if "jwks" in case else None)].append(case)

    results: dict[int, dict] = {}
    key_sets = collections.Counter()
    warnings_seen = collections.Counter()
    started = time.monotonic()
    for (name, set_id), group in groups.items():
        tag = name if set_id is None else f"{name}-{set_id}"
        jwks = root / "jwks.json"
        if set_id is not None:
            jwks = root / f"jwks-{set_id}.json"
            jwks.write_text(group[0]["jwks"]["document"], encoding="utf-8")
        batch = root / f"batch-{tag}.jsonl"
        with open(batch, "w", encoding="utf-8") as f:
            for case in group:
                line = {"method": case["method"], "url": case["url"], "authorization": case["authorization"],
                        "dpop": case["dpop"]}
                if "jkt" in case:
                    line["jkt"] = case["jkt"]
                f.write(json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n")
        cmd = [args.keybound, "verify", *profile_args(name, meta, root, jwks), "--batch", str(batch)]
        (root / f"command-{tag}.txt").write_text(" ".join(cmd) + "\n")
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True)
        lines = proc.stdout.decode("utf-8").splitlines()
        if set_id is not None:
            problem, refusal = check_key_set(group[0]["jwks"], jwks, proc, lines)
            key_sets["loaded" if group[0]["jwks"]["loads"] else "refused whole"] += 1
            for _, _, word in group[0]["jwks"]["skipped"]:
                warnings_seen[word or "invalid key"] += 1
            if problem:
                for case in group:
                    results[case["id"]] = {"ok": False, "code": -1, "name": "key set", "reason": problem}
                continue
            if refusal is not None:
                for case in group:
                    results[case["id"]] = refusal[0]
                continue
        if proc.returncode not in (0, 1):
            print(f"keybound failed for profile {tag} (exit {proc.returncode}): {proc.stderr.decode()[:500]}",
                  file=sys.stderr)
            return 2
        if len(lines) != len(group):
            print(f"profile {tag}: {len(group)} requests but {len(lines)} output lines", file=sys.stderr)
            return 2
        for case, line in zip(group, lines):
            results[case["id"]] = json.loads(line)
        if set_id is None:
            print(f"profile {name:15} {len(group):5} requests in {time.monotonic() - t0:5.1f} s", file=sys.stderr)

    per_class = collections.defaultdict(lambda: collections.Counter())
    reached = collections.defaultdict(collections.Counter)
    reached_all = collections.Counter()
    deliberate_seen = collections.Counter()
    disagreements = []
    with open(root / "results.jsonl", "w", encoding="utf-8") as f:
        for case in cases:
            out = results[case["id"]]
            verdict, detail = judge(case, out)
            per_class[case["class"]][verdict] += 1
            code = outcome_code(out)
            name = "ok" if code == 0 else {**REQUEST_CODES, **CONFIG_CODES}.get(code, str(code))
            reached[case["class"]][name] += 1
            reached_all[name] += 1
            if verdict == "deliberate":
                deliberate_seen[detail] += 1
            if verdict == "disagree":
                disagreements.append({"id": case["id"], "profile": case["profile"], "class": case["class"],
                                      "fault": case["fault"], "detail": detail, "case": case, "keybound": out})
            f.write(json.dumps({"id": case["id"], "class": case["class"], "fault": case["fault"], "verdict": verdict,
                                "keybound": out}, ensure_ascii=True) + "\n")
    with open(root / "disagreements.jsonl", "w", encoding="utf-8") as f:
        for d in disagreements:
            f.write(json.dumps(d, ensure_ascii=True) + "\n")

    print(f"\nseed {meta['seed']}: {len(cases)} cases, {len(groups)} verifiers, "
          f"{time.monotonic() - started:.1f} s through {args.keybound}")
    print(f"\n{'class':8} {'cases':>6} {'agree':>6} {'delib':>6} {'differ':>6}  Keybound verdicts reached")
    for cls in sorted(per_class, key=lambda c: (c != "valid", c)):
        c = per_class[cls]
        total = sum(c.values())
        codes = ", ".join(f"{n} {k}" for k, n in reached[cls].most_common())
        print(f"{cls:8} {total:6} {c['agree']:6} {c['deliberate']:6} {c['disagree']:6}  {codes}")
    print("\nchecks reached (Keybound verdict -> cases):")
    for code, name in sorted(REQUEST_CODES.items()):
        print(f"  {code} {name:22} {reached_all[name]:6}")
    for code, name in CONFIG_CODES.items():
        print(f"  {code} {name:22} {reached_all[name]:6}  (the CLI refused the key set)")
    print(f"  0 ok {'':22}{reached_all['ok']:6}")
    print("\nkey sets (JWKS classes): " + ", ".join(f"{n} {k}" for k, n in sorted(key_sets.items()))
          + "; skipped entries, each one warning line naming its rule: "
          + ", ".join(f"{k} {n}" for k, n in warnings_seen.most_common()))
    missing = [f"{code} {name}" for code, name in sorted(REQUEST_CODES.items()) if not reached_all[name]]
    if missing:
        print("  not reached: " + ", ".join(missing))
    if deliberate_seen:
        print("\ndeliberate differences (allow-list, docs/differential.md): "
              + ", ".join(f"{k} {n}" for k, n in deliberate_seen.most_common()))
    if disagreements:
        print(f"\n{len(disagreements)} DISAGREEMENTS (all in {root / 'disagreements.jsonl'}):")
        for d in disagreements[:args.show]:
            print(f"  #{d['id']} [{d['profile']}] {d['class']} {d['fault']}: {d['detail']}")
        return 1
    print("\nno disagreement")
    return 0


if __name__ == "__main__":
    sys.exit(main())
