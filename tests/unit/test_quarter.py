from datetime import UTC, datetime

import pytest

from infra_review.errors import InputError
from infra_review.quarter import Quarter


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
