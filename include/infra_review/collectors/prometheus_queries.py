"""The PromQL of each canonical metric (the Prometheus collector's first half).

Each canonical metric is a PromQL expression with a default that fits node_exporter and
blackbox_exporter, overridable per source in fleet.yaml, so a team changes queries without
code. Expressions are ``string.Template`` text (``${instance}``, ``${server}``,
``${rate_window}``, ``${probe_job}``, ``${n8n_job}`` and any ``vars``), because PromQL's own
braces would clash with ``str.format``. Each query names its ``sample`` selector, the series
whose raw samples time it (``prometheus.py`` explains why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from string import Template
from typing import Any

from infra_review.collectors.common import seconds
from infra_review.errors import InputError


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
