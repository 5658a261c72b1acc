# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Flask integration: an extension with a view decorator.

    import keybound, keybound.flask
    from flask import Flask, g

    app = Flask(__name__)
    dpop = keybound.flask.DPoP(app, keybound.Verifier(issuers=[...], policy=keybound.Policy(...)))

    @app.get("/items")
    @dpop.required(scope="read")
    def items():
        return {"sub": g.dpop.subject, "scope": g.dpop.scope}

A verified request's VerifiedRequest is `flask.g.dpop`; a refused one is answered with its status, the
`WWW-Authenticate` and `DPoP-Nonce` headers and a JSON body, and the view is not called. The URL verified is the raw
request target (`RAW_URI` or `REQUEST_URI`; gunicorn and Werkzeug give both), see keybound._web. Install with
`pip install keybound[flask]`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, TypeVar, Union, cast, overload

from flask import Flask, Response, current_app, g, request

from . import _web
from ._verifier import ScopeInput, VerifiedRequest, Verifier
from .errors import DPoPError

F = TypeVar("F", bound=Callable[..., Any])
_EXTENSION = "keybound"


def refusal_response(refusal: DPoPError) -> Response:
    """The Flask response answering a refusal."""
    status, headers, body = _web.refusal_response(refusal)
    return Response(body, status=status, headers=headers)


class DPoP:
    """The extension: holds the verifier of an application (app.extensions["keybound"])."""

    def __init__(self, app: Optional[Flask] = None, verifier: Optional[Verifier] = None) -> None:
        self.verifier = verifier
        if app is not None:
            self.init_app(app, verifier)

    def init_app(self, app: Flask, verifier: Optional[Verifier] = None) -> None:
        """Registers the extension on `app` (the application-factory pattern)."""
        if verifier is not None:
            self.verifier = verifier
        app.extensions[_EXTENSION] = self
        app.after_request(self._nonce_header)

    @staticmethod
    def _nonce_header(response: Response) -> Response:
        verified = g.get("dpop")
        if isinstance(verified, VerifiedRequest) and verified.dpop_nonce is not None:
            response.headers["DPoP-Nonce"] = verified.dpop_nonce
        return response

    def verify(self, *, scope: ScopeInput = None, max_age: Optional[int] = None, acr_values: ScopeInput = None,
               token_endpoint: bool = False) -> VerifiedRequest:
        """Verifies the current request (with the requirements of Verifier.verify; as a token request when
        `token_endpoint`); raises DPoPError when it is refused."""
        extension = current_app.extensions.get(_EXTENSION, self)
        verifier = extension.verifier if extension.verifier is not None else self.verifier
        if verifier is None:
            raise RuntimeError("keybound.flask: no verifier given to DPoP(app, verifier) or init_app")
        environ = request.environ
        url = _web.request_url(verifier, request.scheme, request.host, _web.wsgi_target(environ))
        if token_endpoint:
            verified = verifier.verify_token_endpoint(request.method, url, request.headers)
        else:
            verified = verifier.verify(request.method, url, request.headers, scope=scope, max_age=max_age,
                                       acr_values=acr_values)
        g.dpop = verified
        return verified

    @overload
    def required(self, view: F) -> F: ...

    @overload
    def required(self, *, scope: ScopeInput = None, max_age: Optional[int] = None, acr_values: ScopeInput = None,
                 token_endpoint: bool = False) -> Callable[[F], F]: ...

    def required(self, view: Optional[F] = None, *, scope: ScopeInput = None, max_age: Optional[int] = None,
                 acr_values: ScopeInput = None, token_endpoint: bool = False) -> Union[F, Callable[[F], F]]:
        """Decorates a view: verify first, answer the refusal or call the view. `@dpop.required`, or with
        requirements: `@dpop.required(scope="read")` (403 insufficient_scope when the token lacks it), `max_age`,
        `acr_values` (401 insufficient_user_authentication); `@dpop.required(token_endpoint=True)` for a token
        endpoint (RFC 9449 §5: a proof alone, refusals answer 400 with the RFC's JSON body)."""

        def decorate(target: F) -> F:
            @functools.wraps(target)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    self.verify(scope=scope, max_age=max_age, acr_values=acr_values, token_endpoint=token_endpoint)
                except DPoPError as refusal:
                    return refusal_response(refusal)
                return current_app.ensure_sync(target)(*args, **kwargs)

            return cast(F, wrapper)

        return decorate(view) if view is not None else decorate
