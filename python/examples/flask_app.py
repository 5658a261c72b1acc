# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Flask example: `gunicorn flask_app:app` (configuration: example_config.py)."""

from __future__ import annotations

from typing import Any, Dict

from example_config import verifier_from_env
from flask import Flask, g

import keybound.flask

app = Flask(__name__)
dpop = keybound.flask.DPoP(app, verifier_from_env())


@app.get("/items")
@dpop.required
def items() -> Dict[str, Any]:
    return {"sub": g.dpop.subject, "scope": g.dpop.scope, "jkt": g.dpop.jkt}


@app.route("/files/<path:name>", methods=["GET", "POST"])
@dpop.required
def files(name: str) -> Dict[str, Any]:
    return {"name": name, "sub": g.dpop.subject}


@app.get("/admin")
@dpop.required(scope="admin")
def admin() -> Dict[str, Any]:
    return {"sub": g.dpop.subject, "admin": True}


@app.post("/token")
@dpop.required(token_endpoint=True)
def token() -> Dict[str, Any]:
    return {"jkt": g.dpop.jkt}


@app.get("/health")
def health() -> Dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":  # Werkzeug's server, as `python flask_app.py PORT`
    import sys

    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
