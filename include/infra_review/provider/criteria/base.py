"""What every provider criterion is: an id, the parameters it reads from criteria.yaml
(checked when the file is bound, naming a missing or misspelt key), ``evaluate(context)``
and ``explain(result, lang)``. The helpers here build results the same way for all twelve.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.errors import InputError

if TYPE_CHECKING:
    from datetime import datetime

    from infra_review.provider.costs import ActualCost, Tco
    from infra_review.provider.inputs import InvoiceLine, ProbeCount, ReviewWindow, Ticket
    from infra_review.provider.model import Provider, Requirements
    from infra_review.provider.money import Converter

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
# Keys every rule may carry whatever the criterion: the loader's and the catalog's.
COMMON_KEYS = ("id", "review", "group", "text_ru", "text_en", "default_source")
_REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One key a criterion reads from its criteria.yaml entry."""

    name: str
    kind: type | tuple[type, ...] = (int, float)
    default: Any = _REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclass(frozen=True)
class Context:
    """Everything one provider's criteria read in one review, already filtered to it."""

    provider: Provider
    is_current: bool
    window: ReviewWindow
    requirements: Requirements
    invoices: Sequence[InvoiceLine]
    converter: Converter
    tickets: Sequence[Ticket] = ()
    probes: Sequence[ProbeCount] = ()
    coverage_floor: float = 0.9
    current_cost: ActualCost | None = None
    tco: Tco | None = None
    fleet_check: dict[str, Any] | None = None  # costs.compare_fleet for the current provider


class Criterion:
    """Base of the twelve provider criteria; a subclass sets ``id``, ``group``, ``params``
    and implements ``evaluate``."""

    id: ClassVar[str]
    group: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, rule: Rule, source: str = "criteria.yaml", line_of=None) -> None:
        self.rule = rule
        self.p = self._validated(rule, source, line_of or (lambda _cid, _key: None))

    @classmethod
    def _validated(cls, rule: Rule, source: str, line_of) -> dict[str, Any]:
        known = {p.name: p for p in cls.params}
        out: dict[str, Any] = {}
        for key in rule.params:
            if key not in known and key not in COMMON_KEYS:
                raise InputError(
                    f"{key!r} is not a parameter of {cls.id}; it takes {sorted(known) or 'none'}",
                    file=source,
                    line=line_of(cls.id, key),
                    field=f"{cls.id}.{key}",
                )
        for p in cls.params:
            if p.name not in rule.params:
                if p.required:
                    raise InputError(
                        f"{cls.id} needs {p.name!r} ({p.doc or p.name})",
                        file=source,
                        line=line_of(cls.id, None),
                        field=f"{cls.id}.{p.name}",
                    )
                out[p.name] = p.default
                continue
            value = rule.params[p.name]
            if isinstance(value, bool) and bool not in _as_tuple(p.kind):
                value = None
            if not isinstance(value, p.kind) or (
                p.name == "comparator" and value not in COMPARATORS
            ):
                raise InputError(
                    f"{cls.id}.{p.name} is {rule.params[p.name]!r}; expected {_kind_name(p)}",
                    file=source,
                    line=line_of(cls.id, p.name),
                    field=f"{cls.id}.{p.name}",
                )
            out[p.name] = value
        return out

    # --- results -------------------------------------------------------------------------

    def evaluate(self, ctx: Context) -> CriterionResult:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def threshold(self) -> float:
        return float(self.p["threshold"])

    def compare(self, observed: float, threshold: float | None = None) -> bool:
        """The comparator from criteria.yaml (``>`` when the rule names none)."""
        op = COMPARATORS[str(self.p.get("comparator") or ">")]
        return bool(op(observed, self.threshold if threshold is None else threshold))

    def result(
        self,
        subject: str,
        outcome: Outcome,
        observed: float | None,
        threshold: float | None,
        window: tuple[datetime, datetime],
        evidence: dict[str, Any],
    ) -> CriterionResult:
        evidence = {
            "comparator": self.rule.params.get("comparator"),
            "default_source": self.rule.params.get("default_source"),
            **evidence,
        }
        return CriterionResult(
            criterion_id=self.id,
            subject=subject,
            outcome=outcome,
            observed=observed,
            threshold=threshold,
            window_start=window[0],
            window_end=window[1],
            evidence=evidence,
        )

    def no_data(
        self, subject: str, window: tuple[datetime, datetime], evidence: dict[str, Any]
    ) -> CriterionResult:
        """``insufficient_data``: nothing observed, the threshold and the reason."""
        threshold = self.threshold if "threshold" in self.p else None
        return self.result(subject, Outcome.INSUFFICIENT_DATA, None, threshold, window, evidence)

    def provenance(self, provider: Provider, fact: str, window: ReviewWindow) -> dict[str, Any]:
        """Source, date and age of a declared fact (issue 14), judged at the window's end
        (never the wall clock); ``reason`` is set when the fact is no data."""
        max_age = int(self.p.get("max_age_days", 365))
        as_of = window.end.date()
        declared = provider.declared.get(fact)
        out: dict[str, Any] = {"max_age_days": max_age, "as_of": as_of.isoformat()}
        if declared is None or declared.source is None or declared.date is None:
            out["reason"] = (
                f"{provider.id}'s {fact} are declared without a source and a date "
                f"(providers.yaml {provider.field}.{fact}.source / .date)"
            )
            return out
        age = (as_of - declared.date).days
        out.update({"source": declared.source, "date": declared.date.isoformat(), "age_days": age})
        if declared.date >= as_of:  # the window's end is excluded, as for the scores
            out["reason"] = f"{provider.id}'s {fact} are dated {declared.date}, after the quarter"
        elif age > max_age:
            out["reason"] = f"{provider.id}'s {fact} are {age} days old, older than {max_age} days"
        return out

    # --- words ---------------------------------------------------------------------------

    def observed_text(self, result: CriterionResult) -> str:
        """The observed value in the unit a reader expects; criteria override it."""
        return "" if result.observed is None else f"{result.observed:g}"

    def explain(self, result: CriterionResult, lang: str = "en") -> str:
        """One sentence: the criterion, its outcome, the value and the reason (en or ru)."""
        text = self.rule.text_ru if lang == "ru" else self.rule.text_en
        outcome = OUTCOME_WORDS[lang][result.outcome]
        value = self.observed_text(result)
        reason = result.evidence.get("reason")
        out = f"{self.id} ({text}): {outcome}"
        if value:
            out += f", {value}"
        if reason:
            out += f" ({reason})" if lang == "en" else f" ({reason})"
        return out


OUTCOME_WORDS = {
    "en": {Outcome.MET: "met", Outcome.NOT_MET: "not met", Outcome.INSUFFICIENT_DATA: "no data"},
    "ru": {
        Outcome.MET: "выполнен",
        Outcome.NOT_MET: "не выполнен",
        Outcome.INSUFFICIENT_DATA: "нет данных",
    },
}


def outcome_of(ok: bool) -> Outcome:
    return Outcome.MET if ok else Outcome.NOT_MET


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(p: Param) -> str:
    names = {int: "a number", float: "a number", str: "a text", list: "a list", bool: "true/false"}
    words = sorted({names.get(k, k.__name__) for k in _as_tuple(p.kind)})
    if p.name == "comparator":
        return f"one of {sorted(COMPARATORS)}"
    return " or ".join(words)


MAX_AGE = Param("max_age_days", int, 365, "a declared fact or score older than this is no data")
COMPARATOR = Param("comparator", str, ">", "how observed is compared with threshold")
THRESHOLD = Param("threshold", (int, float), doc="the limit the observed value is held to")
