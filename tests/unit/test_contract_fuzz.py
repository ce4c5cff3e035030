"""Fuzz (hypothesis) over the complaints and planned-services contracts: any generated file is
either read with rows equal to the file's rows (as Python's csv module reads them) or refused
with an InputError naming the file and line; never another exception. (The samples contract
is fuzzed through the real import in tests/integration/test_import_fuzz.py.)"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_review.contracts import read_contract
from infra_review.errors import InputError
from infra_review.imports import complaints_contract, plans_contract

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SERVERS = {"app-1", "data-1"}
STRUCTURAL = ("malformed CSV", "empty file", "no data rows", "line has")
WORDS = st.one_of(
    st.sampled_from(["n8n", "slow", "app-1", "data-1", "", " x ", "a,b", 'q"q', "two\nlines"]),
    st.text(max_size=12),
)
TS = st.one_of(
    st.sampled_from(["2026-08-01T10:00:00+05:00", "2026-08-01T10:00:00", "1900-01-01T00:00:00Z"]),
    st.text(max_size=20),
)
NUMBER = st.one_of(st.sampled_from(["0", "2", "-4", "1e9", "nan", ""]), st.text(max_size=5))
DATE = st.one_of(st.sampled_from(["2026-12-01", "2026-13-01", "01.12.2026"]), st.text(max_size=10))


def render(draw, header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    if draw(st.booleans()):
        csv.writer(out, lineterminator="\n").writerows([header, *rows])
    else:
        out.write("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    text = out.getvalue()
    if draw(st.booleans()):
        text = text.replace("\n", "\n\n", 1)
    return text


def records(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    return [[f.strip() for f in r] for r in rows if any(f.strip() for f in r)]


def check(tmp_path, text: str, contract, compare) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode("utf-8"))
    try:
        frame = read_contract(path, contract)
    except InputError as err:
        assert err.file == str(path) and err.line is not None and err.line >= 1, str(err)
        assert err.field is not None or err.reason.startswith(STRUCTURAL), str(err)
        return
    want = records(text)
    assert len(frame) == len(want)
    for got, row in zip(frame.itertuples(index=False), want, strict=True):
        compare(got, row)


@st.composite
def complaints_files(draw) -> str:
    rows = draw(st.lists(st.tuples(TS, WORDS, WORDS, WORDS, WORDS).map(list), max_size=6))
    return render(draw, ["ts", "service", "server", "category", "text"], rows)


@settings(max_examples=150, deadline=None)
@given(text=complaints_files())
def test_any_complaints_file_reads_exactly_or_fails_cleanly(tmp_path_factory, text):
    def compare(got, row):
        assert got.ts == pd.Timestamp(row[0]).tz_convert("UTC")
        assert [got.service, got.server, got.category, got.text] == row[1:]

    check(tmp_path_factory.mktemp("c"), text, complaints_contract(SERVERS, NOW), compare)


@st.composite
def plans_files(draw) -> str:
    rows = draw(st.lists(st.tuples(WORDS, WORDS, DATE, NUMBER, NUMBER).map(list), max_size=6))
    return render(draw, ["service", "server", "planned_for", "ram_gb", "cpu_cores"], rows)


@settings(max_examples=150, deadline=None)
@given(text=plans_files())
def test_any_plans_file_reads_exactly_or_fails_cleanly(tmp_path_factory, text):
    def compare(got, row):
        assert [got.service, got.server, got.planned_for.isoformat()] == row[:3]
        assert [got.ram_gb, got.cpu_cores] == [float(row[3]), float(row[4])]

    check(tmp_path_factory.mktemp("p"), text, plans_contract(SERVERS), compare)
