"""The samples, complaints and plans contracts: every bad input names file, line and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra_review.contracts import read_contract
from infra_review.errors import InputError
from infra_review.imports import complaints_contract, plans_contract, samples_contract

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HEADER = "ts,server,metric,value,label\n"
GOOD = (
    "2026-07-01T00:00:00Z,app-1,ram_used_pct,71.5,\n"
    "2026-07-01T05:01:00+05:00,app-1,ram_used_pct,72,\n"
    "2026-07-01T00:00:00Z,app-1,api_latency_s,0.25,directus:/server/ping\n"
)


def write(tmp_path: Path, body: str, name: str = "samples.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_good_samples_parse_to_utc(tmp_path):
    frame = read_contract(write(tmp_path, HEADER + GOOD), samples_contract(NOW))
    assert len(frame) == 3
    assert frame["ts"].iloc[1] == datetime(2026, 7, 1, 0, 1, tzinfo=UTC)  # +05:00 converted
    assert frame["value"].tolist() == [71.5, 72.0, 0.25]
    assert frame["label"].tolist() == ["", "", "directus:/server/ping"]


@pytest.mark.parametrize(
    ("row", "line", "field", "words"),
    [
        ("2026-07-01T00:02:00,app-1,ram_used_pct,70,", 5, "ts", "explicit offset"),
        ("2026-07-01T00:02:00Z,app-1,ram_used_pct,abc,", 5, "value", "finite number"),
        ("2026-07-01T00:02:00Z,app-1,ram_used_pct,NaN,", 5, "value", "finite number"),
        ("2026-07-01T00:02:00Z,app-1,disk_pct,70,", 5, "metric", "must be one of"),
        ("2026-07-01T00:02:00Z,app-1,ram_used_pct,130,", 5, "value", "out of range"),
        ("2026-07-01T00:02:00Z,app-1,cpu_used_pct,-1,", 5, "value", "out of range"),
        ("2026-07-01T00:02:00Z,app-1,probe_up,0.5,x", 5, "value", "probe_up"),
        ("2027-01-01T00:00:00Z,app-1,ram_used_pct,70,", 5, "ts", "future"),
        ("2026-07-01T00:02:00Z,bad name!,ram_used_pct,70,", 5, "server", "not matching"),
        ("2026-07-01T00:00:00Z,app-1,ram_used_pct,99,", 2, "server,metric,label,ts", "duplicate"),
    ],
)
def test_each_bad_row_is_reported_with_line_and_field(tmp_path, row, line, field, words):
    path = write(tmp_path, HEADER + GOOD + row + "\n")
    with pytest.raises(InputError) as err:
        read_contract(path, samples_contract(NOW))
    assert err.value.file == str(path)
    assert err.value.line == line
    assert err.value.field == field
    assert words in str(err.value)


def test_first_bad_line_is_reported_with_the_count_of_others(tmp_path):
    rows = "".join(f"2026-07-02T00:0{i}:00,app-1,ram_used_pct,70,\n" for i in range(3))
    with pytest.raises(InputError) as err:
        read_contract(write(tmp_path, HEADER + GOOD + rows), samples_contract(NOW))
    assert err.value.line == 5
    assert "2 more problem(s)" in str(err.value)


def test_missing_column_and_unknown_column_and_empty_file(tmp_path):
    with pytest.raises(InputError) as err:
        read_contract(write(tmp_path, "ts,server,value\n"), samples_contract(NOW))
    assert (err.value.line, err.value.field) == (1, "metric")
    with pytest.raises(InputError) as err:
        read_contract(write(tmp_path, HEADER.strip() + ",host\n"), samples_contract(NOW))
    assert err.value.field == "host"
    with pytest.raises(InputError) as err:
        read_contract(write(tmp_path, ""), samples_contract(NOW))
    assert "empty" in str(err.value)
    with pytest.raises(InputError) as err:
        read_contract(write(tmp_path, HEADER), samples_contract(NOW))
    assert "no data rows" in str(err.value)


def test_malformed_csv_names_the_line(tmp_path):
    path = write(tmp_path, HEADER + GOOD + "2026-07-01T00:05:00Z,app-1,ram_used_pct,70,a,b\n")
    with pytest.raises(InputError) as err:
        read_contract(path, samples_contract(NOW))
    assert err.value.line == 5
    assert "malformed CSV: Expected 5 fields" in str(err.value)
    path = write(tmp_path, HEADER + GOOD + '2026-07-01T00:05:00Z,app-1,"ram_used_pct,70\n')
    with pytest.raises(InputError) as err:
        read_contract(path, samples_contract(NOW))
    assert err.value.line == 5
    assert "EOF inside string" in str(err.value)


def test_label_column_is_optional(tmp_path):
    path = write(tmp_path, "ts,server,metric,value\n2026-07-01T00:00:00Z,app-1,cpu_used_pct,5\n")
    frame = read_contract(path, samples_contract(NOW))
    assert len(frame) == 1


def test_complaints_reject_unknown_server(tmp_path):
    path = write(
        tmp_path,
        "ts,service,server,category,text\n"
        "2026-08-01T10:00:00+05:00,n8n,app-1,slow,ok\n"
        "2026-08-01T11:00:00+05:00,n8n,app-9,slow,who is this\n",
        "complaints.csv",
    )
    with pytest.raises(InputError) as err:
        read_contract(path, complaints_contract({"app-1", "data-1"}, NOW))
    assert (err.value.line, err.value.field) == (3, "server")
    assert "unknown server" in str(err.value)


def test_plans_need_a_date_and_non_negative_sizes(tmp_path):
    path = write(
        tmp_path,
        "service,server,planned_for,ram_gb,cpu_cores\nqdrant,data-1,2026-13-01,4,1\n",
        "plans.csv",
    )
    with pytest.raises(InputError) as err:
        read_contract(path, plans_contract({"data-1"}))
    assert (err.value.line, err.value.field) == (2, "planned_for")
    path.write_text("service,server,planned_for,ram_gb,cpu_cores\nqdrant,data-1,2026-12-01,-4,1\n")
    with pytest.raises(InputError) as err:
        read_contract(path, plans_contract({"data-1"}))
    assert err.value.field == "ram_gb"
