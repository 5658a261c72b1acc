#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# Load and soak figures of keybound-serve (docs/sidecar.md, BENCHMARKS.md "Forward-auth service"). Not part of CI.
#
#   scripts/bench/sidecar-load.sh
#
# In one run, on loopback, with release builds (made here when missing, niced):
#   1. `keybound bench --scenario warm --threads 2`: the library's warm rate on 2 threads (RS256 tokens, ES256 proofs),
#      the reference for the ratios;
#   2. wrk straight at keybound-serve (with the headers nginx would add), then through nginx (auth_request, the
#      configuration of docs/sidecar.md, an upstream that answers 200 at once): requests/s, p50/p99, the
#      keybound-serve process's CPU-seconds per request (/proc/PID/stat before and after) and wrk's own (bash's
#      `time`; the generator shares the cores). Each request has its own
#      proof, none used twice; a token per client key, 16 keys (warm: the tokens are cached after their first use).
#      Any answer outside 2xx fails the run;
#   3. a soak straight at keybound-serve at a fixed rate, proofs made as they are sent, sampling the process's RSS
#      every 10 s; the figure is the growth from the sample at 60 s to the last.
# Settings (environment): RUN_SECONDS (10), CONNECTIONS (16), WRK_THREADS (1), RATE_GUESS (requests/s to make proofs
# for; 20000), BENCH_SECONDS (5), SOAK_SECONDS (300; 0 skips the soak), SOAK_RATE (2000/s), NGINX_WORKERS (auto),
# KEYBOUND_SERVE and KEYBOUND_CLI (the binaries), OUT (the result files' folder; .build-bench/sidecar), PERF=1 (perf record of
# keybound-serve during each load run, OUT/NAME.perf.data), PERF_STAT=1 (perf stat of keybound-serve during each load
# run: system calls and context switches per request, in the results; OUT/NAME.perf-stat.csv), PIPELINE=N (one
# more direct run writing N requests back to back, HTTP/1.1 pipelining; no proxy sends auth requests that way).
# Needs: wrk, nginx, python3 with cryptography.
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
here="$root/scripts/bench"

RUN_SECONDS="${RUN_SECONDS:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
WRK_THREADS="${WRK_THREADS:-1}"
RATE_GUESS="${RATE_GUESS:-20000}"
BENCH_SECONDS="${BENCH_SECONDS:-5}"
SOAK_SECONDS="${SOAK_SECONDS:-300}"
SOAK_RATE="${SOAK_RATE:-2000}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
OUT="${OUT:-$root/.build-bench/sidecar}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
command -v wrk >/dev/null || fail "wrk is not installed (apt-get install wrk)"
[ -x "$NGINX" ] || fail "nginx is not installed (apt-get install nginx)"

release="$(swift build -c release --package-path Integrations --show-bin-path)"
serve_bin="${KEYBOUND_SERVE:-$release/keybound-serve}"
cli_bin="${KEYBOUND_CLI:-$release/keybound}"
[ -x "$serve_bin" ] || run nice swift build -c release --package-path Integrations --product keybound-serve
[ -x "$cli_bin" ] || run nice swift build -c release --package-path Integrations --product keybound

mkdir -p "$OUT"
work="$(mktemp -d)"
remove_at_exit "$work"
results="$OUT/results.jsonl"
: > "$results"
ticks="$(getconf CLK_TCK)"

step "keys: an RS256 issuer, 16 ES256 clients with a token each"
run python3 "$here/sidecar_requests.py" keys "$work" --clients 16

serve_port="$(free_port)"
nginx_port="$(free_port)"
app_port="$(free_port)"
sed -e "s|@SERVE_PORT@|$serve_port|" "$here/serve.toml.in" > "$work/serve.toml"
sed -e "s|@WORK@|$work|g" -e "s|@CONF@|$root/IntegrationTests/sidecar/nginx|g" -e "s|@SERVE_PORT@|$serve_port|g" \
    -e "s|@APP_PORT@|$app_port|g" -e "s|@NGINX_PORT@|$nginx_port|g" -e "s|@WORKERS@|$NGINX_WORKERS|g" \
    "$here/nginx.conf.in" > "$work/nginx.conf"
mkdir -p "$work/tmp"
"$serve_bin" --check "$work/serve.toml"
"$NGINX" -t -q -p "$work" -c "$work/nginx.conf"

# The process's CPU-seconds so far (user + system), and its resident set in KiB.
cpu_seconds() { awk -v t="$ticks" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

step "keybound bench: warm, 2 threads ($BENCH_SECONDS s), the library alone"
"$cli_bin" bench --scenario warm --threads 2 --seconds "$BENCH_SECONDS" --skip-replay --json > "$work/bench.json"
python3 - "$work/bench.json" "$results" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))
row = next(s for s in bench["scenarios"] if s["name"] == "warm" and s["threads"] == 2)
assert row["accepted"] == row["requests"], row
out = {"run": "keybound bench warm 2 threads", "rps": row["verifies_per_second"], "p50_us": row["p50_us"],
       "p99_us": row["p99_us"], "cpu_us_per_request": 1e6 / row["cpu_verifies_per_second"],
       "raw_openssl_rps": row["baseline_per_second"]}
open(sys.argv[2], "a").write(json.dumps(out) + "\n")
print(json.dumps(out))
PY

echo "+ $serve_bin $work/serve.toml &"
"$serve_bin" "$work/serve.toml" > "$work/serve.log" 2>&1 &
serve_pid=$!
track_pid "$serve_pid"
wait_port "$serve_port" 400 "$serve_pid" || { cat "$work/serve.log"; fail "keybound-serve did not start"; }
echo "+ $NGINX -p $work -c $work/nginx.conf &"
"$NGINX" -p "$work" -c "$work/nginx.conf" &
nginx_pid=$!
track_pid "$nginx_pid"
wait_port "$nginx_port" 400 "$nginx_pid" || { cat "$work/nginx-error.log"; fail "nginx did not start"; }

# load NAME MODE URL [DEPTH]: pre-made proofs, then wrk for RUN_SECONDS, DEPTH requests per write (1: no
# pipelining); fails on any answer outside 2xx.
load() {
    local name="$1" mode="$2" url="$3" depth="${4:-1}" count before after made_at started perf_pid="" stat_pid=""
    count=$(( RATE_GUESS * RUN_SECONDS * 12 / 10 ))
    step "$name: $count requests made, then wrk -t$WRK_THREADS -c$CONNECTIONS -d${RUN_SECONDS}s $url"
    made_at=$(date +%s)
    python3 "$here/sidecar_requests.py" make "$work" "$work/$name" --count "$count" --files "$WRK_THREADS" \
        --url "https://api.example/api/x"
    started=$(date +%s)
    # A proof lives 60 s (the verifier's default): the oldest is used at the start of the run.
    [ $(( started - made_at + RUN_SECONDS )) -lt 55 ] \
        || fail "making the proofs took $(( started - made_at )) s: too slow for their 60 s lifetime;" \
            "lower RATE_GUESS or RUN_SECONDS"
    before="$(cpu_seconds "$serve_pid")"
    if [ -n "${PERF:-}" ]; then
        # PERF=1: a call-graph profile of keybound-serve during the run (perf report -i OUT/NAME.perf.data).
        perf record -q -F 499 -g -p "$serve_pid" -o "$OUT/$name.perf.data" -- sleep "$RUN_SECONDS" &
        perf_pid=$!
    fi
    rm -f "$OUT/$name.perf-stat.csv"
    if [ -n "${PERF_STAT:-}" ]; then
        perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$serve_pid" \
            -o "$OUT/$name.perf-stat.csv" -- sleep "$RUN_SECONDS" &
        stat_pid=$!
    fi
    # wrk's own CPU-seconds (user and system, bash's `time`): the generator shares the two cores with the server.
    local TIMEFORMAT='%U %S'
    { time KB_REQUESTS="$work/$name" KB_MODE="$mode" KB_PATH="/api/x" KB_PIPELINE="$depth" \
        wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${RUN_SECONDS}s" -s "$here/sidecar.lua" "$url" \
        | tee "$work/$name.wrk"; } 2> "$work/$name.wrk-cpu"
    after="$(cpu_seconds "$serve_pid")"
    [ -z "${perf_pid:-}" ] || wait "$perf_pid"
    [ -z "${stat_pid:-}" ] || wait "$stat_pid"
    python3 - "$work/$name.wrk" "$name" "$before" "$after" "$results" "$work/$name.wrk-cpu" \
        "$OUT/$name.perf-stat.csv" <<'PY'
import json, os, sys
text, name, results = open(sys.argv[1]).read(), sys.argv[2], sys.argv[5]
before, after = float(sys.argv[3]), float(sys.argv[4])
line = next(l for l in text.splitlines() if l.startswith("KB_RESULT "))
r = json.loads(line[len("KB_RESULT "):])
r["run"] = name
r["serve_cpu_seconds"] = round(after - before, 3)
r["cpu_us_per_request"] = round((after - before) / max(r["requests"], 1) * 1e6, 1)
wrk_cpu = sum(map(float, open(sys.argv[6]).read().split()[-2:]))
r["wrk_cpu_seconds"] = round(wrk_cpu, 3)
r["wrk_cpu_us_per_request"] = round(wrk_cpu / max(r["requests"], 1) * 1e6, 1)
if os.path.exists(sys.argv[7]):
    # perf stat over the run's seconds (wrk's run is as long): counts per request.
    for line in open(sys.argv[7]):
        parts = line.strip().split(",")
        if len(parts) > 2 and parts[2] in ("raw_syscalls:sys_enter", "context-switches"):
            r[parts[2].replace("raw_syscalls:sys_enter", "syscalls") + "_per_request"] = round(
                float(parts[0]) / max(r["requests"], 1), 2)
open(results, "a").write(json.dumps(r) + "\n")
print(json.dumps(r))
if r["threads_out_of_requests"]:
    sys.exit(f"{name}: wrk ran out of pre-made requests; raise RATE_GUESS")
errors = r["bad"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
if errors or r["ok"] != r["requests"]:
    sys.exit(f"{name}: {r['bad']} answers outside 2xx and {errors - r['bad']} socket errors")
PY
}

load direct direct "http://127.0.0.1:$serve_port/_keybound"
load nginx nginx "http://127.0.0.1:$nginx_port"
# PIPELINE=N (N > 1): one more direct run with N requests per write. No proxy pipelines its auth requests, so this
# is not the traffic keybound-serve gets; it shows what is left when the per-request socket work is shared by N.
if [ "${PIPELINE:-1}" -gt 1 ]; then
    load "direct-pipelined-$PIPELINE" direct "http://127.0.0.1:$serve_port/_keybound" "$PIPELINE"
fi

# The soak: a fixed rate, proofs made as they are sent (a proof lives 60 s), RSS every 10 s.
soak() {
    step "soak: $SOAK_SECONDS s at ~$SOAK_RATE requests/s straight at keybound-serve, RSS every 10 s"
    mkfifo "$work/soak.0"
    python3 "$here/sidecar_requests.py" stream "$work" "$work/soak.0" --url "https://api.example/api/x" \
        2> "$work/stream.log" &
    track_pid $!
    echo "0 $(rss_kib "$serve_pid")" > "$work/rss.txt"
    (
        for second in $(seq 10 10 "$SOAK_SECONDS"); do
            sleep 10
            echo "$second $(rss_kib "$serve_pid")" >> "$work/rss.txt"
        done
    ) &
    sampler=$!
    before="$(cpu_seconds "$serve_pid")"
    KB_REQUESTS="$work/soak" KB_MODE=direct KB_PATH="/api/x" KB_DELAY_MS=$(( CONNECTIONS * 1000 / SOAK_RATE )) \
        wrk -t1 -c"$CONNECTIONS" -d"${SOAK_SECONDS}s" -s "$here/sidecar.lua" "http://127.0.0.1:$serve_port/_keybound" \
        | tee "$work/soak.wrk"
    after="$(cpu_seconds "$serve_pid")"
    wait "$sampler"
    cp "$work/rss.txt" "$OUT/soak-rss.txt"
    python3 - "$work/soak.wrk" "$work/rss.txt" "$before" "$after" "$results" <<'PY'
import json, sys
wrk, rss_file, before, after, results = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
line = next(l for l in open(wrk).read().splitlines() if l.startswith("KB_RESULT "))
r = json.loads(line[len("KB_RESULT "):])
samples = [tuple(map(int, l.split())) for l in open(rss_file) if l.strip()]
at60 = next(kib for second, kib in samples if second >= 60)
last = samples[-1][1]
r.update(run="soak", serve_cpu_seconds=round(after - before, 3),
         cpu_us_per_request=round((after - before) / max(r["requests"], 1) * 1e6, 1),
         rss_kib=[kib for _, kib in samples], rss_growth_after_60s_percent=round((last - at60) / at60 * 100, 2))
open(results, "a").write(json.dumps(r) + "\n")
print(json.dumps(r))
errors = r["bad"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
if errors or r["threads_out_of_requests"] or r["ok"] != r["requests"]:
    sys.exit(f"soak: {r['bad']} answers outside 2xx, {errors - r['bad']} socket errors")
PY
}
[ "$SOAK_SECONDS" -le 0 ] || soak

step "summary ($(uptime | sed 's/.*load/load/'))"
python3 - "$results" <<'PY' | tee "$OUT/summary.md"
import json, sys
rows = {r["run"]: r for r in map(json.loads, open(sys.argv[1]))}
bench = rows["keybound bench warm 2 threads"]
print("| run | requests | requests/s | p50 µs | p99 µs | keybound-serve CPU µs/request "
      "| × bench warm 2 threads (wall) | × bench (CPU) | wrk CPU µs/request |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
print(f"| keybound bench warm, 2 threads | — | {bench['rps']:,.0f} | {bench['p50_us']:.0f} | {bench['p99_us']:.0f} "
      f"| {bench['cpu_us_per_request']:.1f} (the library) | 1 | 1 | — |")
for name in ["direct", "nginx"] + sorted(n for n in rows if n.startswith("direct-pipelined-")) + ["soak"]:
    if name not in rows:
        continue
    r = rows[name]
    wall = "— (fixed rate)" if name == "soak" else f"{r['rps'] / bench['rps']:.3f}"
    print(f"| {name} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50_us']} | {r['p99_us']} | {r['cpu_us_per_request']} "
          f"| {wall} | {bench['cpu_us_per_request'] / r['cpu_us_per_request']:.3f} "
          f"| {r.get('wrk_cpu_us_per_request', '—')} |")
soak = rows.get("soak")
if soak:
    print()
    print(f"soak RSS (KiB, every 10 s): {soak['rss_kib']}; growth from 60 s to the end: "
          f"{soak['rss_growth_after_60s_percent']} %")
PY
echo "results: $results, $OUT/summary.md"
