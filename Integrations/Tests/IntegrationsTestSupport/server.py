#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""A scriptable HTTPS server on loopback for the remote-key tests (Integrations/Tests/KeyboundRemoteKeysTests).

At start it makes a throw-away test CA and a server certificate for 127.0.0.1, ::1 and localhost with `openssl`
in the folder given by --dir (nothing is committed; the folder is the caller's to delete), then serves:

  https://127.0.0.1:HTTPS/PATH   the answer set for PATH (404 when none), counting requests per path
  http://127.0.0.1:HTTP/PATH     the same answers in the clear (for the loopback-http rule)
  POST http://127.0.0.1:HTTP/_control/set    {"path", "status", "body", "headers", "delay", "pad", "no_length"}
  GET  http://127.0.0.1:HTTP/_control/count?path=PATH   {"count": N}

`delay` waits that many seconds before answering; `pad` appends that many spaces to the body; `no_length` omits
Content-Length (the body ends when the connection closes). Its first line on standard output is a JSON object
{"https": port, "http": port, "ca": "path/to/ca.pem"}.
"""
import argparse
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

answers = {}
counts = {}
lock = threading.Lock()


def make_certificates(folder):
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca, key, csr, cert = (os.path.join(folder, n) for n in ("ca.key", "ca.pem", "server.key", "server.csr",
                                                                    "server.pem"))
    ext = os.path.join(folder, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
            "-out", ca, "-days", "2", "-subj", "/CN=Keybound remote-keys test CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
            "-extfile", ext)
    return ca, cert, key


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=(), no_length=False):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if no_length:
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
            if no_length and isinstance(self.connection, ssl.SSLSocket):
                # The body ends with the connection: close TLS properly (close_notify), as a real server does.
                self.wfile.flush()
                self.connection.unwrap()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_control/count" and not self.server.secure:
            path = urllib.parse.parse_qs(url.query).get("path", [""])[0]
            with lock:
                count = counts.get(path, 0)
            return self.reply(200, json.dumps({"count": count}).encode())
        with lock:
            counts[url.path] = counts.get(url.path, 0) + 1
            answer = answers.get(url.path)
        if answer is None:
            return self.reply(404, b"not found")
        if answer.get("delay"):
            time.sleep(answer["delay"])
        body = answer.get("body", "").encode() + b" " * answer.get("pad", 0)
        headers = [("Content-Type", "application/json")] + list(answer.get("headers", {}).items())
        self.reply(answer.get("status", 200), body, headers, answer.get("no_length", False))

    def do_POST(self):
        if self.server.secure or self.path != "/_control/set":
            return self.reply(404, b"not found")
        answer = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            answers[answer["path"]] = answer
        self.reply(200, b"{}")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secure, context=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.secure = secure
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    ca, cert, key = make_certificates(args.dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure = Server(True, context)
    plain = Server(False)
    for server in (secure, plain):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"https": secure.server_address[1], "http": plain.server_address[1], "ca": ca}), flush=True)
    # Runs until the test closes standard input or terminates the process.
    sys.stdin.read()


if __name__ == "__main__":
    main()
