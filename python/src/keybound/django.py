# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Django integration: a middleware and a view decorator.

    # settings.py
    KEYBOUND = {
        "VERIFIER": "myproject.auth.make_verifier",   # a keybound.Verifier, or a dotted path to a callable making one
        "PROTECT": ["/api/"],                         # the middleware's path prefixes (default: every path)
    }
    MIDDLEWARE = [..., "keybound.django.DPoPMiddleware"]

    # views.py
    from keybound.django import dpop_required

    @dpop_required(scope="read")
    def items(request):
        return JsonResponse({"sub": request.dpop.subject})

A verified request's VerifiedRequest is `request.dpop`; a refused one is answered with its status, `WWW-Authenticate`
and `DPoP-Nonce` headers and a JSON body, and the view is not called. The decorator alone is enough (no middleware
needed); behind the middleware it reuses the middleware's verification. The URL is made of `request.scheme`,
`request.get_host()` (checked against ALLOWED_HOSTS) and the raw request target (`RAW_URI` or `REQUEST_URI` of
gunicorn, uWSGI, Apache; Django's runserver gives neither, see keybound._web), or the configured external base URL.
Install with `pip install keybound[django]`.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Optional, TypeVar, Union, cast, overload

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from . import _web
from ._verifier import ScopeInput, VerifiedRequest, Verifier
from .errors import DPoPError

F = TypeVar("F", bound=Callable[..., Any])
_lock = threading.Lock()
_cached: Optional[Verifier] = None


def get_verifier() -> Verifier:
    """The verifier of settings.KEYBOUND["VERIFIER"] (made once, then shared)."""
    global _cached
    with _lock:
        if _cached is None:
            configured: Any = getattr(settings, "KEYBOUND", {}).get("VERIFIER")
            if isinstance(configured, str):
                configured = import_string(configured)
            if callable(configured) and not isinstance(configured, Verifier):
                configured = configured()
            if not isinstance(configured, Verifier):
                raise RuntimeError('keybound.django: settings.KEYBOUND["VERIFIER"] is not a keybound.Verifier')
            _cached = configured
        return _cached


def reset_verifier() -> None:
    """Forgets the cached verifier (after changing settings in tests)."""
    global _cached
    with _lock:
        _cached = None


def refusal_response(refusal: DPoPError) -> HttpResponse:
    """The Django response answering a refusal."""
    status, headers, body = _web.refusal_response(refusal)
    return HttpResponse(body, status=status, headers=headers)


def verify_request(request: HttpRequest, *, scope: ScopeInput = None, max_age: Optional[int] = None,
                   acr_values: ScopeInput = None, token_endpoint: bool = False) -> VerifiedRequest:
    """Verifies a Django request (with the requirements of Verifier.verify); raises DPoPError when refused. A request
    the middleware verified is not verified again unless requirements are given (a proof is single-use, so they are
    then checked on the middleware's result)."""
    verified = getattr(request, "dpop", None)
    requirements = scope is not None or max_age is not None or acr_values is not None or token_endpoint
    if isinstance(verified, VerifiedRequest) and not requirements:
        return verified
    if isinstance(verified, VerifiedRequest):
        raise RuntimeError("keybound.django: a view with requirements (scope, max_age, acr_values) must not sit "
                           "behind the middleware, nor a token endpoint: take it out of KEYBOUND[\"PROTECT\"]")
    verifier = get_verifier()
    url = _web.request_url(verifier, request.scheme or "http", request.get_host(), _web.wsgi_target(request.META))
    if token_endpoint:
        verified = verifier.verify_token_endpoint(request.method or "", url, request.headers)
    else:
        verified = verifier.verify(request.method or "", url, request.headers, scope=scope, max_age=max_age,
                                   acr_values=acr_values)
    setattr(request, "dpop", verified)
    return verified


def _answer(request: HttpRequest, view: Callable[[], HttpResponse], **requirements: Any) -> HttpResponse:
    try:
        verified = verify_request(request, **requirements)
    except DPoPError as refusal:
        return refusal_response(refusal)
    response = view()
    if verified.dpop_nonce is not None:
        response["DPoP-Nonce"] = verified.dpop_nonce
    return response


@overload
def dpop_required(view: F) -> F: ...


@overload
def dpop_required(*, scope: ScopeInput = None, max_age: Optional[int] = None, acr_values: ScopeInput = None,
                  token_endpoint: bool = False) -> Callable[[F], F]: ...


def dpop_required(view: Optional[F] = None, *, scope: ScopeInput = None, max_age: Optional[int] = None,
                  acr_values: ScopeInput = None, token_endpoint: bool = False) -> Union[F, Callable[[F], F]]:
    """Decorates a view: verify first, answer the refusal or call the view (request.dpop). `@dpop_required`, or with
    requirements: `@dpop_required(scope="read")` (403 insufficient_scope), `max_age`, `acr_values` (401
    insufficient_user_authentication); `@dpop_required(token_endpoint=True)` for a token endpoint (RFC 9449 §5)."""

    def decorate(target: F) -> F:
        @functools.wraps(target)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return _answer(request, lambda: cast(HttpResponse, target(request, *args, **kwargs)), scope=scope,
                           max_age=max_age, acr_values=acr_values, token_endpoint=token_endpoint)

        return cast(F, wrapper)

    return decorate(view) if view is not None else decorate


class DPoPMiddleware:
    """Verifies every request whose path starts with one of settings.KEYBOUND["PROTECT"] (default: all)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        protect = getattr(settings, "KEYBOUND", {}).get("PROTECT")
        self.protect = tuple(protect) if protect is not None else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.protect is not None and not request.path.startswith(self.protect):
            return self.get_response(request)
        return _answer(request, lambda: self.get_response(request))
