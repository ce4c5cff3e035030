"""Prometheus HTTP API (``/api/v1/query_range``): the real samples of [start, end).

Each canonical metric is a PromQL expression with a default that fits node_exporter and
blackbox_exporter, overridable per source in fleet.yaml, so a team changes queries without
code. Expressions are ``string.Template`` text (``${instance}``, ``${server}``,
``${rate_window}``, ``${probe_job}``, ``${n8n_job}`` and any ``vars``), because PromQL's own
braces would clash with ``str.format``.

Only real samples are stored. ``query_range`` fills every step from the newest sample in its
5-minute lookback, so a hole of up to 5 minutes, the minutes after a target died, and a
window reaching into the future all come back as repeats. Each query therefore names its
``sample`` selector, the series it reads, and the page also fetches that selector's raw
samples (a range-vector query, so their own timestamps): a point is kept once, at its
sample's own time, and a step with no sample within the lookback is dropped. (PromQL's
``timestamp()`` would say the same, but Prometheus 2.42 evaluates it some 50 times slower.)
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
LOOKBACK_S = 300.0  # Prometheus's --query.lookback-delta (5m by default); ``lookback`` overrides


@dataclass(frozen=True)
class Query:
    metric: str
    expr: str
    label: str | None = None  # a result label whose value becomes our ``label`` column
    label_value: str = ""  # or a constant label
    # the vector selector whose raw samples the expression reads: their own timestamps say
    # which steps hold a real sample (a computed value is stamped with the step time)
    sample: str = ""


DEFAULT_QUERIES: dict[str, Query] = {
    q.metric: q
    for q in (
        Query(
            "ram_used_pct",
            '100 * (1 - node_memory_MemAvailable_bytes{instance="${instance}"}'
            ' / node_memory_MemTotal_bytes{instance="${instance}"})',
            sample='node_memory_MemAvailable_bytes{instance="${instance}"}',
        ),
        Query(
            "cpu_used_pct",
            "100 * (1 - avg by (instance) ("
            'rate(node_cpu_seconds_total{instance="${instance}",mode="idle"}[${rate_window}])))',
            sample='node_cpu_seconds_total{instance="${instance}",mode="idle"}',
        ),
        Query(
            "swap_io_pages_per_s",
            'sum by (instance) (rate(node_vmstat_pswpin{instance="${instance}"}[${rate_window}])'
            ' + rate(node_vmstat_pswpout{instance="${instance}"}[${rate_window}]))',
            sample='node_vmstat_pswpin{instance="${instance}"}',
        ),
        Query(
            "api_latency_s",
            'probe_duration_seconds{job="${probe_job}",server="${server}"}',
            label="instance",
            sample='probe_duration_seconds{job="${probe_job}",server="${server}"}',
        ),
        Query(
            "probe_up",
            'probe_success{job="${probe_job}",server="${server}"}',
            label="instance",
            sample='probe_success{job="${probe_job}",server="${server}"}',
        ),
    )
}
# Collected only when listed (n8n exports them from its main instance with
# N8N_METRICS=true and N8N_METRICS_INCLUDE_QUEUE_METRICS=true). n8n's active count is Bull's
# getJobCounts().active, which keeps counting a dead worker's jobs: only the n8n_redis source
# (lock keys) tells stalled jobs from live ones.
OPTIONAL_QUERIES: dict[str, Query] = {
    "n8n_queue_waiting": Query(
        "n8n_queue_waiting",
        'sum(n8n_scaling_mode_queue_jobs_waiting{job="${n8n_job}"})',
        label_value="jobs",
        sample='n8n_scaling_mode_queue_jobs_waiting{job="${n8n_job}"}',
    ),
    "n8n_queue_active": Query(
        "n8n_queue_active",
        'sum(n8n_scaling_mode_queue_jobs_active{job="${n8n_job}"})',
        label_value="jobs",
        sample='n8n_scaling_mode_queue_jobs_active{job="${n8n_job}"}',
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
    """The selector whose raw samples time a configured expression: ``sample`` if given, else
    the expression itself when it is a bare selector. Any other expression needs ``sample``,
    because Prometheus stamps a computed value with the step time, hiding lookback repeats."""
    if sample:
        if not _SELECTOR.match(str(sample)):
            raise InputError(
                f'sample must be a vector selector such as name{{label="value"}}, got {sample!r}',
                field=f"metrics.{metric}.sample",
            )
        return str(sample).strip()
    if _SELECTOR.match(expr):
        return expr.strip()
    raise InputError(
        "a computed expression needs sample: the selector of the series it reads, for "
        'example node_memory_MemAvailable_bytes{instance="${instance}"}, so only real '
        "samples are stored",
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
        """``expr`` evaluated at ``first, first + step, ... last``."""
        params = {"query": expr, "start": f"{first:.3f}", "end": f"{last:.3f}", "step": f"{step:g}"}
        return self._matrix("query_range", params)

    def raw_samples(self, selector: str, first: float, last: float, lookback: float) -> list[dict]:
        """The stored samples of ``selector`` from ``first - lookback`` to ``last``, with their
        own timestamps (a range-vector instant query: raw data, no lookback filling)."""
        span = max(math.ceil(last - first + lookback), 1)
        return self._matrix("query", {"query": f"{selector}[{span}s]", "time": f"{last:.3f}"})

    def _matrix(self, endpoint: str, params: dict[str, str]) -> list[dict]:
        requests = self._requests
        expr = params["query"]

        class Retryable(Exception):
            pass

        def call() -> list[dict]:
            try:
                response = self.session.post(
                    f"{self.url}/api/v1/{endpoint}", data=params, timeout=self.timeout
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
            f"Prometheus {endpoint} at {self.url}",
            call,
            attempts=self.attempts,
            backoff_s=self.backoff,
            retry_on=(Retryable,),
        )


def real_samples(
    steps: np.ndarray,
    values: np.ndarray,
    raw: np.ndarray,
    start: float,
    end: float,
    lookback: float = LOOKBACK_S,
) -> tuple[np.ndarray, np.ndarray]:
    """(sample time in ms, value) of each real sample with ``start <= time < end``.

    ``steps``/``values`` are the expression's evaluations (sorted by step), ``raw`` the
    times of the samples it reads. A step's sample is the newest raw sample within the
    lookback; a step without one gives nothing, and a step whose sample an earlier step
    already gave is a lookback repeat. So each sample is kept once, at its own time, with the
    value of the first step that saw it.
    """
    raw = np.unique(raw)
    if not len(raw) or not len(steps):
        return np.empty(0, "int64"), np.empty(0, "float64")
    index = np.searchsorted(raw, steps, side="right") - 1
    seen = raw[np.clip(index, 0, None)]
    ok = (index >= 0) & (steps - seen < lookback)
    seen, vals = seen[ok], values[ok]
    first = np.r_[True, seen[1:] != seen[:-1]] if len(seen) else np.empty(0, bool)
    keep = first & (seen >= start) & (seen < end)
    return np.round(seen[keep] * 1000).astype("int64"), vals[keep].astype("float64")


def samples_in(
    times: np.ndarray, values: np.ndarray, start: datetime, end: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Raw samples with ``start <= time < end``, once each (pages overlap by the lookback)."""
    ts_ms = np.round(times * 1000).astype("int64")
    ts_ms, first = np.unique(ts_ms, return_index=True)
    keep = (ts_ms >= round(start.timestamp() * 1000)) & (ts_ms < round(end.timestamp() * 1000))
    return ts_ms[keep], values[first][keep].astype("float64")


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

    Each page asks for the expression on the step grid, which runs one step past ``end`` so
    a sample just before ``end`` is seen in its own interval, and for the raw samples of its
    ``sample`` selector. Lookback repeats and points after a series stopped are dropped.
    """
    check_window(end)
    step = step_seconds(source)
    max_points = int(source.get("max_points", MAX_POINTS))
    if not 1 <= max_points <= MAX_POINTS:
        raise InputError(f"max_points must be in 1..{MAX_POINTS}", field="max_points")
    lookback = seconds(source.get("lookback"), LOOKBACK_S, "lookback")
    client = PrometheusClient(source)
    grid = pages(start, end + timedelta(seconds=step), step, max_points)
    frames = []
    for q in queries(server, source):

        def key_of(labels: dict, q: Query = q) -> str:
            return (labels.get(q.label, "") if q.label else q.label_value) or ""

        # a bare selector is its own sample series: its raw samples are the answer, exact
        # whatever the step (two samples in one step would otherwise keep only the newer)
        direct = q.expr.strip() == q.sample.strip()
        values: dict[str, list[np.ndarray]] = {}
        raw: dict[str, list[np.ndarray]] = {}
        for first, last in grid:
            samples = client.raw_samples(q.sample, first, last, lookback)
            page = samples if direct else client.query_range(q.expr, first, last, step)
            keys = [key_of(series["metric"]) for series in page]
            if len(set(keys)) != len(keys):
                raise InputError(
                    f"the {q.metric} query returns several series with the same label; "
                    "aggregate them in PromQL (sum by/max by) or choose another label: "
                    f"{q.expr}",
                    field=f"metrics.{q.metric}",
                )
            for key, series in zip(keys, page, strict=True):
                values.setdefault(key, []).append(np.array(series["values"], dtype="float64"))
            if direct:
                continue
            # several series per key (one per CPU): any of them holds a sample
            for series in samples:
                times = np.array([float(t) for t, _ in series["values"]], dtype="float64")
                raw.setdefault(key_of(series["metric"]), []).append(times)
        for label, parts in values.items():
            table = np.concatenate(parts)
            if direct:
                ts_ms, vals = samples_in(table[:, 0], table[:, 1], start, end)
            else:
                times = raw.get(label, raw.get("", []) if len(raw) == 1 else [])
                ts_ms, vals = real_samples(
                    table[:, 0],
                    table[:, 1],
                    np.concatenate(times) if times else np.empty(0),
                    start.timestamp(),
                    end.timestamp(),
                    lookback,
                )
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
