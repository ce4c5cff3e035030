"""Review windows: a quarter like ``2026Q3`` is the half-open UTC interval [start, end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from infra_review.errors import InputError

QUARTER_PATTERN = r"^\d{4}Q[1-4]$"
_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter in UTC; reviews never guess a local time zone."""

    year: int
    q: int

    @classmethod
    def parse(cls, text: str, *, field: str = "quarter") -> Quarter:
        match = _QUARTER_RE.match(str(text).strip())
        if not match:
            raise InputError(
                f"bad quarter {text!r}: expected YYYYQn with n in 1..4, for example 2026Q3",
                field=field,
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: datetime) -> Quarter:
        moment = _as_utc(moment)
        return cls(moment.year, (moment.month - 1) // 3 + 1)

    @classmethod
    def last_full_before(cls, moment: datetime) -> Quarter:
        """The quarter that ended most recently at ``moment`` (the one a review covers)."""
        return cls.containing(moment).previous()

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * (self.q - 1) + 1, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InputError(f"timestamp {moment.isoformat()} has no time zone offset")
    return moment.astimezone(UTC)


def quarter_for_run(
    param: str | None,
    data_interval_start: datetime | None,
    run_after: datetime | None = None,
    *,
    manual: bool = True,
) -> Quarter:
    """The quarter a review run covers, never from the wall clock: rerunning an old run
    reviews the same quarter.

    A person's ``quarter`` param wins on a manual run (or the CLI). A scheduled or backfill
    run ignores it, because the form's default is the last full quarter *at parse time*,
    which is wrong for a backfill; those take the quarter their data interval starts in (the
    run on 1 October covers July to September). A manual run's interval is the three months
    before it, so with no param it also reviews the last full quarter. A quarter that has not
    ended at the run's time is bad input: its decision would rest on part of the data.
    """
    if param and manual:
        quarter = Quarter.parse(param)
        if run_after is not None and quarter.end > _as_utc(run_after):
            raise InputError(
                f"quarter {quarter} has not ended at this run's time ({run_after.isoformat()})",
                field="quarter",
            )
        return quarter
    if data_interval_start is not None:
        return Quarter.containing(data_interval_start)
    if run_after is not None:
        return Quarter.last_full_before(run_after)
    raise InputError("no quarter given and the run has no data interval", field="quarter")
