"""The canonical metrics of the samples contract and their valid ranges.

Mirrors the rows that migration 001 puts in infra_review.metrics; a test keeps them equal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    min_value: float | None
    max_value: float | None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("ram_used_pct", "%", 0, 100),
        Metric("cpu_used_pct", "%", 0, 100),
        Metric("swap_io_pages_per_s", "pages/s", 0, None),
        Metric("api_latency_s", "s", 0, None),
        Metric("n8n_queue_waiting", "jobs", 0, None),
        Metric("n8n_queue_active", "jobs", 0, None),
        Metric("n8n_queue_stalled", "jobs", 0, None),
        Metric("probe_up", "bool", 0, 1),
    )
}
