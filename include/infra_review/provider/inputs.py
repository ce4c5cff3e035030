"""What the provider criteria read: invoice lines, tickets, probe counts and the window.

Plain frozen records, filled by ``provider.store`` (or by a test); no database and no clock,
so a stored result can be recomputed from its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from infra_review.provider.money import add_months, months_between
from infra_review.quarter import Quarter


@dataclass(frozen=True)
class InvoiceLine:
    provider: str
    month: date
    line_item: str
    amount: float
    currency: str
    source_file: str | None = None
    source_line: int | None = None
    quantity: float | None = None  # units of the price-list item, when the invoice says

    def where(self) -> dict[str, Any]:
        """Where this line came from, for an InputError about it."""
        return {
            "file": self.source_file or f"infra_review.invoices ({self.provider})",
            "line": self.source_line,
            "what": f"invoice line {self.line_item!r} of {self.provider} {self.month:%Y-%m}",
        }


@dataclass(frozen=True)
class Ticket:
    provider: str
    opened_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ProbeCount:
    """probe_up samples of one series in the window: how many came in and how many were up."""

    server: str
    label: str
    received: int
    up: int
    interval_s: int


@dataclass(frozen=True)
class ReviewWindow:
    """The quarter under review; financial criteria also look back over whole months."""

    quarter: Quarter

    @property
    def start(self) -> datetime:
        return self.quarter.start

    @property
    def end(self) -> datetime:
        return self.quarter.end

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return (self.start, self.end)

    @property
    def months(self) -> list[date]:
        return months_between(self.start.date(), self.end.date())

    def lookback(self, months: int) -> list[date]:
        """The ``months`` whole months that end with the quarter."""
        end = self.end.date()
        return months_between(add_months(end, -months), end)

    @property
    def last_month(self) -> date:
        return self.months[-1]


def month_bounds(months: Sequence[date]) -> tuple[datetime, datetime]:
    """The UTC instants from the first month's start to the last month's end."""
    first, last = months[0], add_months(months[-1], 1)
    return (
        datetime(first.year, first.month, 1, tzinfo=UTC),
        datetime(last.year, last.month, 1, tzinfo=UTC),
    )
