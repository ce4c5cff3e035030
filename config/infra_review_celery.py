"""Celery settings for the project's workers: Airflow's defaults plus a preload of the modules
every collect task imports.

Airflow itself preloads a few "expensive" modules in the Celery worker (its
``on_celery_import_modules`` handler) so that the task processes, which are forked from the
worker, inherit them. Great Expectations is far more expensive than those: importing it costs
about 10 s of CPU here, and every mapped ``collect`` task would pay it again. Imported once in
the worker's main process, before the pool forks, it is shared copy-on-write by every task.

Enable with ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=infra_review_celery.CELERY_CONFIG``;
Airflow puts ``$AIRFLOW_HOME/config`` (this folder in the compose file) on ``sys.path``.
``INFRA_REVIEW_WORKER_PRELOAD`` lists the modules (comma-separated; empty turns it off).
The scheduler imports this module too, but the signal only fires in a worker.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

log = logging.getLogger(__name__)

DEFAULT_PRELOAD = (
    "airflow.sdk,great_expectations,infra_review.collect,infra_review.quality.gate,"
    "infra_review.collectors.prometheus,infra_review.store.samples"
)

CELERY_CONFIG: dict[str, Any] = DEFAULT_CELERY_CONFIG


def preload_modules() -> list[str]:
    """The modules to import before the pool forks, from ``INFRA_REVIEW_WORKER_PRELOAD``."""
    raw = os.environ.get("INFRA_REVIEW_WORKER_PRELOAD", DEFAULT_PRELOAD)
    return [name.strip() for name in raw.split(",") if name.strip()]


@import_modules.connect
def preload(*args: Any, **kwargs: Any) -> None:
    """Import the heavy modules once; a missing one is logged, never fatal (the task would
    import it itself and report the real error)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in preload_modules():
        started = time.monotonic()
        try:
            importlib.import_module(name)
        except Exception:  # the task will raise the real error with its context
            log.exception("worker preload of %s failed", name)
            continue
        log.info("worker preloaded %s in %.1f s", name, time.monotonic() - started)
