# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Reading `Authorization` and every `DPoP` value out of whatever header container a framework hands over.

RFC 9449 §4.3 requires exactly one `DPoP` header: a repeated one must be refused (status 104), never reduced to its
first or last value. Containers that keep repeated fields apart are read with their own multi-value accessor
(`getall` of multidict and aiohttp, `getlist` of Werkzeug and Starlette, `get_all` of `email.message` and
`http.client`); a plain mapping may give a list or tuple of values; a sequence of (name, value) pairs (an ASGI
scope's `headers`) is read pair by pair. Servers that fold repeated fields into one (WSGI, Django) join them with a
comma (RFC 9110 §5.3): a compact JWS never contains a comma, so a `DPoP` value holding one is split back into its
values, and the library then refuses the request as carrying several proofs.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Tuple, Union

HeaderValue = Union[str, bytes]


def as_bytes(value: HeaderValue) -> bytes:
    """The bytes of a header value or URL: bytes as they are, str as UTF-8."""
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _values(raw: Any) -> List[bytes]:
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)):
        return [as_bytes(raw)]
    return [as_bytes(item) for item in raw]


def _lookup(headers: Any, name: str) -> List[bytes]:
    """Every value of the header `name` (case-insensitive), in order."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return _values(getall(name, []))
    for accessor in ("getlist", "get_all"):
        method = getattr(headers, accessor, None)
        if method is not None:
            return _values(method(name))
    wanted = name.lower()
    found: List[bytes] = []
    items: Iterable[Tuple[Any, Any]] = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        key_text = key.decode("latin-1") if isinstance(key, bytes) else key
        if key_text.lower() == wanted:
            found.extend(_values(value))
    return found


def _split_folded(values: List[bytes]) -> List[bytes]:
    out: List[bytes] = []
    for value in values:
        if b"," in value:
            out.extend(part.strip(b" \t") for part in value.split(b","))
        else:
            out.append(value)
    return out


def read(headers: Any) -> Tuple[Optional[bytes], List[bytes]]:
    """(`Authorization` value or None, every `DPoP` value) of `headers`. Several `Authorization` values are joined
    with ", " so that the library refuses them as malformed rather than picking one."""
    if headers is None:
        return None, []
    authorization = _lookup(headers, "Authorization")
    dpop = _split_folded(_lookup(headers, "DPoP"))
    if not authorization:
        return None, dpop
    return (authorization[0] if len(authorization) == 1 else b", ".join(authorization)), dpop
