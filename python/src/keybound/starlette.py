# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Starlette integration: the ASGI middleware (keybound.asgi.DPoPMiddleware), re-exported.

    from starlette.middleware import Middleware
    import keybound.starlette

    app = Starlette(routes=routes, middleware=[
        Middleware(keybound.starlette.DPoPMiddleware, verifier=verifier, protect=["/api/"])])

    async def items(request):
        return JSONResponse({"sub": request.state.dpop.subject})

Install with `pip install keybound[starlette]`.
"""

from __future__ import annotations

from .asgi import DPoPMiddleware

__all__ = ["DPoPMiddleware"]
