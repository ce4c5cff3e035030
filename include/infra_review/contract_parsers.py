"""The column parsers of the CSV contracts: raw strings of one column in, parsed values, the
mask of bad rows and the reason out. Each distinct string is parsed once (``parse_distinct``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from infra_review import clock

# Parser: raw strings in, (parsed values, mask of bad rows, reason) out. The reason is one
# string for every bad row, or a Series of per-row reasons aligned with the input.
Parser = Callable[[pd.Series], tuple[pd.Series, pd.Series, "str | pd.Series"]]
_OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
_ISO_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?" + _OFFSET_RE
_SUB_MICROSECOND_RE = r"\.\d{6}0*[1-9]"
FUTURE_SKEW = timedelta(minutes=5)
# A label (endpoint, queue, instance): printable ASCII without quotes, backquote, backslash or
# angle brackets, at most 256 characters. It reaches HTML pages and reports, so hostile
# markup stops here (docs/threat-model.md).
LABEL_MAX = 256
LABEL_RE = re.compile(r"^[ !#$%&()*+,\-./0-9:;=?@A-Z\[\]^_a-z{|}~]{0,256}$")
TEXT_MAX = 1000
_CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def timestamp_with_offset(now: datetime | None = None, horizon: timedelta | None = None) -> Parser:
    """ISO-8601 with an explicit offset; a guessed time zone would shift every run by hours.

    Refused with their own reason: a time in the future, a time older than ``horizon`` before
    now (a year-0001 row once created 1,518 partitions), and sub-microsecond digits, which
    PostgreSQL would round so that two distinct timestamps merge into one row.
    """
    current = now or clock.now()
    limit = current + FUTURE_SKEW
    oldest = current - horizon if horizon is not None else None

    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
        text = raw.str.strip()
        shaped = text.str.match(_ISO_RE).fillna(False).astype(bool)
        sub_us = shaped & text.str.contains(_SUB_MICROSECOND_RE).fillna(False).astype(bool)
        too_old = pd.Series(False, index=raw.index)
        if oldest is not None:
            year = pd.to_numeric(text.str.slice(0, 4), errors="coerce")
            too_old = shaped & (year < oldest.year)
        usable = shaped & ~sub_us & ~too_old
        parsed = pd.to_datetime(text.where(usable), utc=True, format="ISO8601", errors="coerce")
        parsed = parsed.dt.as_unit("us")
        reason = pd.Series("", index=raw.index, dtype=object)
        reason[~shaped | (usable & parsed.isna())] = (
            "not an ISO-8601 timestamp with an explicit offset (Z or +05:00)"
        )
        reason[sub_us] = (
            "more precise than a microsecond: the store keeps microseconds, so two such "
            "timestamps would merge into one row"
        )
        if oldest is not None:
            too_old |= parsed < pd.Timestamp(oldest)
            reason[too_old] = (
                f"older than the import horizon ({oldest:%Y-%m-%d}, "
                f"{horizon.days} days before now; INFRA_REVIEW_SAMPLE_HORIZON_DAYS)"
            )
        reason[parsed > pd.Timestamp(limit)] = f"in the future (after {limit.isoformat()})"
        bad = reason != ""
        return parsed.where(~bad), bad, reason

    return parse


def optional_timestamp_with_offset(now: datetime | None = None) -> Parser:
    inner = timestamp_with_offset(now)

    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, str | pd.Series]:
        empty = raw.str.strip() == ""
        parsed, bad, reason = inner(raw.where(~empty, "1970-01-01T00:00:00Z"))
        return parsed.where(~empty), bad & ~empty, reason

    return parse


def number(minimum: float | None = None, maximum: float | None = None) -> Parser:
    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
        values = pd.to_numeric(raw.str.strip(), errors="coerce").astype("float64")
        bad = values.isna() | ~np.isfinite(values.fillna(0))
        if minimum is not None:
            bad |= values < minimum
        if maximum is not None:
            bad |= values > maximum
        bounds = f" in [{minimum if minimum is not None else '-inf'}, {maximum if maximum is not None else 'inf'}]"
        return values, bad, "not a finite number" + bounds

    return parse


def text(
    pattern: str | None = None,
    *,
    allow_empty: bool = False,
    max_length: int = TEXT_MAX,
    newlines: bool = False,
) -> Parser:
    """Stripped text: not empty (unless allowed), at most ``max_length`` characters, no control
    characters (line breaks only with ``newlines``), and matching ``pattern`` if given."""
    regex = re.compile(pattern) if pattern else None
    control = _CONTROL_RE if newlines else r"[\x00-\x1f\x7f]"

    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
        values = raw.str.strip()
        reason = pd.Series("", index=raw.index, dtype=object)
        if regex is not None:
            matched = values.str.match(regex).fillna(False).astype(bool)
            reason[~matched & ~(allow_empty & (values == ""))] = f"not matching {pattern}"
        reason[values.str.contains(control).fillna(False).astype(bool)] = (
            "contains a control character"
        )
        lengths = values.str.len()
        too_long = lengths > max_length
        if too_long.any():
            reason[too_long] = [
                f"longer than {max_length} characters ({n})" for n in lengths[too_long]
            ]
        if not allow_empty:
            reason[values == ""] = "empty"
        return values, reason != "", reason

    return parse


def label() -> Parser:
    """A sample's label: optional; LABEL_RE's characters, at most LABEL_MAX of them."""
    return text(LABEL_RE.pattern, allow_empty=True, max_length=LABEL_MAX)


def choice(allowed: Sequence[str]) -> Parser:
    allowed_set = set(allowed)

    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
        values = raw.str.strip()
        return values, ~values.isin(allowed_set), f"must be one of {sorted(allowed_set)}"

    return parse


def iso_date() -> Parser:
    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
        values = raw.str.strip()
        shaped = values.str.match(r"^\d{4}-\d{2}-\d{2}$")
        parsed = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
        return parsed.dt.date, ~shaped | parsed.isna(), "not a date YYYY-MM-DD"

    return parse


def month() -> Parser:
    """``YYYY-MM`` (or ``YYYY-MM-01``), returned as the month's first day."""

    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
        values = raw.str.strip().str.replace(r"^(\d{4}-\d{2})-01$", r"\1", regex=True)
        shaped = values.str.match(r"^\d{4}-\d{2}$")
        parsed = pd.to_datetime(values.where(shaped) + "-01", format="%Y-%m-%d", errors="coerce")
        return parsed.dt.date, ~shaped | parsed.isna(), "not a month YYYY-MM"

    return parse


def parse_distinct(parser: Parser, values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse each distinct string once: a quarter of samples repeats every timestamp per
    series and every server name per row, so this is several times faster.

    Returns the parsed values, the bad mask and the per-row reasons (numpy)."""
    codes, uniques = pd.factorize(values, sort=False)
    distinct = pd.Series(uniques, dtype=str)
    nul = distinct.str.contains("\x00", regex=False).to_numpy(dtype=bool)
    result, bad, reason = parser(distinct)
    bad = bad.to_numpy(dtype=bool) | nul
    if isinstance(reason, pd.Series):
        reasons = reason.to_numpy(dtype=object).copy()
    else:
        reasons = np.full(len(distinct), reason, dtype=object)
    reasons[nul] = "contains a NUL byte"
    return (
        result.reset_index(drop=True).take(codes).set_axis(values.index),
        bad[codes],
        reasons[codes],
    )
