"""Prometheus's HTTP API: ``query_range`` and raw range-vector reads with timeouts, auth and
retries, and the paging that keeps every query under Prometheus's 11,000 points per series.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

from infra_review.collectors.common import (
    SourceUnavailable,
    http_credentials,
    seconds,
    with_retries,
)
from infra_review.errors import InputError

log = logging.getLogger(__name__)

MAX_POINTS = 11_000


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
