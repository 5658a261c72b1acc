# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""keybound-serve behind a real nginx (auth_request), end to end.

Started here, on free loopback ports: the Python upstream and the status stub (servers.py), two keybound-serve
instances (nonces off and on) and three nginx instances made from the same nginx.conf.in and the two included files
that docs/sidecar.md shows (in front of: keybound-serve, keybound-serve with nonces, the stub). Tokens and proofs
are signed here with `cryptography`. Needs KEYBOUND_SERVE (the binary) and nginx (NGINX, else /usr/sbin/nginx).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "lib"))
import keybound_keys as K  # noqa: E402

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"
PUBLIC_BASE = "https://public.example/base"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def request(port: int, method: str, path: str, headers: list[tuple[str, str]],
            source: str = "127.0.0.1") -> tuple[int, http.client.HTTPMessage, str]:
    """One HTTP/1.1 request to 127.0.0.1:port from `source`, headers sent as given (repeats kept; a Host given
    replaces the connection's)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    own_host = any(name.lower() == "host" for name, _ in headers)
    conn.putrequest(method, path, skip_host=own_host, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, response.headers, body


def stop_all(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to each process, last started first; SIGKILL to any still running 10 s later."""
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def fill(template: Path, **values) -> str:
    """The template's text with each @KEY@ replaced by its value."""
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    assert not re.search(r"@[A-Z_]+@", text), template
    return text


def jws(header: dict, claims: dict, key) -> str:
    signing_input = K.b64u(K.cj(header)) + "." + K.b64u(K.cj(claims))
    return signing_input + "." + K.b64u(K.crypto_sign(key, "ES256", signing_input.encode()))


class Keys:
    def __init__(self):
        self.issuer = ec.generate_private_key(ec.SECP256R1())
        self.client = ec.generate_private_key(ec.SECP256R1())
        self.client_jwk = K.public_jwk(self.client)
        self.jkt = K.thumbprint(self.client_jwk)

    def jwks(self) -> str:
        return json.dumps({"keys": [dict(K.public_jwk(self.issuer), kid="issuer-1", alg="ES256", use="sig")]})

    def token(self, scope: str = "orders:read profile") -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "client_id": "app-1", "scope": scope,
                  "iat": now - 5, "exp": now + 600, "jti": str(uuid.uuid4()), "cnf": {"jkt": self.jkt},
                  "email": "alice@example.com"}
        return jws({"typ": "at+jwt", "alg": "ES256", "kid": "issuer-1"}, claims, self.issuer)

    def proof(self, method: str, url: str, token: str | None, nonce: str | None = None) -> str:
        claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        if token is not None:
            claims["ath"] = K.b64u(K.sha256(token.encode()))
        if nonce is not None:
            claims["nonce"] = nonce
        return jws({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.client_jwk}, claims, self.client)


class Stack:
    """Every process of one test session, and how to call them."""

    def __init__(self, work: Path):
        self.work = work
        self.procs: list[subprocess.Popen] = []
        self.keys = Keys()
        self.binary = os.environ["KEYBOUND_SERVE"]
        self.nginx = os.environ.get("NGINX", "/usr/sbin/nginx")
        self.ports = {name: free_port() for name in
                      ("upstream", "stub", "serve", "serve_nonce", "nginx", "nginx_nonce", "nginx_stub")}
        (work / "jwks.json").write_text(self.keys.jwks())
        (work / "nonce-secret").write_text(secrets.token_hex(32) + "\n")

    def start(self, name: str, argv: list[str], port: int) -> subprocess.Popen:
        log = self.work / f"{name}.log"
        proc = subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait_port(port, proc, name, log)
        return proc

    def serve_config(self, port: int, nginx_port: int, nonces: bool) -> Path:
        text = fill(HERE / "serve.toml.in", SERVE_PORT=port, NGINX_PORT=nginx_port, ISSUER=ISSUER,
                    AUDIENCE=AUDIENCE, PUBLIC_BASE=PUBLIC_BASE)
        # A line per auth answer (debug level; none at the default info), which the log tests read.
        text += '\n[log]\nlevel = "debug"\n'
        if nonces:
            text += '\n[nonces]\nsecret_files = ["nonce-secret"]\n'
        path = self.work / f"serve-{port}.toml"
        path.write_text(text)
        return path

    def nginx_config(self, name: str, port: int, serve_port: int) -> Path:
        text = fill(HERE / "nginx" / "nginx.conf.in", WORK=self.work, NAME=name, CONF=HERE / "nginx",
                    SERVE_PORT=serve_port, UPSTREAM_PORT=self.ports["upstream"], NGINX_PORT=port)
        (self.work / f"tmp-{name}").mkdir(exist_ok=True)
        path = self.work / f"nginx-{name}.conf"
        path.write_text(text)
        return path

    def up(self) -> None:
        p = self.ports
        py = sys.executable
        self.start("upstream", [py, str(HERE / "servers.py"), "upstream", str(p["upstream"])], p["upstream"])
        self.start("stub", [py, str(HERE / "servers.py"), "stub", str(p["stub"])], p["stub"])
        main = self.serve_config(p["serve"], p["nginx"], nonces=False)
        check = subprocess.run([self.binary, "--check", str(main)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.serve = self.start("serve", [self.binary, str(main)], p["serve"])
        nonce = self.serve_config(p["serve_nonce"], p["nginx_nonce"], nonces=True)
        self.start("serve-nonce", [self.binary, str(nonce)], p["serve_nonce"])
        for name, port, serve in (("main", p["nginx"], p["serve"]), ("nonce", p["nginx_nonce"], p["serve_nonce"]),
                                  ("stub", p["nginx_stub"], p["stub"])):
            conf = self.nginx_config(name, port, serve)
            test = subprocess.run([self.nginx, "-t", "-q", "-p", str(self.work), "-c", str(conf)],
                                  capture_output=True, text=True)
            assert test.returncode == 0, test.stderr
            self.start("nginx-" + name, [self.nginx, "-p", str(self.work), "-c", str(conf)], port)

    def down(self) -> None:
        stop_all(self.procs)

    def request(self, port: int, method: str, path: str, headers: list[tuple[str, str]],
                source: str = "127.0.0.1") -> tuple[int, http.client.HTTPMessage, str]:
        return request(port, method, path, headers, source)

    def call(self, path: str, method: str = "GET", *, htu: str | None = None, scope: str = "orders:read profile",
             proof: str | None = None, nginx: str = "nginx", extra: list[tuple[str, str]] | None = None,
             nonce: str | None = None, with_proof: bool = True):
        port = self.ports[nginx]
        token = self.keys.token(scope)
        url = htu or f"http://127.0.0.1:{port}{path}"
        headers = [("Authorization", "DPoP " + token)]
        if with_proof:
            headers.append(("DPoP", proof or self.keys.proof(method, url, token, nonce)))
        status, response_headers, body = self.request(port, method, path, headers + (extra or []))
        return status, response_headers, body, headers


def running(processes):
    """Starts a set of processes (`up`), yields it, stops it (`down`) even when starting failed."""
    try:
        processes.up()
        yield processes
    finally:
        processes.down()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    yield from running(Stack(tmp_path_factory.mktemp("sidecar")))


def upstream_saw(body: str) -> dict:
    return json.loads(body)


# --- Accepted requests and identity headers ---------------------------------------------------------------------

def test_accepts_a_valid_request_and_passes_identity_headers(stack):
    spoofed = [("X-Keybound-Subject", "mallory"), ("X-Keybound-Status", "200"), ("X-Keybound-Email", "m@x")]
    status, headers, body, _ = stack.call("/api/orders?page=2", extra=spoofed)
    assert status == 200, body
    seen = upstream_saw(body)
    assert seen["path"] == "/api/orders?page=2"
    assert seen["headers"]["x-keybound-subject"] == "alice"
    assert seen["headers"]["x-keybound-scope"] == "orders:read profile"
    assert seen["headers"]["x-keybound-client-id"] == "app-1"
    assert seen["headers"]["x-keybound-jkt"] == stack.keys.jkt
    # A client-sent identity header never reaches the upstream: replaced, or removed when it has no value.
    assert seen["headers"]["x-keybound-email"] == "alice@example.com"
    assert "x-keybound-status" not in seen["headers"]
    assert headers.get("DPoP-Nonce") is None


# --- Refusals: status, challenge and code reach the client ------------------------------------------------------

def test_a_replayed_proof_is_refused_401(stack):
    token = stack.keys.token()
    url = f"http://127.0.0.1:{stack.ports['nginx']}/api/orders"
    proof = stack.keys.proof("GET", url, token)
    headers = [("Authorization", "DPoP " + token), ("DPoP", proof)]
    first = stack.request(stack.ports["nginx"], "GET", "/api/orders", headers)
    assert first[0] == 200
    status, response, body = stack.request(stack.ports["nginx"], "GET", "/api/orders", headers)
    assert status == 401
    assert response["X-Keybound-Code"] == "proof_replayed"
    assert 'error="invalid_dpop_proof"' in response["WWW-Authenticate"]
    assert len(response.get_all("WWW-Authenticate")) == 1
    assert json.loads(body) == {"error": "invalid_dpop_proof", "code": "proof_replayed"}


def test_a_proof_for_another_url_is_refused_401(stack):
    status, response, _, _ = stack.call(
        "/api/orders", htu=f"http://127.0.0.1:{stack.ports['nginx']}/api/other")
    assert status == 401
    assert response["X-Keybound-Code"] == "proof_htu"


def test_a_proof_for_another_method_is_refused_401(stack):
    token = stack.keys.token()
    proof = stack.keys.proof("GET", f"http://127.0.0.1:{stack.ports['nginx']}/api/orders", token)
    status, response, _ = stack.request(
        stack.ports["nginx"], "POST", "/api/orders", [("Authorization", "DPoP " + token), ("DPoP", proof),
                                                       ("Content-Length", "0")])
    assert status == 401
    assert response["X-Keybound-Code"] == "proof_htm"


def test_a_missing_proof_is_refused_401(stack):
    status, response, _, _ = stack.call("/api/orders", with_proof=False)
    assert status == 401
    assert response["X-Keybound-Code"] == "missing_dpop_proof"
    assert response["WWW-Authenticate"].startswith("DPoP ")


def test_two_proofs_are_refused_400(stack):
    token = stack.keys.token()
    url = f"http://127.0.0.1:{stack.ports['nginx']}/api/orders"
    headers = [("Authorization", "DPoP " + token), ("DPoP", stack.keys.proof("GET", url, token)),
               ("DPoP", stack.keys.proof("GET", url, token))]
    status, response, body = stack.request(stack.ports["nginx"], "GET", "/api/orders", headers)
    assert status == 400
    assert response["X-Keybound-Code"] == "multiple_dpop_proofs"
    assert json.loads(body)["error"] == "invalid_request"


def test_a_missing_scope_is_refused_403(stack):
    status, response, _, _ = stack.call("/api/admin")
    assert status == 403
    assert response["X-Keybound-Code"] == "insufficient_scope"
    assert 'scope="admin"' in response["WWW-Authenticate"]


def test_the_route_scope_is_required_on_its_prefix_only(stack):
    assert stack.call("/api/orders/7", scope="profile")[0] == 403
    assert stack.call("/api/profile", scope="profile")[0] == 200


# --- Path prefix: nginx strips /app before the upstream; the proof names the public URL -----------------------

def test_a_stripped_prefix_is_neither_lost_nor_doubled(stack):
    base = f"http://127.0.0.1:{stack.ports['nginx']}"
    status, _, body, _ = stack.call("/app/orders", htu=base + "/app/orders")
    assert status == 200, body
    assert upstream_saw(body)["path"] == "/orders"
    lost = stack.call("/app/orders", htu=base + "/orders")
    assert (lost[0], lost[1]["X-Keybound-Code"]) == (401, "proof_htu")
    doubled = stack.call("/app/orders", htu=base + "/app/app/orders")
    assert (doubled[0], doubled[1]["X-Keybound-Code"]) == (401, "proof_htu")


# --- Traefik-style headers with an external base URL, straight to keybound-serve ---------------------------------

def traefik(stack, uri: str, htu: str, source: str = "127.0.0.2", method: str = "GET", proofs: int = 1):
    token = stack.keys.token()
    headers = [("Authorization", "DPoP " + token), ("X-Forwarded-Method", method), ("X-Forwarded-Uri", uri),
               ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "attacker.example")]
    headers += [("DPoP", stack.keys.proof(method, htu, token)) for _ in range(proofs)]
    return stack.request(stack.ports["serve"], "GET", "/auth", headers, source=source)


def test_traefik_base_url_rule(stack):
    status, response, _ = traefik(stack, "/internal/api/orders", PUBLIC_BASE + "/api/orders")
    assert status == 200
    assert response["X-Keybound-Subject"] == "alice"
    assert response["X-Keybound-Email"] == "alice@example.com"
    doubled = traefik(stack, "/internal/api/orders", PUBLIC_BASE + "/internal/api/orders")
    assert (doubled[0], doubled[1]["X-Keybound-Code"]) == (401, "proof_htu")
    # Traefik passes any status: a 400 goes out as 400, with X-Keybound-Status too.
    two = traefik(stack, "/internal/api/orders", PUBLIC_BASE + "/api/orders", proofs=2)
    assert (two[0], two[1]["X-Keybound-Status"]) == (400, "400")
    # Outside the prefix to strip: not a URL this proxy can name.
    outside = traefik(stack, "/other/api/orders", PUBLIC_BASE + "/api/orders")
    assert (outside[0], outside[1]["X-Keybound-Error"]) == (500, "bad_proxy_headers")


def test_headers_from_an_untrusted_peer_are_refused(stack):
    status, response, _ = traefik(stack, "/internal/api/orders", PUBLIC_BASE + "/api/orders", source="127.0.0.3")
    assert (status, response["X-Keybound-Error"]) == (403, "untrusted_peer")


# --- Envoy ext_authz check requests, straight to keybound-serve ----------------------------------------------------

def envoy(stack, method: str, uri: str, htu: str, host: str = "api.example.com", target: str | None = None):
    """The check request Envoy sends for `method uri` (path_prefix /ext_authz, origin = "forwarded")."""
    token = stack.keys.token()
    headers = [("Host", host), ("Authorization", "DPoP " + token), ("DPoP", stack.keys.proof(method, htu, token)),
               ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "attacker.example")]
    return stack.request(stack.ports["serve"], method, target or "/ext_authz" + uri, headers, source="127.0.0.4")


def test_envoy_check_requests(stack):
    status, response, _ = envoy(stack, "GET", "/api/orders?x=1", "https://api.example.com/api/orders?x=1")
    assert status == 200
    assert response["X-Keybound-Subject"] == "alice"
    # Any method: the check request's own is the original one.
    assert envoy(stack, "DELETE", "/api/orders/7", "https://api.example.com/api/orders/7")[0] == 200
    # The prefix is the check request's, never the URL's; the URL's host is the check request's Host.
    doubled = envoy(stack, "GET", "/api/orders", "https://api.example.com/ext_authz/api/orders")
    assert (doubled[0], doubled[1]["X-Keybound-Code"]) == (401, "proof_htu")
    moved = envoy(stack, "GET", "/api/orders", "https://api.example.com/api/orders", host="other.example")
    assert (moved[0], moved[1]["X-Keybound-Code"]) == (401, "proof_htu")
    # Envoy passes any status: a missing scope goes out as 403 with its challenge.
    admin = envoy(stack, "GET", "/api/admin/users", "https://api.example.com/api/admin/users")
    assert (admin[0], admin[1]["X-Keybound-Code"]) == (403, "insufficient_scope")
    assert admin[1]["WWW-Authenticate"].startswith("DPoP ")
    # A path outside the prefix: not a check request this proxy can send.
    outside = envoy(stack, "GET", "/api/orders", "https://api.example.com/api/orders", target="/api/orders")
    assert (outside[0], outside[1]["X-Keybound-Error"]) == (500, "bad_proxy_headers")
    # The service's own endpoints stay theirs: GET and HEAD answered, any other method refused with 405.
    assert stack.request(stack.ports["serve"], "GET", "/healthz", [], source="127.0.0.4")[0] == 200
    head = stack.request(stack.ports["serve"], "HEAD", "/healthz", [], source="127.0.0.4")
    assert (head[0], head[1]["Content-Length"], head[2]) == (200, "3", "")
    post = stack.request(stack.ports["serve"], "POST", "/healthz", [], source="127.0.0.4")
    assert (post[0], post[1]["Allow"], post[1]["X-Keybound-Code"]) == (405, "GET, HEAD", None)


# --- Nonces through nginx --------------------------------------------------------------------------------------

def test_nonce_challenge_and_retry(stack):
    status, response, body, _ = stack.call("/api/orders", nginx="nginx_nonce")
    assert status == 401, body
    assert response["X-Keybound-Code"] == "nonce_required"
    assert 'error="use_dpop_nonce"' in response["WWW-Authenticate"]
    nonce = response["DPoP-Nonce"]
    assert nonce
    status, response, body, _ = stack.call("/api/orders", nginx="nginx_nonce", nonce=nonce)
    assert status == 200, body
    assert response["DPoP-Nonce"]


# --- Every refusal status through nginx's auth_request (the stub answers as keybound-serve does) ----------------

@pytest.mark.parametrize("code", [400, 401, 403, 429, 500, 503])
def test_nginx_maps_each_refusal_status(stack, code):
    status, response, body = stack.request(stack.ports["nginx_stub"], "GET", f"/api/status/{code}", [])
    assert status == code
    assert response.get_all("WWW-Authenticate") == [f'DPoP error="stub_{code}"']
    assert response["DPoP-Nonce"] == f"stub-nonce-{code}"
    assert response.get("Retry-After") == ("70" if code == 429 else None)
    assert response["Cache-Control"] == "no-store"
    if code != 500:
        assert json.loads(body) == {"error": "stub_error", "code": f"stub_{code}"}


# --- Reload keeps the replay cache; secrets never reach the log -------------------------------------------------

def test_sighup_reload_keeps_replay_entries(stack):
    token = stack.keys.token()
    url = f"http://127.0.0.1:{stack.ports['nginx']}/api/orders"
    headers = [("Authorization", "DPoP " + token), ("DPoP", stack.keys.proof("GET", url, token))]
    assert stack.request(stack.ports["nginx"], "GET", "/api/orders", headers)[0] == 200
    log = stack.work / "serve.log"
    stack.serve.send_signal(signal.SIGHUP)
    for _ in range(100):
        if "configuration reloaded" in log.read_text():
            break
        time.sleep(0.1)
    assert "configuration reloaded" in log.read_text()
    status, response, _ = stack.request(stack.ports["nginx"], "GET", "/api/orders", headers)
    assert (status, response["X-Keybound-Code"]) == (401, "proof_replayed")
    assert stack.call("/api/orders")[0] == 200


def test_authorization_and_proof_are_never_logged(stack):
    status, _, _, sent = stack.call("/api/orders")
    assert status == 200
    token = sent[0][1].split(" ", 1)[1]
    proof = sent[1][1]
    for name in ("serve.log", "serve-nonce.log"):
        text = (stack.work / name).read_text()
        assert "auth" in text
        assert token not in text and proof not in text
        assert token.split(".")[2] not in text and proof.split(".")[2] not in text


def test_the_docs_show_the_tested_nginx_files():
    doc = (HERE.parents[1] / "docs" / "sidecar.md").read_text()
    for name in ("keybound-server.conf", "keybound-protect.conf", "nginx.conf.in"):
        shown = f"`IntegrationTests/sidecar/nginx/{name}`"
        assert shown in doc
        block = doc.split(shown, 1)[1].split("```nginx\n", 1)[1].split("```", 1)[0]
        assert block == (HERE / "nginx" / name).read_text(), name
