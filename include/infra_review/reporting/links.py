"""URLs for what the decisions page serves: review reports and the GX Data Docs.

Files on the Airflow host mean nothing to a person reading a task log in a browser (browsers
refuse ``file://`` links from web pages), so tasks log these URLs instead. The plugin under
``plugins/`` mounts its app at ``PLUGIN_PREFIX`` and serves exactly the two folders below.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PLUGIN_PREFIX = "/capacity-decisions"
UI_ROUTE = "capacity-decisions"  # the Airflow UI page: /plugin/capacity-decisions


def reports_root() -> Path:
    """Where reviews write their reports: ``<data dir>/reports``."""
    from infra_review.settings import data_dir

    return data_dir() / "reports"


def report_dir(review_type: str, quarter: str, run_key: str) -> Path:
    """Where one review run writes its report: ``reports/<type>/<quarter>/<run>``, the run
    key made safe as one path segment (a DAG run id holds ``:`` and ``+``)."""
    segment = re.sub(r"[^A-Za-z0-9._-]+", "_", run_key).strip("_.")[:80] or "run"
    return reports_root() / review_type / quarter / segment


def data_docs_root() -> Path:
    """The GX Data Docs static site (``INFRA_REVIEW_DATA_DOCS`` or ``$AIRFLOW_HOME/gx_data_docs``)."""
    from infra_review.settings import data_docs_dir

    return data_docs_dir()


def ui_base_url() -> str:
    """The Airflow UI's address: ``[api] base_url`` if set, else host and port of the API server."""
    base = os.environ.get("AIRFLOW__API__BASE_URL", "").strip()
    if base:
        return base.rstrip("/")
    host = os.environ.get("AIRFLOW__API__HOST", "").strip() or "localhost"
    if host in ("0.0.0.0", "::"):
        host = "localhost"
    port = os.environ.get("AIRFLOW__API__PORT", "").strip() or "8080"
    return f"http://{host}:{port}"


def _relative(path: str | Path, root: Path) -> str | None:
    """``path`` relative to ``root`` as a URL path, or None when it is not inside ``root``."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        rel = candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return quote(rel.as_posix()) if rel.parts else None


def report_href(report_path: str | None, root: Path | None = None) -> str | None:
    """Path (below the site root) of a stored report, or None if it is not in the reports folder."""
    if not report_path:
        return None
    rel = _relative(report_path, root or reports_root())
    return f"{PLUGIN_PREFIX}/reports/{rel}" if rel else None


def data_docs_href(url_or_path: str | None, root: Path | None = None) -> str | None:
    """Path of a Data Docs page given its ``file://`` URL or its file path."""
    if not url_or_path:
        return None
    path = url_or_path
    if url_or_path.startswith("file://"):
        path = unquote(urlsplit(url_or_path).path)
    rel = _relative(path, root or data_docs_root())
    return f"{PLUGIN_PREFIX}/data-docs/{rel}" if rel else None


def report_url(report_path: str | None, base: str | None = None) -> str | None:
    """Absolute URL of a report, for a task log line."""
    href = report_href(report_path)
    return f"{base or ui_base_url()}{href}" if href else None


def data_docs_url(url_or_path: str | None, base: str | None = None) -> str | None:
    """Absolute URL of a Data Docs page, for a task log line."""
    href = data_docs_href(url_or_path)
    return f"{base or ui_base_url()}{href}" if href else None


def decisions_page_url(base: str | None = None) -> str:
    """The "Capacity decisions" page inside the Airflow UI."""
    return f"{base or ui_base_url()}/plugin/{UI_ROUTE}"


def dag_run_href(dag_id: str | None, dag_run_id: str | None) -> str | None:
    """The Airflow 3 UI page of a DAG run."""
    if not dag_id or not dag_run_id:
        return None
    return f"/dags/{quote(dag_id, safe='')}/runs/{quote(dag_run_id, safe='')}"
