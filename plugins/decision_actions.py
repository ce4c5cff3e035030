"""Airflow 3 plugin: accept, dismiss or mark implemented a decision from the browser.

A FastAPI app at ``/decision-actions``: ``GET /decisions/{id}`` is the decision's page (its
state, its events and the buttons), ``POST /api/decisions/{id}/{accept|dismiss|implemented}``
makes the change (``infra_review.lifecycle.store.transition``, the function the CLI calls),
and ``GET /api/decisions/{id}/events`` lists the events.

Who may do what: the caller is the Airflow user of the request (the same session check as
the Capacity decisions plugin: a bearer token or the UI's ``_token`` cookie); reading needs
read access to the review DAG's runs, a change needs edit access to them (``PUT`` on
``DagAccessEntity.RUN`` of ``capacity_review`` / ``provider_review``).

Cross-site requests: Airflow's own protection is its session cookie, ``_token``, set
``HttpOnly`` and ``SameSite=Lax``, so a page on another site cannot send it with a POST, and
the API server answers no CORS preflight, so another origin cannot send a bearer header or a
JSON body. The POSTs here keep that protection and add two checks a forged request fails:
the body must be JSON (an HTML form cannot send ``application/json`` across sites without a
preflight) and a browser's ``Origin`` / ``Sec-Fetch-Site`` must say same origin.

Every project and Airflow-internal import is inside a function: plugin modules are imported
by every Airflow component, and only the API server needs any of this.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from infra_review.reporting.web_app import secured_app

URL_PREFIX = "/decision-actions"
REVIEW_DAGS = {"capacity": "capacity_review", "provider": "provider_review"}
COMMANDS = ("accept", "dismiss", "implemented")
DB_ERROR = "Could not reach the decisions database right now; the API server's log has the details."
log = logging.getLogger(__name__)

app = secured_app(
    "Decision actions",
    "Accept, dismiss or mark implemented an infra-review decision.",
    {"Cache-Control": "no-store"},  # a decision's page shows its state as of now
)


async def current_user(request: Request) -> Any:
    """The Airflow user of this request (bearer token or the UI's ``_token`` cookie): 401
    without a session, 403 with a bad token."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return await resolve_user_from_token(token or request.cookies.get(COOKIE_NAME_JWT_TOKEN))


User = Annotated[Any, Depends(current_user)]


def may(user: Any, review_type: str, method: str) -> bool:
    """Whether ``user`` may read (GET) or edit (PUT) the runs of the review's DAG."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        DagAccessEntity,
        DagDetails,
    )

    dag_id = REVIEW_DAGS.get(review_type)
    if dag_id is None:
        return False
    return get_auth_manager().is_authorized_dag(
        method=method, access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
    )


def same_origin(request: Request) -> None:
    """Refuse a request a browser marks as coming from another site (403), or one that is not
    JSON (415); a route dependency, so it runs before the body is read."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise HTTPException(403, f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
        if origin == "null" or urlsplit(origin).netloc != host:
            raise HTTPException(403, "cross-site request refused (Origin does not match)")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, "send the change as application/json")


class Change(BaseModel):
    note: str | None = Field(None, max_length=2000)
    implemented_on: date | None = None


class DatabaseUnavailable(RuntimeError):
    pass


def _with_db(work):
    """Run ``work(conn)`` in one transaction; database trouble becomes a generic 503."""
    import psycopg2

    from infra_review.store.db import connect

    try:
        with connect() as conn:
            return work(conn)
    except psycopg2.Error as exc:
        log.exception("decision actions: database error")
        raise HTTPException(503, DB_ERROR) from exc


def _load(decision_id: int, user: Any, method: str) -> dict[str, Any]:
    from infra_review.lifecycle.store import decision, events

    found = _with_db(lambda c: (decision(c, decision_id), events(c, decision_id)))
    row, evs = found
    if row is None or not may(user, row["review_type"], "GET"):
        raise HTTPException(404, f"no decision {decision_id}")  # unreadable = not there
    if method == "PUT" and not may(user, row["review_type"], "PUT"):
        raise HTTPException(403, "changing a decision needs edit access to the review DAG's runs")
    return {"decision": row, "events": evs}


@app.get("/decisions/{decision_id}", response_class=HTMLResponse)
def decision_page(decision_id: int, request: Request, user: User) -> HTMLResponse:
    from infra_review.lifecycle.page import PAGE_CSP, render_decision_page

    found = _load(decision_id, user, "GET")
    html = render_decision_page(
        found["decision"],
        found["events"],
        can_edit=may(user, found["decision"]["review_type"], "PUT"),
        base=request.scope.get("root_path", "").rstrip("/") or URL_PREFIX,
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP})


@app.get("/api/decisions/{decision_id}/events")
def decision_events(decision_id: int, user: User) -> JSONResponse:
    import json

    found = _load(decision_id, user, "GET")
    return JSONResponse(json.loads(json.dumps(found, default=str)))


@app.post("/api/decisions/{decision_id}/{command}", dependencies=[Depends(same_origin)])
def change(decision_id: int, command: str, body: Change, user: User):
    """accept | dismiss | implemented, by the signed-in user; 409 with the reason when the
    lifecycle does not allow it."""
    import json

    from infra_review.errors import InputError
    from infra_review.lifecycle.store import transition

    if command not in COMMANDS:
        raise HTTPException(404, f"no action {command!r}; use {', '.join(COMMANDS)}")
    _load(decision_id, user, "PUT")
    by = user.get_name() if hasattr(user, "get_name") else str(user)
    try:
        done = _with_db(
            lambda c: transition(c, decision_id, command, by, body.note, body.implemented_on)
        )
    except InputError as exc:
        raise HTTPException(409, exc.reason) from exc
    return JSONResponse(json.loads(json.dumps(done, default=str)))


class DecisionActionsPlugin(AirflowPlugin):
    """Registers the app with the API server (no menu entry: the decisions page links here)."""

    name = "decision_actions"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Decision actions"}]
