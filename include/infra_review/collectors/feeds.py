"""Fleet-wide feeds that are not metric samples: user complaints and the planned-services
register. Each reads from a PostgreSQL query (the team's Telegram bot or a team table) or
from CSV files, configured under ``fleet_sources:`` in fleet.yaml.

A query runs in a read-only transaction on the database named by ``dsn_env`` (an
environment variable holding a libpq URL) or ``conn_id`` (an Airflow connection), else on
the pipeline's own database. Complaint queries receive ``%(start)s`` and ``%(end)s``.
"""

from __future__ import annotations

import glob
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infra_review.collectors.common import airflow_connection, env_value
from infra_review.contracts import _ISO_RE
from infra_review.errors import InputError

COMPLAINT_COLUMNS = ["ts", "service", "server", "category", "text"]
PLAN_COLUMNS = ["service", "server", "planned_for", "ram_gb", "cpu_cores"]
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


def source_dsn(source: dict[str, Any]) -> str:
    from infra_review.settings import _normalise, database_url

    dsn = env_value(source.get("dsn_env"), field="dsn_env")
    if dsn:
        return _normalise(dsn)
    if source.get("conn_id"):
        conn = airflow_connection(str(source["conn_id"]))
        if conn.uri:
            return _normalise(conn.uri)
        return (
            f"postgresql://{conn.login or ''}{':' + conn.password if conn.password else ''}"
            f"@{conn.host}:{conn.port or 5432}/{conn.schema or ''}"
        )
    if "dsn" in source:
        raise InputError("put the DSN in an environment variable (dsn_env)", field="dsn")
    return database_url()


def run_query(source: dict[str, Any], params: dict[str, Any]) -> pd.DataFrame:
    import psycopg2

    conn = psycopg2.connect(source_dsn(source), application_name="infra-review-feed")
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            cur.execute(str(source["query"]), params)
            columns = [d.name for d in cur.description]
            rows = cur.fetchall()
    finally:
        conn.close()
    return pd.DataFrame(rows, columns=columns)


def read_csv_files(source: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    pattern = str(source["path"])
    if not Path(pattern).is_absolute():
        from infra_review.settings import data_dir

        pattern = str(data_dir() / pattern)
    frames = []
    for path in sorted(glob.glob(pattern)):
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        raw.columns = [str(col).strip() for col in raw.columns]
        missing = [col for col in columns if col not in raw.columns and col != "server"]
        if missing:
            raise InputError("missing column", file=path, line=1, field=missing[0])
        raw["_file"] = path
        raw["_line"] = np.arange(len(raw)) + 2
        frames.append(raw)
    if not frames:
        if source.get("required", False):
            raise InputError(f"no file matches {pattern}", field="path")
        return pd.DataFrame(columns=[*columns, "_file", "_line"])
    return pd.concat(frames, ignore_index=True)


def _need(source: dict[str, Any], kind: str) -> None:
    if not source.get("query") and not source.get("path"):
        raise InputError(f"a {kind} source needs query (PostgreSQL) or path (CSV)")


def read_complaints(source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    """Complaints in [start, end) as text columns plus parsed ``ts`` (NaT when unusable)."""
    _need(source, "complaints")
    if source.get("query"):
        frame = run_query(source, {"start": start, "end": end})
        missing = [col for col in COMPLAINT_COLUMNS if col not in frame.columns and col != "server"]
        if missing:
            raise InputError(
                f"the complaints query must return {COMPLAINT_COLUMNS}; missing {missing}",
                field="query",
            )
        ts = pd.to_datetime(frame["ts"], utc=True, errors="coerce")
        naive = frame["ts"].map(lambda v: isinstance(v, datetime) and v.tzinfo is None)
        ts = ts.where(~naive)  # timestamp without time zone: refuse to guess the zone
    else:
        frame = read_csv_files(source, COMPLAINT_COLUMNS)
        text = frame["ts"].astype(str).str.strip()
        shaped = text.str.match(_ISO_RE)
        ts = pd.to_datetime(text.where(shaped), utc=True, format="ISO8601", errors="coerce")
    out = pd.DataFrame(
        {
            "ts": ts,
            "service": frame["service"].fillna("").astype(str).str.strip(),
            "server": (frame["server"] if "server" in frame else pd.Series("", index=frame.index))
            .fillna("")
            .astype(str)
            .str.strip(),
            "category": frame["category"].fillna("").astype(str).str.strip().str.lower(),
            "text": frame["text"].fillna("").astype(str).str.strip(),
        }
    )
    # CSV rows of other intervals belong to other runs; unparseable ones are kept to be reported
    in_window = out["ts"].isna() | ((out["ts"] >= start) & (out["ts"] < end))
    return out[in_window].reset_index(drop=True)


def complaint_problems(frame: pd.DataFrame) -> pd.Series:
    """The first problem of each row ('' when the row is fine)."""
    problems = pd.Series("", index=frame.index, dtype=object)
    for mask, reason in (
        (frame["text"] == "", "complaint text is empty"),
        (~frame["category"].str.match(CATEGORY_RE), "category must match ^[a-z][a-z0-9_-]*$"),
        (frame["service"] == "", "service is empty"),
        (frame["ts"].isna(), "timestamp missing or without an explicit time zone"),
    ):
        problems = problems.where(~mask, reason)
    return problems


def load_complaints(cur, frame: pd.DataFrame) -> int:
    """Insert new complaints; the unique key makes a rerun add nothing."""
    if frame.empty:
        return 0
    from psycopg2.extras import execute_values

    rows = [
        (r.ts.to_pydatetime(), r.service, r.server, r.category, r.text)
        for r in frame.itertuples(index=False)
    ]
    inserted = execute_values(
        cur,
        """INSERT INTO infra_review.complaints (ts, service, server, category, text)
           VALUES %s ON CONFLICT (ts, service, server, category, text_md5) DO NOTHING
           RETURNING 1""",
        rows,
        fetch=True,
    )
    return len(inserted)


def read_plans(source: dict[str, Any]) -> pd.DataFrame:
    """The whole register; any bad row fails the feed with its file, line and field."""
    _need(source, "planned_services")
    if source.get("query"):
        frame = run_query(source, {})
        frame["_file"], frame["_line"] = f"query of {source.get('name', 'planned_services')}", None
    else:
        frame = read_csv_files(source, PLAN_COLUMNS)
    for column in PLAN_COLUMNS:
        if column not in frame.columns:
            raise InputError(f"the register must have {PLAN_COLUMNS}", field=column)
    out = pd.DataFrame(
        {
            "service": frame["service"].astype(str).str.strip(),
            "server": frame["server"].astype(str).str.strip(),
            "planned_for": pd.to_datetime(
                frame["planned_for"].astype(str).str.strip(), format="%Y-%m-%d", errors="coerce"
            ).dt.date,
            "ram_gb": pd.to_numeric(frame["ram_gb"], errors="coerce").astype("float64"),
            "cpu_cores": pd.to_numeric(frame["cpu_cores"], errors="coerce").astype("float64"),
        }
    )
    for column, bad, reason in (
        ("service", out["service"] == "", "empty"),
        ("server", out["server"] == "", "empty"),
        ("planned_for", out["planned_for"].isna(), "not a date YYYY-MM-DD"),
        ("ram_gb", ~(out["ram_gb"] >= 0), "not a number >= 0"),
        ("cpu_cores", ~(out["cpu_cores"] >= 0), "not a number >= 0"),
        ("service", out.duplicated(["service", "server"], keep=False), "duplicate service,server"),
    ):
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            line = frame["_line"].iloc[first]
            raise InputError(
                reason,
                file=str(frame["_file"].iloc[first]),
                line=int(line) if line is not None and not pd.isna(line) else None,
                field=column,
            )
    return out


def sync_plans(cur, frame: pd.DataFrame, register: str) -> tuple[int, int]:
    """Make this register's rows in planned_services equal to ``frame``: upsert every row
    and delete the rows this register wrote earlier that the team has since removed."""
    from psycopg2.extras import execute_values

    rows = [
        (r.service, r.server, r.planned_for, float(r.ram_gb), float(r.cpu_cores), register)
        for r in frame.itertuples(index=False)
    ]
    upserted = 0
    if rows:
        upserted = len(
            execute_values(
                cur,
                """INSERT INTO infra_review.planned_services
                       (service, server, planned_for, ram_gb, cpu_cores, source)
                   VALUES %s
                   ON CONFLICT (service, server) DO UPDATE SET
                       planned_for = EXCLUDED.planned_for, ram_gb = EXCLUDED.ram_gb,
                       cpu_cores = EXCLUDED.cpu_cores, source = EXCLUDED.source,
                       updated_at = now()
                   WHERE (planned_services.planned_for, planned_services.ram_gb,
                          planned_services.cpu_cores, planned_services.source)
                         IS DISTINCT FROM
                         (EXCLUDED.planned_for, EXCLUDED.ram_gb, EXCLUDED.cpu_cores,
                          EXCLUDED.source)
                   RETURNING 1""",
                rows,
                fetch=True,
            )
        )
    cur.execute(
        """DELETE FROM infra_review.planned_services
           WHERE source = %s
             AND (service, server) NOT IN (
                 SELECT * FROM unnest(%s::text[], %s::text[]))""",
        (register, frame["service"].tolist(), frame["server"].tolist()),
    )
    return upserted, cur.rowcount
