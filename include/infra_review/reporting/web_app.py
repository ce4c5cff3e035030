"""The FastAPI app each UI plugin mounts, with the headers every answer of ours carries.

Both plugins serve HTML on the Airflow origin, where a script would run with the user's
session; so every answer is ``nosniff`` and, unless a route sets its own policy, carries a
policy under which nothing runs and nothing frames it (docs/threat-model.md)."""

from __future__ import annotations

from fastapi import FastAPI, Request

NO_SCRIPT_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def secured_app(title: str, description: str, headers: dict[str, str] | None = None) -> FastAPI:
    """An app without its own docs pages whose every answer has ``SECURITY_HEADERS`` (plus
    ``headers``) and ``NO_SCRIPT_CSP`` where the route set no policy."""
    app = FastAPI(
        title=title, description=description, docs_url=None, redoc_url=None, openapi_url=None
    )
    extra = {**SECURITY_HEADERS, **(headers or {})}

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in extra.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", NO_SCRIPT_CSP)
        return response

    return app
