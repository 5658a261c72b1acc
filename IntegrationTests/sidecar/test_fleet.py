# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Two keybound-serve instances behind one nginx, sharing one Redis replay store; readiness, metrics, graceful stop.

Started here, on free loopback ports: a redis-server (persistence off) shared by instances A and B, the Python
upstream, one nginx whose `keybound_serve` upstream lists A and B (round robin; otherwise the nginx.conf.in of the
other tests), and instance C on a redis-server of its own, which the readiness test stops and starts again. Both
instances log JSON lines (`[log] format = "json"`), which tell which instance answered. Needs KEYBOUND_SERVE built
with the Redis trait, nginx (NGINX) and redis-server (REDIS_SERVER, else the one on PATH).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_sidecar import AUDIENCE, ISSUER, PUBLIC_BASE, Keys, free_port, request, running, stop_all, wait_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PREFIX = "keybound-fleet-test:"


def substitute(text: str, **values) -> str:
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    assert not re.search(r"@[A-Z_]+@", text)
    return text


def redis_command(port: int, *words: str):
    """One RESP command to the Redis on 127.0.0.1:port; the reply as Python values (enough for KEYS, PING, GET)."""
    payload = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload.encode())
        reader = s.makefile("rb")

        def read():
            line = reader.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:].decode()
            if kind in (b"+", b"-"):
                return rest
            if kind == b":":
                return int(rest)
            if kind == b"$":
                return None if rest == "-1" else reader.read(int(rest) + 2)[:-2].decode()
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            raise AssertionError(line)
        return read()


class Fleet:
    def __init__(self, work: Path):
        self.work = work
        self.keys = Keys()
        self.binary = os.environ["KEYBOUND_SERVE"]
        self.nginx = os.environ.get("NGINX", "/usr/sbin/nginx")
        self.redis_server = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
        self.ports = {name: free_port() for name in ("redis", "redis_c", "upstream", "a", "b", "c", "nginx")}
        self.procs: dict[str, subprocess.Popen] = {}
        self.sent: list[str] = []
        (work / "jwks.json").write_text(self.keys.jwks())

    def start(self, name: str, argv: list[str], port: int) -> subprocess.Popen:
        log = self.work / f"{name}.log"
        proc = subprocess.Popen(argv, stdout=log.open("a"), stderr=subprocess.STDOUT)
        self.procs[name] = proc
        wait_port(port, proc, name, log)
        return proc

    def start_redis(self, name: str) -> None:
        port = self.ports[name]
        self.start(name, [self.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", str(self.work), "--daemonize", "no"], port)

    def stop(self, name: str) -> int:
        proc = self.procs.pop(name)
        proc.terminate()
        return proc.wait(timeout=30)

    def serve_config(self, name: str, redis_port: int) -> Path:
        text = substitute((HERE / "serve.toml.in").read_text(), SERVE_PORT=self.ports[name],
                          NGINX_PORT=self.ports["nginx"], ISSUER=ISSUER, AUDIENCE=AUDIENCE, PUBLIC_BASE=PUBLIC_BASE)
        text += (f'\n[replay]\nstore = "redis"\nurl = "redis://127.0.0.1:{redis_port}/0"\n'
                 f'key_prefix = "{PREFIX}"\ncommand_timeout_ms = 500\n\n[log]\nformat = "json"\nlevel = "debug"\n')
        path = self.work / f"serve-{name}.toml"
        path.write_text(text)
        check = subprocess.run([self.binary, "--check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert "replay store redis redis://127.0.0.1:" in check.stdout
        return path

    def up(self) -> None:
        p = self.ports
        self.start_redis("redis")
        self.start_redis("redis_c")
        # A fresh Redis refuses proofs issued at or before the second the store first connects (the restart guard,
        # docs/redis.md): an older epoch, as if this Redis had been running, lets the tests' proofs through.
        for redis in ("redis", "redis_c"):
            assert redis_command(p[redis], "SET", PREFIX + "epoch", "0") == "OK"
        self.start("upstream", [sys.executable, str(HERE / "servers.py"), "upstream", str(p["upstream"])],
                   p["upstream"])
        for name, redis in (("a", "redis"), ("b", "redis"), ("c", "redis_c")):
            self.start("serve-" + name, [self.binary, str(self.serve_config(name, p[redis]))], p[name])
        # The tested nginx configuration, with A and B in the keybound_serve upstream.
        template = (HERE / "nginx" / "nginx.conf.in").read_text()
        one = "server 127.0.0.1:@SERVE_PORT@;"
        assert one in template
        text = substitute(template.replace(one, f"server 127.0.0.1:{p['a']}; server 127.0.0.1:{p['b']};"),
                          WORK=self.work, NAME="fleet", CONF=HERE / "nginx", UPSTREAM_PORT=p["upstream"],
                          NGINX_PORT=p["nginx"])
        (self.work / "tmp-fleet").mkdir(exist_ok=True)
        conf = self.work / "nginx-fleet.conf"
        conf.write_text(text)
        self.start("nginx", [self.nginx, "-p", str(self.work), "-c", str(conf)], p["nginx"])

    def down(self) -> None:
        stop_all(list(self.procs.values()))

    @staticmethod
    def request(port: int, method: str, path: str, headers: list[tuple[str, str]]):
        return request(port, method, path, headers)

    def credentials(self, path: str = "/api/orders") -> list[tuple[str, str]]:
        """A token and a proof for GET http://127.0.0.1:<nginx><path>, remembered for the log check."""
        token = self.keys.token()
        proof = self.keys.proof("GET", f"http://127.0.0.1:{self.ports['nginx']}{path}", token)
        self.sent += [token, proof]
        return [("Authorization", "DPoP " + token), ("DPoP", proof)]

    def sub_request(self, instance: str, credentials: list[tuple[str, str]], path: str = "/api/orders"):
        """What nginx sends keybound-serve, sent straight to one instance."""
        headers = [("X-Original-Method", "GET"), ("X-Original-URI", path)] + credentials
        return self.request(self.ports[instance], "GET", "/_keybound", headers)

    def log_lines(self, instance: str) -> list[dict]:
        lines = (self.work / f"serve-{instance}.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def auth_lines(self, instance: str) -> list[dict]:
        return [line for line in self.log_lines(instance) if line["msg"] == "auth"]

    def metrics(self, instance: str) -> dict[str, float]:
        status, _, body = self.request(self.ports[instance], "GET", "/metrics", [])
        assert status == 200
        samples = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                samples[series] = float(value)
        return samples


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    yield from running(Fleet(tmp_path_factory.mktemp("fleet")))


def assert_replay_refusal(status, headers, body, *, real_status="401"):
    assert status == 401, body
    assert headers["X-Keybound-Status"] == real_status
    assert headers["X-Keybound-Code"] == "proof_replayed"
    assert headers["X-Keybound-Error"] == "invalid_dpop_proof"
    assert 'error="invalid_dpop_proof"' in headers["WWW-Authenticate"]


def test_a_proof_accepted_by_one_instance_is_a_replay_at_the_other(fleet):
    credentials = fleet.credentials()
    status, headers, _ = fleet.sub_request("a", credentials)
    assert status == 200 and headers["X-Keybound-Subject"] == "alice"
    # B never saw this proof: only the shared Redis can tell it is a replay.
    assert_replay_refusal(*fleet.sub_request("b", credentials))
    keys = redis_command(fleet.ports["redis"], "KEYS", PREFIX + "*")
    assert len([k for k in keys if k != PREFIX + "epoch"]) >= 1
    # And the other way round.
    credentials = fleet.credentials()
    assert fleet.sub_request("b", credentials)[0] == 200
    assert_replay_refusal(*fleet.sub_request("a", credentials))


def test_through_nginx_the_second_instance_refuses_the_replay(fleet):
    before = {name: len(fleet.auth_lines(name)) for name in ("a", "b")}
    credentials = fleet.credentials()
    status, _, body = fleet.request(fleet.ports["nginx"], "GET", "/api/orders", credentials)
    assert status == 200, body
    assert json.loads(body)["headers"]["x-keybound-subject"] == "alice"
    status, headers, body = fleet.request(fleet.ports["nginx"], "GET", "/api/orders", credentials)
    assert status == 401
    assert headers["X-Keybound-Code"] == "proof_replayed"
    assert 'error="invalid_dpop_proof"' in headers["WWW-Authenticate"]
    assert json.loads(body) == {"error": "invalid_dpop_proof", "code": "proof_replayed"}
    # nginx's round robin sent the two sub-requests to different instances: one accepted, the other refused.
    for _ in range(50):
        new = {name: fleet.auth_lines(name)[before[name]:] for name in ("a", "b")}
        if sum(len(lines) for lines in new.values()) == 2:
            break
        time.sleep(0.1)
    outcomes = sorted((line["outcome"], name) for name, lines in new.items() for line in lines)
    assert [o for o, _ in outcomes] == ["ok", "proof_replayed"], outcomes
    assert outcomes[0][1] != outcomes[1][1], outcomes


def test_sighup_keeps_the_redis_store(fleet):
    credentials = fleet.credentials()
    assert fleet.sub_request("b", credentials)[0] == 200
    accepted_here = fleet.credentials()
    assert fleet.sub_request("a", accepted_here)[0] == 200
    fleet.procs["serve-a"].send_signal(signal.SIGHUP)
    for _ in range(100):
        if any(line["msg"] == "configuration reloaded" for line in fleet.log_lines("a")):
            break
        time.sleep(0.1)
    assert any(line["msg"] == "configuration reloaded" for line in fleet.log_lines("a"))
    assert fleet.metrics("a")['keybound_serve_reloads_total{result="ok"}'] == 1
    # After the reload A still asks the same Redis (B's proof) and keeps its own cache (its own proof).
    assert_replay_refusal(*fleet.sub_request("a", credentials))
    assert_replay_refusal(*fleet.sub_request("a", accepted_here))
    assert fleet.sub_request("a", fleet.credentials())[0] == 200


def test_health_and_readiness(fleet):
    for name in ("a", "b", "c"):
        assert fleet.request(fleet.ports[name], "GET", "/healthz", [])[::2] == (200, "ok\n")
        assert fleet.request(fleet.ports[name], "GET", "/readyz", [])[::2] == (200, "ready\n")


def test_metrics_count_what_one_instance_answered(fleet):
    before = fleet.metrics("a")
    credentials = fleet.credentials()
    assert fleet.sub_request("a", credentials)[0] == 200
    assert fleet.sub_request("a", credentials)[0] == 401
    assert fleet.sub_request("a", fleet.credentials("/api/admin"), "/api/admin")[1]["X-Keybound-Status"] == "403"
    after = fleet.metrics("a")

    def grew(series: str) -> float:
        return after.get(series, 0) - before.get(series, 0)
    assert grew('keybound_serve_answers_total{status="200"}') == 1
    assert grew('keybound_serve_answers_total{status="401"}') == 1
    assert grew('keybound_serve_answers_total{status="403"}') == 1
    assert grew('keybound_serve_refusals_total{code="proof_replayed"}') == 1
    assert grew('keybound_serve_refusals_total{code="insufficient_scope"}') == 1
    assert grew("keybound_serve_answer_duration_seconds_count") == 3
    assert grew('keybound_serve_proof_key_cache_total{result="hits"}') >= 2
    assert 0 < after["keybound_serve_proof_key_cache_hit_ratio"] <= 1
    assert after["keybound_serve_replay_entries"] >= 1
    assert after["keybound_serve_replay_capacity"] == 1048576


def test_redis_down_is_not_ready_and_fails_closed_then_recovers(fleet):
    c = fleet.ports["c"]
    assert fleet.request(c, "GET", "/readyz", [])[0] == 200
    assert fleet.stop("redis_c") == 0
    status, _, body = fleet.request(c, "GET", "/readyz", [])
    assert status == 503
    assert body.startswith("not ready: replay store: "), body
    status, headers, _ = fleet.sub_request("c", fleet.credentials())
    assert (status, headers["X-Keybound-Status"], headers["X-Keybound-Code"]) == (
        401, "503", "replay_store_unavailable")
    fleet.start_redis("redis_c")
    for _ in range(100):
        if fleet.request(c, "GET", "/readyz", [])[0] == 200:
            break
        time.sleep(0.1)
    assert fleet.request(c, "GET", "/readyz", [])[::2] == (200, "ready\n")
    assert any(line["msg"] == "not ready" for line in fleet.log_lines("c"))


def test_sigterm_stops_gracefully(fleet):
    assert fleet.stop("serve-c") == 0
    assert fleet.log_lines("c")[-1]["msg"] == "stopped"


def test_logs_are_json_and_never_hold_a_token_or_proof(fleet):
    assert fleet.sent
    for name in ("a", "b", "c"):
        text = (fleet.work / f"serve-{name}.log").read_text()
        lines = fleet.log_lines(name)
        assert len(lines) == len(text.splitlines()), "every line is a JSON object"
        assert any(line["msg"] == "auth" and line["path"] == "/api/orders" for line in lines)
        for secret in fleet.sent:
            assert secret not in text
            assert secret.split(".")[2] not in text


def test_the_systemd_unit_example():
    unit = ROOT / "docs" / "examples" / "keybound-serve.service"
    config = ROOT / "docs" / "examples" / "serve.toml"
    text = unit.read_text()
    assert "ExecStart=/usr/local/bin/keybound-serve /etc/keybound/serve.toml" in text
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text
    assert "docs/examples/keybound-serve.service" in (ROOT / "docs" / "sidecar.md").read_text()
    check = subprocess.run([os.environ["KEYBOUND_SERVE"], "--check", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    analyze = shutil.which("systemd-analyze")
    if analyze:
        work = Path(os.environ.get("TMPDIR", "/tmp")) / f"keybound-unit-{os.getpid()}"
        work.mkdir(exist_ok=True)
        try:
            # The unit as installed, with this build's binary at the path it names.
            copy = work / "keybound-serve.service"
            copy.write_text(text.replace("/usr/local/bin/keybound-serve", os.path.abspath(os.environ["KEYBOUND_SERVE"])))
            verify = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
            assert verify.returncode == 0 and "keybound-serve.service" not in verify.stderr, verify.stderr
        finally:
            shutil.rmtree(work)
