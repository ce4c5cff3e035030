"""Import the CSV contracts into the store: validate the whole file first, then load it in one
transaction, so a bad file writes nothing and the same file twice leaves the same rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from infra_review import contracts as c
from infra_review.fleet import SERVER_NAME_RE, load_fleet
from infra_review.metrics import METRICS
from infra_review.store.db import connect
from infra_review.store.samples import LoadStats, load_samples


def _metric_out_of_range(df: pd.DataFrame) -> pd.Series:
    bad = pd.Series(False, index=df.index)
    for metric in METRICS.values():
        rows = df["metric"] == metric.name
        if metric.min_value is not None:
            bad |= rows & (df["value"] < metric.min_value)
        if metric.max_value is not None:
            bad |= rows & (df["value"] > metric.max_value)
    return bad


def samples_contract(now: datetime | None = None) -> c.Contract:
    return c.Contract(
        name="samples",
        columns=(
            c.Column("ts", c.timestamp_with_offset(now)),
            c.Column("server", c.text(SERVER_NAME_RE.pattern)),
            c.Column("metric", c.choice(list(METRICS))),
            c.Column("value", c.number()),
            c.Column("label", c.text(allow_empty=True), required=False),
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
            c.Column("ts", c.timestamp_with_offset(now)),
            c.Column("service", c.text()),
            c.Column("server", c.text(allow_empty=True)),
            c.Column("category", c.text(r"^[a-z][a-z0-9_-]*$")),
            c.Column("text", c.text()),
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
            c.Column("service", c.text()),
            c.Column("server", c.text(SERVER_NAME_RE.pattern)),
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


def file_batch_key(kind: str, path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"import:{kind}:{path.name}:{digest}"


def import_samples(path: str | Path, url: str | None = None) -> LoadStats:
    path = Path(path)
    frame = c.read_contract(path, samples_contract())
    frame["label"] = frame["label"].fillna("") if "label" in frame else ""
    with connect(url) as conn:
        return load_samples(
            conn,
            frame,
            batch_key=file_batch_key("samples", path),
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
