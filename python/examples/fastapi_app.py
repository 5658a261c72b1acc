# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""FastAPI example: `uvicorn fastapi_app:app` (configuration: example_config.py)."""

from __future__ import annotations

from typing import Any, Dict

from example_config import verifier_from_env
from fastapi import Depends, FastAPI

import keybound
import keybound.fastapi

app = FastAPI()
keybound.fastapi.install(app, verifier_from_env())


@app.get("/items")
async def items(dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop())) -> Dict[str, Any]:
    return {"sub": dpop.subject, "scope": dpop.scope, "jkt": dpop.jkt, "roles": dpop.claims.get("roles")}


@app.api_route("/files/{name:path}", methods=["GET", "POST"])
async def files(name: str, dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop())) -> Dict[str, Any]:
    return {"name": name, "sub": dpop.subject}


@app.get("/admin")
async def admin(dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop(scope="admin"))) -> Dict[str, Any]:
    return {"sub": dpop.subject, "admin": True}


@app.post("/token")
async def token(dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop(token_endpoint=True))) -> Dict[str, Any]:
    return {"jkt": dpop.jkt}  # an authorization server binds the token it issues to this key


@app.get("/health")
async def health() -> Dict[str, str]:
    return {"status": "ok"}
