"""Prometheus HTTP API (``/api/v1/query_range``): history for exactly [start, end).

Each canonical metric is a PromQL expression with a default that fits node_exporter and
blackbox_exporter, overridable per source in fleet.yaml, so a team changes queries without
code. Expressions are ``string.Template`` text (``${instance}``, ``${server}``,
``${rate_window}``, ``${probe_job}``, ``${n8n_job}`` and any ``vars``), because PromQL's own
braces would clash with ``str.format``.

Prometheus refuses more than 11,000 points per series in one query, so a long range is
split into pages of at most ``max_points`` steps. The evaluation times are
``start + k * step`` for ``start + k * step < end``: adjacent intervals never share a
timestamp, and a backfill of any past interval gets the same grid as the scheduled runs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from infra_review.collectors.common import (
    SourceUnavailable,
    empty_frame,
    http_credentials,
    seconds,
    with_retries,
)
from infra_review.errors import InputError

log = logging.getLogger(__name__)

MAX_POINTS = 11_000


@dataclass(frozen=True)
class Query:
    metric: str
    expr: str
    label: str | None = None  # a result label whose value becomes our ``label`` column
    label_value: str = ""  # or a constant label


DEFAULT_QUERIES: dict[str, Query] = {
    q.metric: q
    for q in (
        Query(
            "ram_used_pct",
            '100 * (1 - node_memory_MemAvailable_bytes{instance="${instance}"}'
            ' / node_memory_MemTotal_bytes{instance="${instance}"})',
        ),
        Query(
            "cpu_used_pct",
            "100 * (1 - avg by (instance) ("
            'rate(node_cpu_seconds_total{instance="${instance}",mode="idle"}[${rate_window}])))',
        ),
        Query(
            "swap_io_pages_per_s",
            'sum by (instance) (rate(node_vmstat_pswpin{instance="${instance}"}[${rate_window}])'
            ' + rate(node_vmstat_pswpout{instance="${instance}"}[${rate_window}]))',
        ),
        Query(
            "api_latency_s",
            'probe_duration_seconds{job="${probe_job}",server="${server}"}',
            label="instance",
        ),
        Query(
            "probe_up",
            'probe_success{job="${probe_job}",server="${server}"}',
            label="instance",
        ),
    )
}
# Collected only when listed (n8n exports them from its main instance with
# N8N_METRICS=true and N8N_METRICS_INCLUDE_QUEUE_METRICS=true).
OPTIONAL_QUERIES: dict[str, Query] = {
    "n8n_queue_waiting": Query(
        "n8n_queue_waiting",
        'sum(n8n_scaling_mode_queue_jobs_waiting{job="${n8n_job}"})',
        label_value="jobs",
    ),
    "n8n_queue_active": Query(
        "n8n_queue_active",
        'sum(n8n_scaling_mode_queue_jobs_active{job="${n8n_job}"})',
        label_value="jobs",
    ),
}


def step_seconds(source: dict[str, Any]) -> float:
    """The query step: ``step`` if set, else the server's scrape interval."""
    step = seconds(source.get("step"), source.get("scrape_interval_s", 60), "step")
    if step <= 0:
        raise InputError("step must be positive", field="step")
    return step


def queries(server: str, source: dict[str, Any]) -> list[Query]:
    """The source's metric queries with templates filled in; ``metrics`` in fleet.yaml
    overrides the defaults per metric (a string, ``{expr, label}``, true, or null to skip)."""
    from infra_review.metrics import METRICS

    step = step_seconds(source)
    variables = {
        "server": server,
        "instance": source.get("instance") or f"{server}:9100",
        "rate_window": f"{int(max(4 * step, 60))}s",
        "probe_job": "blackbox",
        "n8n_job": "n8n",
        **{str(k): str(v) for k, v in (source.get("vars") or {}).items()},
    }
    chosen: dict[str, Query] = dict(DEFAULT_QUERIES)
    configured = source.get("metrics") or {}
    if not isinstance(configured, dict):
        raise InputError("metrics must be a mapping: metric -> expr", field="metrics")
    for metric, spec in configured.items():
        if metric not in METRICS:
            raise InputError(
                f"unknown metric {metric!r}; known: {sorted(METRICS)}", field="metrics"
            )
        if spec is None or spec is False:
            chosen.pop(metric, None)
            continue
        base = DEFAULT_QUERIES.get(metric) or OPTIONAL_QUERIES.get(metric)
        if spec is True or spec == "default":
            if base is None:
                raise InputError(f"no default query for {metric}", field=f"metrics.{metric}")
            chosen[metric] = base
        elif isinstance(spec, str):
            chosen[metric] = Query(metric, spec)
        elif isinstance(spec, dict) and "expr" in spec:
            chosen[metric] = Query(
                metric,
                str(spec["expr"]),
                label=spec.get("label"),
                label_value=str(spec.get("label_value") or ""),
            )
        else:
            raise InputError(
                "expected an expression, {expr, label}, true or null", field=f"metrics.{metric}"
            )
    filled = []
    for q in chosen.values():
        try:
            expr = Template(q.expr).substitute(variables)
        except (KeyError, ValueError) as exc:
            raise InputError(
                f"template variable {exc} in the {q.metric} query is not defined; "
                f"known: {sorted(variables)} (add it under vars:)",
                field=f"metrics.{q.metric}",
            ) from exc
        filled.append(Query(q.metric, expr, q.label, q.label_value))
    return filled


def pages(
    start: datetime, end: datetime, step_s: float, max_points: int
) -> list[tuple[float, float]]:
    """(first, last) evaluation times, in epoch seconds, of pages of at most ``max_points``
    steps covering ``start + k*step < end``."""
    first = start.timestamp()
    count = math.ceil((end.timestamp() - first) / step_s)
    out = []
    for offset in range(0, max(count, 0), max_points):
        last_k = min(offset + max_points, count) - 1
        out.append((first + offset * step_s, first + last_k * step_s))
    return out


class PrometheusClient:
    """A thin ``query_range`` client with timeouts, auth and retries with backoff."""

    def __init__(self, source: dict[str, Any]) -> None:
        import requests

        url = source.get("url")
        if not url and source.get("conn_id"):
            from infra_review.collectors.common import airflow_connection

            conn = airflow_connection(str(source["conn_id"]))
            scheme = (conn.extra or {}).get("scheme", "http")
            url = f"{scheme}://{conn.host}:{conn.port or 9090}"
        if not url:
            raise InputError("a prometheus source needs url (or conn_id)", field="url")
        self.url = str(url).rstrip("/")
        self.timeout = seconds(source.get("timeout"), 30, "timeout")
        self.attempts = int(source.get("attempts", 4))
        self.backoff = seconds(source.get("backoff"), 2, "backoff")
        headers, basic = http_credentials(source)
        self.session = requests.Session()
        self.session.headers.update(headers)
        if basic:
            self.session.auth = basic
        self._requests = requests

    def query_range(self, expr: str, first: float, last: float, step: float) -> list[dict]:
        params = {"query": expr, "start": f"{first:.3f}", "end": f"{last:.3f}", "step": f"{step:g}"}
        requests = self._requests

        class Retryable(Exception):
            pass

        def call() -> list[dict]:
            try:
                response = self.session.post(
                    f"{self.url}/api/v1/query_range", data=params, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Retryable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code >= 500 or response.status_code == 429:
                raise Retryable(f"HTTP {response.status_code}: {response.text[:200]}")
            try:
                body = response.json()
            except ValueError as exc:
                raise SourceUnavailable(
                    f"Prometheus at {self.url} answered HTTP {response.status_code} "
                    f"without JSON: {response.text[:200]}"
                ) from exc
            if response.status_code != 200 or body.get("status") != "success":
                raise InputError(
                    f"Prometheus rejected the query ({response.status_code} "
                    f"{body.get('errorType')}): {body.get('error')}; query: {expr}"
                )
            for warning in body.get("warnings") or []:
                log.warning("Prometheus warning for %s: %s", expr, warning)
            data = body["data"]
            if data.get("resultType") != "matrix":
                raise InputError(f"expected a range vector result, got {data.get('resultType')}")
            return data["result"]

        return with_retries(
            f"Prometheus query_range at {self.url}",
            call,
            attempts=self.attempts,
            backoff_s=self.backoff,
            retry_on=(Retryable,),
        )


def collect(server: str, source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    """Every configured metric for [start, end) at ``step``, one row per evaluation time."""
    step = step_seconds(source)
    max_points = int(source.get("max_points", MAX_POINTS))
    if not 1 <= max_points <= MAX_POINTS:
        raise InputError(f"max_points must be in 1..{MAX_POINTS}", field="max_points")
    client = PrometheusClient(source)
    frames = []
    for q in queries(server, source):
        by_label: dict[str, list[dict]] = {}
        for first, last in pages(start, end, step, max_points):
            seen: set[str] = set()
            for series in client.query_range(q.expr, first, last, step):
                label = (series["metric"].get(q.label, "") if q.label else q.label_value) or ""
                if label in seen:
                    raise InputError(
                        f"the {q.metric} query returns several series with label {label!r}; "
                        "aggregate them in PromQL (sum by/max by) or choose another label: "
                        f"{q.expr}",
                        field=f"metrics.{q.metric}",
                    )
                seen.add(label)
                by_label.setdefault(label, []).append(series)
        for label, parts in by_label.items():
            values = [v for part in parts for v in part["values"]]
            if not values:
                continue
            ts_ms = np.round(np.array([float(v[0]) for v in values]) * 1000).astype("int64")
            frames.append(
                pd.DataFrame(
                    {
                        "ts": pd.to_datetime(ts_ms, unit="ms", utc=True).as_unit("us"),
                        "server": server,
                        "metric": q.metric,
                        "label": label,
                        # "NaN" and "+Inf" parse to floats: the quality gate quarantines them
                        "value": np.array([float(v[1]) for v in values], dtype="float64"),
                    }
                )
            )
    if not frames:
        return empty_frame()
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["ts"] < pd.Timestamp(end)].reset_index(drop=True)
