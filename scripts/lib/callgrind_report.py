# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The table and the verdict of scripts/ci/callgrind.sh (BENCHMARKS.md "The instruction gate").

callgrind_report.py WORK BACKEND REQUESTS BASELINE [WRITE]
callgrind_report.py --batch-inputs SOURCE WORK


Reads WORK/<scenario>.inclusive.txt (callgrind_annotate --inclusive=yes of a run collecting in the three regions),
prints Keybound's own instructions per request against BASELINE, and exits 1 when one rises more than the baseline's
tolerance above it. With WRITE, writes the measured figures as a new baseline there instead of gating (the reason
from KEYBOUND_CALLGRIND_REASON). When WORK/<scenario>.kb.txt and .crypto.txt exist (KEYBOUND_CALLGRIND_PROFILE=1),
also prints the own instructions by stage. When WORK/batch-line.inclusive.txt exists, also gates the batch-line
point: the instructions of `keybound verify --batch` per line beyond the verifier's.

--batch-inputs turns the warm scenario's inputs (SOURCE, from `keybound bench --callgrind-inputs warm`) into a JSONL
batch for `keybound verify --batch` (WORK/batch-line.jsonl, the warm-up request first) and its JWKS
(WORK/batch-jwks.json).
"""
import json
import os
import re
import sys

SCENARIOS = ["warm", "new-token", "new-client-key"]
REGIONS = ["kbb_region_keybound", "kbb_region_crypto", "kbb_region_digest"]
BATCH_LINE = "batch-line"
# The batch loop of `keybound verify --batch`, and the verifier's entry point it calls once per line.
BATCH_LOOP = re.compile(r"\?\?\?:\$s8keybound6VerifyV8runBatch\S* \[")
BATCH_VERIFY = re.compile(r"\?\?\?:\$s8Keybound8VerifierC6verify6method3url13authorization9dpopCount\S*YKF \[")
# The request of every batch line (CallgrindDriver's fixed method and URL).
BATCH_METHOD = "GET"
BATCH_URL = "https://api.example/orders/42?expand=items"


def batch_inputs(source, work):
    lines = open(source).read().splitlines()
    header = json.loads(lines[0])
    with open(os.path.join(work, "batch-jwks.json"), "w") as f:
        f.write(header["jwks"])
    with open(os.path.join(work, "batch-line.jsonl"), "w") as f:
        for line in lines[1:]:
            request = json.loads(line)
            f.write(json.dumps({"method": BATCH_METHOD, "url": BATCH_URL, "authorization": "DPoP " + request["token"],
                                "dpop": request["dpop"]}, separators=(",", ":")) + "\n")
    return 0


def batch_line(work):
    """(instructions per line, lines) of the batch-line point, or None when it was not run."""
    path = os.path.join(work, "batch-line.inclusive.txt")
    if not os.path.exists(path):
        return None
    loop = verify = 0
    with open(path) as f:
        for line in f:
            match = re.match(r"\s*([\d,]+)\s", line)
            if not match:
                continue
            if BATCH_LOOP.search(line):
                loop = max(loop, int(match.group(1).replace(",", "")))
            elif BATCH_VERIFY.search(line):
                verify = max(verify, int(match.group(1).replace(",", "")))
    answers = open(os.path.join(work, "batch-line.stdout")).read().splitlines()
    requests = sum(1 for _ in open(os.path.join(work, "batch-line.jsonl")))
    if not loop or not verify:
        raise SystemExit(f"batch-line: the batch loop or the verifier is missing from {path}")
    if len(answers) != requests or not all(a.startswith('{"ok":true,') for a in answers):
        raise SystemExit(f"batch-line: {requests} lines but not {requests} verified answers")
    return (loop - verify) / requests, requests

# Stages of a request, by the function an instruction was counted in (after inlining), first match wins.
STAGES = [
    ("byte-class scans (token68, JSON strings)", ["prefixCount"]),
    ("htu normalisation", ["HTU"]),
    ("Authorization header", ["AuthorizationHeader", "Challenge", "token68", "Token68"]),
    ("base64url", ["Base64URL"]),
    ("JSON: validation and member reads", ["JSON", "MemberS", "Members", "UTF8Validation", "ByteClass"]),
    ("keyed hash (SipHash)", ["KeyedHash", "siphash"]),
    ("replay insert", ["Replay"]),
    ("key and token caches, thumbprint", ["BoundedCache", "CachedEntries", "Thumbprint", "JWK", "PublicKey", "Cache"]),
    ("signature verify, Keybound's side (checks, DER, templates)", ["SignatureVerifier", "OpenSSLKey",
                                                                     "VerifyTemplates", "DER", "SwiftCrypto"]),
    ("claims and checks (Verifier, VerifiedRequest)", ["Verifier", "Verified", "Claims", "KeyboundError"]),
]


def region_totals(path):
    totals = {}
    with open(path) as f:
        for line in f:
            match = re.match(r"\s*([\d,]+)\s.*\?\?\?:(kbb_region_\w+) ", line)
            if match and match.group(2) in REGIONS:
                totals[match.group(2)] = int(match.group(1).replace(",", ""))
    return totals


def exclusive(path):
    costs = {}
    with open(path) as f:
        for line in f:
            match = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(\S+?):(.+?) \[(.+)\]\s*$", line)
            if match:
                key = (match.group(3), match.group(4))
                costs[key] = costs.get(key, 0) + int(match.group(1).replace(",", ""))
    return costs


def stage_of(function, obj):
    base = os.path.basename(obj)
    if base.startswith("libcrypto") or base.startswith("libssl"):
        return "crypto library beyond the signature work (replay-key and thumbprint SHA-256)"
    if base.startswith("libswift") or "swift_" in function:
        return "Swift runtime (retain/release, allocation)"
    if base.startswith("libc.") or base.startswith("ld-") or base.startswith("libm"):
        return "C library (memcpy, memchr, malloc)"
    for name, patterns in STAGES:
        if any(p in function for p in patterns):
            return name
    return "other Keybound code"


def profile(work, scenario, requests):
    kb_path = os.path.join(work, f"{scenario}.kb.txt")
    crypto_path = os.path.join(work, f"{scenario}.crypto.txt")
    if not (os.path.exists(kb_path) and os.path.exists(crypto_path)):
        return
    kb, crypto = exclusive(kb_path), exclusive(crypto_path)
    stages, functions = {}, {}
    for key in set(kb) | set(crypto):
        net = kb.get(key, 0) - crypto.get(key, 0)
        stage = stage_of(*key)
        stages[stage] = stages.get(stage, 0) + net
        functions[key] = net
    print(f"\n{scenario}: own instructions per request by stage (exclusive, after inlining)")
    for stage, cost in sorted(stages.items(), key=lambda item: -item[1]):
        print(f"  {cost / requests:>10,.0f}  {stage}")
    print(f"  {sum(stages.values()) / requests:>10,.0f}  (sum)")
    print(f"{scenario}: top functions (own, per request)")
    for (function, obj), cost in sorted(functions.items(), key=lambda item: -item[1])[:25]:
        print(f"  {cost / requests:>10,.0f}  {function[:110]} [{os.path.basename(obj)}]")


def main():
    if sys.argv[1] == "--batch-inputs":
        return batch_inputs(sys.argv[2], sys.argv[3])
    work, backend, requests, baseline_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    write = sys.argv[5] if len(sys.argv) > 5 else ""
    baseline = {}
    if os.path.exists(baseline_path):
        baseline = json.load(open(baseline_path))
    tolerance = float(baseline.get("tolerance", 0.03))
    expected = baseline.get("backends", {}).get(backend, {})
    measured, failures = {}, []
    print(f"{'scenario':15} {'Keybound':>10} {'crypto':>10} {'token SHA':>10} {'own':>8} {'baseline':>9} {'change':>8}")
    for scenario in SCENARIOS:
        totals = region_totals(os.path.join(work, f"{scenario}.inclusive.txt"))
        if len(totals) != 3:
            print(f"{scenario}: missing regions in the callgrind output: {sorted(totals)}", file=sys.stderr)
            return 1
        keybound, crypto, digest = (totals[r] / requests for r in REGIONS)
        own = keybound - crypto - digest
        measured[scenario] = {"own": round(own), "token_sha256": round(digest), "crypto": round(crypto)}
        base = expected.get(scenario, {}).get("own")
        change = f"{(own / base - 1) * 100:+.1f} %" if base else "-"
        print(f"{scenario:15} {keybound:>10,.0f} {crypto:>10,.0f} {digest:>10,.0f} {own:>8,.0f} "
              f"{base if base else '-':>9} {change:>8}")
        if base and own > base * (1 + tolerance):
            failures.append(f"{scenario}: own {own:,.0f} > {base:,} + {tolerance:.0%}")
    batch = batch_line(work)
    if batch:
        own, lines = batch
        entry = expected.get(BATCH_LINE, {})
        base, bound = entry.get("own"), entry.get("bound")
        measured[BATCH_LINE] = {"own": round(own), "lines": lines}
        if bound:
            measured[BATCH_LINE]["bound"] = bound
        change = f"{(own / base - 1) * 100:+.1f} %" if base else "-"
        print(f"{BATCH_LINE:15} {'':>10} {'':>10} {'':>10} {own:>8,.0f} {base if base else '-':>9} {change:>8}"
              f"   (keybound verify --batch, {lines} lines, per line beyond the verifier)")
        if base and own > base * (1 + tolerance):
            failures.append(f"{BATCH_LINE}: own {own:,.0f} > {base:,} + {tolerance:.0%}")
        if bound and own > bound:
            failures.append(f"{BATCH_LINE}: own {own:,.0f} > its bound {bound:,}")
    for scenario in SCENARIOS:
        profile(work, scenario, requests)
    if write:
        document = baseline if baseline else {"tolerance": 0.03}
        document["reason"] = os.environ.get("KEYBOUND_CALLGRIND_REASON", document.get("reason", ""))
        document["requests"] = requests
        document.setdefault("backends", {})[backend] = measured
        with open(write, "w") as f:
            json.dump(document, f, indent=2)
            f.write("\n")
        print(f"wrote {write} (not gating)")
        return 0
    if not expected:
        print(f"no baseline for {backend} in {baseline_path}: nothing gated")
        return 0
    for failure in failures:
        print(f"callgrind.sh: FAILED: {failure} (a deliberate rise updates {baseline_path}; see BENCHMARKS.md)",
              file=sys.stderr)
    if failures:
        return 1
    print(f"own instructions within {tolerance:.0%} of the baseline on every scenario"
          + (" and batch-line within its bound" if batch and expected.get(BATCH_LINE, {}).get("bound") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
