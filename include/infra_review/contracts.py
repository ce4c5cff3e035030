"""CSV data contracts (DESIGN.md): parse and validate files before anything is committed.

Validation is vectorised (pandas) and runs in bounded chunks (``iter_contract``), so a file of
any size checks in flat memory. The first bad row is reported with its file, its physical line
(right after blank lines and multi-line quoted fields) and its field; the count of other bad
rows follows, so the user can fix the file in one pass.

Strictness that pandas does not give by itself: the header is read on its own and every row
may have at most the header's fields (a row with one more field used to become the index
silently); NUL bytes, bytes that are not UTF-8 and unreadable files are errors with a line.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from infra_review import clock
from infra_review.errors import InputError

# Parser: raw strings in, (parsed values, mask of bad rows, reason) out. The reason is one
# string for every bad row, or a Series of per-row reasons aligned with the input.
Parser = Callable[[pd.Series], tuple[pd.Series, pd.Series, "str | pd.Series"]]
_OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
_ISO_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?" + _OFFSET_RE
_SUB_MICROSECOND_RE = r"\.\d{6}0*[1-9]"
FUTURE_SKEW = timedelta(minutes=5)
CHUNK_ROWS = 100_000  # about 150 MB at peak on top of the interpreter; flat for any file
# A label (endpoint, queue, instance): printable ASCII without quotes, backquote, backslash or
# angle brackets, at most 256 characters. It reaches HTML pages and reports, so hostile
# markup stops here (docs/threat-model.md).
LABEL_MAX = 256
LABEL_RE = re.compile(r"^[ !#$%&()*+,\-./0-9:;=?@A-Z\[\]^_a-z{|}~]{0,256}$")
TEXT_MAX = 1000
_CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_EXTRA = "\x00extra"  # a column one past the header: a row that fills it has too many fields


@dataclass(frozen=True)
class Column:
    name: str
    parser: Parser
    required: bool = True  # the column must be in the header


@dataclass(frozen=True)
class RowCheck:
    """A check across columns: returns the mask of bad rows."""

    field: str
    reason: str
    check: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Contract:
    name: str
    columns: Sequence[Column]
    row_checks: Sequence[RowCheck] = field(default_factory=tuple)
    unique_key: Sequence[str] = ()


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


def _parse_distinct(parser: Parser, values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
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


# ---------------------------------------------------------------------------------------------
# Reading files


def fingerprint(path: str | Path) -> str:
    """The file's sha256, reading it once in blocks; refuses unreadable files and bytes that are
    not UTF-8, naming the line (and the field, when the header says which)."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("file not found", file=name)
    if not path.is_file():
        raise InputError("not a regular file", file=name)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
                if not block.isascii() or decoder.getstate()[0]:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError as exc:
                        _raise_not_utf8(path, offset + max(exc.start, 0), exc)
                offset += len(block)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                _raise_not_utf8(path, max(offset - 1, 0), exc)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=name) from exc
    return digest.hexdigest()


def _raise_not_utf8(path: Path, offset: int, exc: UnicodeDecodeError) -> None:
    with path.open("rb") as handle:
        before = handle.read(offset)
        rest = handle.readline()
    line = before.count(b"\n") + 1
    start = before.rfind(b"\n") + 1
    text_line = (before[start:] + rest).decode("utf-8", errors="replace")
    raise InputError(
        f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})",
        file=str(path),
        line=line,
        field=_field_containing(path, text_line, "\ufffd"),
    ) from exc


def _field_containing(path: Path, text_line: str, needle: str) -> str | None:
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            header = [h.strip() for h in next(csv.reader(handle))]
        row = next(csv.reader([text_line.rstrip("\r\n")]))
    except (StopIteration, csv.Error, OSError):
        return None
    for index, value in enumerate(row):
        if needle in value:
            return header[index] if index < len(header) else f"#{index + 1}"
    return None


def _read_header(path: Path, contract: Contract) -> tuple[list[str], int]:
    name = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                raise InputError("empty file: expected a header line", file=name, line=1) from None
            header_lines = reader.line_num
    except csv.Error as exc:
        raise InputError(f"malformed CSV header: {exc}", file=name, line=1) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=name) from exc
    header = [str(h).strip() for h in header]
    if not any(header):
        raise InputError("empty header line", file=name, line=1)
    for column in contract.columns:
        if column.required and column.name not in header:
            raise InputError(
                f"missing column; a {contract.name} file has columns {[c.name for c in contract.columns]}",
                file=name,
                line=1,
                field=column.name,
            )
    known = {c.name for c in contract.columns}
    unknown = [h for h in header if h not in known]
    if unknown:
        raise InputError(f"unknown column(s) {unknown}", file=name, line=1, field=unknown[0])
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise InputError("duplicate column", file=name, line=1, field=h)
        seen.add(h)
    return header, header_lines


def _locate_malformed(path: Path, width: int, fallback: str) -> InputError:
    """Find the first record pandas could not read, with Python's csv module (slow, exact)."""
    name = str(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        start = 1
        try:
            for index, record in enumerate(reader):
                if index > 0 and len(record) > width:
                    return InputError(
                        f"malformed CSV: Expected {width} fields, saw {len(record)}",
                        file=name,
                        line=start,
                    )
                start = reader.line_num + 1
        except csv.Error as exc:
            message = str(exc)
            if "unexpected end of data" in message or "EOF" in message:
                message = "EOF inside string (a quoted field is not closed)"
            return InputError(f"malformed CSV: {message}", file=name, line=start)
    return InputError(f"malformed CSV: {fallback}", file=name)


def _fields_on_line(path: Path, line: int) -> int | None:
    """How many fields the record starting at ``line`` has (for a clearer message)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        start = 1
        try:
            for record in reader:
                if start == line:
                    return len(record)
                if start > line:
                    return None
                start = reader.line_num + 1
        except csv.Error:
            return None
    return None


@dataclass
class _Problems:
    """The first problem of a file (lowest line) and how many bad rows it has in all."""

    first: tuple[int, str, str] | None = None  # (line, field, message)
    count: int = 0

    def add(self, line: int, field_name: str, message: str, count: int) -> None:
        if self.first is None or line < self.first[0]:
            self.first = (line, field_name, message)
        self.count += count


def _raw_chunks(path: Path, header: list[str], header_lines: int, chunk_rows: int):
    """Raw string chunks with the physical line of each row; blank lines dropped."""
    width = len(header)
    names = [*header, _EXTRA]
    next_line = header_lines + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        try:
            reader = pd.read_csv(
                path,
                header=None,
                names=names,
                skiprows=header_lines,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                encoding="utf-8-sig",
                chunksize=chunk_rows,
            )
            with reader:
                for raw in reader:
                    n = len(raw)
                    if n == 0:
                        continue
                    newlines = np.zeros(n, dtype=np.int64)
                    for name in names:
                        values = raw[name]
                        if values.str.contains("\n", regex=False).any():
                            newlines += values.str.count("\n").to_numpy(dtype=np.int64)
                    lines = next_line + np.arange(n) + (np.cumsum(newlines) - newlines)
                    next_line = int(lines[-1] + 1 + newlines[-1])
                    blank = np.ones(n, dtype=bool)
                    for name in names:
                        blank &= (raw[name] == "").to_numpy(dtype=bool)
                    if blank.any():
                        raw, lines = raw[~blank], lines[~blank]
                    if len(raw):
                        yield raw.set_axis(lines - 2), lines
        except (pd.errors.ParserError, csv.Error, ValueError) as exc:
            if isinstance(exc, UnicodeDecodeError):
                raise
            message = str(exc).replace("Error tokenizing data. C error: ", "").strip()
            raise _locate_malformed(path, width, message) from exc
        except OSError as exc:
            raise InputError(f"cannot read the file: {exc}", file=str(path)) from exc


def _validate(
    raw: pd.DataFrame, lines: np.ndarray, contract: Contract, header: list[str], name: str
) -> tuple[pd.DataFrame, _Problems]:
    problems = _Problems()
    parsed = pd.DataFrame(index=raw.index)
    too_many = (raw[_EXTRA] != "").to_numpy(dtype=bool)
    if too_many.any():
        problems.add(
            int(lines[np.flatnonzero(too_many)[0]]),
            f"#{len(header) + 1}",
            f"malformed CSV: Expected {len(header)} fields, saw {len(header) + 1}",
            int(too_many.sum()),
        )
    for column in contract.columns:
        if column.name in raw.columns:
            values = raw[column.name].astype(str)
        else:
            values = pd.Series("", index=raw.index, dtype=str)
        result, bad, reasons = _parse_distinct(column.parser, values)
        parsed[column.name] = result
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            got = values.iloc[first]
            shown = repr(got if len(got) <= 80 else got[:80] + "...")
            problems.add(
                int(lines[first]), column.name, f"{reasons[first]}; got {shown}", int(bad.sum())
            )
    if problems.first is None:
        for row_check in contract.row_checks:
            bad = row_check.check(parsed).to_numpy(dtype=bool)
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                problems.add(int(lines[first]), row_check.field, row_check.reason, int(bad.sum()))
    if problems.first is None and contract.unique_key:
        _check_unique(parsed, lines, contract, problems)
    return parsed, problems


def _check_unique(parsed: pd.DataFrame, lines: np.ndarray, contract: Contract, problems) -> None:
    dup = parsed.duplicated(list(contract.unique_key), keep=False).to_numpy(dtype=bool)
    if dup.any():
        first_rows = parsed[dup].head(1)
        same = (
            parsed[list(contract.unique_key)]
            .eq(first_rows[list(contract.unique_key)].iloc[0])
            .all(axis=1)
        ).to_numpy(dtype=bool)
        pair = lines[same][:2].tolist()
        problems.add(
            int(pair[0]),
            ",".join(contract.unique_key),
            f"duplicate row: lines {pair[0]} and {pair[1]} have the same "
            f"({', '.join(contract.unique_key)})",
            int(dup.sum()),
        )


def _raise(problems: _Problems, path: Path, header: list[str], *, partial: bool = False) -> None:
    assert problems.first is not None
    line, field_name, message = problems.first
    fields = _fields_on_line(path, line) if not message.startswith("malformed") else None
    if fields is not None and fields != len(header):
        message = (
            f"line has {fields} fields but the header has {len(header)} "
            f"(an extra or missing field; an index column?); {message}"
        )
    others = problems.count - 1
    if others > 0:
        scope = "in the lines checked" if partial else "in this file"
        message += f" ({others} more problem(s) {scope})"
    raise InputError(message, file=str(path), line=line, field=field_name)


def iter_contract(
    path: str | Path, contract: Contract, *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Yield ``path``'s rows parsed by ``contract`` in chunks of at most ``chunk_rows``.

    Each chunk's index is its rows' physical line minus 2 (so ``index + 2`` is the line).
    After the first bad chunk nothing more is yielded; the rest of the file is still checked
    to count the problems, then InputError names the first one. Duplicates are checked within
    a chunk; a consumer that keeps chunks apart checks across them (the samples loader does).
    """
    path = Path(path)
    header, header_lines = _read_header(path, contract)
    problems = _Problems()
    rows = 0
    for raw, lines in _raw_chunks(path, header, header_lines, chunk_rows):
        rows += len(raw)
        parsed, found = _validate(raw, lines, contract, header, str(path))
        if found.first is not None:
            line, field_name, message = found.first
            problems.add(line, field_name, message, found.count)
        if problems.first is None:
            yield parsed
    if problems.first is not None:
        _raise(problems, path, header)
    if rows == 0:
        raise InputError("no data rows", file=str(path), line=header_lines + 1)


def read_contract(path: str | Path, contract: Contract) -> pd.DataFrame:
    """Read all of ``path`` as ``contract`` (small files); raise InputError naming file, line
    and field. The index is each row's line minus 2, as ``iter_contract`` gives it."""
    path = Path(path)
    fingerprint(path)
    chunks = list(iter_contract(path, contract))
    parsed = pd.concat(chunks) if len(chunks) > 1 else chunks[0]
    if len(chunks) > 1 and contract.unique_key:
        problems = _Problems()
        _check_unique(parsed, parsed.index.to_numpy() + 2, contract, problems)
        if problems.first is not None:
            _raise(problems, path, [c.name for c in contract.columns])
    return parsed
