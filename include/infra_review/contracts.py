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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from infra_review.contract_parsers import (
    _ISO_RE,
    FUTURE_SKEW,
    LABEL_MAX,
    LABEL_RE,
    TEXT_MAX,
    Parser,
    choice,
    iso_date,
    label,
    month,
    number,
    optional_timestamp_with_offset,
    parse_distinct,
    text,
    timestamp_with_offset,
)
from infra_review.contract_reader import (
    _EXTRA,
    CHUNK_ROWS,
    fields_on_line,
    fingerprint,
    raw_chunks,
    read_header,
)
from infra_review.errors import InputError

# Callers import these from here; the parsers live in contract_parsers, the file reading in
# contract_reader. _read_header and _raw_chunks are their names before the split.
_read_header = read_header
_raw_chunks = raw_chunks
__all__ = [
    "_EXTRA",
    "_ISO_RE",
    "CHUNK_ROWS",
    "FUTURE_SKEW",
    "LABEL_MAX",
    "LABEL_RE",
    "TEXT_MAX",
    "Column",
    "Contract",
    "Parser",
    "RowCheck",
    "_raw_chunks",
    "_read_header",
    "choice",
    "fingerprint",
    "iso_date",
    "iter_contract",
    "label",
    "month",
    "number",
    "optional_timestamp_with_offset",
    "read_contract",
    "text",
    "timestamp_with_offset",
]


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


@dataclass
class _Problems:
    """The first problem of a file (lowest line) and how many bad rows it has in all."""

    first: tuple[int, str, str] | None = None  # (line, field, message)
    count: int = 0

    def add(self, line: int, field_name: str, message: str, count: int) -> None:
        if self.first is None or line < self.first[0]:
            self.first = (line, field_name, message)
        self.count += count


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
        result, bad, reasons = parse_distinct(column.parser, values)
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
    fields = fields_on_line(path, line) if not message.startswith("malformed") else None
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
    header, header_lines = read_header(path, contract)
    problems = _Problems()
    rows = 0
    for raw, lines in raw_chunks(path, header, header_lines, chunk_rows):
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
