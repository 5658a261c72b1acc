# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""keybound.RemoteKeys against a real HTTPS server on loopback: the scriptable server of the Swift module's tests
(Integrations/Tests/IntegrationsTestSupport/server.py: http.server and ssl, a throw-away CA made with openssl at
start), run in this process. Every test uses paths of its own on the one server."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import tempfile
import threading
from types import ModuleType
from typing import Any, Dict, Iterator, List, Optional

import pytest
from dpop_client import AUDIENCE, REPO, URL, World

import keybound
from keybound.remote import max_age

SERVER_PY = os.path.join(REPO, "Integrations", "Tests", "IntegrationsTestSupport", "server.py")


class LocalServer:
    """The test server's HTTPS and HTTP listeners, with the answers and counts of its module."""

    def __init__(self, module: ModuleType, folder: str) -> None:
        import ssl

        self.module = module
        self.ca, cert, key = module.make_certificates(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.secure = module.Server(True, context)
        self.plain = module.Server(False)
        for server in (self.secure, self.plain):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.https = f"https://127.0.0.1:{self.secure.server_address[1]}"
        self.http = f"http://127.0.0.1:{self.plain.server_address[1]}"

    def answer(self, path: str, body: Any = "", status: int = 200, headers: Optional[Dict[str, str]] = None,
               **options: Any) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        with self.module.lock:
            self.module.answers[path] = dict(path=path, body=text, status=status, headers=headers or {}, **options)

    def count(self, path: str) -> int:
        with self.module.lock:
            return int(self.module.counts.get(path, 0))

    def close(self) -> None:
        for server in (self.secure, self.plain):
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    if not os.path.exists(SERVER_PY):
        pytest.fail(f"the test server is missing: {SERVER_PY}")
    spec = importlib.util.spec_from_file_location("keybound_remote_keys_test_server", SERVER_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as folder:
        local = LocalServer(module, folder)
        try:
            yield local
        finally:
            local.close()


def jwk(world: World, kid: str) -> Dict[str, Any]:
    return dict(world.jwks_dict["keys"][0], kid=kid)


def publish(server: LocalServer, prefix: str, keys: List[Dict[str, Any]], max_age_seconds: int = 600) -> str:
    """Serves OpenID Connect metadata for the issuer `server.https + prefix` and its JWK Set; returns the issuer."""
    issuer = server.https + prefix
    server.answer(prefix + "/.well-known/openid-configuration", {"issuer": issuer, "jwks_uri": issuer + "/jwks"})
    server.answer(prefix + "/jwks", {"keys": keys}, headers={"Cache-Control": f"max-age={max_age_seconds}"})
    return issuer


def request(world: World, issuer: str, kid: str) -> Dict[str, str]:
    return world.headers(token=world.token(kid=kid, iss=issuer))


def expect_error(code: str, call: Any) -> keybound.RemoteKeysError:
    with pytest.raises(keybound.RemoteKeysError) as error:
        call()
    assert error.value.code == code, error.value
    return error.value


def test_discovery_and_key_rotation_refetch_once(server: LocalServer) -> None:
    first_key, next_key = World(), World()
    issuer = publish(server, "/rotation", [jwk(first_key, "k1")])
    events: List[keybound.RemoteKeysEvent] = []
    now = [1_000_000.0]
    remote = keybound.RemoteKeys(issuer, ca_file=server.ca, clock=lambda: now[0], on_event=events.append)
    fetched = remote.fetch_keys()
    assert fetched.key_count == 1 and fetched.jwks_uri == issuer + "/jwks"
    assert fetched.expires_at == 1_000_000 + 600 and json.loads(fetched.document)["keys"][0]["kid"] == "k1"
    verifier = keybound.Verifier([keybound.Issuer(issuer, [AUDIENCE], jwks=fetched.document)],
                                 on_key_miss=remote.on_key_miss)
    remote.attach(verifier, next_refresh_at=fetched.expires_at)
    assert verifier.verify("GET", URL, request(first_key, issuer, "k1")).subject == "alice"

    # The issuer rotates: a token with the new kid is refused once, and makes one fetch.
    server.answer("/rotation/jwks", {"keys": [jwk(first_key, "k1"), jwk(next_key, "k2")]},
                  headers={"Cache-Control": "max-age=60"})
    with pytest.raises(keybound.InvalidToken) as refusal:
        verifier.verify("GET", URL, request(next_key, issuer, "k2"))
    assert refusal.value.code == 303
    event = remote.settle(timeout=30)
    assert event is not None and event.installed and event.key_count == 2 and event.error is None
    assert event.next_refresh_at == 1_000_000 + 300  # max-age=60, clamped to the 5-minute floor
    assert verifier.verify("GET", URL, request(next_key, issuer, "k2")).subject == "alice"
    assert server.count("/rotation/jwks") == 2 and server.count("/rotation/.well-known/openid-configuration") == 2
    assert events == [event]
    status = remote.status
    assert (status.key_count, status.fetch_count, status.consecutive_failures) == (2, 1, 0)
    assert status.last_success_at == 1_000_000 and status.last_error is None

    # Within the cooldown, misses start nothing; past it, 16 threads missing at once share one fetch.
    remote.on_key_miss(issuer, "k3")
    remote.on_key_miss("https://other.example", "k3")  # another issuer's miss is not ours
    assert remote.settle() == event and remote.status.fetch_count == 1 and server.count("/rotation/jwks") == 2
    now[0] += 31
    barrier = threading.Barrier(16)

    def miss() -> None:
        barrier.wait()
        remote.on_key_miss(issuer, "k3")

    threads = [threading.Thread(target=miss) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    remote.settle(timeout=30)
    assert server.count("/rotation/jwks") == 3 and remote.status.fetch_count == 2


def test_a_failed_fetch_keeps_the_last_good_set(server: LocalServer) -> None:
    client = World()
    issuer = publish(server, "/failing", [jwk(client, "k1")])
    now = 2_000_000.0
    remote = keybound.RemoteKeys(issuer, ca_file=server.ca, clock=lambda: now, retry=30, max_retry=100)
    verifier = keybound.Verifier([keybound.Issuer(issuer, [AUDIENCE], jwks=remote.fetch_keys().document)])
    remote.attach(verifier)
    server.answer("/failing/jwks", "oops", status=500)
    event = remote.refresh()
    assert not event.installed and event.error is not None and event.error.code == "http_status"
    assert event.next_refresh_at == 2_000_000 + 30
    assert verifier.verify("GET", URL, request(client, issuer, "k1")).subject == "alice"
    # Failures back off, doubling up to max_retry; invalid sets fail the same way and keep the keys.
    for body, code, wait in (("not json", "invalid_jwks", 60), ({"keys": []}, "invalid_jwks", 100),
                             ({"keys": [{"kty": "EC"}]}, "invalid_jwks", 100), ({"nokeys": 1}, "invalid_jwks", 100)):
        server.answer("/failing/jwks", body)
        event = remote.refresh()
        assert event.error is not None and event.error.code == code, (body, event)
        assert event.next_refresh_at == 2_000_000 + wait, (body, event)
    status = remote.status
    assert status.consecutive_failures == 5 and status.last_error is not None and status.key_count is None
    assert verifier.verify("GET", URL, request(client, issuer, "k1")).subject == "alice"
    # A success resets the backoff.
    server.answer("/failing/jwks", {"keys": [jwk(client, "k1")]})
    assert remote.refresh().installed and remote.status.consecutive_failures == 0
    assert remote.status.next_refresh_at == 2_000_000 + 3_600  # no max-age: the default lifetime
    # A redirect is not followed: it is a failed fetch, and its target is never asked for.
    server.answer("/failing/jwks", "", status=302, headers={"Location": issuer + "/moved"})
    error = remote.refresh().error
    assert error is not None and error.code == "http_status" and "302" in error.reason
    assert server.count("/failing/moved") == 0 and remote.status.consecutive_failures == 1
    # Without an attached verifier (or with a closed one) a fetch fails as no_verifier.
    verifier.close()
    server.answer("/failing/jwks", {"keys": [jwk(client, "k1")]})
    error = remote.refresh().error
    assert error is not None and error.code == "no_verifier"
    unattached = keybound.RemoteKeys(issuer, ca_file=server.ca)
    assert unattached.settle() is None
    error = unattached.refresh().error
    assert error is not None and error.code == "no_verifier"


def test_a_slow_answer_times_out(server: LocalServer) -> None:
    client = World()
    issuer = publish(server, "/slow", [jwk(client, "k1")])
    server.answer("/slow/jwks", {"keys": [jwk(client, "k1")]}, delay=3)
    remote = keybound.RemoteKeys(issuer, ca_file=server.ca, timeout=1)
    expect_error("timeout", remote.fetch_keys)


def test_an_oversized_body_is_refused(server: LocalServer) -> None:
    client = World()
    issuer = publish(server, "/large", [jwk(client, "k1")])
    remote = keybound.RemoteKeys(issuer, ca_file=server.ca, max_body_bytes=2_000)
    assert remote.fetch_keys().key_count == 1
    server.answer("/large/jwks", {"keys": [jwk(client, "k1")]}, pad=5_000)  # with Content-Length
    expect_error("body_too_large", remote.fetch_keys)
    server.answer("/large/jwks", {"keys": [jwk(client, "k1")]}, pad=5_000, no_length=True)  # until the close
    expect_error("body_too_large", remote.fetch_keys)


def test_the_metadata_issuer_must_match_exactly(server: LocalServer) -> None:
    issuer = server.https + "/mismatch"
    for named in (issuer + "/", server.https + "/MISMATCH", "https://issuer.example"):
        server.answer("/mismatch/.well-known/openid-configuration", {"issuer": named, "jwks_uri": issuer + "/jwks"})
        error = expect_error("issuer_mismatch", keybound.RemoteKeys(issuer, ca_file=server.ca).fetch_keys)
        assert named in error.reason
    assert server.count("/mismatch/jwks") == 0  # the JWK Set is never fetched
    for metadata in ("[]", {"issuer": issuer}, {"issuer": issuer, "jwks_uri": 7}, "not json"):
        server.answer("/mismatch/.well-known/openid-configuration", metadata)
        expect_error("invalid_metadata", keybound.RemoteKeys(issuer, ca_file=server.ca).fetch_keys)


def test_rfc8414_metadata_and_a_jwks_uri(server: LocalServer) -> None:
    client = World()
    issuer = server.https + "/tenant/a"
    server.answer("/.well-known/oauth-authorization-server/tenant/a",
                  {"issuer": issuer, "jwks_uri": server.https + "/tenant-a-keys"})
    server.answer("/tenant-a-keys", {"keys": [jwk(client, "k1")]})
    remote = keybound.RemoteKeys(issuer, metadata="oauth", ca_file=server.ca)
    assert remote.metadata_url() == server.https + "/.well-known/oauth-authorization-server/tenant/a"
    assert remote.fetch_keys().jwks_uri == server.https + "/tenant-a-keys"
    direct = keybound.RemoteKeys(issuer, jwks_uri=server.https + "/tenant-a-keys", ca_file=server.ca)
    assert direct.metadata_url() is None and direct.fetch_keys().key_count == 1
    assert server.count("/.well-known/oauth-authorization-server/tenant/a") == 1
    expect_error("invalid_configuration", lambda: keybound.RemoteKeys(issuer, metadata="webfinger"))


def test_http_only_to_loopback_and_only_when_allowed(server: LocalServer) -> None:
    client = World()
    expect_error("insecure_url", lambda: keybound.RemoteKeys("http://issuer.example"))
    expect_error("insecure_url", lambda: keybound.RemoteKeys("http://issuer.example", allow_loopback_http=True))
    expect_error("insecure_url", lambda: keybound.RemoteKeys("ftp://issuer.example"))
    expect_error("insecure_url", lambda: keybound.RemoteKeys(server.http + "/plain"))
    expect_error("invalid_url", lambda: keybound.RemoteKeys("https://user@issuer.example"))
    expect_error("invalid_url", lambda: keybound.RemoteKeys("https://issuer.example?tenant=a"))
    expect_error("invalid_url", lambda: keybound.RemoteKeys("issuer.example"))
    expect_error("insecure_url", lambda: keybound.RemoteKeys("https://issuer.example",
                                                             jwks_uri="http://issuer.example/jwks"))
    # Allowed to loopback: the same answers in the clear.
    issuer = server.http + "/plain"
    server.answer("/plain/.well-known/openid-configuration", {"issuer": issuer, "jwks_uri": issuer + "/jwks"})
    server.answer("/plain/jwks", {"keys": [jwk(client, "k1")]})
    assert keybound.RemoteKeys(issuer, allow_loopback_http=True).fetch_keys().key_count == 1
    # Metadata pointing off loopback over http is refused before anything is fetched from there.
    server.answer("/plain/.well-known/openid-configuration",
                  {"issuer": issuer, "jwks_uri": "http://keys.example/jwks"})
    expect_error("insecure_url", keybound.RemoteKeys(issuer, allow_loopback_http=True).fetch_keys)


def test_the_test_ca_is_trusted_only_when_configured(server: LocalServer, tmp_path: Any) -> None:
    issuer = publish(server, "/trust", [jwk(World(), "k1")])
    error = expect_error("transport", keybound.RemoteKeys(issuer).fetch_keys)
    assert "CERTIFICATE_VERIFY_FAILED" in error.reason
    assert server.count("/trust/jwks") == 0
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    expect_error("invalid_configuration", lambda: keybound.RemoteKeys(issuer, ca_file=str(empty)))
    expect_error("invalid_configuration", lambda: keybound.RemoteKeys(issuer, ca_file=str(tmp_path / "none.pem")))
    expect_error("invalid_configuration", lambda: keybound.RemoteKeys(issuer, timeout=0))


def test_max_age_is_honoured_and_clamped() -> None:
    bounds, default = (300, 86_400), 3_600
    assert max_age("max-age=600", None, bounds, default) == 600
    assert max_age("public, max-age=\"900\"", "100", bounds, default) == 800  # less Age (RFC 9111 §4.2.3)
    assert max_age("max-age=10", None, bounds, default) == 300
    assert max_age("max-age=9999999", None, bounds, default) == 86_400
    assert max_age("max-age=600", "9999", bounds, default) == 300
    assert max_age("no-store", None, bounds, default) == 300 and max_age("max-age=600, no-cache", None, bounds,
                                                                        default) == 300
    assert max_age("", None, bounds, default) == 3_600 and max_age("max-age=-5", None, bounds, default) == 3_600
    assert max_age("max-age=abc", None, bounds, 10) == 300


def test_background_refresh_thread_and_asyncio(server: LocalServer) -> None:
    client = World()
    issuer = publish(server, "/scheduled", [jwk(client, "k1")])
    installed = threading.Event()
    remote = keybound.RemoteKeys(issuer, ca_file=server.ca,
                                 on_event=lambda event: installed.set() if event.installed else None)
    verifier = keybound.Verifier([keybound.Issuer(issuer, [AUDIENCE], jwks=remote.fetch_keys().document)])
    remote.attach(verifier)  # no next_refresh_at: the schedule fetches at once
    remote.start()
    try:
        assert installed.wait(30)
    finally:
        remote.stop()
    assert remote.status.key_count == 1 and remote.status.next_refresh_at is not None
    assert server.count("/scheduled/jwks") == 2

    async def scheduled() -> keybound.FetchedKeys:
        fetched = await remote.fetch_keys_async()
        remote.attach(verifier)
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        remote._on_event = lambda event: loop.call_soon_threadsafe(done.set)
        task = asyncio.create_task(remote.run())
        await asyncio.wait_for(done.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        event = await remote.refresh_async()
        assert event.installed
        return fetched

    assert asyncio.run(scheduled()).key_count == 1
    assert server.count("/scheduled/jwks") == 5
