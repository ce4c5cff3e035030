"""One module per source. Each collector returns a samples frame for [start, end):
columns ts (UTC), server, metric, label, value. Collectors only read; the quality gate and
the loader are shared (``infra_review.collect``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd

# type -> function(server_name, source_config, start, end) -> samples frame
Collector = Callable[[str, dict[str, Any], datetime, datetime], pd.DataFrame]

# Sources that can only read the present: one reading per run, stamped with the interval's
# end; a backfill of a past interval reads nothing.
SNAPSHOT_TYPES = frozenset({"localhost", "n8n_redis", "http_probe"})
# History sources that answer for a whole range: a re-collect of [start, end) replaces what
# they stored there (``infra_review.store.ranges``), deleting points they no longer have.
RANGE_TYPES = frozenset({"prometheus"})
# Fleet-wide feeds that are not samples (``fleet_sources:`` in fleet.yaml).
FEED_TYPES = frozenset({"complaints", "planned_services"})


def registry() -> dict[str, Collector]:
    """Collectors by source ``type`` in fleet.yaml; each module imports its client library
    (requests, redis) inside its functions, so one missing library does not stop the others."""
    from infra_review.collectors import csv_samples, http_probe, localhost, n8n_redis, prometheus

    return {
        "localhost": localhost.collect,
        "prometheus": prometheus.collect,
        "n8n_redis": n8n_redis.collect,
        "http_probe": http_probe.collect,
        "csv": csv_samples.collect,
    }
