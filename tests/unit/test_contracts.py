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


# --- issue 15: hostile and careless input -----------------------------------------------------


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (
            "2026-07-01T00:02:00Z,<img src=x onerror=alert(1)>,cpu_used_pct,5,",
            "server",
            "not matching",
        ),
        ("2026-07-01T00:02:00Z," + "a" * 64 + ",cpu_used_pct,5,", "server", "longer than 63"),
        ("2026-07-01T00:02:00Z,app-1,cpu_used_pct,5,<script>x</script>", "label", "not matching"),
        (
            "2026-07-01T00:02:00Z,app-1,cpu_used_pct,5," + "x" * 3000,
            "label",
            "longer than 256 characters (3000)",
        ),
        ("2026-07-01T00:02:00Z,app-1,cpu_used_pct,5,a\x00b", "label", "NUL byte"),
        ("2026-07-01T00:02:00Z,app\x00-1,cpu_used_pct,5,", "server", "NUL byte"),
        (
            "2026-07-01T00:02:00.0000001Z,app-1,cpu_used_pct,5,",
            "ts",
            "more precise than a microsecond",
        ),
        ("0001-01-01T00:00:00Z,app-1,cpu_used_pct,5,", "ts", "older than the import horizon"),
        ("1900-01-01T00:00:00Z,app-1,cpu_used_pct,5,", "ts", "older than the import horizon"),
        ("2021-11-01T00:00:00Z,app-1,cpu_used_pct,5,", "ts", "older than the import horizon"),
    ],
)
def test_hostile_values_never_pass_the_samples_contract(tmp_path, row, field, words):
    path = write(tmp_path, HEADER + GOOD + row + "\n")
    with pytest.raises(InputError) as err:
        read_contract(path, samples_contract(NOW))
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 5, field)
    assert words in str(err.value)


def test_label_and_timestamp_boundaries_that_pass(tmp_path):
    rows = (
        "2026-07-01T00:02:00.1234560Z,app-1,cpu_used_pct,5," + "y" * 256 + "\n"  # 7 digits, 0
        "2021-11-26T00:00:00Z,app-1,cpu_used_pct,5,GET /items/{id}?a=1&b=2\n"  # inside 5 years
        "2026-07-01T00:03:00Z," + "s" * 63 + ",cpu_used_pct,5,host:9100\n"
    )
    frame = read_contract(write(tmp_path, HEADER + GOOD + rows), samples_contract(NOW))
    assert len(frame) == 6
    assert frame["ts"].iloc[3].microsecond == 123456


def test_horizon_comes_from_the_setting(tmp_path, monkeypatch):
    path = write(tmp_path, HEADER + "2026-01-01T00:00:00Z,app-1,cpu_used_pct,5,\n")
    assert len(read_contract(path, samples_contract(NOW))) == 1
    monkeypatch.setenv("INFRA_REVIEW_SAMPLE_HORIZON_DAYS", "300")
    with pytest.raises(InputError) as err:
        read_contract(path, samples_contract(NOW))
    assert "older than the import horizon (2026-01-29" in str(err.value)


def test_line_numbers_count_blank_lines_and_multi_line_quoted_fields(tmp_path):
    body = (
        "ts,service,server,category,text\n"
        "\n"
        '2026-08-01T10:00:00+05:00,n8n,app-1,slow,"first line\nsecond line\n\nfourth"\n'
        "\n"
        "2026-08-01T11:00:00+05:00,n8n,app-1,slow,fine\n"
        "2026-08-01T12:00:00+05:00,n8n,app-1,SLOW!,bad category\n"
    )
    path = write(tmp_path, body, "complaints.csv")
    with pytest.raises(InputError) as err:
        read_contract(path, complaints_contract({"app-1"}, NOW))
    assert (err.value.line, err.value.field) == (9, "category")
    good = write(tmp_path, body.rsplit("2026-08-01T12", 1)[0], "good.csv")
    frame = read_contract(good, complaints_contract({"app-1"}, NOW))
    assert (frame.index + 2).tolist() == [3, 8]  # index + 2 is each row's line
    assert frame["text"].iloc[0] == "first line\nsecond line\n\nfourth"


def test_every_row_with_an_extra_leading_field_is_refused(tmp_path):
    body = HEADER + "".join(f"{i},{row}\n" for i, row in enumerate(GOOD.splitlines()))
    with pytest.raises(InputError) as err:
        read_contract(write(tmp_path, body), samples_contract(NOW))
    assert err.value.line == 2
    assert "6 fields but the header has 5" in str(err.value)
    with pytest.raises(InputError) as err:  # the extra field holds a valid timestamp
        read_contract(
            write(tmp_path, HEADER + "2026-07-01T00:00:00Z," + GOOD), samples_contract(NOW)
        )
    assert err.value.line == 2 and "6 fields but the header has 5" in str(err.value)


def test_bytes_that_are_not_utf8_and_unreadable_paths(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + GOOD).encode() + b"2026-07-01T00:09:00Z,app-1,cpu_used_pct,5,caf\xe9\n"
    )
    with pytest.raises(InputError) as err:
        read_contract(path, samples_contract(NOW))
    assert (err.value.line, err.value.field) == (5, "label")
    assert "not UTF-8" in str(err.value)
    with pytest.raises(InputError) as err:
        read_contract(tmp_path, samples_contract(NOW))
    assert "not a regular file" in str(err.value)
    with pytest.raises(InputError) as err:
        read_contract(tmp_path / "missing.csv", samples_contract(NOW))
    assert "file not found" in str(err.value)


def test_chunked_reading_reports_the_first_bad_line_and_counts_the_rest(tmp_path):
    from infra_review.contracts import iter_contract

    rows = [f"2026-07-01T00:{m:02d}:00Z,app-1,cpu_used_pct,{m},\n" for m in range(20)]
    rows[13] = "2026-07-01T00:13:00Z,app-1,cpu_used_pct,x,\n"
    rows[17] = "2026-07-01T00:17:00Z,app-1,cpu_used_pct,y,\n"
    path = write(tmp_path, HEADER + "".join(rows[:6]) + "\n" + "".join(rows[6:]))
    seen = []
    with pytest.raises(InputError) as err:
        for chunk in iter_contract(path, samples_contract(NOW), chunk_rows=4):
            seen.extend((chunk.index + 2).tolist())
    assert (err.value.line, err.value.field) == (16, "value")  # after the blank line 8
    assert "1 more problem(s) in this file" in str(err.value)
    assert seen == [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13]  # nothing from the bad chunk on


def test_the_csv_collector_reads_with_the_same_strictness(tmp_path):
    from infra_review.collectors.csv_samples import read_file

    good = read_file(write(tmp_path, HEADER + "\n" + GOOD))
    assert len(good) == 3 and good["label"].tolist()[2] == "directus:/server/ping"
    shifted = HEADER + "".join(f"{i},{row}\n" for i, row in enumerate(GOOD.splitlines()))
    with pytest.raises(InputError) as err:
        read_file(write(tmp_path, shifted))
    assert err.value.line == 2 and "malformed CSV" in str(err.value)
    with pytest.raises(InputError) as err:
        read_file(write(tmp_path, HEADER + "\n\n" + GOOD + "2026-07-01T00:09:00,app-1,x,1,\n"))
    assert (err.value.line, err.value.field) == (7, "ts")
