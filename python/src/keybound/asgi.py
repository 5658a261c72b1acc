# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""ASGI middleware (Starlette, FastAPI, any ASGI application): verifies the DPoP requests of protected paths.

    app = Starlette(routes=routes, middleware=[Middleware(keybound.asgi.DPoPMiddleware, verifier=verifier,
                                                          protect=["/api/"])])

A verified request's VerifiedRequest is put in `scope["state"]["dpop"]` (Starlette: `request.state.dpop`); a refused
one is answered at once (401/400/403/429/5xx with `WWW-Authenticate` and `DPoP-Nonce`), and the application is not
called. The URL verified is the raw request target (`raw_path` and the query string), see keybound._web.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, MutableMapping, Optional, Sequence

from ._web import asgi_url, refusal_response
from ._verifier import ScopeInput, VerifiedRequest, Verifier
from .errors import DPoPError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_refusal(send: Send, refusal: DPoPError) -> None:
    """Answers a refusal on an ASGI connection."""
    status, headers, body = refusal_response(refusal)
    raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    raw_headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def verify_scope_async(verifier: Verifier, asgi_scope: Scope, **options: Any) -> VerifiedRequest:
    """verify_scope for async code: on the event loop (a warm verification takes about a tenth of a millisecond of
    CPU and no I/O), or in a worker thread (anyio) when the verifier may wait on the network (`verifier.blocking`: a
    Redis replay store)."""
    if not verifier.blocking:
        return verify_scope(verifier, asgi_scope, **options)
    import anyio.to_thread

    result: VerifiedRequest = await anyio.to_thread.run_sync(lambda: verify_scope(verifier, asgi_scope, **options))
    return result


def verify_scope(verifier: Verifier, asgi_scope: Scope, *, token_endpoint: bool = False, scope: ScopeInput = None,
                 max_age: Optional[int] = None, acr_values: ScopeInput = None) -> VerifiedRequest:
    """Verifies the request of an ASGI HTTP scope (as a token-endpoint request when `token_endpoint`, else with the
    OAuth `scope`, `max_age` and `acr_values` requirements of Verifier.verify); returns the VerifiedRequest or raises
    DPoPError."""
    headers = [(name, value) for name, value in asgi_scope.get("headers", ())]
    url = asgi_url(verifier, asgi_scope)
    if token_endpoint:
        return verifier.verify_token_endpoint(asgi_scope["method"], url, headers)
    return verifier.verify(asgi_scope["method"], url, headers, scope=scope, max_age=max_age, acr_values=acr_values)


class DPoPMiddleware:
    """Verifies every HTTP request whose path starts with one of `protect` (default: every path).

    Args:
        app: the ASGI application.
        verifier: the keybound.Verifier.
        protect: path prefixes to protect (matched on the decoded path); None protects all.
        scope, max_age, acr_values: what every protected request needs from its token (Verifier.verify); per-route
            requirements belong in the route (keybound.fastapi.dpop(scope=...)).
        token_endpoint: the protected paths are token endpoints (RFC 9449 §5: a proof alone).
    """

    def __init__(self, app: ASGIApp, verifier: Verifier, protect: Optional[Sequence[str]] = None, *,
                 scope: ScopeInput = None, max_age: Optional[int] = None, acr_values: ScopeInput = None,
                 token_endpoint: bool = False) -> None:
        self.app = app
        self.verifier = verifier
        self.protect = tuple(protect) if protect is not None else None
        self.requirements: Dict[str, Any] = {"scope": scope, "max_age": max_age, "acr_values": acr_values,
                                             "token_endpoint": token_endpoint}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.protect is not None
                                       and not str(scope.get("path", "")).startswith(self.protect)):
            await self.app(scope, receive, send)
            return
        try:
            verified = await verify_scope_async(self.verifier, scope, **self.requirements)
        except DPoPError as refusal:
            await send_refusal(send, refusal)
            return
        scope.setdefault("state", {})["dpop"] = verified
        nonce = verified.dpop_nonce
        if nonce is None:
            await self.app(scope, receive, send)
            return

        async def send_with_nonce(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [(b"dpop-nonce", nonce.encode("ascii"))]
            await send(message)

        await self.app(scope, receive, send_with_nonce)
