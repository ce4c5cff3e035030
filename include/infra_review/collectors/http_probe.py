"""A small HTTP prober for teams without blackbox_exporter: response time and up/down of
each configured endpoint (Directus, n8n webhooks, the bots' APIs).

``api_latency_s`` is the time to the whole response, recorded whenever a response arrived
(a slow 500 is still a slow API); a timeout or a refused connection gives no latency
sample, only ``probe_up = 0``. Like every present-time reading, the result is stamped with
the interval's end and a backfill of a past interval probes nothing.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pandas as pd

from infra_review.collectors.common import (
    http_credentials,
    seconds,
    snapshot_frame,
    snapshot_is_stale,
)
from infra_review.errors import InputError

log = logging.getLogger(__name__)


def _expected(endpoint: dict[str, Any]) -> set[int] | None:
    status = endpoint.get("expect_status")
    if status is None:
        return None  # any 2xx or 3xx
    return {int(s) for s in (status if isinstance(status, list) else [status])}


def probe(endpoint: dict[str, Any], timeout_s: float) -> tuple[float | None, bool, str]:
    """(latency in seconds or None, up, detail) for one endpoint."""
    import requests

    headers, basic = http_credentials(endpoint)
    method = str(endpoint.get("method", "GET")).upper()
    started = time.perf_counter()
    try:
        response = requests.request(
            method,
            endpoint["url"],
            headers=headers,
            auth=basic,
            timeout=timeout_s,
            allow_redirects=bool(endpoint.get("follow_redirects", True)),
        )
        _ = response.content  # the whole body is part of the response time
    except requests.RequestException as exc:
        return None, False, f"{type(exc).__name__}: {exc}"
    latency = time.perf_counter() - started
    expected = _expected(endpoint)
    up = response.status_code in expected if expected is not None else response.status_code < 400
    return latency, up, f"HTTP {response.status_code}"


def collect(server: str, source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    endpoints = source.get("endpoints") or []
    if not endpoints:
        raise InputError("an http_probe source needs endpoints: [{name, url}]", field="endpoints")
    names = set()
    for index, endpoint in enumerate(endpoints):
        if not isinstance(endpoint, dict) or "url" not in endpoint or "name" not in endpoint:
            raise InputError("each endpoint needs name and url", field=f"endpoints[{index}]")
        if endpoint["name"] in names:
            raise InputError(
                f"duplicate endpoint {endpoint['name']!r}", field=f"endpoints[{index}]"
            )
        names.add(endpoint["name"])
    if snapshot_is_stale(end):
        log.info("http_probe: interval ended at %s, too long ago to probe", end)
        return snapshot_frame(server, end, [])
    timeout_s = seconds(source.get("timeout"), 10, "timeout")
    with ThreadPoolExecutor(max_workers=min(8, len(endpoints))) as pool:
        outcomes = list(pool.map(lambda e: probe(e, timeout_s), endpoints))
    rows: list[tuple[str, str, float]] = []
    for endpoint, (latency, up, detail) in zip(endpoints, outcomes, strict=True):
        name = str(endpoint["name"])
        log.info("probe %s (%s): %s, %s s", name, endpoint["url"], detail, latency)
        if latency is not None:
            rows.append(("api_latency_s", name, latency))
        rows.append(("probe_up", name, 1.0 if up else 0.0))
    return snapshot_frame(server, end, rows)
