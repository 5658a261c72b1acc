# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""FastAPI example with a browser client: `uvicorn browser_app:app`, then open http://127.0.0.1:8000/.

The page (browser_page.html) keeps a non-extractable WebCrypto P-256 key, gets a DPoP-bound token from /token and
calls /api/me with a fresh proof each time. The application is its own token issuer here (an ES256 key made at start);
a real one trusts its authorization server's JWK Set instead.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from typing import Any, Dict

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

import keybound
import keybound.fastapi

ISSUER, AUDIENCE = "https://issuer.example", "https://api.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


issuer_key = ec.generate_private_key(ec.SECP256R1())
numbers = issuer_key.public_key().public_numbers()
jwks = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
                  "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}]}
verifier = keybound.Verifier(issuers=[keybound.Issuer(ISSUER, audiences=[AUDIENCE], jwks=jwks)])

app = FastAPI()
keybound.fastapi.install(app, verifier)


def issue_token(jkt: str) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "browser-user", "client_id": "browser", "scope": "read",
               "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), "cnf": {"jkt": jkt}}
    signing_input = f"{b64json({'alg': 'ES256', 'kid': 'k1', 'typ': 'at+jwt'})}.{b64json(payload)}"
    r, s = decode_dss_signature(issuer_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@app.get("/", response_class=HTMLResponse)
async def page() -> str:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_page.html"), encoding="utf-8") as f:
        return f.read()


@app.post("/token")
async def token(dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop(token_endpoint=True))) -> Dict[str, Any]:
    return {"access_token": issue_token(dpop.jkt), "token_type": "DPoP", "expires_in": 300, "jkt": dpop.jkt}


@app.get("/api/me")
async def me(dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop())) -> Dict[str, Any]:
    return {"sub": dpop.subject, "jkt": dpop.jkt, "scope": dpop.scope, "proof_id": dpop.proof_id}


@app.post("/api/logout")
async def logout(dpop: keybound.VerifiedRequest = Depends(keybound.fastapi.dpop())) -> Dict[str, Any]:
    verifier.revoke_key(dpop.jkt, until=time.time() + 3600)
    return {"revoked": dpop.jkt}


@app.get("/health")
async def health() -> Dict[str, str]:
    return {"status": "ok"}
