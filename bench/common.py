"""Helpers shared by the benchmarks: a scratch database and a best-of-N timer."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def best_of(func: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs: the least disturbed by other work on the machine."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated database of its own on the configured server, dropped afterwards."""
    import psycopg2

    from infra_review.settings import database_url
    from infra_review.store.migrate import upgrade

    base = os.environ.get("DATABASE_URL") or database_url()
    parts = urlsplit(base)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    name = f"ir_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(parts._replace(path="/" + name))
    try:
        upgrade(url)
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
