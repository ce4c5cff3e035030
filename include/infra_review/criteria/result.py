"""The result of one criterion for one subject, with the evidence that backs it.

Every result carries the observed value, the threshold, the window and the data used,
so that a person can check the decision without re-running anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True)
class CriterionResult:
    """One criterion evaluated for one subject (a server, the fleet, or a provider)."""

    criterion_id: str
    subject: str
    outcome: Outcome
    observed: float | None
    threshold: float | None
    window_start: datetime
    window_end: datetime
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return self.outcome is Outcome.MET

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe dict; NaN and infinities become None so PostgreSQL jsonb accepts it."""
        return {
            "criterion_id": self.criterion_id,
            "subject": self.subject,
            "outcome": str(self.outcome),
            "observed": _finite_or_none(self.observed),
            "threshold": _finite_or_none(self.threshold),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "evidence": json_safe(self.evidence),
        }


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """Convert numpy/pandas scalars, datetimes and NaN into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat") and callable(value.isoformat):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return json_safe(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return json.loads(json.dumps(value, default=str))
