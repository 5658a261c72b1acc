# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Remote key sets: an issuer's JWK Set (RFC 7517 §5) fetched over HTTPS and kept fresh in a Verifier.

    remote = keybound.RemoteKeys("https://id.example.com")        # or jwks_uri="https://id.example.com/jwks.json"
    first = remote.fetch_keys()                                    # refuse to start without keys
    verifier = keybound.Verifier(
        issuers=[keybound.Issuer(remote.issuer, audiences=["https://api.example.com"], jwks=first.document)],
        on_key_miss=remote.on_key_miss)                            # unknown kid -> one refetch per cooldown
    remote.attach(verifier, next_refresh_at=first.expires_at)
    remote.start()                                                 # refetch when max-age runs out; remote.stop()
    # asyncio: first = await remote.fetch_keys_async(); task = asyncio.create_task(remote.run())

The rules are those of the Swift module KeyboundRemoteKeys (docs/remote-keys.md), with the same error names:
discovery by OpenID Connect (`{issuer}/.well-known/openid-configuration`) or RFC 8414 metadata
(`/.well-known/oauth-authorization-server` between the host and the issuer's path), whose `issuer` must equal the
configured one exactly; https only (http to a loopback host only when `allow_loopback_http`, for tests); no
redirects; a bounded body and one deadline per exchange; `Cache-Control: max-age` less `Age`, clamped; one fetch in
flight at a time, shared by every caller; at most one fetch per cooldown for unknown `kid`s; failures keep the last
good set and are retried with backoff; sets go in atomically (kb_verifier_replace_jwks).

Only the standard library is used (http.client and ssl): the package keeps no dependency beyond the bundled C
library, and a key fetch needs what http.client gives (a TLS context that can add a CA file, a socket that a deadline
can cut, a response read in bounded chunks). Proxy variables are not read, as by the Swift module.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple, Union
from urllib.parse import urlsplit

from . import _native
from ._verifier import Issuer, Policy, Verifier
from .errors import ConfigurationError

__all__ = ["FetchedKeys", "RemoteKeys", "RemoteKeysError", "RemoteKeysEvent", "RemoteKeysStatus"]

#: Hosts `http` may reach when RemoteKeys(allow_loopback_http=True).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_METADATA = {"openid": "openid-configuration", "oauth": "oauth-authorization-server"}
_LOG = logging.getLogger("keybound")


class RemoteKeysError(Exception):
    """Why a configuration was refused or a fetch failed; a failed fetch never removes keys.

    `code` is one of: invalid_configuration, invalid_url, insecure_url, issuer_mismatch, invalid_metadata,
    http_status, timeout, body_too_large, invalid_jwks, transport, no_verifier (the names of the Swift module's
    RemoteKeysError codes); `reason` a one-line explanation for logs.
    """

    CODES = ("invalid_configuration", "invalid_url", "insecure_url", "issuer_mismatch", "invalid_metadata",
             "http_status", "timeout", "body_too_large", "invalid_jwks", "transport", "no_verifier")

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class FetchedKeys:
    """A fetched JWK Set: `document` as fetched (give it to Issuer(jwks=...)), its URL, the number of usable keys,
    and `expires_at`, now + max-age (clamped), in Unix seconds."""

    document: bytes
    jwks_uri: str
    key_count: int
    expires_at: int


@dataclass(frozen=True)
class RemoteKeysEvent:
    """What one fetch did: installed a set of `key_count` keys, or failed with `error` (the old keys stay). The next
    scheduled fetch is due at `next_refresh_at` (Unix seconds)."""

    installed: bool
    next_refresh_at: int
    key_count: Optional[int] = None
    error: Optional[RemoteKeysError] = None


@dataclass(frozen=True)
class RemoteKeysStatus:
    """The state of the keys, for health checks and logs."""

    key_count: Optional[int] = None
    last_success_at: Optional[int] = None
    last_error: Optional[RemoteKeysError] = None
    consecutive_failures: int = 0
    next_refresh_at: Optional[int] = None
    fetch_count: int = 0


class _URL:
    """A URL keys may be fetched from: https, or http to a loopback host when allowed."""

    def __init__(self, text: str, allow_loopback_http: bool) -> None:
        scheme, separator, rest = text.partition("://")
        if not separator:
            raise RemoteKeysError("invalid_url", f"not an absolute URL: {text}")
        end = min([i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i != -1] or [len(rest)])
        authority = rest[:end]
        if not authority or "@" in authority or any(c.isspace() for c in text):
            raise RemoteKeysError("invalid_url", f"no host, or credentials in the URL: {text}")
        if authority.startswith("[") and "]" in authority:
            host = authority[1:authority.index("]")].lower()
        else:
            host = authority.split(":", 1)[0].lower()
        self.scheme = scheme.lower()
        if self.scheme == "http" and not (allow_loopback_http and host in LOOPBACK_HOSTS):
            raise RemoteKeysError("insecure_url", ("http is allowed to a loopback host only: " if allow_loopback_http
                                                   else "keys are fetched over https only: ") + text)
        if self.scheme not in ("https", "http"):
            raise RemoteKeysError("insecure_url", f"keys are fetched over https only: {text}")
        tail = rest[end:]
        path_end = min([i for i in (tail.find("?"), tail.find("#")) if i != -1] or [len(tail)])
        self.origin = f"{self.scheme}://{authority}"
        self.path = tail[:path_end]
        self.has_query_or_fragment = path_end != len(tail)
        try:
            parts = urlsplit(text)
            self.port = parts.port or (443 if self.scheme == "https" else 80)
        except ValueError:
            raise RemoteKeysError("invalid_url", f"invalid port: {text}") from None
        self.host = host
        # The request target: the path and query, never the fragment.
        self.target = (tail.split("#", 1)[0] or "/") if tail.startswith("/") else "/" + tail.split("#", 1)[0]


def max_age(cache_control: str, age: Optional[str], bounds: Tuple[int, int], default: int) -> int:
    """The lifetime of a response: `max-age` less `Age` (RFC 9111 §4.2.3) clamped to `bounds`; the lower bound for
    `no-store` or `no-cache`; `default` (clamped) without a usable `max-age`."""
    low, high = bounds
    found: Optional[int] = None
    for directive in cache_control.split(","):
        name, has_value, value = directive.partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return low
        if name == "max-age" and has_value:
            text = value.strip().strip('"')
            if text.isdigit():
                found = int(text)
    if found is None:
        return min(max(default, low), high)
    if age is not None and age.strip().isdigit() and int(age.strip()) > 0:
        found = max(found - int(age.strip()), 0)
    return min(max(found, low), high)


def _probe(issuer: str, document: bytes) -> int:
    """The number of usable keys of a JWK Set, read by the library as a verifier would (invalid_jwks when none)."""
    try:
        probe = Verifier([Issuer(issuer, ["keybound-remote-keys"], jwks=document)],
                         Policy(replay_cache_capacity=1, proof_key_cache_size=1, token_cache_size=1))
    except ConfigurationError as error:
        raise RemoteKeysError("invalid_jwks", f"{error.name}: {error.detail}") from None
    with probe:
        entries = json.loads(document).get("keys", [])
        count = len(entries) - len(probe.skipped_keys(issuer))
    if count <= 0:
        raise RemoteKeysError("invalid_jwks", "the JWK Set has no usable key")
    return count


class _Flight:
    """One fetch in flight, which every caller that asks meanwhile waits for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.event: Optional[RemoteKeysEvent] = None


class RemoteKeys:
    """Keeps a Verifier's keys for one issuer fresh from the network. Thread-safe.

    Args:
        issuer: the issuer's identifier (its `iss`); with discovery, the metadata's `issuer` must equal it exactly.
        jwks_uri: the JWK Set's URL, given directly (no discovery).
        metadata: "openid" (OpenID Connect Discovery, the default) or "oauth" (RFC 8414), when jwks_uri is None.
        ca_file: a PEM file of trust roots added to the system's (a private or test CA).
        allow_loopback_http: allow `http` to 127.0.0.1, ::1 and localhost (tests); any other `http` is refused.
        timeout: seconds one exchange (connect, TLS, head and body) may take (default 10).
        max_body_bytes: the largest body read (default 1 MiB, the JWK Set reader's own bound).
        max_age_range: `max-age` is clamped to it (default 5 minutes to 24 hours).
        default_max_age: the lifetime of a set without a usable `max-age` (default 1 hour).
        cooldown: the least seconds between two fetches started by unknown `kid`s (default 30).
        retry, max_retry: the first wait after a failure (default 30 s), doubled per failure up to max_retry (600 s).
        clock: the current Unix time (default time.time).
        on_event: called with a RemoteKeysEvent after every fetch that installs or fails (on the fetching thread,
            before refresh() and settle() return; an exception it raises is logged, logger "keybound").

    Raises RemoteKeysError invalid_url or insecure_url for a URL keys are never fetched from, and
    invalid_configuration for bounds out of range or a CA file that does not load.
    """

    def __init__(self, issuer: str, *, jwks_uri: Optional[str] = None, metadata: str = "openid",
                 ca_file: Optional[str] = None, allow_loopback_http: bool = False, timeout: float = 10,
                 max_body_bytes: int = 1 << 20, max_age_range: Tuple[int, int] = (300, 86_400),
                 default_max_age: int = 3_600, cooldown: float = 30, retry: int = 30, max_retry: int = 600,
                 clock: Callable[[], float] = time.time,
                 on_event: Optional[Callable[[RemoteKeysEvent], None]] = None) -> None:
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self.allow_loopback_http = allow_loopback_http
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.max_age_range = max_age_range
        self.default_max_age = default_max_age
        self.cooldown = cooldown
        self.retry = retry
        self.max_retry = max_retry
        self._clock = clock
        self._on_event = on_event
        if metadata not in _METADATA:
            raise RemoteKeysError("invalid_configuration", f"metadata is 'openid' or 'oauth', not {metadata!r}")
        self._metadata = metadata
        if not (cooldown >= 0 and max_age_range[0] > 0 and max_age_range[1] >= max_age_range[0] and retry > 0
                and max_retry >= retry and timeout > 0 and max_body_bytes > 0):
            raise RemoteKeysError("invalid_configuration", "intervals, timeout and body bound must be positive")
        if jwks_uri is not None:
            _URL(jwks_uri, allow_loopback_http)
        else:
            self.metadata_url()
        self._tls = ssl.create_default_context()
        if ca_file is not None:
            try:
                self._tls.load_verify_locations(cafile=ca_file)
            except (OSError, ssl.SSLError) as error:
                raise RemoteKeysError("invalid_configuration",
                                      f"the trust-roots file {ca_file} does not load: {error}") from None
        self._lock = threading.Lock()
        self._verifier: Optional[Verifier] = None
        self._in_flight: Optional[_Flight] = None
        self._last_event: Optional[RemoteKeysEvent] = None
        self._last_started: Optional[float] = None
        self._status = RemoteKeysStatus()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _now(self) -> int:
        return int(self._clock())

    # ----- wiring

    def metadata_url(self) -> Optional[str]:
        """The metadata document's URL with discovery, None with a jwks_uri."""
        if self.jwks_uri is not None:
            return None
        url = _URL(self.issuer, self.allow_loopback_http)
        if url.has_query_or_fragment:
            raise RemoteKeysError("invalid_url", "an issuer identifier has no query or fragment (RFC 8414 §2)")
        path = url.path.rstrip("/")
        well_known = "/.well-known/" + _METADATA[self._metadata]
        if self._metadata == "oauth":
            return url.origin + well_known + path  # RFC 8414 §3.1: between the host and the issuer's path
        return url.origin + path + well_known  # OpenID Connect Discovery §4: appended to the issuer

    def attach(self, verifier: Verifier, next_refresh_at: Optional[float] = None) -> None:
        """Installs fetched sets into `verifier` from now on. `next_refresh_at` is when the keys it was made with run
        out (FetchedKeys.expires_at), or None to fetch at once when start() or run() begins."""
        with self._lock:
            self._verifier = verifier
            self._set_status(next_refresh_at=None if next_refresh_at is None else int(next_refresh_at))

    def on_key_miss(self, issuer: str, kid: Optional[str] = None) -> None:
        """The hook to give as Verifier(on_key_miss=...): starts a fetch in the background unless one is in flight
        or one started within the cooldown, and returns at once (the request that missed is refused; the next one
        with that kid verifies once the set is in)."""
        self._key_missed(issuer)

    @property
    def status(self) -> RemoteKeysStatus:
        """The state of the keys: counts, the last error, the next fetch."""
        with self._lock:
            return self._status

    def _set_status(self, **changes: Any) -> None:
        values = dict(self._status.__dict__, **changes)
        self._status = RemoteKeysStatus(**values)

    # ----- fetching

    def refresh(self) -> RemoteKeysEvent:
        """Fetches now, or joins the fetch in flight, and installs the set on success; returns what it did."""
        with self._lock:
            flight = self._in_flight or self._begin()
        return self._wait(flight)

    def settle(self, timeout: Optional[float] = None) -> Optional[RemoteKeysEvent]:
        """Waits for the fetch in flight, if any (at most `timeout` seconds), and returns the outcome of the last
        fetch that finished (None before the first, or when the wait ran out)."""
        with self._lock:
            flight = self._in_flight
            last = self._last_event
        if flight is None:
            return last
        return flight.event if flight.done.wait(timeout) else None

    @staticmethod
    def _wait(flight: _Flight) -> RemoteKeysEvent:
        flight.done.wait()
        assert flight.event is not None
        return flight.event

    def _key_missed(self, issuer: str) -> Optional[_Flight]:
        if issuer != self.issuer:
            return None
        now = self._clock()
        with self._lock:
            if self._in_flight is not None:
                return self._in_flight
            if self._last_started is not None and now - self._last_started < self.cooldown:
                return None
            return self._begin()

    def _begin(self) -> _Flight:
        """Starts a fetch on a thread of its own; called with the lock held."""
        self._last_started = self._clock()
        self._set_status(fetch_count=self._status.fetch_count + 1)
        flight = _Flight()
        self._in_flight = flight
        threading.Thread(target=self._fetch_and_install, args=(flight,), name="keybound-remote-keys",
                         daemon=True).start()
        return flight

    def _fetch_and_install(self, flight: _Flight) -> None:
        try:
            fetched = self.fetch_keys()
            with self._lock:
                verifier = self._verifier
            if verifier is None:
                raise RemoteKeysError("no_verifier", "no verifier is attached")
            try:
                verifier.replace_jwks(self.issuer, fetched.document)
            except ConfigurationError as error:
                if error.code == _native.ERR_INVALID_ARGUMENT:
                    raise RemoteKeysError("no_verifier", "the attached verifier was closed") from None
                raise RemoteKeysError("invalid_jwks",
                                      f"the verifier refused the set: {error.name}: {error.detail}") from None
            event = RemoteKeysEvent(True, fetched.expires_at, key_count=fetched.key_count)
        except RemoteKeysError as error:
            event = RemoteKeysEvent(False, self._now() + self.retry_delay(self.status.consecutive_failures),
                                    error=error)
        except Exception as error:  # never leave the callers waiting
            event = RemoteKeysEvent(False, self._now() + self.retry_delay(self.status.consecutive_failures),
                                    error=RemoteKeysError("transport", repr(error)))
        now = self._now()
        with self._lock:
            self._in_flight = None
            self._last_event = event
            if event.installed:
                self._set_status(next_refresh_at=event.next_refresh_at, key_count=event.key_count,
                                 last_success_at=now, last_error=None, consecutive_failures=0)
            else:
                self._set_status(next_refresh_at=event.next_refresh_at, last_error=event.error,
                                 consecutive_failures=self._status.consecutive_failures + 1)
        if self._on_event is not None:  # before the waiters wake, so that they see what it recorded
            try:
                self._on_event(event)
            except Exception:
                _LOG.exception("the RemoteKeys on_event callback raised")
        flight.event = event
        flight.done.set()

    def fetch_keys(self) -> FetchedKeys:
        """Finds and fetches the set once, without installing it (for the keys a verifier starts with). Raises
        RemoteKeysError naming the step that failed."""
        jwks_uri = self._resolve_jwks_uri()
        body, headers = self._get(jwks_uri, "application/jwk-set+json, application/json")
        try:
            document = json.loads(body)
        except ValueError:
            raise RemoteKeysError("invalid_jwks", f"{jwks_uri} is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise RemoteKeysError("invalid_jwks", f"{jwks_uri} is not a JWK Set (no keys array)")
        count = _probe(self.issuer, body)
        lifetime = max_age(", ".join(headers.get_all("Cache-Control") or []), headers.get("Age"),
                           self.max_age_range, self.default_max_age)
        return FetchedKeys(document=body, jwks_uri=jwks_uri, key_count=count, expires_at=self._now() + lifetime)

    def _resolve_jwks_uri(self) -> str:
        """The configured jwks_uri, or the `jwks_uri` of the issuer's metadata, whose `issuer` must equal the
        configured one exactly (RFC 8414 §3.3; OpenID Connect Discovery §4.3)."""
        metadata_url = self.metadata_url()
        if metadata_url is None:
            assert self.jwks_uri is not None
            return self.jwks_uri
        body, _ = self._get(metadata_url, "application/json")
        try:
            metadata = json.loads(body)
        except ValueError:
            metadata = None
        issuer = metadata.get("issuer") if isinstance(metadata, dict) else None
        jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
        if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
            raise RemoteKeysError("invalid_metadata", f"{metadata_url} has no string issuer and jwks_uri")
        if issuer != self.issuer:
            raise RemoteKeysError("issuer_mismatch", f"{metadata_url} names issuer {issuer}, not {self.issuer}")
        _URL(jwks_uri, self.allow_loopback_http)
        return jwks_uri

    def _get(self, text: str, accept: str) -> Tuple[bytes, Any]:
        """One bounded GET: a 200 answer's body and headers. No redirects, no content coding, no proxy; the whole
        exchange is cut at `timeout` seconds (a timer shuts the socket down), the body read in bounded chunks."""
        url = _URL(text, self.allow_loopback_http)
        connection: Union[http.client.HTTPConnection, http.client.HTTPSConnection]
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(url.host, url.port, timeout=self.timeout, context=self._tls)
        else:
            connection = http.client.HTTPConnection(url.host, url.port, timeout=self.timeout)
        expired = threading.Event()

        def cut() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                try:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: safe beside a TLS read
                except OSError:
                    pass

        timer = threading.Timer(self.timeout, cut)
        timer.daemon = True
        timer.start()
        try:
            connection.request("GET", url.target, headers={"Accept": accept, "Accept-Encoding": "identity",
                                                           "User-Agent": "keybound-python"})
            response = connection.getresponse()
            if response.status != 200:
                raise RemoteKeysError("http_status", f"{text} answered {response.status}")
            length = (response.getheader("Content-Length") or "").strip()
            if length.isdigit() and int(length) > self.max_body_bytes:
                raise RemoteKeysError("body_too_large", f"{text}: Content-Length {length} is above the bound")
            body = bytearray()
            while True:
                chunk = response.read(min(65_536, self.max_body_bytes + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
                if len(body) > self.max_body_bytes:
                    raise RemoteKeysError("body_too_large", f"{text}: the body is larger than the bound")
            if expired.is_set():
                raise RemoteKeysError("timeout", f"no complete answer from {text} within {self.timeout} s")
            return bytes(body), response.headers
        except RemoteKeysError:
            raise
        except socket.timeout:
            raise RemoteKeysError("timeout", f"no complete answer from {text} within {self.timeout} s") from None
        except (OSError, http.client.HTTPException) as error:
            if expired.is_set():
                raise RemoteKeysError("timeout", f"no complete answer from {text} within {self.timeout} s") from None
            raise RemoteKeysError("transport", f"{text}: {error!r}") from None
        finally:
            timer.cancel()
            connection.close()

    # ----- schedule

    def retry_delay(self, failures: int) -> int:
        """The wait before retrying after `failures` earlier consecutive failures: doubling, capped."""
        delay = self.retry
        for _ in range(min(failures, 32)):
            if delay >= self.max_retry:
                break
            delay *= 2
        return min(delay, self.max_retry)

    def _due_in(self) -> float:
        due = self.status.next_refresh_at
        return 0 if due is None else due - self._clock()

    def start(self) -> None:
        """Refreshes on schedule in a background thread (daemon) until stop()."""
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="keybound-remote-keys-schedule", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stops the background thread of start() (a fetch in flight finishes on its own)."""
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self._due_in()
            if wait > 0:
                self._stop.wait(min(wait, 3_600))
                continue
            self.refresh()

    async def run(self) -> None:
        """Refreshes on schedule until the task is cancelled (asyncio): the fetches run off the event loop."""
        while True:
            wait = self._due_in()
            if wait > 0:
                await asyncio.sleep(min(wait, 3_600))
                continue
            await self.refresh_async()

    async def refresh_async(self) -> RemoteKeysEvent:
        """refresh() for asyncio, in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(None, self.refresh)

    async def fetch_keys_async(self) -> FetchedKeys:
        """fetch_keys() for asyncio, in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(None, self.fetch_keys)

    def __repr__(self) -> str:
        source = self.jwks_uri or self.metadata_url()
        return f"<keybound.RemoteKeys {self.issuer!r} from {source!r}>"

