"""Samples from CSV exports (the samples contract ``ts,server,metric,value[,label]``), for
backfilling history that no live source has any more.

Unlike ``infra-review import samples`` (which rejects a whole file on the first bad row),
this source takes the rows of the run's interval and lets the quality gate quarantine the
bad ones, so one bad row in an export does not block the rest. A timestamp without an
offset still fails the whole task with the file and line: the row cannot even be placed
in an interval, and a guessed time zone would shift it by hours.
"""

from __future__ import annotations

import glob
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infra_review.collectors.common import SAMPLE_COLUMNS, empty_frame
from infra_review.contracts import _ISO_RE
from infra_review.errors import InputError


def files(source: dict[str, Any]) -> list[Path]:
    pattern = source.get("path")
    if not pattern:
        raise InputError("a csv source needs path (a file or a glob)", field="path")
    if not Path(str(pattern)).is_absolute():
        from infra_review.settings import data_dir

        pattern = str(data_dir() / str(pattern))
    return [Path(p) for p in sorted(glob.glob(str(pattern)))]


def read_file(path: Path) -> pd.DataFrame:
    """The file as a samples frame; timestamps must carry an offset."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"malformed CSV: {exc}", file=str(path)) from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    for column in ("ts", "server", "metric", "value"):
        if column not in raw.columns:
            raise InputError("missing column", file=str(path), line=1, field=column)
    text = raw["ts"].str.strip()
    shaped = text.str.match(_ISO_RE)
    ts = pd.to_datetime(text.where(shaped), utc=True, format="ISO8601", errors="coerce")
    bad = (~shaped | ts.isna()).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"not an ISO-8601 timestamp with an explicit offset; got {text.iloc[first]!r} "
            f"({int(bad.sum())} such row(s))",
            file=str(path),
            line=first + 2,
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
    )


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
