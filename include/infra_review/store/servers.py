"""Servers the store knows, and forgetting a phantom one (a typo that samples registered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infra_review.errors import InputError
from infra_review.store.staging import _SERIES_LOCK_SPACE, LOCK_BUCKETS


@dataclass(frozen=True)
class ServerRow:
    server: str
    registered_from: str
    series: int
    samples: int
    first_ts: datetime | None
    last_ts: datetime | None


@dataclass(frozen=True)
class Forgotten:
    server: str
    series: int
    samples: int


def list_servers(conn) -> list[ServerRow]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT v.server, v.registered_from, count(DISTINCT s.series_id),
                      count(x.ts), min(x.ts), max(x.ts)
               FROM infra_review.servers v
               LEFT JOIN infra_review.series s ON s.server = v.server
               LEFT JOIN infra_review.samples x ON x.series_id = s.series_id
               GROUP BY v.server, v.registered_from ORDER BY v.server"""
        )
        return [ServerRow(*row) for row in cur.fetchall()]


def forget_server(conn, server: str, listed: set[str]) -> Forgotten:
    """Delete ``server``, its series and their samples in the caller's transaction.

    A server fleet.yaml lists is refused: remove it there first. The same bucket locks as a
    sample merge are taken, so a load of the same series cannot slip rows in between.
    """
    if server in listed:
        raise InputError(
            f"server {server!r} is listed in fleet.yaml; remove it there first", field="server"
        )
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM infra_review.servers WHERE server = %s FOR UPDATE", (server,))
        if cur.fetchone() is None:
            raise InputError(f"no server {server!r} in the store", field="server")
        cur.execute(
            "SELECT series_id FROM infra_review.series WHERE server = %s ORDER BY series_id",
            (server,),
        )
        ids = [row[0] for row in cur.fetchall()]
        for bucket in sorted({i % LOCK_BUCKETS for i in ids}):
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_SERIES_LOCK_SPACE, bucket))
        cur.execute("DELETE FROM infra_review.samples WHERE series_id = ANY(%s)", (ids,))
        samples = cur.rowcount
        cur.execute("DELETE FROM infra_review.series WHERE server = %s", (server,))
        series = cur.rowcount
        cur.execute("DELETE FROM infra_review.servers WHERE server = %s", (server,))
    return Forgotten(server, series, samples)
