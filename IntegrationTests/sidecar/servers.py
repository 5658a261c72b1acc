# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The two small HTTP servers of the sidecar tests, on loopback:

    python3 servers.py upstream PORT   the protected application: answers JSON with the path and the
                                       X-Keybound-* and DPoP-* headers it received
    python3 servers.py stub PORT       stands in for keybound-serve to check nginx's status mapping: for an original
                                       URI /api/status/N it refuses as keybound-serve does for nginx (401 with
                                       X-Keybound-Status: N, a challenge and a nonce)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Upstream(BaseHTTPRequestHandler):
    def answer(self):
        seen = {k.lower(): v for k, v in self.headers.items()
                if k.lower().startswith("x-keybound-") or k.lower().startswith("dpop")}
        body = json.dumps({"method": self.command, "path": self.path, "headers": seen}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = answer

    def log_message(self, *args):
        pass


class Stub(BaseHTTPRequestHandler):
    def do_GET(self):
        uri = self.headers.get("X-Original-URI", "")
        status = uri.rsplit("/", 1)[-1]
        self.send_response(401)
        self.send_header("X-Keybound-Status", status)
        self.send_header("X-Keybound-Error", "stub_error")
        self.send_header("X-Keybound-Code", "stub_" + status)
        self.send_header("WWW-Authenticate", f'DPoP error="stub_{status}"')
        self.send_header("DPoP-Nonce", "stub-nonce-" + status)
        if status == "429":
            self.send_header("Retry-After", "70")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    handler = {"upstream": Upstream, "stub": Stub}[sys.argv[1]]
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler).serve_forever()
