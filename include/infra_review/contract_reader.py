"""Reading a contract's CSV file: the checksum and UTF-8 check (``fingerprint``), the header
(``read_header``) and the rows in raw string chunks with each row's physical line
(``raw_chunks``); a malformed record is found again with the csv module to name its line.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from infra_review.errors import InputError

if TYPE_CHECKING:
    from infra_review.contracts import Contract

CHUNK_ROWS = 100_000  # about 150 MB at peak on top of the interpreter; flat for any file
_EXTRA = "\x00extra"  # a column one past the header: a row that fills it has too many fields


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


def read_header(path: Path, contract: Contract) -> tuple[list[str], int]:
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


def fields_on_line(path: Path, line: int) -> int | None:
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


def raw_chunks(path: Path, header: list[str], header_lines: int, chunk_rows: int):
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
