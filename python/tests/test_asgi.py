# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The ASGI middleware in process: where the verification runs (the event loop, or a worker thread when the verifier
may wait on the network), what reaches the application, and the refusal it answers alone."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, MutableMapping

import anyio
import pytest
from dpop_client import AUDIENCE, ISSUER, World

import keybound
from keybound.asgi import DPoPMiddleware


def http_scope(headers: Dict[str, str], path: str = "/items") -> Dict[str, Any]:
    return {"type": "http", "method": "GET", "scheme": "https", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "",
            "headers": [(b"host", b"api.example.com")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


async def call(app: Any, scope: Dict[str, Any]) -> List[MutableMapping[str, Any]]:
    sent: List[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("blocking", [False, True])
def test_where_the_verification_runs(blocking: bool) -> None:
    world = World()
    clock_threads: List[int] = []

    def clock() -> float:
        clock_threads.append(threading.get_ident())
        return time.time()

    verifier = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)], clock=clock)
    verifier.blocking = blocking  # as with a Redis replay store
    seen: Dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["dpop"] = scope["state"]["dpop"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def main() -> List[MutableMapping[str, Any]]:
        seen["loop"] = threading.get_ident()
        return await call(DPoPMiddleware(app, verifier), http_scope(world.headers()))

    sent = anyio.run(main)
    assert sent[0]["status"] == 200 and seen["dpop"].subject == "alice"
    assert len(clock_threads) == 1
    assert (clock_threads[0] != seen["loop"]) is blocking


def test_refusal_is_answered_without_the_application() -> None:
    world = World()
    verifier = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)])
    called: List[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        called.append(True)

    sent = anyio.run(call, DPoPMiddleware(app, verifier, scope="admin"), http_scope(world.headers()))
    assert called == []
    start = sent[0]
    headers = dict(start["headers"])
    assert start["status"] == 403 and b'error="insufficient_scope"' in headers[b"www-authenticate"]
    assert headers[b"cache-control"] == b"no-store" and headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(sent[1]["body"])
    # A path outside `protect` reaches the application unverified.
    sent = anyio.run(call, DPoPMiddleware(app, verifier, protect=["/api/"]), http_scope({}, path="/health"))
    assert called == [True] and sent == []


def test_replay_share_refusal_carries_retry_after() -> None:
    world = World()
    verifier = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)],
                                 policy=keybound.Policy(replay_key_share=1))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = DPoPMiddleware(app, verifier)
    assert anyio.run(call, middleware, http_scope(world.headers()))[0]["status"] == 200
    sent = anyio.run(call, middleware, http_scope(world.headers()))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 429 and 0 < int(headers[b"retry-after"]) <= 70
    assert b'"error":"replay_quota_exceeded"' in sent[1]["body"]
