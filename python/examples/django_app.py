# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Django example in one file: `python django_app.py runserver` or `gunicorn django_app:application`.

The middleware protects /items; /files/ and /admin (with the `admin` scope) are protected by the view decorator alone."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path

from keybound.django import dpop_required

settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost", "api.example.com"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["keybound.django.DPoPMiddleware"],
    KEYBOUND={"VERIFIER": "example_config.verifier_from_env", "PROTECT": ["/items"]},
)


def items(request: HttpRequest) -> JsonResponse:
    dpop = request.dpop  # type: ignore[attr-defined]
    return JsonResponse({"sub": dpop.subject, "scope": dpop.scope, "jkt": dpop.jkt})


@dpop_required
def files(request: HttpRequest, name: str) -> JsonResponse:
    return JsonResponse({"name": name, "sub": request.dpop.subject})  # type: ignore[attr-defined]


@dpop_required(scope="admin")
def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.dpop.subject, "admin": True})  # type: ignore[attr-defined]


@dpop_required(token_endpoint=True)
def token(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"jkt": request.dpop.jkt})  # type: ignore[attr-defined]


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("items", items), re_path(r"^files/(?P<name>.+)$", files), path("admin", admin),
               path("token", token), path("health", health)]
application = get_wsgi_application()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
