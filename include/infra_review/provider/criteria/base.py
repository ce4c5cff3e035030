"""What every provider criterion is: an id, the parameters it reads from criteria.yaml
(checked when the file is bound, naming a missing or misspelt key), ``evaluate(context)``
and ``explain(result, lang)``. The helpers here build results the same way for all twelve.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from infra_review.criteria import registry
from infra_review.criteria.evidence import Evidence
from infra_review.criteria.result import CriterionResult, Outcome

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
_REQUIRED = object()
_KINDS = {int: "number", float: "number", str: "text", list: "list", bool: "any"}


def Param(  # noqa: N802 - builds the registry's Param from a Python type
    name: str,
    kind: type | tuple[type, ...] = (int, float),
    default: Any = _REQUIRED,
    doc: str = "",
) -> registry.Param:
    """One key a criterion reads from its criteria.yaml entry, as the shared registry's
    ``Param`` (required when it has no default)."""
    kinds = {_KINDS.get(k, "any") for k in (kind if isinstance(kind, tuple) else (kind,))}
    text = "comparator" if name == "comparator" else (kinds.pop() if len(kinds) == 1 else "any")
    required = default is _REQUIRED
    return registry.Param(name, text, required, None if required else default, doc)


@dataclass(kw_only=True)
class DeclaredEvidence(Evidence):
    """Where a declared fact came from (``Criterion.provenance``): source, date and age at
    the quarter's end, with the staleness limit; ``reason`` when it is no data."""

    OPTIONAL = ("max_age_days", "as_of", "source", "date", "age_days", "reason")
    max_age_days: int | None = None
    as_of: str | None = None
    source: str | None = None
    date: str | None = None
    age_days: int | None = None
    reason: str | None = None


@dataclass(kw_only=True)
class FlagsEvidence(DeclaredEvidence):
    """Declared true/false facts (tech.modern's checklist, tech.automation's requires)."""

    has: list[str]
    lacks: list[str]
    unknown: list[str]


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


class Criterion(registry.Criterion):
    """Base of the provider criteria, in the one registry both reviews share: a subclass
    with an ``id`` registers itself; it sets ``group``, ``params`` and ``evaluate``."""

    review = "provider"
    scope = "provider"
    group: ClassVar[str]
    reference_for_current: ClassVar[bool] = False  # the current provider's value is the baseline

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "id" in cls.__dict__:
            registry.register(cls)

    @property
    def p(self) -> dict[str, Any]:
        """Every parameter's value: the rule's, else the file's default, else the Param's."""
        return {spec.name: self.param(spec.name) for spec in self.params}

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
        evidence: dict[str, Any] | Evidence,
    ) -> CriterionResult:
        if isinstance(evidence, Evidence):
            evidence = evidence.to_dict()
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
        self, subject: str, window: tuple[datetime, datetime], evidence: dict[str, Any] | Evidence
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

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        """The observed value in the unit a reader expects; criteria override it."""
        return "" if result.observed is None else f"{result.observed:g}"

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        """(en, ru): the outcome, the value in its unit and the reason the evidence gives."""
        from infra_review.criteria.readable import observed_ru
        from infra_review.russian import reason_ru

        value, reason = cls.observed_text(result), result.evidence.get("reason")
        en = OUTCOME_WORDS["en"][result.outcome] + (f", {value}" if value else "")
        value_ru = observed_ru(result)  # Babel's numbers, the unit in Russian
        ru = OUTCOME_WORDS["ru"][result.outcome] + (f", {value_ru}" if value_ru else "")
        return en + (f" ({reason})" if reason else ""), ru + (
            f" ({reason_ru(reason)})" if reason else ""
        )

    @classmethod
    def explain(cls, result: CriterionResult, lang: str = "en") -> str:
        """One sentence in English or Russian (the registry's ``explain``)."""
        en, ru = cls.texts(result)
        return f"{cls.id}: " + (ru if lang == "ru" else en)


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


MAX_AGE = Param("max_age_days", int, 365, "a declared fact or score older than this is no data")
COMPARATOR = Param("comparator", str, ">", "how observed is compared with threshold")
THRESHOLD = Param("threshold", (int, float), doc="the limit the observed value is held to")
