"""Prometheus HTTP API (``/api/v1/query_range``): the real samples of [start, end).

Each canonical metric is a PromQL expression with a default that fits node_exporter and
blackbox_exporter, overridable per source in fleet.yaml, so a team changes queries without
code. Expressions are ``string.Template`` text (``${instance}``, ``${server}``,
``${rate_window}``, ``${probe_job}``, ``${n8n_job}`` and any ``vars``), because PromQL's own
braces would clash with ``str.format``.

Only real samples are stored. ``query_range`` fills every step from the newest sample in its
5-minute lookback, so a hole of up to 5 minutes, the minutes after a target died, and a
window reaching into the future all come back as repeats. Each query therefore has a
``sample`` twin, ``timestamp()`` of the series it reads, evaluated on the same steps: a
point is kept once, at its sample's own time, and a step without a sample time is dropped.
A window ending after ``clock.now()`` is refused.

Prometheus refuses more than 11,000 points per series in one query, so a long range is
split into pages of at most ``max_points`` steps on the grid ``start + k * step``; the grid
runs one step past ``end`` so a sample just before ``end`` is seen, and a sample belongs to
the interval that holds its own time, so adjacent intervals never share one.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    # PromQL giving each step's real sample time: ``timestamp()`` of the series the
    # expression reads (``timestamp`` of anything but a bare selector is the step itself)
    sample: str = ""


DEFAULT_QUERIES: dict[str, Query] = {
    q.metric: q
    for q in (
        Query(
            "ram_used_pct",
            '100 * (1 - node_memory_MemAvailable_bytes{instance="${instance}"}'
            ' / node_memory_MemTotal_bytes{instance="${instance}"})',
            sample='timestamp(node_memory_MemAvailable_bytes{instance="${instance}"})',
        ),
        Query(
            "cpu_used_pct",
            "100 * (1 - avg by (instance) ("
            'rate(node_cpu_seconds_total{instance="${instance}",mode="idle"}[${rate_window}])))',
            sample='timestamp(node_cpu_seconds_total{instance="${instance}",mode="idle"})',
        ),
        Query(
            "swap_io_pages_per_s",
            'sum by (instance) (rate(node_vmstat_pswpin{instance="${instance}"}[${rate_window}])'
            ' + rate(node_vmstat_pswpout{instance="${instance}"}[${rate_window}]))',
            sample='timestamp(node_vmstat_pswpin{instance="${instance}"})',
        ),
        Query(
            "api_latency_s",
            'probe_duration_seconds{job="${probe_job}",server="${server}"}',
            label="instance",
            sample='timestamp(probe_duration_seconds{job="${probe_job}",server="${server}"})',
        ),
        Query(
            "probe_up",
            'probe_success{job="${probe_job}",server="${server}"}',
            label="instance",
            sample='timestamp(probe_success{job="${probe_job}",server="${server}"})',
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
        sample='timestamp(n8n_scaling_mode_queue_jobs_waiting{job="${n8n_job}"})',
    ),
    "n8n_queue_active": Query(
        "n8n_queue_active",
        'sum(n8n_scaling_mode_queue_jobs_active{job="${n8n_job}"})',
        label_value="jobs",
        sample='timestamp(n8n_scaling_mode_queue_jobs_active{job="${n8n_job}"})',
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
            chosen[metric] = Query(metric, spec, sample=sample_of(metric, spec, None))
        elif isinstance(spec, dict) and "expr" in spec:
            chosen[metric] = Query(
                metric,
                str(spec["expr"]),
                label=spec.get("label"),
                label_value=str(spec.get("label_value") or ""),
                sample=sample_of(metric, str(spec["expr"]), spec.get("sample")),
            )
        else:
            raise InputError(
                "expected an expression, {expr, label, sample}, true or null",
                field=f"metrics.{metric}",
            )
    filled = []
    for q in chosen.values():
        try:
            expr = Template(q.expr).substitute(variables)
            sample = Template(q.sample).substitute(variables)
        except (KeyError, ValueError) as exc:
            raise InputError(
                f"template variable {exc} in the {q.metric} query is not defined; "
                f"known: {sorted(variables)} (add it under vars:)",
                field=f"metrics.{q.metric}",
            ) from exc
        filled.append(Query(q.metric, expr, q.label, q.label_value, sample))
    return filled


# a bare vector selector, template variables (``${server}``) allowed in its matchers
_SELECTOR = re.compile(r"^\s*[A-Za-z_:][A-Za-z0-9_:]*\s*(\{(?:[^{}]|\$\{\w+\})*\})?\s*$")


def sample_of(metric: str, expr: str, sample: Any) -> str:
    """The sample-time query of a configured expression: ``sample`` if given, else
    ``timestamp(expr)`` for a bare selector. Any other expression needs ``sample``, because
    Prometheus stamps a computed value with the step time, which hides lookback repeats."""
    if sample:
        return str(sample)
    if _SELECTOR.match(expr):
        return f"timestamp({expr.strip()})"
    raise InputError(
        "a computed expression needs sample: the timestamp() of the series it reads, for "
        'example timestamp(node_memory_MemAvailable_bytes{instance="${instance}"}), so '
        "only real samples are stored",
        field=f"metrics.{metric}.sample",
    )


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


def _points(results: list[dict], key_of) -> dict[str, dict[float, float]]:
    """Per key: evaluation time -> value, over several pages' results."""
    out: dict[str, dict[float, float]] = {}
    for series in results:
        points = out.setdefault(key_of(series["metric"]), {})
        for t, v in series["values"]:
            points[float(t)] = float(v)
    return out


def real_samples(
    values: dict[float, float], sample_times: dict[float, float], start: float, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """(sample time in ms, value) of each real sample with ``start <= time < end``.

    A step whose sample time is missing (the series went stale) gives nothing; a step that
    repeats an earlier step's sample time is a lookback repeat and is dropped, so each sample
    is stored once, at its own time, with the value of the first step that saw it.
    """
    steps = sorted(t for t in values if t in sample_times)
    seen: set[int] = set()
    ts_ms, out = [], []
    for t in steps:
        real = int(round(sample_times[t] * 1000))
        if real in seen or not start * 1000 <= real < end * 1000:
            continue
        seen.add(real)
        ts_ms.append(real)
        out.append(values[t])
    return np.array(ts_ms, dtype="int64"), np.array(out, dtype="float64")


def check_window(end: datetime, now: datetime | None = None) -> None:
    """Refuse a window that ends after now: Prometheus would answer the future with the last
    value repeated for up to 5 minutes, and those steps are not samples."""
    from infra_review import clock

    now = now or clock.now()
    if end > now:
        raise InputError(
            f"the window ends at {end.isoformat()}, after now ({now.isoformat()}); "
            "collect only up to the present",
            field="end",
        )


def collect(server: str, source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    """Every configured metric's real samples in [start, end), each at its own timestamp.

    Each page asks for the expression and for its sample times (``Query.sample``) on the
    same step grid, which runs one step past ``end`` so a sample just before ``end`` is seen
    in its own interval. Lookback repeats and points after a series went stale are dropped.
    """
    check_window(end)
    step = step_seconds(source)
    max_points = int(source.get("max_points", MAX_POINTS))
    if not 1 <= max_points <= MAX_POINTS:
        raise InputError(f"max_points must be in 1..{MAX_POINTS}", field="max_points")
    client = PrometheusClient(source)
    grid = pages(start, end + timedelta(seconds=step), step, max_points)
    frames = []
    for q in queries(server, source):

        def key_of(labels: dict, q: Query = q) -> str:
            return (labels.get(q.label, "") if q.label else q.label_value) or ""

        value_parts, sample_parts = [], []
        for first, last in grid:
            page = client.query_range(q.expr, first, last, step)
            keys = [key_of(series["metric"]) for series in page]
            if len(set(keys)) != len(keys):
                raise InputError(
                    f"the {q.metric} query returns several series with the same label; "
                    "aggregate them in PromQL (sum by/max by) or choose another label: "
                    f"{q.expr}",
                    field=f"metrics.{q.metric}",
                )
            value_parts += page
            sample_parts += client.query_range(q.sample, first, last, step)
        values = _points(value_parts, key_of)
        times: dict[str, dict[float, float]] = {}
        for series in sample_parts:  # several series per key: the newest sample time wins
            points = times.setdefault(key_of(series["metric"]), {})
            for t, v in series["values"]:
                points[float(t)] = max(float(v), points.get(float(t), float("-inf")))
        for label, by_step in values.items():
            sample_times = times.get(label, times.get("", {}) if len(times) == 1 else {})
            ts_ms, vals = real_samples(by_step, sample_times, start.timestamp(), end.timestamp())
            if not len(ts_ms):
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "ts": pd.to_datetime(ts_ms, unit="ms", utc=True).as_unit("us"),
                        "server": server,
                        "metric": q.metric,
                        "label": label,
                        # "NaN" and "+Inf" parse to floats: the quality gate quarantines them
                        "value": vals,
                    }
                )
            )
    if not frames:
        return empty_frame()
    return pd.concat(frames, ignore_index=True)
