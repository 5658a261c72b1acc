# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Starlette example: `uvicorn starlette_app:app`; the middleware protects /items and /files/, and /admin with the
`admin` scope."""

from __future__ import annotations

from example_config import verifier_from_env
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import keybound.starlette


async def items(request: Request) -> JSONResponse:
    dpop = request.state.dpop
    return JSONResponse({"sub": dpop.subject, "scope": dpop.scope, "jkt": dpop.jkt})


async def files(request: Request) -> JSONResponse:
    return JSONResponse({"name": request.path_params["name"], "sub": request.state.dpop.subject})


async def admin(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.state.dpop.subject, "admin": True})


async def token(request: Request) -> JSONResponse:
    return JSONResponse({"jkt": request.state.dpop.jkt})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


verifier = verifier_from_env()
app = Starlette(
    routes=[Route("/items", items), Route("/files/{name:path}", files, methods=["GET", "POST"]),
            Route("/admin", admin), Route("/token", token, methods=["POST"]), Route("/health", health)],
    middleware=[Middleware(keybound.starlette.DPoPMiddleware, verifier=verifier, protect=["/items", "/files/"]),
                Middleware(keybound.starlette.DPoPMiddleware, verifier=verifier, protect=["/admin"], scope="admin"),
                Middleware(keybound.starlette.DPoPMiddleware, verifier=verifier, protect=["/token"], token_endpoint=True)],
)
