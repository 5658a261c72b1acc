#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# CI smoke test of `keybound bench`: a short run on all scenarios and thread counts, checking the JSON
# shape and that every request was accepted (accepted == requests). No timing is asserted: CI machines are shared.
# Assumes `swift build` already ran in the repository root (reuses .build). Needs: python3.
# The Benchmarks/ package is not built here (its first build takes minutes); see BENCHMARKS.md.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

BIN="$(swift build --show-bin-path)/keybound"
if [[ ! -x "$BIN" ]]; then
    run swift build --product keybound
fi
OUT="$(mktemp)"
remove_at_exit "$OUT"
echo "+ $BIN bench --seconds 0.3 --cold-requests 200 --max-requests 2000 --replay-capacity 65536 --json"
"$BIN" bench --seconds 0.3 --cold-requests 200 --max-requests 2000 --replay-capacity 65536 --json >"$OUT"
echo "+ checking the report"
python3 - "$OUT" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["backend"] == "openssl", report.get("backend")
assert report["cores"] >= 1
assert report["openssl"]["es256_verify_per_second"] > 0 and report["openssl"]["rs256_verify_per_second"] > 0
names = {s["name"] for s in report["scenarios"]}
assert names == {"warm", "new-token", "new-client-key"}, names
for s in report["scenarios"]:
    for field in ("proof_alg", "token_alg", "threads", "requests", "accepted", "verifies_per_second", "p50_us",
                  "p99_us", "baseline_per_second", "ratio_to_openssl", "cpu_ratio_to_openssl"):
        assert field in s, (field, s)
    assert s["requests"] > 0, s
    assert s["accepted"] == s["requests"], f"{s['name']} on {s['threads']} thread(s): {s['accepted']} of {s['requests']} accepted"
    print(f"  {s['name']:15} threads={s['threads']} requests={s['requests']} accepted={s['accepted']} "
          f"ratio_to_openssl={s['ratio_to_openssl']}")
print("bench smoke test: OK")
PY
