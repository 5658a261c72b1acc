# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The framework integrations under real servers, driven over HTTP by httpx with proofs signed by `cryptography`:
FastAPI and Starlette under uvicorn, Flask under gunicorn and under Werkzeug's server, Django under its runserver and
under gunicorn. The example applications of python/examples are the ones served."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Optional, Tuple

import httpx
import pytest
from dpop_client import AUDIENCE, ISSUER, REPO, World

EXAMPLES = os.path.join(REPO, "python", "examples")
BASE = "https://api.example.com"  # the public base URL of the servers behind the (imagined) proxy
SECRET = "n" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process serving one example application on 127.0.0.1."""

    def __init__(self, name: str, argv: List[str], port: int, world: World, base: Optional[str],
                 nonces: bool, limited_jkt: Optional[str] = None) -> None:
        self.name, self.port, self.base, self.nonces = name, port, base, nonces
        env = dict(os.environ, KEYBOUND_ISSUER=ISSUER, KEYBOUND_AUDIENCE=AUDIENCE, KEYBOUND_JWKS=world.jwks,
                   KEYBOUND_BASE_URL=(base + "/") if base else "", KEYBOUND_NONCE_SECRET=SECRET if nonces else "",
                   KEYBOUND_REPLAY_KEY_SHARE_FOR=f"{limited_jkt}=1" if limited_jkt else "",
                   PYTHONPATH=os.pathsep.join(filter(None, [EXAMPLES, os.environ.get("PYTHONPATH")])))
        self.log = open(os.path.join(os.environ.get("KEYBOUND_TEST_LOGS", "/tmp"), f"keybound-{name}.log"), "w")
        self.process = subprocess.Popen(argv, cwd=EXAMPLES, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited: see {self.log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: see {self.log.name}")
            time.sleep(0.1)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        self.nonce: Optional[str] = None

    def signed_url(self, target: str) -> str:
        """The URL a client signs (`htu`): the public base when behind the proxy, else the address it connects to."""
        return (self.base or f"http://127.0.0.1:{self.port}") + target

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def python_module(module: str, *args: str) -> List[str]:
    return [sys.executable, "-m", module, *args]


SERVERS = {
    # name: (argv for a port, behind a proxy with a base URL, nonces on)
    "fastapi-uvicorn": (lambda p: python_module("uvicorn", "fastapi_app:app", "--port", str(p), "--log-level",
                                                "warning"), True, True),
    "starlette-uvicorn": (lambda p: python_module("uvicorn", "starlette_app:app", "--port", str(p), "--log-level",
                                                  "warning"), True, True),
    "flask-gunicorn": (lambda p: python_module("gunicorn", "-b", f"127.0.0.1:{p}", "--threads", "4",
                                               "flask_app:app"), True, True),
    "flask-werkzeug": (lambda p: [sys.executable, "flask_app.py", str(p)], False, False),
    "django-runserver": (lambda p: [sys.executable, "django_app.py", "runserver", "--noreload",
                                    f"127.0.0.1:{p}"], True, True),
    "django-gunicorn": (lambda p: python_module("gunicorn", "-b", f"127.0.0.1:{p}", "django_app:application"),
                        False, True),
}
# Servers that hand over the raw request target (ASGI raw_path, WSGI RAW_URI/REQUEST_URI). Django's runserver
# (wsgiref) does not: keybound._web documents its fallback.
RAW_TARGET_SERVERS = [name for name in SERVERS if name != "django-runserver"]


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def limited(world: World) -> World:
    """A client key (its tokens signed by the trusted issuer key) whose share of each server's replay cache is 1."""
    client = World()
    client.issuer_key = world.issuer_key
    return client


@pytest.fixture(scope="module")
def servers(world: World, limited: World) -> Iterator[Dict[str, Server]]:
    started: Dict[str, Server] = {}
    try:
        for name, (argv, behind_proxy, nonces) in SERVERS.items():
            port = free_port()
            started[name] = Server(name, argv(port), port, world, BASE if behind_proxy else None, nonces,
                                   limited.jkt)
        yield started
    finally:
        for server in started.values():
            server.stop()


def send(server: Server, world: World, method: str, target: str, *, signed_method: Optional[str] = None,
         signed_target: Optional[str] = None, headers: Optional[Dict[str, str]] = None,
         token: Optional[str] = None) -> httpx.Response:
    """Sends a DPoP request, first fetching a nonce when the server requires one (RFC 9449 §8: the 401
    use_dpop_nonce answer carries it, then the client retries)."""
    for _ in range(2):
        signed = server.signed_url((signed_target or target).split("?", 1)[0])
        extra = {"nonce": server.nonce} if server.nonce else {}
        request_headers = headers or world.headers(signed_method or method, signed, token=token, **extra)
        response = server.client.request(method, target, headers=request_headers)
        if response.status_code == 401 and 'error="use_dpop_nonce"' in response.headers.get("www-authenticate", ""):
            server.nonce = response.headers["dpop-nonce"]
            headers = None
            continue
        return response
    return response


def error_of(response: httpx.Response) -> Tuple[int, str]:
    challenge = response.headers.get("www-authenticate", "")
    return response.status_code, challenge


@pytest.mark.parametrize("name", list(SERVERS))
def test_verified_request_reaches_the_view(servers: Dict[str, Server], world: World, name: str) -> None:
    server = servers[name]
    response = send(server, world, "GET", "/items?page=2")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sub"] == "alice" and body["scope"] == ["read", "write"] and body["jkt"] == world.jkt
    if server.nonces:
        assert len(response.headers["dpop-nonce"]) == 27  # a fresh nonce on success too
    else:
        assert "dpop-nonce" not in response.headers


@pytest.mark.parametrize("name", list(SERVERS))
def test_nonce_retry(servers: Dict[str, Server], world: World, name: str) -> None:
    server = servers[name]
    if not server.nonces:
        response = send(server, world, "GET", "/items", headers=world.headers(
            "GET", server.signed_url("/items"), nonce="unused-when-nonces-are-off"))
        assert response.status_code == 200
        return
    server.nonce = None
    first = server.client.get("/items", headers=world.headers("GET", server.signed_url("/items")))
    assert first.status_code == 401
    assert first.headers["www-authenticate"].startswith('DPoP error="use_dpop_nonce"')
    assert first.headers["cache-control"] == "no-store"
    nonce = first.headers["dpop-nonce"]
    assert len(nonce) == 27 and first.json()["error"] == "use_dpop_nonce"
    retry = server.client.get("/items", headers=world.headers("GET", server.signed_url("/items"), nonce=nonce))
    assert retry.status_code == 200 and retry.json()["sub"] == "alice"


@pytest.mark.parametrize("name", list(SERVERS))
def test_replayed_proof_is_refused(servers: Dict[str, Server], world: World, name: str) -> None:
    server = servers[name]
    send(server, world, "GET", "/items")  # a nonce first, when needed
    extra = {"nonce": server.nonce} if server.nonce else {}
    headers = world.headers("GET", server.signed_url("/items"), **extra)
    assert server.client.get("/items", headers=headers).status_code == 200
    replay = server.client.get("/items", headers=headers)
    status, challenge = error_of(replay)
    assert status == 401 and challenge.startswith('DPoP error="invalid_dpop_proof"'), challenge
    assert "algs=" in challenge
    assert replay.json()["error"] == "invalid_dpop_proof"


@pytest.mark.parametrize("name", list(SERVERS))
def test_wrong_method_and_wrong_url_are_refused(servers: Dict[str, Server], world: World, name: str) -> None:
    server = servers[name]
    wrong_method = send(server, world, "POST", "/files/report", signed_method="GET")
    assert error_of(wrong_method)[0] == 401
    assert 'error="invalid_dpop_proof"' in error_of(wrong_method)[1]
    wrong_url = send(server, world, "GET", "/files/report", signed_target="/files/other")
    assert error_of(wrong_url)[0] == 401 and 'error="invalid_dpop_proof"' in error_of(wrong_url)[1]
    right = send(server, world, "POST", "/files/report")
    assert right.status_code == 200 and right.json()["name"] == "report"


@pytest.mark.parametrize("name", list(SERVERS))
def test_missing_credentials_get_a_bare_challenge(servers: Dict[str, Server], world: World, name: str) -> None:
    server = servers[name]
    response = server.client.get("/items")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("DPoP") and "error=" not in challenge
    token = world.token()
    two = world.headers("GET", server.signed_url("/items"), token=token)
    doubled = server.client.get("/items", headers=[("Authorization", two["Authorization"]), ("DPoP", two["DPoP"]),
                                                   ("DPoP", world.proof("GET", server.signed_url("/items"), token))])
    assert doubled.status_code == 400 and 'error="invalid_request"' in doubled.headers["www-authenticate"]


@pytest.mark.parametrize("name", list(SERVERS))
def test_missing_scope_is_403(servers: Dict[str, Server], world: World, name: str) -> None:
    server = servers[name]
    response = send(server, world, "GET", "/admin")  # the token grants "read write", the route needs "admin"
    assert response.status_code == 403, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('DPoP error="insufficient_scope"') and 'scope="admin"' in challenge
    assert response.json()["error"] == "insufficient_scope"
    granted = send(server, world, "GET", "/admin", token=world.token(scope="read admin"))
    assert granted.status_code == 200 and granted.json() == {"sub": "alice", "admin": True}


@pytest.mark.parametrize("name", RAW_TARGET_SERVERS)
def test_the_raw_target_is_verified_not_the_decoded_path(servers: Dict[str, Server], world: World,
                                                         name: str) -> None:
    server = servers[name]
    encoded = send(server, world, "GET", "/files/a%2Fb")
    assert encoded.status_code == 200, encoded.text
    assert encoded.json()["name"] == "a/b"  # the framework routes on the decoded path...
    # ...but a proof for the decoded path is not one for the request as sent.
    decoded = send(server, world, "GET", "/files/a%2Fb", signed_target="/files/a/b")
    assert decoded.status_code == 401 and 'error="invalid_dpop_proof"' in decoded.headers["www-authenticate"]
    plain = send(server, world, "GET", "/files/a/b")
    assert plain.status_code == 200 and plain.json()["name"] == "a/b"


def test_forwarded_headers_are_not_read(servers: Dict[str, Server], world: World) -> None:
    # Behind the proxy the base URL is configured; a client cannot move it with X-Forwarded-* or Host.
    server = servers["fastapi-uvicorn"]
    send(server, world, "GET", "/items")
    headers = world.headers("GET", "https://evil.example/items", nonce=server.nonce)
    headers.update({"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Forwarded": "host=evil.example"})
    response = server.client.get("/items", headers=headers)
    assert response.status_code == 401 and 'error="invalid_dpop_proof"' in response.headers["www-authenticate"]
    # Without a base URL (Werkzeug example) the Host header names the server, as the client connected to it.
    direct = servers["flask-werkzeug"]
    assert send(direct, world, "GET", "/items").status_code == 200
    assert json.loads(send(direct, world, "GET", "/items").text)["sub"] == "alice"


@pytest.mark.parametrize("name", list(SERVERS))
def test_token_endpoint(servers: Dict[str, Server], world: World, name: str) -> None:
    server = servers[name]
    send(server, world, "GET", "/items")  # a nonce first, when the server needs one
    extra = {"nonce": server.nonce} if server.nonce else {}
    url = server.signed_url("/token")
    ok = server.client.post("/token", headers={"DPoP": world.proof("POST", url, **extra)})
    assert ok.status_code == 200 and ok.json() == {"jkt": world.jkt}, ok.text
    wrong = server.client.post("/token", headers={"DPoP": world.proof("GET", url, **extra)})
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"] == "invalid_dpop_proof" and "www-authenticate" not in wrong.headers
    if server.nonces:
        stale = server.client.post("/token", headers={"DPoP": world.proof("POST", url)})
        assert stale.status_code == 400 and stale.json()["error"] == "use_dpop_nonce"
        assert len(stale.headers["dpop-nonce"]) == 27


@pytest.mark.parametrize("name", list(SERVERS))
def test_replay_share_is_answered_429_with_retry_after(servers: Dict[str, Server], world: World, limited: World,
                                                       name: str) -> None:
    server = servers[name]
    first = send(server, limited, "GET", "/items")  # the key's one live entry (after a nonce, when needed)
    assert first.status_code == 200, first.text
    extra = {"nonce": server.nonce} if server.nonce else {}
    over = server.client.get("/items", headers=limited.headers("GET", server.signed_url("/items"), **extra))
    assert over.status_code == 429, over.text
    retry_after = int(over.headers["retry-after"])
    assert 0 < retry_after <= 60 + 2 * 5
    assert over.json()["error"] == "replay_quota_exceeded" and over.headers["cache-control"] == "no-store"
    # The token endpoint answers 429 too, not its usual 400.
    url = server.signed_url("/token")
    token = server.client.post("/token", headers={"DPoP": limited.proof("POST", url, **extra)})
    assert token.status_code == 429 and int(token.headers["retry-after"]) > 0, token.text
    # Other keys are not held back.
    assert send(server, world, "GET", "/items").status_code == 200
