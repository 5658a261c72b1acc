# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""FastAPI integration: a dependency that verifies the request and returns its VerifiedRequest.

    import keybound, keybound.fastapi
    from fastapi import Depends, FastAPI

    app = FastAPI()
    keybound.fastapi.install(app, keybound.Verifier(issuers=[...], policy=keybound.Policy(...)))

    @app.get("/items")
    async def items(dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop(scope="read"))):
        return {"sub": dpop.subject, "scope": dpop.scope}

A refusal raises fastapi.HTTPException with the status to answer (401, 400, 403, 429, 5xx), the `WWW-Authenticate`
and `DPoP-Nonce` headers and a JSON detail {"error", "error_description"}. With nonces on, a verified request's fresh
nonce is set on the response's `DPoP-Nonce`. Install with `pip install keybound[fastapi]`.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Optional

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from . import _web
from ._verifier import ScopeInput, VerifiedRequest, Verifier
from .asgi import verify_scope_async
from .errors import DPoPError

_STATE = "keybound_verifier"


class DPoPHTTPException(HTTPException):
    """The HTTPException a refusal raises; `refusal` is the DPoPError."""

    def __init__(self, refusal: DPoPError) -> None:
        super().__init__(status_code=refusal.http_status, detail=json.loads(_web.refusal_body(refusal)),
                         headers=dict(refusal.headers, **{"Cache-Control": "no-store"}))
        self.refusal = refusal


async def _answer(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DPoPHTTPException)
    return JSONResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def install(app: FastAPI, verifier: Verifier) -> None:
    """Makes `verifier` the one dpop() dependencies of `app` use (app.state.keybound_verifier), and answers
    refusals with the RFC 6750 body {"error", "error_description"} (without install, FastAPI's own handler nests it
    in {"detail": ...})."""
    setattr(app.state, _STATE, verifier)
    app.add_exception_handler(DPoPHTTPException, _answer)


def dpop(verifier: Optional[Verifier] = None, *, scope: ScopeInput = None, max_age: Optional[int] = None,
         acr_values: ScopeInput = None,
         token_endpoint: bool = False) -> Callable[[Request, Response], Awaitable[VerifiedRequest]]:
    """A dependency verifying the request with `verifier` (default: the one given to install()).

    `scope` ("read" or ["read", "write"]) must all be granted to the token, else 403 insufficient_scope; `max_age` and
    `acr_values` are RFC 9470 step-up requirements, else 401 insufficient_user_authentication. With
    `token_endpoint`, the request is a token request (RFC 9449 §5: a proof alone; bind the new token to the result's
    `jkt`), and a refusal answers 400 with the RFC 9449 error body.

    The URL verified is the raw request target as received (`raw_path` and the query string) on the configured
    external base URL, else on the connection's scheme and `Host` (keybound._web)."""

    async def dependency(request: Request, response: Response) -> VerifiedRequest:
        chosen: Any = verifier if verifier is not None else getattr(request.app.state, _STATE, None)
        if not isinstance(chosen, Verifier):
            raise RuntimeError("keybound.fastapi: call keybound.fastapi.install(app, verifier) or pass a verifier")
        try:
            verified = await verify_scope_async(chosen, request.scope, token_endpoint=token_endpoint, scope=scope,
                                                max_age=max_age, acr_values=acr_values)
        except DPoPError as refusal:
            raise DPoPHTTPException(refusal) from None
        if verified.dpop_nonce is not None:
            response.headers["DPoP-Nonce"] = verified.dpop_nonce
        return verified

    return dependency
