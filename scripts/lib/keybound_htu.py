# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The `htu` comparison of docs/design.md ("Contracts → htu"), written from that text for the Python oracles
(scripts/fixtures/generate.py, scripts/differential/generate.py); it shares no code with Keybound's `HTU`.

    canonical(url)                  -> (scheme, host, port, path), or None when the URL is refused
    join(base, target)              -> the request URL behind a proxy (external base URL + origin-form target)
    same(request_url, htu, base=None) -> True / False (False also when either side is refused)

Where docs/design.md leaves a spelling open (a raw `|`, `[` or `]` in a query, a refused character outside a path,
an empty port, escapes in a host, a target that is not an absolute path), the functions raise `Unspecified`: a
generator must not build a case whose verdict the design does not decide.
"""

from __future__ import annotations

import re

ALPHA_DIGIT = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
UNRESERVED = ALPHA_DIGIT | set("-._~")
SUB_DELIMS = set("!$&'()*+,;=")
PCHAR = UNRESERVED | SUB_DELIMS | set(":@")
HEX = set("0123456789abcdefABCDEF")
# Rule 8: sent raw by browsers and curl, percent-encoded (upper-case hex) on both sides before the comparison.
RAW_ENCODED_ANYWHERE = set("^{}`")
RAW_ENCODED_PATH_ONLY = set("|[]")
# Rule 8: still refused in a path.
REFUSED_IN_PATH = set(' "<>\\#') | {chr(c) for c in range(0x20)} | {"\x7f"}
DEFAULT_PORT = {"http": 80, "https": 443}


class Unspecified(Exception):
    """docs/design.md does not decide this input."""


def _escape(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))


def _normalise_text(text: str, raw_encoded: set[str], refused: set[str]) -> str | None:
    """Rules 4 and 8 over a path or a query: unreserved escapes decoded, other escapes upper-cased, the raw
    characters of rule 8 (and non-ASCII) percent-encoded; None when refused."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "%":
            h = text[i + 1:i + 3]
            if len(h) != 2 or not set(h) <= HEX:
                return None  # rule 1: a malformed escape
            decoded = chr(int(h, 16))
            out.append(decoded if decoded in UNRESERVED else "%" + h.upper())
            i += 3
            continue
        if c in PCHAR or c in "/?":
            out.append(c)
        elif c in raw_encoded or ord(c) > 0x7F:
            out.append(_escape(c))
        elif c in refused:
            return None
        else:
            raise Unspecified(f"character {c!r} in {text!r}")
        i += 1
    return "".join(out)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, over a path whose unreserved escapes (so `%2E`) are already decoded."""
    inp, res = path, []
    while inp:
        if inp.startswith("../"):
            inp = inp[3:]
        elif inp.startswith("./"):
            inp = inp[2:]
        elif inp.startswith("/./"):
            inp = inp[2:]
        elif inp == "/.":
            inp = "/"
        elif inp.startswith("/../") or inp == "/..":
            inp = "/" + inp[4:] if inp.startswith("/../") else "/"
            if res:
                res.pop()
        elif inp in (".", ".."):
            inp = ""
        else:
            j = inp.find("/", 1)
            j = len(inp) if j < 0 else j
            res.append(inp[:j])
            inp = inp[j:]
    return "".join(res)


def _path(path: str) -> str | None:
    """Rules 4, 5 and 8 over a path: the canonical path, or None when refused."""
    text = _normalise_text(path, RAW_ENCODED_ANYWHERE | RAW_ENCODED_PATH_ONLY, REFUSED_IN_PATH)
    if text is None:
        return None
    return remove_dot_segments(text) or "/"


def _query(query: str) -> str | None:
    """Rule 7 drops the query and the fragment, but their characters must still be ones the design allows."""
    return _normalise_text(query, RAW_ENCODED_ANYWHERE, set())


def canonical(url):
    """Rules 1–8 of docs/design.md's `htu` contract: (scheme, host, port, path), or None when refused."""
    if not isinstance(url, str):
        return None
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", url, re.S)
    if not m:
        return None  # rule 1: relative
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme not in DEFAULT_PORT or not rest.startswith("//"):
        return None  # rule 1: another scheme, or no authority
    rest = rest[2:]
    end = min([i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0], default=len(rest))
    authority, rest = rest[:end], rest[end:]
    if "@" in authority:
        return None  # rule 1: userinfo
    hm = re.match(r"^(\[[0-9A-Fa-f:.]+\]|[^:\[\]]*)(?::(.*))?$", authority, re.S)
    if not hm or not hm.group(1):
        return None
    host, port = hm.group(1), hm.group(2)
    if not host.startswith("["):
        if any(ord(c) > 0x7F for c in host):
            return None  # rule 2: ASCII only, no IDN mapping
        if not set(host) <= UNRESERVED | SUB_DELIMS:
            raise Unspecified(f"host {host!r}")
    if port is not None:
        if port == "" or (len(port) > 1 and port.startswith("0")):
            raise Unspecified(f"port {port!r}")
        if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
            return None  # rule 1
        port = None if int(port) == DEFAULT_PORT[scheme] else int(port)
    path_end = min([i for i in (rest.find("?"), rest.find("#")) if i >= 0], default=len(rest))
    path, rest = rest[:path_end], rest[path_end:]
    query, _, fragment = rest.partition("#")
    canonical_path = _path(path)
    if canonical_path is None or _query(query.removeprefix("?")) is None or _query(fragment) is None:
        return None
    return (scheme, host.lower(), port, canonical_path)


def join(base: str, target: str) -> str | None:
    """"Behind a proxy": the request URL for an origin-form target under the external base URL `base`. The target's
    own dot segments (in any encoding) are removed as an absolute path first, so it stays under `base`'s path; None
    when the target is refused."""
    if not target.startswith("/"):
        raise Unspecified(f"target {target!r}")
    path, sep, query = target.partition("?")
    if "#" in path:
        return None  # rule 8: a raw '#' in a path
    canonical_path = _path(path)
    if canonical_path is None:
        return None
    return base.rstrip("/") + canonical_path + sep + query


def same(request_url: str, htu, base: str | None = None) -> bool:
    """Whether `htu` names the request under the contract (False when either side is refused)."""
    url = join(base, request_url) if base is not None else request_url
    want = canonical(url) if url is not None else None
    got = canonical(htu)
    return want is not None and got is not None and want == got
