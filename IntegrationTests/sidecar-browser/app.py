# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The application behind nginx in the browser test: `python3 app.py PORT`.

It links nothing of Keybound and verifies nothing itself: nginx forwards a request here only after keybound-serve
accepted it (auth_request), and the identity comes from the headers nginx set from keybound-serve's answer
(X-Keybound-Subject, X-Keybound-Scope, X-Keybound-Jkt). It answers the demo page's API (docs/sidecar.md):

    GET  /api/me        the identity, and the jti of the proof that came with the request
    POST /api/orders    201 with the ordered item
    POST /api/logout    "log out this device": the key's thumbprint joins the application's own list of logged-out
                        devices, and every later request with that key is refused 401 key_revoked here

keybound-serve has no revocation list of its own, so the device logout lives in the application, keyed by the
thumbprint keybound-serve vouches for.
"""
from __future__ import annotations

import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOGGED_OUT: set[str] = set()
LOCK = threading.Lock()
ORDERS = [0]


def proof_jti(proof: str) -> str:
    """The jti of a proof keybound-serve has already verified (the payload is only read, not checked again)."""
    try:
        payload = proof.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("jti", "")
    except (IndexError, ValueError):
        return ""


class App(BaseHTTPRequestHandler):
    def reply(self, status: int, body: dict, challenge: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_api(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        subject = self.headers.get("X-Keybound-Subject", "")
        jkt = self.headers.get("X-Keybound-Jkt", "")
        if not subject or not jkt:
            # Only nginx reaches this server, and only after keybound-serve accepted the request.
            self.reply(500, {"error": "server_error", "detail": "no identity headers"})
            return
        with LOCK:
            logged_out = jkt in LOGGED_OUT
        if logged_out:
            self.reply(401, {"error": "invalid_token", "code": "key_revoked"}, 'DPoP error="invalid_token"')
            return
        route = (self.command, self.path.split("?")[0])
        if route == ("GET", "/api/me"):
            self.reply(200, {"sub": subject, "scope": self.headers.get("X-Keybound-Scope", ""), "jkt": jkt,
                             "proof_jti": proof_jti(self.headers.get("DPoP", ""))})
        elif route == ("POST", "/api/orders"):
            try:
                item = str(json.loads(body or b"{}").get("item") or "coffee")[:64]
            except (ValueError, AttributeError):
                item = "coffee"
            with LOCK:
                ORDERS[0] += 1
                number = ORDERS[0]
            self.reply(201, {"order_id": f"order-{number}", "item": item, "placed_by": subject, "jkt": jkt})
        elif route == ("POST", "/api/logout"):
            with LOCK:
                LOGGED_OUT.add(jkt)
            self.reply(200, {"revoked_jkt": jkt})
        else:
            self.reply(404, {"error": "not_found"})

    do_GET = do_POST = handle_api

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), App).serve_forever()
