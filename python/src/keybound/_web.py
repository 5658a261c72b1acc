# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""What the framework integrations share: the request target as received, the URL to verify, the refusal response.

The URL is the one the client signed (`htu`, RFC 9449 §4.3): the request target exactly as received, never the
percent-decoded path a framework routes on (`/a%2Fb` and `/a/b` are different resources and different `htu`s). ASGI
servers give it as `raw_path`; WSGI servers as `RAW_URI` (gunicorn, Werkzeug) or `REQUEST_URI` (uWSGI, Apache). When a
server gives neither (wsgiref, so Django's runserver), the path is percent-encoded again from the decoded one, which
cannot tell `%2F` from `/`: run such applications under a server that gives the raw target in production.

Behind a proxy, set `Policy(external_base_url=...)`: the origin-form target is then verified against that base, and
neither the `Host` header nor forwarded headers (`X-Forwarded-*`, `Forwarded`) are read. Without it, the URL is made
from the connection's scheme and the `Host` header.
"""

from __future__ import annotations

import json
from typing import Dict, Mapping, Optional, Tuple
from urllib.parse import quote

from ._verifier import Verifier
from .errors import DPoPError

_PATH_SAFE = "/!$&'()*+,;=:@~-._"


def _origin_form(target: bytes) -> bytes:
    """The origin-form of a target received in absolute-form ("http://host/p?q" -> "/p?q")."""
    if target.startswith((b"http://", b"https://")):
        rest = target.split(b"://", 1)[1]
        slash = rest.find(b"/")
        query = rest.find(b"?")
        if slash == -1 or (query != -1 and query < slash):
            return b"/" + (rest[query:] if query != -1 else b"")
        return rest[slash:]
    return target


def asgi_target(scope: Mapping[str, object]) -> bytes:
    """The request target of an ASGI HTTP scope as received: `raw_path` and the raw query string."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        target = raw
    else:
        path = scope.get("root_path", "") + str(scope.get("path", "/"))  # type: ignore[operator]
        target = quote(path, safe=_PATH_SAFE).encode("ascii")
    query = scope.get("query_string")
    if isinstance(query, bytes) and query and b"?" not in target:
        target += b"?" + query
    return target


def wsgi_target(environ: Mapping[str, object]) -> bytes:
    """The request target of a WSGI environ as received: RAW_URI or REQUEST_URI (WSGI strings are latin-1)."""
    for key in ("RAW_URI", "REQUEST_URI"):
        raw = environ.get(key)
        if isinstance(raw, str) and raw:
            return raw.encode("latin-1")
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")) or "/"
    target = quote(path.encode("latin-1"), safe=_PATH_SAFE).encode("ascii")
    query = environ.get("QUERY_STRING")
    return target + (b"?" + str(query).encode("latin-1") if query else b"")


def request_url(verifier: Verifier, scheme: str, host: Optional[str], target: bytes) -> bytes:
    """The URL to verify: the origin-form target when the verifier has an external base URL, else scheme://host
    followed by it."""
    origin = _origin_form(target)
    if verifier.policy.external_base_url is not None:
        return origin
    if target is not origin:
        return target
    return f"{scheme}://{host or ''}".encode("latin-1") + origin


def asgi_url(verifier: Verifier, scope: Mapping[str, object]) -> bytes:
    """request_url for an ASGI scope: `scheme`, the `Host` header (else `server`), the raw target."""
    host: Optional[str] = None
    for name, value in scope.get("headers", ()):  # type: ignore[attr-defined]
        if name == b"host":
            host = value.decode("latin-1")
            break
    server = scope.get("server")
    if host is None and isinstance(server, (tuple, list)) and len(server) == 2:
        host = f"{server[0]}:{server[1]}"
    return request_url(verifier, str(scope.get("scheme", "http")), host, asgi_target(scope))


def refusal_body(refusal: DPoPError) -> bytes:
    """The JSON body of a refusal: the token endpoint's own body, else {"error", "error_description"}."""
    if refusal.error_body is not None:
        return refusal.error_body.encode("utf-8")
    body: Dict[str, str] = {"error": refusal.error or refusal.name}
    if refusal.description:
        body["error_description"] = refusal.description
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def refusal_response(refusal: DPoPError) -> Tuple[int, Dict[str, str], bytes]:
    """(status, headers, body) answering a refusal: WWW-Authenticate and DPoP-Nonce when present, no caching."""
    headers = dict(refusal.headers)
    headers["Content-Type"] = "application/json"
    headers["Cache-Control"] = "no-store"
    return refusal.http_status, headers, refusal_body(refusal)
