# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Warm DPoP requests for the keybound-serve load and soak runs (scripts/bench/sidecar-load.sh).

    python3 sidecar_requests.py keys DIR [--clients N]
        An RS256 issuer key (DIR/jwks.json for keybound-serve) and N ES256 client keys, each with one access token
        bound to it (RFC 9068 claims, cnf.jkt; an hour long): DIR/clients.json. As in `keybound bench`'s warm
        scenario: RS256 tokens, ES256 proofs, each token used again and again (cached), a new proof per request.
    python3 sidecar_requests.py make DIR PREFIX --count N --files F --url URL [--method M]
        N requests, each with its own proof (a fresh jti) for METHOD URL, dealt round-robin over the clients, written
        as F files PREFIX.0 ... PREFIX.F-1 (one per wrk thread), one request a line: "token<TAB>proof". Signed on
        every core. The proofs' iat is the time they are made: use them within the verifier's proof lifetime (60 s).
    python3 sidecar_requests.py stream DIR FIFO... --url URL [--method M]
        The same lines made as they are read, for runs longer than a proof lives: round-robin over the FIFOs (one per
        wrk thread) until a reader goes away.
    python3 sidecar_requests.py send FILE --port P [--connections C] [--warm W] [--after-warm CMD] [--after CMD]
        Sends the requests of FILE (as `make` writes them) straight to keybound-serve on 127.0.0.1:P with the headers
        nginx would add, over C keep-alive connections (request i on connection i mod C), one request in flight at a
        time, so that the server sees the same bytes in the same order on every run (scripts/bench/serve-callgrind.sh).
        After the first W requests runs the shell command CMD of --after-warm, after the last that of --after. Fails
        on any answer but 200.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import keybound_keys as K  # noqa: E402

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"


def jws(header: dict, claims: dict, key, alg: str) -> str:
    signing_input = K.b64u(K.cj(header)) + "." + K.b64u(K.cj(claims))
    return signing_input + "." + K.b64u(K.crypto_sign(key, alg, signing_input.encode()))


def make_keys(folder: Path, clients: int) -> None:
    issuer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": [dict(K.public_jwk(issuer), kid="bench-issuer", alg="RS256", use="sig")]}
    (folder / "jwks.json").write_text(json.dumps(jwks))
    now = int(time.time())
    out = []
    for index in range(clients):
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = K.public_jwk(key)
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"client-{index}", "client_id": "bench", "scope": "api",
                  "iat": now - 5, "exp": now + 3600, "jti": str(uuid.uuid4()), "cnf": {"jkt": K.thumbprint(jwk)}}
        token = jws({"typ": "at+jwt", "alg": "RS256", "kid": "bench-issuer"}, claims, issuer, "RS256")
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        out.append({"pem": pem, "jwk": jwk, "token": token})
    (folder / "clients.json").write_text(json.dumps(out))


class Signer:
    """Proofs for the clients of DIR/clients.json."""

    def __init__(self, folder: Path, method: str, url: str):
        self.clients = []
        for client in json.loads((folder / "clients.json").read_text()):
            key = serialization.load_pem_private_key(client["pem"].encode(), password=None)
            header = K.b64u(K.cj({"typ": "dpop+jwt", "alg": "ES256", "jwk": client["jwk"]}))
            ath = K.b64u(K.sha256(client["token"].encode()))
            self.clients.append((key, header, ath, client["token"]))
        self.method, self.url = method, url

    def line(self, index: int) -> str:
        key, header, ath, token = self.clients[index % len(self.clients)]
        claims = {"jti": uuid.uuid4().hex, "htm": self.method, "htu": self.url, "iat": int(time.time()), "ath": ath}
        signing_input = header + "." + K.b64u(K.cj(claims))
        return token + "\t" + signing_input + "." + K.b64u(K.crypto_sign(key, "ES256", signing_input.encode()))


def _make_part(job: tuple[str, str, str, str, int, int, int]) -> int:
    folder, method, url, path, first, step, count = job
    signer = Signer(Path(folder), method, url)
    with open(path, "w") as out:
        for index in range(first, count, step):
            out.write(signer.line(index) + "\n")
    return len(range(first, count, step))


def make(folder: Path, prefix: str, count: int, files: int, method: str, url: str) -> None:
    # One worker per core, worker k signing requests k, k + workers, ...; the parts are then dealt out line by line,
    # so each file is in the order the proofs were made (a run uses the oldest first, and no proof is older than
    # the time it took to make them all, or the run's length).
    workers = os.cpu_count() or 1
    parts = [f"{prefix}.part{k}" for k in range(workers)]
    started = time.monotonic()
    with multiprocessing.Pool(workers) as pool:
        made = sum(pool.map(_make_part, [(str(folder), method, url, parts[k], k, workers, count)
                                         for k in range(workers)]))
    lines = [Path(part).read_text().splitlines(keepends=True) for part in parts]
    outs = [open(f"{prefix}.{f}", "w") for f in range(files)]
    for index in range(count):
        outs[index % files].write(lines[index % workers][index // workers])
    for out in outs:
        out.close()
    for part in parts:
        os.unlink(part)
    print(f"{made} requests in {files} files {prefix}.* ({time.monotonic() - started:.1f} s)", file=sys.stderr)


def stream(folder: Path, fifos: list[str], method: str, url: str) -> None:
    signer = Signer(folder, method, url)
    outs = [open(path, "w", buffering=1) for path in fifos]
    index = 0
    try:
        while True:
            outs[index % len(outs)].write(signer.line(index) + "\n")
            index += 1
    except BrokenPipeError:
        pass
    finally:
        print(f"streamed {index} requests", file=sys.stderr)


def read_answer(sock: socket.socket, pending: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 answer (a Content-Length body): its status, and any bytes read past it."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("send: the server closed the connection")
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next((int(l.split(b":", 1)[1]) for l in lines[1:] if l.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("send: the server closed the connection")
        rest += chunk
    return status, rest[length:]


def send(path: str, port: int, connections: int, warm: int, after_warm: str | None, after: str | None) -> None:
    lines = Path(path).read_text().splitlines()
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    for sock in sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pending = [b""] * connections
    for index, line in enumerate(lines):
        if index == warm and after_warm:
            subprocess.run(after_warm, shell=True, check=True)
        token, proof = line.split("\t")
        request = (f"GET /api/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Original-Method: GET\r\n"
                   f"X-Original-URI: /api/x\r\nAuthorization: DPoP {token}\r\nDPoP: {proof}\r\n\r\n").encode()
        sock = sockets[index % connections]
        sock.sendall(request)
        status, pending[index % connections] = read_answer(sock, pending[index % connections])
        if status != 200:
            raise SystemExit(f"send: request {index} answered {status}")
    if after:
        subprocess.run(after, shell=True, check=True)
    for sock in sockets:
        sock.close()
    print(f"sent {len(lines)} requests over {connections} connections", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("keys")
    keys.add_argument("dir", type=Path)
    keys.add_argument("--clients", type=int, default=16)
    made = sub.add_parser("make")
    made.add_argument("dir", type=Path)
    made.add_argument("prefix")
    made.add_argument("--count", type=int, required=True)
    made.add_argument("--files", type=int, default=1)
    streamed = sub.add_parser("stream")
    streamed.add_argument("dir", type=Path)
    streamed.add_argument("fifos", nargs="+")
    sent = sub.add_parser("send")
    sent.add_argument("file")
    sent.add_argument("--port", type=int, required=True)
    sent.add_argument("--connections", type=int, default=4)
    sent.add_argument("--warm", type=int, default=0)
    sent.add_argument("--after-warm")
    sent.add_argument("--after")
    for command in (made, streamed):
        command.add_argument("--url", required=True)
        command.add_argument("--method", default="GET")
    args = parser.parse_args()
    if args.command == "keys":
        make_keys(args.dir, args.clients)
    elif args.command == "make":
        make(args.dir, args.prefix, args.count, args.files, args.method, args.url)
    elif args.command == "send":
        send(args.file, args.port, args.connections, args.warm, args.after_warm, args.after)
    else:
        stream(args.dir, args.fifos, args.method, args.url)


if __name__ == "__main__":
    main()
