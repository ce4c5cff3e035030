"""What the collectors share: the empty frame, the snapshot rule, durations, credentials and
retries with backoff.

Credentials are never values in fleet.yaml: a source names an environment variable
(``*_env``) or an Airflow connection (``conn_id``), and the value is read at run time.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import pandas as pd

from infra_review import clock
from infra_review.errors import InputError

log = logging.getLogger(__name__)

SAMPLE_COLUMNS = ["ts", "server", "metric", "label", "value"]
# A snapshot source (Redis, probes, psutil) can only see the present: a run whose interval
# ended longer ago than this (a backfill) returns nothing instead of stamping today's value
# on the past.
STALE_AFTER = timedelta(minutes=15)
T = TypeVar("T")


class SourceUnavailable(RuntimeError):
    """A source could not be reached after its retries; the task fails visibly."""


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.Series([], dtype="datetime64[us, UTC]"),
            "server": pd.Series([], dtype=str),
            "metric": pd.Series([], dtype=str),
            "label": pd.Series([], dtype=str),
            "value": pd.Series([], dtype="float64"),
        }
    )


def seconds(value: Any, default: float, field: str = "duration") -> float:
    """``30``, ``"30s"``, ``"5m"`` -> seconds; ``None`` -> ``default``."""
    if value is None:
        return float(default)
    if isinstance(value, int | float):
        return float(value)
    from infra_review.criteria.rules import parse_duration

    try:
        return parse_duration(value).total_seconds()
    except InputError as exc:
        raise InputError(exc.reason, field=field) from exc


def snapshot_is_stale(end: datetime, now: datetime | None = None) -> bool:
    """True when [start, end) is too far in the past for a present-time reading."""
    return (now or clock.now()) - end > STALE_AFTER


def snapshot_frame(server: str, end: datetime, rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Rows (metric, label, value) stamped with the interval's end, which keys the run."""
    if not rows:
        return empty_frame()
    ts = pd.Timestamp(end).tz_convert("UTC")
    return pd.DataFrame(
        {
            "ts": pd.Series([ts] * len(rows), dtype="datetime64[us, UTC]"),
            "server": server,
            "metric": [r[0] for r in rows],
            "label": [r[1] for r in rows],
            "value": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )


def env_value(name: str | None, *, field: str) -> str | None:
    """The value of the environment variable ``name``; a named but unset variable is an error,
    because silently sending no credentials gives a confusing 401 later."""
    if not name:
        return None
    value = os.environ.get(str(name))
    if value is None:
        raise InputError(f"environment variable {name} is not set", field=field)
    return value


@dataclass(frozen=True)
class ConnectionInfo:
    """The parts of an Airflow connection a collector uses."""

    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra: dict[str, Any] | None = None
    uri: str | None = None


def airflow_connection(conn_id: str) -> ConnectionInfo:
    """An Airflow connection by id: from ``AIRFLOW_CONN_<ID>`` (URI or JSON) without importing
    Airflow, else from Airflow's own lookup (secrets backends, metadata DB) when available."""
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw:
        raw = raw.strip()
        if raw.startswith("{"):
            doc = json.loads(raw)
            extra = doc.get("extra") or {}
            return ConnectionInfo(
                host=doc.get("host"),
                port=int(doc["port"]) if doc.get("port") else None,
                login=doc.get("login"),
                password=doc.get("password"),
                schema=doc.get("schema"),
                extra=json.loads(extra) if isinstance(extra, str) else extra,
            )
        parts = urlsplit(raw)
        from urllib.parse import parse_qsl

        return ConnectionInfo(
            host=parts.hostname,
            port=parts.port,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=parts.path.lstrip("/") or None,
            extra=dict(parse_qsl(parts.query)),
            uri=raw,
        )
    try:
        from airflow.sdk import Connection
    except ImportError as exc:  # pragma: no cover - only without Airflow installed
        raise InputError(f"Airflow connection {conn_id!r} not found", field="conn_id") from exc
    try:
        conn = Connection.get(conn_id)
    except Exception as exc:
        raise InputError(
            f"Airflow connection {conn_id!r} not found: {exc}", field="conn_id"
        ) from exc
    return ConnectionInfo(
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=conn.extra_dejson,
        uri=conn.get_uri(),
    )


def with_retries(
    what: str,
    func: Callable[[], T],
    *,
    attempts: int,
    backoff_s: float,
    retry_on: tuple[type[BaseException], ...],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``func``; on ``retry_on`` wait backoff, 2*backoff, ... and try again, up to
    ``attempts`` calls in all; then raise SourceUnavailable naming the last error."""
    last: BaseException | None = None
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return func()
        except retry_on as exc:
            last = exc
            if attempt < attempts:
                delay = backoff_s * 2 ** (attempt - 1)
                log.warning(
                    "%s failed (attempt %d/%d): %s; retrying in %.1f s",
                    what,
                    attempt,
                    attempts,
                    exc,
                    delay,
                )
                sleep(delay)
    raise SourceUnavailable(f"{what} failed after {attempts} attempt(s): {last}") from last


def http_credentials(
    source: dict[str, Any], field: str = "auth"
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Headers and basic auth for an HTTP source, from env vars or an Airflow connection.

    ``auth: {bearer_token_env: NAME, basic: {username: u, password_env: NAME},
    headers_env: {Header-Name: NAME}}``; ``conn_id: id`` adds the connection's login and
    password (basic auth) and ``extra.headers`` / ``extra.bearer_token``.
    """
    headers: dict[str, str] = {}
    basic: tuple[str, str] | None = None
    conn_id = source.get("conn_id")
    if conn_id:
        conn = airflow_connection(str(conn_id))
        extra = conn.extra or {}
        extra_headers = extra.get("headers") or {}
        if isinstance(extra_headers, str):
            extra_headers = json.loads(extra_headers)
        headers.update({str(k): str(v) for k, v in extra_headers.items()})
        if extra.get("bearer_token"):
            headers["Authorization"] = f"Bearer {extra['bearer_token']}"
        if conn.login:
            basic = (conn.login, conn.password or "")
    auth = source.get(field) or {}
    if not isinstance(auth, dict):
        raise InputError("auth must be a mapping of *_env names", field=field)
    token = env_value(auth.get("bearer_token_env"), field=f"{field}.bearer_token_env")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for header, env_name in (auth.get("headers_env") or {}).items():
        headers[str(header)] = env_value(env_name, field=f"{field}.headers_env.{header}") or ""
    basic_cfg = auth.get("basic")
    if basic_cfg:
        user = basic_cfg.get("username") or env_value(
            basic_cfg.get("username_env"), field=f"{field}.basic.username_env"
        )
        password = env_value(basic_cfg.get("password_env"), field=f"{field}.basic.password_env")
        basic = (str(user or ""), password or "")
    for key in ("bearer_token", "password", "token"):
        if key in auth:
            raise InputError(
                f"put secrets in an environment variable ({key}_env) or an Airflow connection, "
                "not in fleet.yaml",
                field=f"{field}.{key}",
            )
    return headers, basic
