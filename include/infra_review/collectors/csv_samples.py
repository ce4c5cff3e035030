"""Samples from CSV exports (the samples contract ``ts,server,metric,value[,label]``), for
backfilling history that no live source has any more.

Unlike ``infra-review import samples`` (which rejects a whole file on the first bad row),
this source takes the rows of the run's interval and lets the quality gate quarantine the
bad ones, so one bad row in an export does not block the rest. A timestamp without an
offset still fails the whole task with the file and line: the row cannot even be placed
in an interval, and a guessed time zone would shift it by hours.

An export's interval is not assumed: unless the source states ``cadence:``, the batch gate
checks no spacing and no cadence is recorded for its series, because the fleet's
``scrape_interval_s`` says nothing about a CloudWatch or Grafana export (5-minute data
checked against 60 s would be judged 20% complete, 15-second data would lose three samples
in four as "wrong cadence"). The review measures each series' cadence from its samples
(``timeseries.cadence``).
"""

from __future__ import annotations

import glob
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infra_review.collectors.common import SAMPLE_COLUMNS, empty_frame
from infra_review.contracts import (
    _EXTRA,
    _ISO_RE,
    CHUNK_ROWS,
    Column,
    Contract,
    _raw_chunks,
    _read_header,
    fingerprint,
    text,
)
from infra_review.errors import InputError


def promised_cadence(source: dict[str, Any]) -> float | None:
    """Seconds between samples the source states (``cadence: 5m``), else None: never the
    fleet's interval, which an export need not follow."""
    from infra_review.collectors.common import seconds

    value = source.get("cadence")
    return None if value is None else seconds(value, 0, "cadence")


def files(source: dict[str, Any]) -> list[Path]:
    pattern = source.get("path")
    if not pattern:
        raise InputError("a csv source needs path (a file or a glob)", field="path")
    if not Path(str(pattern)).is_absolute():
        from infra_review.settings import data_dir

        pattern = str(data_dir() / str(pattern))
    return [Path(p) for p in sorted(glob.glob(str(pattern)))]


_HEADER_CONTRACT = Contract(
    name="samples",
    columns=(
        *(Column(name, text()) for name in ("ts", "server", "metric", "value")),
        Column("label", text(), required=False),
    ),
)


def read_file(path: Path) -> pd.DataFrame:
    """The file as a samples frame; timestamps must carry an offset.

    Read by the contracts' reader, so lines are counted as an editor shows them and a row
    with more fields than the header is an error, not a silent index column.
    """
    fingerprint(path)  # unreadable, not UTF-8: an error with the line
    header, header_lines = _read_header(path, _HEADER_CONTRACT)
    parts = []
    too_many_at = None  # the first row with more fields than the header
    for raw, lines in _raw_chunks(path, header, header_lines, CHUNK_ROWS):
        too_many = (raw[_EXTRA] != "").to_numpy()
        if too_many.any() and too_many_at is None:
            too_many_at = int(lines[np.flatnonzero(too_many)[0]])
        parts.append(raw)
    if not parts:
        return empty_frame()
    raw = pd.concat(parts) if len(parts) > 1 else parts[0]
    text_ts = raw["ts"].str.strip()
    shaped = text_ts.str.match(_ISO_RE)
    ts = pd.to_datetime(text_ts.where(shaped), utc=True, format="ISO8601", errors="coerce")
    bad = (~shaped | ts.isna()).to_numpy()
    bad_at = int(raw.index[np.flatnonzero(bad)[0]]) + 2 if bad.any() else None
    if too_many_at is not None and (bad_at is None or too_many_at <= bad_at or bad_at == 2):
        line = too_many_at if bad_at is None else min(too_many_at, bad_at)
        raise InputError(
            f"malformed CSV: rows with more fields than the header's {len(header)} "
            f"(an index column?), from line {too_many_at}",
            file=str(path),
            line=line,
        )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"not an ISO-8601 timestamp with an explicit offset; got {text_ts.iloc[first]!r} "
            f"({int(bad.sum())} such row(s))",
            file=str(path),
            line=int(raw.index[first]) + 2,
            field="ts",
        )
    return pd.DataFrame(
        {
            "ts": ts.dt.as_unit("us"),
            "server": raw["server"].str.strip(),
            "metric": raw["metric"].str.strip(),
            "label": raw["label"].str.strip() if "label" in raw.columns else "",
            # a non-number becomes NaN, which the gate quarantines with its reason
            "value": pd.to_numeric(raw["value"].str.strip(), errors="coerce").astype("float64"),
        }
    ).reset_index(drop=True)


def collect(server: str, source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    """Rows in [start, end) for this server (every server with ``all_servers: true``)."""
    found = files(source)
    if not found and source.get("required", False):
        raise InputError(f"no file matches {source.get('path')}", field="path")
    frames = []
    for path in found:
        frame = read_file(path)
        keep = (frame["ts"] >= pd.Timestamp(start)) & (frame["ts"] < pd.Timestamp(end))
        if not source.get("all_servers", False):
            keep &= frame["server"] == server
        frames.append(frame[keep])
    if not frames:
        return empty_frame()
    return pd.concat(frames, ignore_index=True)[SAMPLE_COLUMNS]
