"""The one place the code reads the wall clock, so a test (or an operator) can set it.

``now()`` is the current UTC instant, unless ``INFRA_REVIEW_NOW`` holds an ISO-8601 instant
with an offset (it reaches subprocesses such as the CLI) or a test froze it with ``frozen``.
Everything that *judges* data by the present reads this clock: the future-timestamp check,
staleness, the default quarter, run keys. PostgreSQL's ``now()`` only stamps when a row was
written (``loaded_at``, ``validated_at``, ``updated_at``); no decision compares the two.
Stdlib only: the DAG files may import it at parse time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

NOW_ENV = "INFRA_REVIEW_NOW"
_frozen: datetime | None = None


def now() -> datetime:
    """The present, in UTC: a frozen instant, else ``INFRA_REVIEW_NOW``, else the wall clock."""
    if _frozen is not None:
        return _frozen
    text = os.environ.get(NOW_ENV, "").strip()
    if text:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(f"{NOW_ENV}={text!r} has no time zone offset")
        return moment.astimezone(UTC)
    return datetime.now(UTC)


@contextmanager
def frozen(moment: datetime) -> Iterator[datetime]:
    """Within the block, ``now()`` is ``moment`` (tests state the date they mean)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("a frozen instant needs a time zone")
    previous, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous
