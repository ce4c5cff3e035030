from datetime import UTC, datetime

import pytest

from infra_review.errors import InputError
from infra_review.quarter import Quarter, quarter_for_run


@pytest.mark.parametrize("bad", ["2026Q5", "2026Q0", "2026-Q3", "26Q1", "", "2026q3 extra"])
def test_bad_quarter_is_an_input_error_naming_the_field(bad):
    with pytest.raises(InputError) as err:
        Quarter.parse(bad)
    assert err.value.field == "quarter"
    assert "YYYYQn" in str(err.value)


def test_quarter_window_is_half_open_utc():
    q = Quarter.parse("2026Q3")
    assert q.start == datetime(2026, 7, 1, tzinfo=UTC)
    assert q.end == datetime(2026, 10, 1, tzinfo=UTC)
    assert q.days == 92
    assert str(q) == "2026Q3"


def test_year_boundaries():
    assert Quarter.parse("2026Q1").previous() == Quarter(2025, 4)
    assert Quarter.parse("2025Q4").next() == Quarter(2026, 1)
    assert Quarter.parse("2025Q4").end == datetime(2026, 1, 1, tzinfo=UTC)


def test_last_full_quarter_uses_utc_not_local_time():
    # 1 Oct 02:00 in Almaty (UTC+5) is still 30 Sep in UTC: Q3 has not ended there yet.
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 10, 1, 2, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    assert Quarter.last_full_before(moment) == Quarter(2026, 2)
    assert Quarter.last_full_before(datetime(2026, 11, 25, tzinfo=UTC)) == Quarter(2026, 3)


def test_naive_datetime_is_refused():
    with pytest.raises(InputError):
        Quarter.containing(datetime(2026, 7, 1))


def test_a_run_reviews_the_quarter_its_data_interval_starts_in():
    # the scheduled run of 1 October covers July to September
    scheduled = datetime(2026, 10, 1, 6, tzinfo=UTC)
    assert quarter_for_run(None, datetime(2026, 7, 1, 6, tzinfo=UTC), scheduled) == Quarter(2026, 3)
    # a manual run on 25 November: its interval starts on 25 August, the last full quarter
    manual = datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert quarter_for_run(None, datetime(2026, 8, 25, 10, tzinfo=UTC), manual) == Quarter(2026, 3)
    # no interval at all: the last full quarter before the run, never the wall clock
    assert quarter_for_run(None, None, datetime(2027, 1, 5, tzinfo=UTC)) == Quarter(2026, 4)
    with pytest.raises(InputError) as err:
        quarter_for_run(None, None, None)
    assert err.value.field == "quarter"


def test_the_quarter_param_counts_on_manual_runs_only():
    manual = datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert quarter_for_run("2025Q4", None, manual) == Quarter(2025, 4)
    # a backfill of Q1 keeps its own quarter whatever the form's default was at parse time
    q1_start = datetime(2026, 1, 1, 6, tzinfo=UTC)
    assert quarter_for_run("2026Q3", q1_start, manual, manual=False) == Quarter(2026, 1)


def test_a_quarter_param_must_have_ended_and_be_well_formed():
    manual = datetime(2026, 11, 25, 10, tzinfo=UTC)
    # boundary: Q3 ends 1 October 00:00 UTC; a run exactly then may review it, a second
    # earlier may not
    assert quarter_for_run("2026Q3", None, datetime(2026, 10, 1, tzinfo=UTC)) == Quarter(2026, 3)
    with pytest.raises(InputError, match="has not ended"):
        quarter_for_run("2026Q3", None, datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC))
    with pytest.raises(InputError, match="has not ended"):
        quarter_for_run("2026Q4", None, manual)
    with pytest.raises(InputError) as err:
        quarter_for_run("2026Q5", None, manual)
    assert err.value.field == "quarter"
