# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Warm DPoP requests per second from Python: the keybound package against PyJWT and joserfc doing the same request by
hand (decode and verify the access token, import the proof's jwk, verify the proof, check htm/htu/iat, compute the
RFC 7638 jkt and the ath, compare both with the token). Every request carries a fresh proof (a new jti); all are
signed before timing. Also: the cost of an empty call into the library through ctypes and through cffi, the Python
layer's overhead per verify, and two threads against one (the GIL is released while the library verifies).

    python bench/bench_verify.py [--seconds 2] [--cpu 0]
    python bench/bench_verify.py --threads-only --rounds 5      # 1 against 2 threads only, alternated, the median
    python bench/bench_verify.py --seconds 5 --headline-json out.json   # the rows of BENCHMARKS.md's headline table

Single-thread figures run pinned to one CPU (--cpu); the two-thread figure uses two CPUs. On a shared machine the
two-thread figure is noisy: --threads-only alternates one and two threads --rounds times and prints every ratio, the
median, and the process's CPU time over wall time (about 2 when both threads ran in parallel). Needs: the keybound package
installed, cryptography, pyjwt, joserfc, cffi (python/requirements-ci.txt).
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import hashlib
import json
import os
import sys
import threading
import time
import timeit
from typing import Any, Callable, Dict, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import jwt as pyjwt  # noqa: E402
from dpop_client import AUDIENCE, ISSUER, URL, World, b64  # noqa: E402
from joserfc import jwk as jose_jwk  # noqa: E402
from joserfc import jwt as jose_jwt  # noqa: E402
from joserfc.jws import extract_compact  # noqa: E402

import keybound  # noqa: E402
from keybound import _native  # noqa: E402


def thumbprint(jwk: Dict[str, str]) -> str:
    members = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode()).digest())


class ByHand:
    """The checks of a resource request, with a JOSE library: the same verdicts for valid requests."""

    def __init__(self, world: World, now: int) -> None:
        self.now = now
        self.seen: set[str] = set()

    def finish(self, claims: Dict[str, Any], proof: Dict[str, Any], jwk: Dict[str, str], token: str,
               method: str, url: str) -> str:
        if proof["htm"] != method or proof["htu"] != url or abs(proof["iat"] - self.now) > 60:
            raise ValueError("proof claims")
        if proof["ath"] != b64(hashlib.sha256(token.encode()).digest()):
            raise ValueError("ath")
        jkt = thumbprint(jwk)
        if claims["cnf"]["jkt"] != jkt:
            raise ValueError("binding")
        if proof["jti"] in self.seen:
            raise ValueError("replayed")
        self.seen.add(proof["jti"])
        return jkt


class WithPyJWT(ByHand):
    def __init__(self, world: World, now: int) -> None:
        super().__init__(world, now)
        self.issuer_key = pyjwt.PyJWK(world.jwks_dict["keys"][0]).key
        self.token_alg = world.token_alg

    def verify(self, method: str, url: str, headers: Dict[str, str]) -> str:
        token = headers["Authorization"][5:]
        claims = pyjwt.decode(token, self.issuer_key, algorithms=[self.token_alg], audience=AUDIENCE, issuer=ISSUER,
                              options={"verify_iat": False})
        proof_jws = headers["DPoP"]
        header = pyjwt.get_unverified_header(proof_jws)
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
            raise ValueError("proof header")
        key = pyjwt.PyJWK(header["jwk"]).key
        proof = pyjwt.decode(proof_jws, key, algorithms=["ES256"], options={"verify_iat": False, "verify_aud": False})
        return self.finish(claims, proof, header["jwk"], token, method, url)


class WithJoserfc(ByHand):
    def __init__(self, world: World, now: int) -> None:
        super().__init__(world, now)
        issuer_jwk = world.jwks_dict["keys"][0]
        key_type: Any = jose_jwk.RSAKey if issuer_jwk["kty"] == "RSA" else jose_jwk.ECKey
        self.issuer_key = key_type.import_key(issuer_jwk)
        self.token_alg = world.token_alg
        self.registry = jose_jwt.JWTClaimsRegistry(now=lambda: now, iss={"essential": True, "value": ISSUER},
                                                   aud={"essential": True, "value": AUDIENCE})

    def verify(self, method: str, url: str, headers: Dict[str, str]) -> str:
        token = headers["Authorization"][5:]
        decoded = jose_jwt.decode(token, self.issuer_key, algorithms=[self.token_alg])
        self.registry.validate(decoded.claims)
        proof_jws = headers["DPoP"]
        header = extract_compact(proof_jws.encode()).protected
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
            raise ValueError("proof header")
        key = jose_jwk.ECKey.import_key(header["jwk"])
        proof = jose_jwt.decode(proof_jws, key, algorithms=["ES256"]).claims
        return self.finish(decoded.claims, proof, header["jwk"], token, method, url)


def requests_for(world: World, count: int) -> List[Dict[str, str]]:
    token = world.token()
    return [world.headers("GET", URL, token=token) for _ in range(count)]


def rate(verify: Callable[[str, str, Dict[str, str]], Any], requests: List[Dict[str, str]],
         seconds: float) -> Tuple[float, float, int]:
    """(requests per wall second, CPU microseconds per request, requests timed) over `seconds` (or all the requests,
    whichever ends first), after 200 warm-up ones. The CPU figure holds on a busy machine too; the wall one does
    not."""
    for headers in requests[:200]:
        verify("GET", URL, headers)
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    for headers in requests[200:]:
        verify("GET", URL, headers)
        done += 1
        if done % 256 == 0 and time.perf_counter() - start >= seconds:
            break
    return done / (time.perf_counter() - start), (time.process_time() - cpu) / done * 1e6, done


def empty_calls() -> Dict[str, float]:
    """CPU nanoseconds per call of kb_version_number() (no arguments, no work) and kb_status_http_status(211) (one
    int) through ctypes and cffi."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef("uint32_t kb_version_number(void); int kb_status_http_status(int status);")
    cffi_lib = ffi.dlopen(_native.PATH)
    number = 1_000_000
    out = {}
    for name, call in (("ctypes kb_version_number()", _native.lib.kb_version_number),
                       ("cffi kb_version_number()", cffi_lib.kb_version_number)):
        out[name] = min(timeit.repeat(call, number=number, repeat=5, timer=time.process_time)) / number * 1e9
    for name, fn in (("ctypes kb_status_http_status(211)", _native.lib.kb_status_http_status),
                     ("cffi kb_status_http_status(211)", cffi_lib.kb_status_http_status)):
        out[name] = min(timeit.repeat(lambda: fn(211), number=number, repeat=5, timer=time.process_time)) / number * 1e9
    return out


def threads_rate(verifier: keybound.Verifier, world: World, per_thread: List[List[Dict[str, str]]],
                 seconds: float) -> Tuple[float, float]:
    """(requests/s, process CPU time over wall time): above 1, threads ran at the same time (the GIL was released)."""
    counts = [0] * len(per_thread)
    stop = threading.Event()

    def work(index: int) -> None:
        for headers in per_thread[index]:
            if stop.is_set():
                return
            verifier.verify("GET", URL, headers, now=world.now)
            counts[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(per_thread))]
    start, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return sum(counts) / wall, (time.process_time() - cpu) / wall


def threads_rounds(world: World, cpus: List[int], rounds: int, requests: int, seconds: float) -> None:
    """One thread against two on two CPUs, alternated `rounds` times on a fresh warm verifier each round."""
    if len(cpus) < 2:
        print("threads: only one CPU available, not measured")
        return
    os.sched_setaffinity(0, set(cpus[:2]))
    print(f"keybound {keybound.__version__}, Python {sys.version.split()[0]}, CPUs {cpus[:2]}, {seconds:g} s per "
          f"figure, load average {os.getloadavg()[0]:.1f}")
    ratios = []
    for index in range(rounds):
        verifier = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)])
        verifier.verify("GET", URL, requests_for(world, 1)[0], now=world.now)  # warm: the token and key cached
        one, one_cpu = threads_rate(verifier, world, [requests_for(world, requests)], seconds)
        two, two_cpu = threads_rate(verifier, world, [requests_for(world, requests) for _ in range(2)], seconds)
        ratios.append(two / one)
        print(f"round {index + 1}: 1 thread {one:.0f} req/s (CPU/wall {one_cpu:.2f}), 2 threads {two:.0f} req/s "
              f"(CPU/wall {two_cpu:.2f}): {two / one:.2f}x")
    ratios.sort()
    print(f"median 2-thread/1-thread ratio over {rounds} rounds: {ratios[len(ratios) // 2]:.2f}x "
          f"(load average {os.getloadavg()[0]:.1f})")


def headline(seconds: float, cpu: int, path: str) -> None:
    """The Python rows of BENCHMARKS.md's headline table (scripts/bench/headline.sh), as one JSON object written to
    `path`: pinned to one CPU, `seconds` each, one after the other, warm DPoP requests (one RS256 access token, as the
    Swift rows use, and a fresh ES256 proof per request, all signed before timing) through keybound (its caches warm),
    PyJWT and joserfc by hand (the token verified on every request: neither caches it), and the floor of the last
    two: one ES256 verify through `cryptography`, the library they verify with (a public key object and DER
    signatures made before the loop, the proofs' own signing inputs, cycled)."""
    from cryptography import __version__ as cryptography_version
    from cryptography.hazmat.backends.openssl import backend as cryptography_backend
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    os.sched_setaffinity(0, {cpu})
    load_before = os.getloadavg()[0]
    world = World(token_alg="RS256")
    # One pool for every row (each verifier keeps its own replay state): more requests than the fastest row takes.
    requests = requests_for(world, int(seconds * 15000) + 256)
    key = world.client_key.public_key()
    signed = []
    for headers in requests[:4096]:
        signing_input, _, signature = headers["DPoP"].rpartition(".")
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        signed.append((signing_input.encode(), der))
    ecdsa = ec.ECDSA(hashes.SHA256())

    def raw_rate() -> Tuple[float, float, int]:
        for data, der in signed[:200]:
            key.verify(der, data, ecdsa)
        done, index, start, cpu_start = 0, 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds:
            chunk = signed[index:index + 256]
            for data, der in chunk:
                key.verify(der, data, ecdsa)
            done += len(chunk)
            index = (index + 256) % len(signed)
        return done / (time.perf_counter() - start), (time.process_time() - cpu_start) / done * 1e6, done

    def timed(verify: Callable[[str, str, Dict[str, str]], Any]) -> Tuple[float, float, int]:
        per_second, cpu_us, done = rate(verify, requests, seconds)
        if done == len(requests) - 200:
            raise SystemExit(f"bench_verify: the pool of {len(requests)} requests ran out before {seconds:g} s")
        return per_second, cpu_us, done

    cached = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)])
    rows = []
    for name, library, run in (
        ("raw ES256 verify", f"cryptography {cryptography_version}", raw_rate),
        ("keybound", f"keybound {keybound.__version__}",
         lambda: timed(lambda m, u, h: cached.verify(m, u, h, now=world.now))),
        ("PyJWT", f"PyJWT {pyjwt.__version__}", lambda: timed(WithPyJWT(world, world.now).verify)),
        ("joserfc", f"joserfc {getattr(sys.modules['joserfc'], '__version__', '?')}",
         lambda: timed(WithJoserfc(world, world.now).verify)),
    ):
        per_second, cpu_us, done = run()
        print(f"{name:20s} {per_second:8.0f} req/s, {cpu_us:6.1f} us CPU/req", file=sys.stderr)
        rows.append({"name": name, "library": library, "per_second": round(per_second, 1),
                     "cpu_us_per_request": round(cpu_us, 2), "requests": done})
    report = {"python": sys.version.split()[0], "cpu": cpu, "seconds": seconds, "token_alg": "RS256",
              "proof_alg": "ES256", "keybound_library": keybound.LIBRARY_PATH,
              "cryptography_openssl": cryptography_backend.openssl_version_text(),
              "load_before": load_before, "load_after": os.getloadavg()[0], "rows": rows}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(report, out, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--requests", type=int, default=20000, help="proofs signed before timing, per run")
    parser.add_argument("--threads-only", action="store_true", help="only one thread against two, --rounds times")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--headline-json", metavar="PATH",
                        help="only the rows of BENCHMARKS.md's headline table (RS256 token), as JSON written to PATH")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if args.headline_json:
        headline(args.seconds, args.cpu, args.headline_json)
        return
    world = World()
    if args.threads_only:
        threads_rounds(world, cpus, args.rounds, args.requests, args.seconds)
        return
    os.sched_setaffinity(0, {args.cpu})
    print(f"keybound {keybound.__version__} ({keybound.LIBRARY_PATH}), Python {sys.version.split()[0]}, "
          f"pinned to CPU {args.cpu}, {args.seconds:g} s per figure")

    for name, ns in empty_calls().items():
        print(f"empty call: {name:36s} {ns:7.0f} ns")

    issuer = keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)
    cached = keybound.Verifier([issuer])
    uncached = keybound.Verifier([issuer], keybound.Policy(token_cache_size=0, proof_key_cache_size=0))

    def kb(verifier: keybound.Verifier) -> Callable[[str, str, Dict[str, str]], Any]:
        return lambda method, url, headers: verifier.verify(method, url, headers, now=world.now)

    results = {
        "keybound (warm caches)": rate(kb(cached), requests_for(world, args.requests), args.seconds),
        "keybound (token and key caches off)": rate(kb(uncached), requests_for(world, args.requests), args.seconds),
        "PyJWT 2.15 by hand": rate(WithPyJWT(world, world.now).verify, requests_for(world, args.requests),
                                   args.seconds),
        "joserfc 1.8 by hand": rate(WithJoserfc(world, world.now).verify, requests_for(world, args.requests),
                                    args.seconds),
    }
    fastest_wall = max(results["PyJWT 2.15 by hand"][0], results["joserfc 1.8 by hand"][0])
    fastest_cpu = min(results["PyJWT 2.15 by hand"][1], results["joserfc 1.8 by hand"][1])
    for name, (value, cpu_us, _) in results.items():
        print(f"{name:40s} {value:7.0f} req/s wall ({value / fastest_wall:4.2f}x the faster reference), "
              f"{cpu_us:6.1f} us CPU/req ({fastest_cpu / cpu_us:4.2f}x)")

    # The Python layer's overhead per verify, apart from the library's work: (1) a request the library refuses at
    # once (no Authorization: 100) through verify(), raising included, against the bare kb_verify call; (2) copying a
    # success out of the result (the fields and exp) into a VerifiedRequest.
    v = keybound.Verifier([issuer])
    result = ctypes.c_void_p()
    _native.lib.kb_result_new(ctypes.byref(result))
    url = URL.encode()

    def direct() -> None:
        _native.lib.kb_verify(v._handle, b"GET", 3, url, len(url), None, 0, None, None, 0, world.now, result)

    def wrapped() -> None:
        try:
            v.verify("GET", URL, {}, now=world.now)
        except keybound.MissingCredentials:
            pass

    number = 50000
    direct_ns = min(timeit.repeat(direct, number=number, repeat=5, timer=time.process_time)) / number * 1e9
    wrapped_ns = min(timeit.repeat(wrapped, number=number, repeat=5, timer=time.process_time)) / number * 1e9
    _native.lib.kb_result_free(result)
    headers = requests_for(world, 1)[0]
    v.verify("GET", URL, headers, now=world.now)
    slot = v._slots[0]
    copy_ns = min(timeit.repeat(lambda: v._verified(0, slot, headers["Authorization"].encode()), number=number,
                                repeat=5, timer=time.process_time)) / number * 1e9
    print(f"binding overhead: refused-at-once request: kb_verify {direct_ns:.0f} ns, Verifier.verify {wrapped_ns:.0f} "
          f"ns (Python layer {wrapped_ns - direct_ns:.0f} ns); copying a success out: {copy_ns:.0f} ns")

    if len(cpus) >= 2:
        os.sched_setaffinity(0, set(cpus[:2]))
        one, one_cpu = threads_rate(cached, world, [requests_for(world, args.requests)], args.seconds)
        two, two_cpu = threads_rate(cached, world, [requests_for(world, args.requests) for _ in range(2)],
                                    args.seconds)
        print(f"threads on CPUs {cpus[:2]}: 1 thread {one:.0f} req/s (CPU/wall {one_cpu:.2f}), 2 threads {two:.0f} "
              f"req/s (CPU/wall {two_cpu:.2f}): {two / one:.2f}x")
    else:
        print("threads: only one CPU available, not measured")


if __name__ == "__main__":
    main()
