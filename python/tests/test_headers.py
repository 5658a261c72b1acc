# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Header containers and request targets: every container a framework hands over, case-insensitively, with repeated
`DPoP` fields refused (104) whichever way they arrive."""

from __future__ import annotations

import email.message
from typing import Any, Callable, Dict, List

import pytest
from dpop_client import AUDIENCE, ISSUER, URL, World
from starlette.datastructures import Headers as StarletteHeaders
from werkzeug.datastructures import Headers as WerkzeugHeaders

import keybound
from keybound import _web


class MultiDict:
    """The multidict/aiohttp interface: getall(name, default), case-insensitive."""

    def __init__(self, pairs: List[tuple[str, str]]) -> None:
        self.pairs = pairs

    def getall(self, name: str, default: Any = None) -> List[str]:
        found = [v for k, v in self.pairs if k.lower() == name.lower()]
        return found if found else default


def message(pairs: List[tuple[str, str]]) -> email.message.Message:
    m = email.message.Message()
    for k, v in pairs:
        m[k] = v
    return m


CONTAINERS: Dict[str, Callable[[List[tuple[str, str]]], Any]] = {
    "dict": lambda pairs: {k: v for k, v in pairs},
    "dict-of-lists": lambda pairs: {k: [v for kk, v in pairs if kk == k] for k, _ in pairs},
    "pairs": lambda pairs: pairs,
    "asgi-bytes-pairs": lambda pairs: [(k.lower().encode(), v.encode()) for k, v in pairs],
    "multidict": MultiDict,
    "werkzeug": lambda pairs: WerkzeugHeaders(pairs),
    "starlette": lambda pairs: StarletteHeaders(raw=[(k.lower().encode(), v.encode()) for k, v in pairs]),
    "email.message": message,
    "folded-by-server": lambda pairs: {k: ", ".join(v for kk, v in pairs if kk == k) for k, _ in pairs},
}


@pytest.fixture()
def world() -> World:
    return World()


@pytest.fixture()
def verifier(world: World) -> keybound.Verifier:
    return keybound.Verifier(issuers=[keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)])


@pytest.mark.parametrize("kind", list(CONTAINERS))
def test_one_proof_in_any_container_and_any_case(kind: str, world: World, verifier: keybound.Verifier) -> None:
    headers = world.headers()
    pairs = [("authorization", headers["Authorization"]), ("dPoP", headers["DPoP"]), ("Accept", "*/*")]
    assert verifier.verify("GET", URL, CONTAINERS[kind](pairs)).subject == "alice"


@pytest.mark.parametrize("kind", [k for k in CONTAINERS if k != "dict"])
def test_repeated_dpop_headers_are_refused(kind: str, world: World, verifier: keybound.Verifier) -> None:
    token = world.token()
    pairs = [("Authorization", "DPoP " + token), ("DPoP", world.proof(token=token)),
             ("DPoP", world.proof(token=token))]
    with pytest.raises(keybound.InvalidRequest) as refusal:
        verifier.verify("GET", URL, CONTAINERS[kind](pairs))
    assert refusal.value.code == 104 and refusal.value.http_status == 400


def test_repeated_authorization_is_refused_not_picked(world: World, verifier: keybound.Verifier) -> None:
    token = world.token()
    headers = {"Authorization": ["DPoP " + token, "DPoP " + token], "DPoP": world.proof(token=token)}
    with pytest.raises(keybound.DPoPError) as refusal:
        verifier.verify("GET", URL, headers)
    assert refusal.value.code == 102


def test_bytes_values_and_url(world: World, verifier: keybound.Verifier) -> None:
    headers = world.headers()
    raw = {k.encode(): v.encode() for k, v in headers.items()}
    assert verifier.verify("GET", URL.encode(), raw).jkt == world.jkt


def test_asgi_target_is_raw() -> None:
    scope = {"type": "http", "path": "/files/a/b", "raw_path": b"/files/a%2Fb", "query_string": b"x=%41"}
    assert _web.asgi_target(scope) == b"/files/a%2Fb?x=%41"
    # Without raw_path (a server that drops it), the decoded path is encoded again.
    assert _web.asgi_target({"path": "/caf\u00e9 x", "query_string": b""}) == b"/caf%C3%A9%20x"


def test_wsgi_target_is_raw() -> None:
    assert _web.wsgi_target({"RAW_URI": "/files/a%2Fb?x=1", "PATH_INFO": "/files/a/b"}) == b"/files/a%2Fb?x=1"
    assert _web.wsgi_target({"REQUEST_URI": "/r%20s", "PATH_INFO": "/r s"}) == b"/r%20s"
    assert _web.wsgi_target({"SCRIPT_NAME": "/app", "PATH_INFO": "/r s", "QUERY_STRING": "q=1"}) == b"/app/r%20s?q=1"


def test_request_url(world: World) -> None:
    direct = keybound.Verifier()
    proxied = keybound.Verifier(policy=keybound.Policy(external_base_url="https://api.example.com/"))
    assert _web.request_url(direct, "http", "127.0.0.1:8000", b"/a%2Fb?q") == b"http://127.0.0.1:8000/a%2Fb?q"
    assert _web.request_url(proxied, "http", "evil.example", b"/a%2Fb?q") == b"/a%2Fb?q"
    assert _web.request_url(proxied, "http", "evil.example", b"http://evil.example/p?q") == b"/p?q"
    assert _web.request_url(proxied, "http", None, b"http://evil.example?q") == b"/?q"
    assert _web.request_url(direct, "http", "h", b"http://h/p") == b"http://h/p"


def test_no_headers_at_all(verifier: keybound.Verifier) -> None:
    for empty in (None, {}, [], WerkzeugHeaders()):
        with pytest.raises(keybound.MissingCredentials) as refusal:
            verifier.verify("GET", URL, empty)
        assert refusal.value.code == 100 and refusal.value.www_authenticate is not None
