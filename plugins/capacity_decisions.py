"""Airflow 3 plugin: a "Capacity decisions" page in the Airflow UI.

A FastAPI app mounted by the API server at ``/capacity-decisions`` and an external view that
shows it inside the UI at ``/plugin/capacity-decisions``. It lists the current decision
records with their criteria (through ``infra_review.store.decisions.current_decisions``, the
function the CLI uses) and serves the review reports and the GX Data Docs from the Airflow
host, so the links in the page and in the task logs open in a browser.

Airflow does not authenticate a plugin's routes (a mounted app inherits none of the core API's
dependencies), so every route here checks the caller's Airflow session itself: the JWT in the
``Authorization`` header or the UI's ``_token`` cookie, then read access to the review's DAG.

Every project and Airflow-internal import is inside a function: plugin modules are imported by
every Airflow component, and only the API server needs any of this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

URL_PREFIX = "/capacity-decisions"  # = infra_review.reporting.links.PLUGIN_PREFIX (a test checks)
UI_ROUTE = "capacity-decisions"
REVIEW_DAGS = {"capacity": "capacity_review", "provider": "provider_review"}
DATA_DOCS_DAG = "collect_metrics"
# Reports are our own files and run no script; Data Docs are GX's static site and do.
REPORT_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)

app = FastAPI(
    title="Capacity decisions",
    description="Current decision records, review reports and Data Docs of infra-review.",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)


async def current_user(request: Request) -> Any:
    """The Airflow user of this request; 401 without a session, 403 with a bad token."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return await resolve_user_from_token(token or request.cookies.get(COOKIE_NAME_JWT_TOKEN))


def dag_reader(user: Annotated[Any, Depends(current_user)]) -> Callable[[str], bool]:
    """``can_read(dag_id)``: whether this user may see the DAG's runs (what the page shows)."""

    def can_read(dag_id: str) -> bool:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import (
            DagAccessEntity,
            DagDetails,
        )

        return get_auth_manager().is_authorized_dag(
            method="GET",
            access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id),
            user=user,
        )

    return can_read


CanRead = Annotated[Callable[[str], bool], Depends(dag_reader)]


def _filters(
    quarter: str | None, review_type: str | None, can_read: Callable[[str], bool]
) -> tuple[str | None, list[str]]:
    """Validated quarter and the review types this user may read (400 on bad input)."""
    from infra_review.errors import InputError
    from infra_review.quarter import Quarter

    if review_type is not None and review_type not in REVIEW_DAGS:
        raise HTTPException(400, f"type must be one of {sorted(REVIEW_DAGS)}")
    try:
        quarter = str(Quarter.parse(quarter)) if quarter else None
    except InputError as exc:
        raise HTTPException(400, str(exc)) from exc
    wanted = [review_type] if review_type else list(REVIEW_DAGS)
    allowed = [t for t in wanted if can_read(REVIEW_DAGS[t])]
    if not allowed:
        raise HTTPException(403, "you may not read the review DAGs' runs")
    return quarter, allowed


def _decisions(quarter: str | None, review_types: list[str]) -> list[dict[str, Any]]:
    from infra_review.store.db import connect
    from infra_review.store.decisions import current_decisions

    with connect() as conn:
        if len(review_types) == 1:
            return current_decisions(conn, quarter, review_types[0])
        rows = current_decisions(conn, quarter, None)
    return [d for d in rows if d["review_type"] in review_types]


def _criteria_texts() -> dict[str, tuple[str, str]]:
    from infra_review.criteria.rules import load_criteria
    from infra_review.errors import InputError

    try:
        rules = load_criteria().rules
    except (InputError, OSError):
        return {}
    return {rid: (r.text_en, r.text_ru) for rid, r in rules.items()}


@app.get("/", response_class=HTMLResponse)
def decisions_page(
    request: Request,
    can_read: CanRead,
    quarter: Annotated[str | None, Query(description="for example 2026Q3")] = None,
    review_type: Annotated[
        str | None, Query(alias="type", description="capacity or provider")
    ] = None,
) -> HTMLResponse:
    """The page: current decisions, each with its criteria, DAG run and report links."""
    from infra_review.reporting.links import report_href
    from infra_review.reporting.page import render_page

    quarter, allowed = _filters(quarter, review_type, can_read)
    error, status, decisions = None, 200, []
    try:
        decisions = _decisions(quarter, allowed)
    except Exception as exc:  # the page says what is wrong instead of a bare 500
        error, status = f"Could not read the decisions database: {type(exc).__name__}: {exc}", 503
    html = render_page(
        decisions,
        texts=_criteria_texts(),
        report_href=report_href,
        quarter=quarter,
        review_type=review_type,
        base=request.scope.get("root_path", "").rstrip("/") or URL_PREFIX,
        error=error,
    )
    return HTMLResponse(html, status_code=status)


@app.get("/api/decisions")
def decisions_json(
    can_read: CanRead,
    quarter: str | None = None,
    review_type: Annotated[str | None, Query(alias="type")] = None,
) -> JSONResponse:
    """The same rows as JSON, with the report's URL path added."""
    import json

    from infra_review.reporting.links import dag_run_href, report_href

    quarter, allowed = _filters(quarter, review_type, can_read)
    rows = _decisions(quarter, allowed)
    for d in rows:
        d["report_href"] = report_href(d.get("report_path"))
        d["dag_run_href"] = dag_run_href(d.get("dag_id"), d.get("dag_run_id"))
    return JSONResponse(json.loads(json.dumps(rows, default=str)))


def _serve(root, path: str, csp: str | None) -> Response:
    from infra_review.reporting.files import NotFound, render_file, resolve_inside

    try:
        served = render_file(resolve_inside(root, path))
    except NotFound as exc:
        raise HTTPException(404, "not found") from exc
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    if csp:
        headers["Content-Security-Policy"] = csp
    return Response(served.body, media_type=served.media_type, headers=headers)


@app.get("/reports/{path:path}")
def report_file(path: str, can_read: CanRead) -> Response:
    """A file under ``<data dir>/reports``; its first folder is the review type."""
    from infra_review.reporting.links import reports_root

    review_type = path.split("/", 1)[0]
    if review_type not in REVIEW_DAGS:
        raise HTTPException(404, "not found")
    if not can_read(REVIEW_DAGS[review_type]):
        raise HTTPException(403, "you may not read this review's runs")
    return _serve(reports_root(), path, REPORT_CSP)


@app.get("/data-docs/{path:path}")
def data_docs_file(path: str, can_read: CanRead) -> Response:
    """A page of the Great Expectations Data Docs site."""
    from infra_review.reporting.links import data_docs_root

    if not can_read(DATA_DOCS_DAG):
        raise HTTPException(403, "you may not read the collection runs")
    return _serve(data_docs_root(), path, None)


class CapacityDecisionsPlugin(AirflowPlugin):
    """Registers the app with the API server and the page in the UI's navigation."""

    name = "capacity_decisions"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Capacity decisions"}]
    external_views = [
        {
            "name": "Capacity decisions",
            "href": f"{URL_PREFIX}/",
            "url_route": UI_ROUTE,
            "destination": "nav",
            "category": "browse",
        }
    ]
