"""Each criterion's numbers in the unit of its own text, for people and BI tools.

A criterion computes in whatever unit is handy (hours of a run, a share 0..1, a ratio); its
text speaks of "1 hour", "100 items", "2 seconds", "150%". ``limits(criterion_id, params)``
gives the threshold, comparator and unit from the criteria.yaml rule, and, for a criterion
that also asks "for how long" (or "in how many hours"), that second condition apart;
``observed(result)`` gives the result's values in the same units. The reporting catalog and
each stored result use the same ``limits``, so ``reporting.criteria`` and
``reporting.criterion_results`` never disagree on a threshold. Full precision stays in the
result's evidence JSON; views round for display.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
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


def _num(value: Any, scale: float = 1.0) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value) * scale
    except (TypeError, ValueError):
        return None


def _hours(params: dict) -> float | None:
    return (
        parse_duration(params["duration"]).total_seconds() / 3600 if "duration" in params else None
    )


def _minutes(params: dict) -> float | None:
    return parse_duration(params["duration"]).total_seconds() / 60 if "duration" in params else None


def _level(params: dict, unit: str, scale: float = 1.0, default: float | None = None) -> Limits:
    return Limits(
        _num(params.get("threshold", default), scale), params.get("comparator", ">"), unit
    )


def _sustained(params: dict, unit: str, duration: float | None, duration_unit: str) -> Limits:
    return Limits(
        _num(params.get("threshold")),
        params.get("comparator", ">"),
        unit,
        duration,
        params.get("duration_comparator", ">"),
        duration_unit,
    )


# criterion id -> limits from its params (the unit is the one its text speaks)
_LIMITS = {
    "ram.sustained": lambda p: _sustained(p, "%", _hours(p), "h"),
    "cpu.sustained": lambda p: _sustained(p, "%", _hours(p), "h"),
    "cpu.api_latency": lambda p: _sustained(p, "s", _hours(p), "h"),
    "cpu.n8n_queue": lambda p: _sustained(p, "items", _minutes(p), "min"),
    "ram.swap": lambda p: Limits(
        _num(p.get("share_of_hours", 0.1), 100), p.get("share_comparator", ">"), "% of hours"
    ),
    "ram.degradation": lambda p: _level(p, "×"),
    "ram.planned": lambda p: _level(p, "%"),
    "cpu.complaints": lambda p: Limits(
        _num(p.get("threshold")), p.get("comparator", ">="), "complaints"
    ),
    "server.both_loaded": lambda p: Limits(
        _num(p.get("threshold")),
        p.get("comparator", ">"),
        "%",
        _num(p.get("share_of_hours", 0.9), 100),
        p.get("share_comparator", ">="),
        "% of hours",
    ),
    "server.geo": lambda p: Limits(0.0, ">", "regions"),
    "server.isolation": lambda p: Limits(0.0, ">", "violations"),
    "server.upgrade_limit": lambda p: _level(p, "%", 100, 1.0),
    "fin.tco": lambda p: _level(p, "%", 100),
    "fin.predictable": lambda p: _level(p, "%", 100),
    "fin.transparency": lambda p: _level(p, "%", 100),
    "fin.hidden_fees": lambda p: Limits(
        _num(p.get("threshold", 0)), p.get("comparator", "=="), "lines"
    ),
    "tech.sla": lambda p: _level(p, "%"),
    "tech.modern": lambda p: _level(p, "%", 100),
    "tech.support": lambda p: Limits(_num(p.get("threshold")), p.get("comparator", "<="), "h"),
    "tech.automation": lambda p: Limits(100.0, ">=", "%"),
    "strat.jurisdiction": lambda p: Limits(100.0, ">=", "%"),
    "strat.reputation": lambda p: _level(p, "/5"),
    "strat.stability": lambda p: _level(p, "/5"),
    "strat.roadmap": lambda p: _level(p, "/5"),
}

# criterion id -> how much the stored ``observed`` is scaled to reach the unit above
_SCALE = {
    "ram.swap": 100,
    "server.upgrade_limit": 100,
    "fin.tco": 100,
    "fin.predictable": 100,
    "fin.transparency": 100,
    "tech.modern": 100,
    "tech.automation": 100,
    "strat.jurisdiction": 100,
}
_DURATION = ("ram.sustained", "cpu.sustained", "cpu.api_latency", "cpu.n8n_queue")


def limits(criterion_id: str, params: dict[str, Any] | None) -> Limits:
    """Threshold, comparator and unit of a criterion from its criteria.yaml params."""
    params = dict(params or {})
    make = _LIMITS.get(criterion_id)
    if make is not None:
        return make(params)
    return Limits(_num(params.get("threshold")), str(params.get("comparator") or ">"), "")


def observed(result: CriterionResult) -> tuple[float | None, float | None]:
    """(observed level, observed duration or share) in the units of ``limits``."""
    ev, cid = result.evidence or {}, result.criterion_id
    if ev.get("applicable") is False:
        return None, None
    if cid in _DURATION:
        run = ev.get("longest_run") if isinstance(ev.get("longest_run"), dict) else {}
        level = _num(run.get("peak"))
        if level is None and isinstance(ev.get("worst_hour"), dict):
            level = _num(ev["worst_hour"].get("p95_s"))
        duration = None if result.outcome is Outcome.INSUFFICIENT_DATA else _num(result.observed)
        return level, duration
    if cid == "server.both_loaded":
        return None, _num(result.observed, 100)
    return _num(result.observed, _SCALE.get(cid, 1)), None


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
