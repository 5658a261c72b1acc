# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""keybound.RedisReplayStore against a real redis-server, with the Redis flavour of the library
(libkeybound-redis.so.0 named by $KEYBOUND_LIB). Run by scripts/ci/redis.sh, which builds that flavour, starts
redis-server and sets $KEYBOUND_TEST_REDIS_URL:

    KEYBOUND_LIB=.../libkeybound-redis.so.0 KEYBOUND_TEST_REDIS_URL=redis://127.0.0.1:PORT/0 \\
        PYTHONPATH=python/src:python/tests python3 -m pytest python/tests_redis
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlsplit

import pytest
from dpop_client import AUDIENCE, ISSUER, URL, World

import keybound


DB = 7  # a database of its own on the shared redis-server, emptied first


@pytest.fixture()
def redis_url() -> str:
    url = os.environ.get("KEYBOUND_TEST_REDIS_URL")
    if not url:
        pytest.fail("KEYBOUND_TEST_REDIS_URL is not set: scripts/ci/redis.sh starts redis-server and sets it")
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(f"*2\r\n$6\r\nSELECT\r\n$1\r\n{DB}\r\n*1\r\n$7\r\nFLUSHDB\r\n".encode())
        replies = b""
        while replies.count(b"\r\n") < 2:
            replies += connection.recv(64)
    assert replies == b"+OK\r\n+OK\r\n", replies
    return f"redis://{address.hostname}:{address.port}/{DB}"


def test_the_loaded_library_has_the_redis_store() -> None:
    assert keybound.HAS_REDIS, keybound.LIBRARY_PATH
    assert keybound.LIBRARY_PATH.endswith("libkeybound-redis.so.0")


def test_two_verifiers_share_one_replay_store(redis_url: str) -> None:
    world = World()
    issuers = [keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)]
    store = keybound.RedisReplayStore(redis_url, pool_size=2, timeout_ms=500)
    first = keybound.Verifier(issuers, replay_store=store)
    second = keybound.Verifier(issuers, replay_store=store)  # another instance of the service
    store.close()  # the verifiers keep their own references
    # The emptied database: the first contact records the data set's start (the restart guard, docs/redis.md), and a
    # proof made at or before that second is refused with 503; the later proofs are made after it.
    with pytest.raises(keybound.ServerError) as restarted:
        first.verify("GET", URL, world.headers(iat=world.now - 1), now=world.now - 1)
    assert restarted.value.code == 503 and restarted.value.http_status == 503
    headers = world.headers()
    assert first.verify("GET", URL, headers, now=world.now).subject == "alice"
    with pytest.raises(keybound.ReplayedProof) as refusal:
        second.verify("GET", URL, headers, now=world.now)
    assert refusal.value.code == 211
    assert first.metrics().replay_cache_capacity is None  # an external store


def test_unreachable_redis_fails_closed() -> None:
    world = World()
    store = keybound.RedisReplayStore("redis://127.0.0.1:1/0", pool_size=1, timeout_ms=50)
    verifier = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)], replay_store=store)
    with pytest.raises(keybound.ServerError) as refusal:
        verifier.verify("GET", URL, world.headers())
    assert refusal.value.code == 501 and refusal.value.http_status == 503


def test_bad_redis_url_is_a_configuration_error() -> None:
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.RedisReplayStore("http://127.0.0.1:6379")
    assert error.value.code == 902


def test_the_gil_is_released_while_the_library_waits() -> None:
    # A "Redis" that accepts the connection and never answers: the verification waits inside the library. The server
    # thread can only report the connection, and this thread can only go on, if the verifying thread does not hold
    # the GIL meanwhile; the verification is still running when they do (it ends when the server closes).
    world = World()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    connected, release = threading.Event(), threading.Event()

    def silent_server() -> None:
        connection, _ = listener.accept()
        connected.set()
        release.wait(30)
        connection.close()

    store = keybound.RedisReplayStore(f"redis://127.0.0.1:{port}/0", pool_size=1, timeout_ms=20000)
    verifier = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)], replay_store=store)
    outcome: list[object] = []

    def verify() -> None:
        try:
            verifier.verify("GET", URL, world.headers())
        except keybound.DPoPError as refusal:
            outcome.append(refusal.code)

    server = threading.Thread(target=silent_server)
    worker = threading.Thread(target=verify)
    server.start()
    worker.start()
    assert connected.wait(30)
    assert worker.is_alive() and outcome == []  # Python ran here while the worker was inside kb_verify
    release.set()
    worker.join(30)
    server.join(30)
    listener.close()
    assert outcome == [501]
