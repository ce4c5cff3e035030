"""Import the CSV contracts into the store: validate and load in one transaction, so a bad file
writes nothing and the same file twice leaves the same rows.

Samples stream through in bounded chunks (validated, then staged in PostgreSQL) so memory does
not grow with the file; a file already imported (same content and contract version) returns
at once. Server names outside fleet.yaml are reported (``strict`` refuses them): a typo such
as ``app-l`` would otherwise become a new server that changes the next fleet decision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from infra_review import contracts as c
from infra_review.errors import InputError
from infra_review.fleet import SERVER_NAME_RE, load_fleet
from infra_review.metrics import METRICS
from infra_review.progress import Progress
from infra_review.settings import database_url, sample_horizon_days
from infra_review.store.db import connect
from infra_review.store.samples import LoadStats
from infra_review.store.staging import SampleStage, max_new_series

# Bump when the samples contract changes what it accepts: a file imported under an older
# version is imported again instead of being skipped as already loaded.
SAMPLES_CONTRACT_VERSION = 2


def _metric_out_of_range(df: pd.DataFrame) -> pd.Series:
    bad = pd.Series(False, index=df.index)
    for metric in METRICS.values():
        rows = df["metric"] == metric.name
        if metric.min_value is not None:
            bad |= rows & (df["value"] < metric.min_value)
        if metric.max_value is not None:
            bad |= rows & (df["value"] > metric.max_value)
    return bad


def horizon() -> timedelta:
    return timedelta(days=sample_horizon_days())


def samples_contract(now: datetime | None = None) -> c.Contract:
    """ts (offset required, within the horizon, not in the future, whole microseconds),
    server (SERVER_NAME_RE: a letter or digit, then letters, digits, ``._-``, at most 63),
    metric (canonical), value (finite, in its metric's range), label (optional, LABEL_RE)."""
    return c.Contract(
        name="samples",
        columns=(
            c.Column("ts", c.timestamp_with_offset(now, horizon())),
            c.Column("server", c.text(SERVER_NAME_RE.pattern, max_length=63)),
            c.Column("metric", c.choice(list(METRICS))),
            c.Column("value", c.number()),
            c.Column("label", c.label(), required=False),
        ),
        row_checks=(
            c.RowCheck(
                "value",
                "value out of range for its metric (percent 0..100, probe_up 0 or 1, others >= 0)",
                _metric_out_of_range,
            ),
            c.RowCheck(
                "value",
                "probe_up must be 0 or 1",
                lambda df: (df["metric"] == "probe_up") & ~df["value"].isin([0.0, 1.0]),
            ),
        ),
        unique_key=("server", "metric", "label", "ts"),
    )


def complaints_contract(known_servers: set[str], now: datetime | None = None) -> c.Contract:
    return c.Contract(
        name="complaints",
        columns=(
            c.Column("ts", c.timestamp_with_offset(now, horizon())),
            c.Column("service", c.text(max_length=128)),
            c.Column("server", c.text(allow_empty=True, max_length=63)),
            c.Column("category", c.text(r"^[a-z][a-z0-9_-]*$", max_length=64)),
            c.Column("text", c.text(max_length=10_000, newlines=True)),
        ),
        row_checks=(
            c.RowCheck(
                "server",
                f"unknown server; known servers are {sorted(known_servers)}",
                lambda df: (df["server"] != "") & ~df["server"].isin(known_servers),
            ),
        ),
        unique_key=("ts", "service", "server", "category", "text"),
    )


def plans_contract(known_servers: set[str]) -> c.Contract:
    return c.Contract(
        name="planned services",
        columns=(
            c.Column("service", c.text(max_length=128)),
            c.Column("server", c.text(SERVER_NAME_RE.pattern, max_length=63)),
            c.Column("planned_for", c.iso_date()),
            c.Column("ram_gb", c.number(0, 4096)),
            c.Column("cpu_cores", c.number(0, 1024)),
        ),
        row_checks=(
            c.RowCheck(
                "server",
                f"unknown server; known servers are {sorted(known_servers)}",
                lambda df: ~df["server"].isin(known_servers),
            ),
        ),
        unique_key=("service", "server"),
    )


def known_servers(conn) -> set[str]:
    """Servers from fleet.yaml plus those registered by samples."""
    with conn.cursor() as cur:
        cur.execute("SELECT server FROM infra_review.servers")
        registered = {row[0] for row in cur.fetchall()}
    return registered | set(load_fleet().names())


@dataclass(frozen=True)
class SampleImport(LoadStats):
    """What an import did: LoadStats plus what a person should know about it."""

    new_series: int = 0
    unknown_servers: dict[str, int] = field(default_factory=dict)  # name -> first line
    already_loaded_at: datetime | None = None
    source: str = ""


def samples_batch_key(digest: str) -> str:
    return f"import:samples:v{SAMPLES_CONTRACT_VERSION}:{digest[:32]}"


def _already_loaded(conn, key: str) -> SampleImport | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT rows_in, loaded_at, source FROM infra_review.load_batches WHERE batch_key = %s",
            (key,),
        )
        row = cur.fetchone()
    if row is None:
        return None
    return SampleImport(key, row[0], 0, 0, already_loaded_at=row[1], source=row[2])


def import_samples(
    path: str | Path,
    url: str | None = None,
    *,
    strict: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    chunk_rows: int | None = None,
) -> SampleImport:
    """Validate and load a samples file in one transaction, in chunks of ``chunk_rows``."""
    path = Path(path)
    name = str(path)
    digest = c.fingerprint(path)
    key = samples_batch_key(digest)
    fleet = load_fleet()
    listed = set(fleet.names())
    contract = samples_contract()
    chunk_rows = chunk_rows or int(os.environ.get("INFRA_REVIEW_IMPORT_CHUNK_ROWS", c.CHUNK_ROWS))
    url = url or database_url()
    with connect(url) as conn:
        if not force and (done := _already_loaded(conn, key)) is not None:
            return done
        stage = SampleStage(conn, partitions_url=url, file=name)
        unknown: dict[str, int] = {}
        for chunk in c.iter_contract(path, contract, chunk_rows=chunk_rows):
            lines = chunk.index.to_numpy() + 2
            outside = ~chunk["server"].isin(listed).to_numpy(dtype=bool)
            if outside.any():
                where = np.flatnonzero(outside)
                servers, first = np.unique(chunk["server"].to_numpy()[where], return_index=True)
                for server, pos in zip(servers.tolist(), first.tolist(), strict=True):
                    unknown.setdefault(server, int(lines[where[pos]]))
                    if strict:
                        raise InputError(
                            f"server {server!r} is not in {fleet.path} and --strict refuses "
                            f"unlisted servers (listed: {sorted(listed)})",
                            file=name,
                            line=unknown[server],
                            field="server",
                        )
            stage.add(chunk, lines)
            if progress is not None:
                progress.update(len(chunk))
        if progress is not None:
            progress.note(f"{stage.rows:,} rows checked; merging into the store")
        result = stage.finish(
            batch_key=key, source=f"csv:{path.name}", max_new_series=max_new_series()
        )
    return SampleImport(
        key,
        result.rows_in,
        result.rows_written,
        result.series,
        new_series=result.new_series,
        unknown_servers=unknown,
        source=f"csv:{path.name}",
    )


@dataclass(frozen=True)
class ImportResult:
    rows_in: int
    rows_written: int


def import_complaints(path: str | Path, url: str | None = None) -> ImportResult:
    path = Path(path)
    with connect(url) as conn:
        frame = c.read_contract(path, complaints_contract(known_servers(conn)))
        rows = list(
            zip(
                frame["ts"].dt.to_pydatetime(),
                frame["service"],
                frame["server"],
                frame["category"],
                frame["text"],
                strict=True,
            )
        )
        with conn.cursor() as cur:
            from psycopg2.extras import execute_values

            result = execute_values(
                cur,
                """INSERT INTO infra_review.complaints (ts, service, server, category, text)
                   VALUES %s ON CONFLICT (ts, service, server, category, text_md5) DO NOTHING
                   RETURNING 1""",
                rows,
                fetch=True,
            )
    return ImportResult(len(frame), len(result))


def import_plans(path: str | Path, url: str | None = None) -> ImportResult:
    path = Path(path)
    with connect(url) as conn:
        frame = c.read_contract(path, plans_contract(known_servers(conn)))
        rows = [
            (r.service, r.server, r.planned_for, float(r.ram_gb), float(r.cpu_cores))
            for r in frame.itertuples(index=False)
        ]
        with conn.cursor() as cur:
            from psycopg2.extras import execute_values

            result = execute_values(
                cur,
                """INSERT INTO infra_review.planned_services
                       (service, server, planned_for, ram_gb, cpu_cores)
                   VALUES %s
                   ON CONFLICT (service, server) DO UPDATE SET
                       planned_for = EXCLUDED.planned_for, ram_gb = EXCLUDED.ram_gb,
                       cpu_cores = EXCLUDED.cpu_cores, updated_at = now()
                   RETURNING 1""",
                rows,
                fetch=True,
            )
    return ImportResult(len(frame), len(result))
