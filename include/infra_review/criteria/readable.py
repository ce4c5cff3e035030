"""Each criterion's numbers in the unit of its own text, for people and BI tools.

A criterion computes in whatever unit is handy (hours of a run, a share 0..1, a ratio); its
text speaks of "1 hour", "100 items", "2 seconds", "150%". Each criterion's class says which
(``unit``, ``scale``, ``duration_unit``, ``shown_threshold``/``shown_comparator``, or its own
``limits``/``shown_observed``); ``limits(criterion_id, params)`` gives the threshold, comparator and unit from the criteria.yaml rule, and, for a criterion
that also asks "for how long" (or "in how many hours"), that second condition apart;
``observed(result)`` gives the result's values in the same units. The reporting catalog and
each stored result use the same ``limits``, so ``reporting.criteria`` and
``reporting.criterion_results`` never disagree on a threshold. Full precision stays in the
result's evidence JSON; views round for display.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import parse_duration

# unit symbols (stored in the views) and how a Russian sentence writes them
UNITS_RU = {
    "%": "%",
    "% of hours": "% часов",
    "h": "ч",
    "min": "мин",
    "s": "с",
    "items": "задач",
    "×": "×",
    "complaints": "жалоб",
    "regions": "регионов",
    "violations": "нарушений",
    "lines": "строк",
    "/5": "из 5",
}


@dataclass(frozen=True)
class Limits:
    threshold: float | None
    comparator: str
    unit: str
    duration_threshold: float | None = None
    duration_comparator: str | None = None
    duration_unit: str | None = None


@dataclass(frozen=True)
class Readable:
    observed: float | None
    threshold: float | None
    comparator: str
    unit: str
    duration_observed: float | None
    duration_threshold: float | None
    duration_comparator: str | None
    duration_unit: str | None
    evidence_en: str
    evidence_ru: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def num(value: Any, scale: float = 1.0) -> float | None:
    """``value`` as a float times ``scale``; None for None, a bool or text."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value) * scale
    except (TypeError, ValueError):
        return None


_PER_UNIT_S = {"h": 3600, "min": 60}


def level(
    params: dict,
    unit: str,
    scale: float = 1.0,
    default: float | None = None,
    comparator: str = ">",
    duration_unit: str | None = None,
) -> Limits:
    """A "level above X" criterion's limits (``Criterion.limits``); with ``duration_unit``
    also its "for how long" from ``duration`` and ``duration_comparator``."""
    lim = Limits(
        num(params.get("threshold", default), scale), params.get("comparator", comparator), unit
    )
    if duration_unit is None:
        return lim
    duration = (
        parse_duration(params["duration"]).total_seconds() / _PER_UNIT_S[duration_unit]
        if "duration" in params
        else None
    )
    return replace(
        lim,
        duration_threshold=duration,
        duration_comparator=params.get("duration_comparator", ">"),
        duration_unit=duration_unit,
    )


def held(result: CriterionResult) -> tuple[float | None, float | None]:
    """A "level for how long" result: the longest run's peak (else the worst hour's p95),
    and the duration it observed."""
    ev = result.evidence or {}
    run = ev.get("longest_run") if isinstance(ev.get("longest_run"), dict) else {}
    peak = num(run.get("peak"))
    if peak is None and isinstance(ev.get("worst_hour"), dict):
        peak = num(ev["worst_hour"].get("p95_s"))
    duration = None if result.outcome is Outcome.INSUFFICIENT_DATA else num(result.observed)
    return peak, duration


def _criterion(criterion_id: str):
    from infra_review.criteria.registry import criterion_class

    return criterion_class(criterion_id)


def limits(criterion_id: str, params: dict[str, Any] | None) -> Limits:
    """Threshold, comparator and unit of a criterion from its criteria.yaml params (the
    criterion's ``limits``; an unknown id gets its threshold and comparator, no unit)."""
    params = dict(params or {})
    cls = _criterion(criterion_id)
    if cls is not None:
        return cls.limits(params)
    return Limits(num(params.get("threshold")), str(params.get("comparator") or ">"), "")


def observed(result: CriterionResult) -> tuple[float | None, float | None]:
    """(observed level, observed duration or share) in the units of ``limits``."""
    if (result.evidence or {}).get("applicable") is False:
        return None, None
    cls = _criterion(result.criterion_id)
    if cls is None:
        return num(result.observed), None
    return cls.shown_observed(result)


def readable(result: CriterionResult, params: dict[str, Any] | None) -> Readable:
    """The result's readable values and its one-line sentences (what the CLI prints)."""
    from infra_review.criteria.registry import explain_both

    lim = limits(result.criterion_id, params)
    obs, dur = observed(result)
    try:
        en, ru = explain_both(result)
    except (KeyError, TypeError, ValueError, AttributeError):
        # evidence in an older or foreign shape: the numbers still read, never a failed write
        en, ru = _plain(result.outcome, obs, lim)
    return Readable(
        observed=obs,
        threshold=lim.threshold,
        comparator=lim.comparator,
        unit=lim.unit,
        duration_observed=dur if lim.duration_threshold is not None else None,
        duration_threshold=lim.duration_threshold,
        duration_comparator=lim.duration_comparator,
        duration_unit=lim.duration_unit,
        evidence_en=en,
        evidence_ru=ru,
    )


def _g(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _plain(outcome: Outcome, obs: float | None, lim: Limits) -> tuple[str, str]:
    seen = _g(obs)
    en = f"{outcome}: observed {seen} {lim.unit}, threshold {lim.comparator} {_g(lim.threshold)} {lim.unit}"
    ru_outcome = {"met": "выполнен", "not_met": "не выполнен"}.get(
        str(outcome), "недостаточно данных"
    )
    ru = (
        f"{ru_outcome}: наблюдалось {seen} {unit_ru(lim.unit)}, "
        f"порог {lim.comparator} {_g(lim.threshold)} {unit_ru(lim.unit)}"
    )
    return en.strip(), ru.strip()


_COUNTED_RU = {
    "items": ("задача", "задачи", "задач"),
    "complaints": ("жалоба", "жалобы", "жалоб"),
    "regions": ("регион", "региона", "регионов"),
    "violations": ("нарушение", "нарушения", "нарушений"),
    "lines": ("строка", "строки", "строк"),
}


def value_ru(value: float | None, unit: str | None, digits: int = 2) -> str:
    """'72,48%', '6,5 ч', '3 строки', '4,5 из 5' (Babel's number format and plural forms)."""
    from infra_review import russian

    if value is None:
        return "–"
    if unit in _COUNTED_RU:
        return russian.count(value, *_COUNTED_RU[unit])
    text = russian.number(value, digits)
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit_ru(unit)}".strip()


def observed_ru(result: CriterionResult) -> str:
    """The result's observed value in Russian, in the unit of the criterion's text."""
    obs, _ = observed(result)
    return "" if obs is None else value_ru(obs, limits(result.criterion_id, {}).unit)


def unit_ru(unit: str | None) -> str:
    return UNITS_RU.get(unit or "", unit or "")


def rule_params(
    inputs: dict[str, Any] | None, criteria_sha256: str | None
) -> dict[str, dict[str, Any]]:
    """Each criterion's params as the review used them: the run's own criteria snapshot
    (capacity), else criteria.yaml when it is the version the run recorded, else none."""
    rules = ((inputs or {}).get("criteria") or {}).get("rules") or {}
    if rules:
        return {cid: dict(r.get("params") or {}) for cid, r in rules.items()}
    from infra_review.criteria.rules import load_criteria

    try:
        current = load_criteria()
    except Exception:  # noqa: BLE001 - a missing file only loses the readable thresholds
        return {}
    if criteria_sha256 and current.sha256 != criteria_sha256:
        return {}
    return {cid: dict(r.params) for cid, r in current.rules.items()}
