#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# Redis replay store, fleet revocation and restart guard against a real redis-server.
# Installs redis-server and libhiredis-dev when missing (apt-get), starts its own redis-server on a free loopback port
# with persistence off, builds with the Redis trait in .build-redis (the default .build is untouched), and runs:
#   unit tests (KeyboundRedisTests), the CLI with --replay-store, a fleet of 3 processes x 4 threads, an outage
#   (Redis stopped and restarted mid-run), the TTL Redis reports, a paused Redis (command timeout), fleet revocation,
#   and the C library built with --with-redis when RUN_CAPI_REDIS=1, with the Python package on it (python/tests_redis).
# Usage: scripts/ci/redis.sh   (BENCH=1 also runs the benchmark of docs/redis.md)
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
CI_STEP_MARK="=="

need_apt redis-server libhiredis-dev

work="$(mktemp -d)"
remove_at_exit "$work"
port="$(free_port)"
url="redis://127.0.0.1:$port/0"
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }
# redis_server NAME PORT [OPTION...]: a redis-server on 127.0.0.1:PORT with persistence off, its pid file, log and
# data in $work/NAME.*; stop_redis [NAME] stops it (default: the main server, "redis").
redis_server() {
    local name="$1" port="$2"
    shift 2
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$work/$name.pid" --logfile "$work/$name.log" --dir "$work" "$@"
}
start_redis() {
    redis_server redis "$port"
    wait_port "$port" || fail "redis-server did not start"
}
stop_redis() {
    local pid
    pid="$(cat "$work/${1:-redis}.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
}
at_exit stop_redis

step "redis-server on 127.0.0.1:$port (persistence off)"
start_redis
cli info server | grep -E '^redis_version' || true

step "build with the Redis trait (.build-redis)"
scratch=(--scratch-path "$root/.build-redis" --traits default,Redis)
run swift build "${scratch[@]}" --product keybound-fleet
run swift build "${scratch[@]}" --product keybound
bin="$(swift build "${scratch[@]}" --show-bin-path)"
fleet="$bin/keybound-fleet"

step "unit tests: KeyboundRedisTests against this server (and a second one that may evict, which must be refused)"
evicting_port="$(free_port)"
redis_server evicting "$evicting_port" --maxmemory 64mb --maxmemory-policy allkeys-lru
at_exit "stop_redis evicting"
wait_port "$evicting_port" || true
KEYBOUND_REDIS_URL="$url" KEYBOUND_REDIS_EVICTING_URL="redis://127.0.0.1:$evicting_port/0" \
    run swift test "${scratch[@]}" --filter KeyboundRedisTests
stop_redis evicting

step "(a) fleet: 3 processes x 4 threads, overlapping proofs, one Redis"
mkdir -p "$work/fleet"
run "$fleet" gen "$work/fleet" 3000 16 "$url"
start_ms=$(( $(date +%s%3N) + 1500 ))
# Proofs 0..2999, all started at the same instant: A offers 0..2999, B the same from the end (they race where they
# meet), C from the middle (1500..4499, wrapping); each process also re-offers every tenth proof to itself.
"$fleet" run "$work/fleet" "$url" A 0 3000 4 "$start_ms" > "$work/A.out" &
pa=$!
"$fleet" run "$work/fleet" "$url" B 0 3000 4 "$start_ms" reverse > "$work/B.out" &
pb=$!
"$fleet" run "$work/fleet" "$url" C 1500 4500 4 "$start_ms" > "$work/C.out" &
pc=$!
wait "$pa" && wait "$pb" && wait "$pc" || { cat "$work"/?.out; fail "a fleet process failed"; }
cat "$work/A.out" "$work/B.out" "$work/C.out"
run "$fleet" check "$work/fleet" 3000
echo "replay keys in Redis: $(cli dbsize)"

step "(a2) fleet fairness: one key floods 600 proofs through 3 processes against a share of 100; 30 other keys"
mkdir -p "$work/fair"
run "$fleet" fairgen "$work/fair" "$url" 600 30
start_ms=$(( $(date +%s%3N) + 1500 ))
for part in 0 1 2; do
    "$fleet" fair "$work/fair" "$url" "P$part" "$part" 3 100 4 "$start_ms" > "$work/fair-$part.out" &
    eval "pf$part=\$!"
done
wait "$pf0" && wait "$pf1" && wait "$pf2" || { cat "$work"/fair-?.out; fail "a fairness process failed"; }
cat "$work"/fair-?.out
run "$fleet" faircheck "$work/fair" 100

step "CLI: keybound verify --replay-store, twice over the same batch"
head -n 50 "$work/fleet/requests.jsonl" > "$work/cli.jsonl"
cli flushdb >/dev/null
# (a fresh epoch after FLUSHDB would refuse these proofs, made before it: put back an older epoch)
cli set keybound:replay:epoch 0 >/dev/null
verify=("$bin/keybound" verify --jwks "$work/fleet/jwks.json" --issuer https://issuer.fleet.example
    --audience https://api.fleet.example --replay-store "$url" --batch "$work/cli.jsonl")
run "${verify[@]}" > "$work/cli1.out" || fail "first CLI batch refused something: $(grep -v '"ok":true' "$work/cli1.out" | head -1)"
status=0
run "${verify[@]}" > "$work/cli2.out" || status=$?
[ "$status" = 1 ] || fail "second CLI batch: exit status $status, want 1"
[ "$(grep -c '"proof_replayed"' "$work/cli2.out")" = 50 ] || fail "second CLI batch: not every proof refused as replayed"
echo "CLI: first run accepted 50/50, second run refused 50/50 as proof_replayed"

step "(c) TTL: a recorded proof's PTTL is the acceptance window"
read -r key now < <("$fleet" ttl "$url")
pttl="$(cli pttl "$key")"
echo "key $key PTTL $pttl ms (iat = now = $now, maxAge 60 + skew 5: lives to the end of second now+65)"
[ "$pttl" -gt 64000 ] && [ "$pttl" -le 66000 ] || fail "PTTL $pttl outside (64000, 66000]"

step "(d) a paused Redis hits the command timeout"
cli client pause 4000 all >/dev/null
run "$fleet" slow "$url" 200
sleep 4

step "fleet revocation: 3 listening processes, one publisher"
for name in L1 L2 L3; do
    "$fleet" revocation "$work/fleet" "$url" listen "$name" > "$work/$name.out" &
    eval "p$name=\$!"
done
sleep 2
run "$fleet" revocation "$work/fleet" "$url" publish
wait "$pL1" && wait "$pL2" && wait "$pL3" || { cat "$work"/L?.out; fail "a revocation listener failed"; }
cat "$work"/L?.out

step "(b) Redis stopped mid-run and restarted"
"$fleet" outage "$url" 9 > "$work/outage.out" 2>&1 &
po=$!
sleep 2.5
echo "+ stopping redis-server"; stop_redis
sleep 2.5
echo "+ restarting redis-server"; start_redis
wait "$po" || { cat "$work/outage.out"; fail "outage run failed"; }
cat "$work/outage.out"

if [ "${RUN_CAPI_REDIS:-0}" = 1 ]; then
    step "C library with Redis (build-capi.sh --with-redis) and its C test"
    run scripts/build-capi.sh --with-redis --prefix "$work/dist-redis"
    run sh IntegrationTests/fleet/c/run.sh "$work/dist-redis" "$url"
    step "Python package on the Redis flavour: keybound.RedisReplayStore shared by two verifiers (python/tests_redis)"
    KEYBOUND_LIB="$work/dist-redis/lib/libkeybound-redis.so.0" KEYBOUND_TEST_REDIS_URL="$url" \
        PYTHONPATH="$root/python/src:$root/python/tests" run python3 -m pytest -q -p no:cacheprovider python/tests_redis
fi

if [ "${BENCH:-0}" = 1 ]; then
    step "benchmark (docs/redis.md)"
    cli flushdb >/dev/null
    run swift build -c release "${scratch[@]}" --product keybound-fleet
    rbin="$(swift build -c release "${scratch[@]}" --show-bin-path)"
    run "$rbin/keybound-fleet" bench "$url" 1 20000
    run "$rbin/keybound-fleet" bench "$url" 2 20000
    key="$(cli --scan --pattern 'keybound:replay:*' | grep -v epoch | head -1)"
    echo "MEMORY USAGE of one replay key: $(cli memory usage "$key") bytes; used_memory: $(cli info memory | grep '^used_memory:')"
fi
step "redis.sh: all passed"
