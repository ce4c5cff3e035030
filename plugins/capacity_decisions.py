"""Airflow 3 plugin: a "Capacity decisions" page in the Airflow UI.

A FastAPI app mounted by the API server at ``/capacity-decisions`` and an external view that
shows it inside the UI at ``/plugin/capacity-decisions``. It lists the current decision
records with their criteria (through ``infra_review.store.decisions.current_decisions``, the
function the CLI uses) and serves the review reports and the GX Data Docs from the Airflow
host, so the links in the page and in the task logs open in a browser.

Airflow does not authenticate a plugin's routes (a mounted app inherits none of the core API's
dependencies), so every route here checks the caller's Airflow session itself: the JWT in the
``Authorization`` header or the UI's ``_token`` cookie, then read access to the review's DAG.

What it serves may hold values from exports and Prometheus labels, so every answer is
``nosniff`` with a Content-Security-Policy: the page runs only its own script (by hash),
reports run none, and GX Data Docs, which write such values unescaped, are sandboxed
(docs/threat-model.md).

Every project and Airflow-internal import is inside a function: plugin modules are imported by
every Airflow component, and only the API server needs any of this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from infra_review.reporting.web_app import secured_app

URL_PREFIX = "/capacity-decisions"  # = infra_review.reporting.links.PLUGIN_PREFIX (a test checks)
UI_ROUTE = "capacity-decisions"
log = logging.getLogger(__name__)
REVIEW_DAGS = {"capacity": "capacity_review", "provider": "provider_review"}
DATA_DOCS_DAG = "collect_metrics"
# Every response is nosniff and framed by nobody but the Airflow UI (same origin), which
# shows the page and the reports in its plugin iframe.
# Reports are our own files and run no script; plots are data: URIs inside them.
REPORT_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
# Data Docs are GX's static site, and GX writes quarantined values (a server name or label from
# an export or a Prometheus label) into its HTML unescaped: nothing in them may run. `sandbox`
# gives the page an opaque origin (no script, no forms, no Airflow cookies), `default-src
# 'none'` blocks every script and request; only GX's stylesheets from its CDNs may load.
# They open from task logs and quality results, never inside the UI: no framing at all.
DATA_DOCS_STYLE_HOSTS = (
    "https://maxcdn.bootstrapcdn.com https://cdn.jsdelivr.net https://cdnjs.cloudflare.com "
    "https://unpkg.com"
)
DATA_DOCS_CSP = (
    f"sandbox; default-src 'none'; style-src 'unsafe-inline' {DATA_DOCS_STYLE_HOSTS}; "
    "font-src https://cdnjs.cloudflare.com; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
DB_ERROR = (
    "Could not read the decisions database right now. The API server's log has the details; "
    "try again later or ask the administrator."
)

app = secured_app(  # nosniff everywhere; a no-script policy wherever a route sets none
    "Capacity decisions", "Current decision records, review reports and Data Docs of infra-review."
)


def _wants_page(request: Request) -> bool:
    """A browser opening a page (not the JSON API, not a script): send it to the login."""
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and "text/html" in accept
        and not request.url.path.rstrip("/").endswith("/api/decisions")
    )


def _login_redirect(request: Request) -> HTTPException:
    """A redirect to Airflow's login that comes back to this page after it."""
    from airflow.api_fastapi.app import get_auth_manager

    here, root = request.url.path, request.scope.get("root_path", "").rstrip("/")
    if root and not here.startswith(root + "/"):  # mounted apps keep the prefix in the path
        here = root + here
    here += f"?{request.url.query}" if request.url.query else ""
    login = get_auth_manager().get_url_login(next_url=here)
    return HTTPException(307, "Not authenticated: log in first", headers={"Location": login})


async def current_user(request: Request) -> Any:
    """The Airflow user of this request; 401 without a session (a browser opening a page is
    redirected to the login instead), 403 with a bad token."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    try:
        return await resolve_user_from_token(token or request.cookies.get(COOKIE_NAME_JWT_TOKEN))
    except HTTPException as exc:
        if exc.status_code == 401 and _wants_page(request):
            raise _login_redirect(request) from exc
        raise


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


class DatabaseUnavailable(RuntimeError):
    """The decisions database failed; the detail is in the log, never shown to a reader."""


def _decisions(quarter: str | None, review_types: list[str]) -> list[dict[str, Any]]:
    try:
        return _read_decisions(quarter, review_types)
    except Exception as exc:
        # host, port, role and SQL belong in the server's log, not in a reader's browser
        log.exception("capacity decisions: could not read the decisions database")
        raise DatabaseUnavailable(DB_ERROR) from exc


def _read_decisions(quarter: str | None, review_types: list[str]) -> list[dict[str, Any]]:
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
    from infra_review.reporting.page import PAGE_CSP, render_page

    quarter, allowed = _filters(quarter, review_type, can_read)
    error, status, decisions = None, 200, []
    try:
        decisions = _decisions(quarter, allowed)
    except DatabaseUnavailable as exc:  # a generic message; the detail went to the log
        error, status = str(exc), 503
    html = render_page(
        decisions,
        texts=_criteria_texts(),
        report_href=report_href,
        quarter=quarter,
        review_type=review_type,
        base=request.scope.get("root_path", "").rstrip("/") or URL_PREFIX,
        error=error,
    )
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


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
    try:
        rows = _decisions(quarter, allowed)
    except DatabaseUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc
    for d in rows:
        d["report_href"] = report_href(d.get("report_path"))
        d["dag_run_href"] = dag_run_href(d.get("dag_id"), d.get("dag_run_id"))
    return JSONResponse(json.loads(json.dumps(rows, default=str)))


def _serve(root, path: str, csp: str) -> Response:
    from infra_review.reporting.files import NotFound, render_file, resolve_inside

    try:
        served = render_file(resolve_inside(root, path))
    except NotFound as exc:
        raise HTTPException(404, "not found") from exc
    headers = {"Content-Security-Policy": csp, "Cache-Control": "no-store"}
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
    response = _serve(reports_root(), path, REPORT_CSP)
    return _mark_superseded(response, reports_root() / path)


def _mark_superseded(response: Response, file) -> Response:
    """A report whose run was superseded gets a banner linking to the current report."""
    if response.media_type != "text/html":
        return response
    from infra_review.reporting.superseded import banner, current_report, with_banner
    from infra_review.store.db import connect

    try:
        with connect() as conn:
            current = current_report(conn, file)
    except Exception:  # noqa: BLE001 - the report itself is still worth serving
        log.exception("capacity decisions: could not check whether a report is superseded")
        return response
    if current is None:
        return response
    body = with_banner(response.body, banner(current))
    keep = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(body, media_type=response.media_type, headers=keep)


@app.get("/data-docs/{path:path}")
def data_docs_file(path: str, can_read: CanRead) -> Response:
    """A page of the Great Expectations Data Docs site."""
    from infra_review.reporting.links import data_docs_root

    if not can_read(DATA_DOCS_DAG):
        raise HTTPException(403, "you may not read the collection runs")
    if path == "index.html":  # GX's index lists its pages with script, which may not run
        from infra_review.reporting.files import data_docs_index

        html = data_docs_index(data_docs_root())
        headers = {"Content-Security-Policy": DATA_DOCS_CSP, "Cache-Control": "no-store"}
        return HTMLResponse(html, headers=headers)
    return _serve(data_docs_root(), path, DATA_DOCS_CSP)


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
