"""One registry of every criterion, whichever review it belongs to.

A criterion is one class in one module of its group (``capacity/criteria/ram.py`` ...):
its id, the parameters it reads from criteria.yaml (checked when the file is bound, so a
missing or misspelt key fails naming it), ``evaluate(inputs) -> CriterionResult``,
``texts(result) -> (en, ru)`` for ``explain``, its plot if it has one, and the facts other
steps read off it (the unit its text speaks and how its numbers scale to it, the trend
``watch`` fits, its group, whether it is the sizing basis). The decision rules, the reports,
the CLI and the views reach a criterion only through this registry (or its class's ``id``).

Adding a criterion: a ``@register``-ed subclass of ``Criterion`` in its group's module (list
the module in ``CRITERIA_MODULES`` if it is new), its test, and its entry in criteria.yaml.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from infra_review.criteria import readable as shown
from infra_review.criteria.evidence import Evidence
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import CriteriaSet, Rule, parse_duration
from infra_review.errors import InputError
from infra_review.russian import reason_ru

# Modules whose import registers their criteria (the provider review adds its own here).
CRITERIA_MODULES: list[str] = [
    "infra_review.capacity.criteria.ram",
    "infra_review.capacity.criteria.cpu",
    "infra_review.capacity.criteria.cpu_queue",
    "infra_review.capacity.criteria.server",
    "infra_review.capacity.criteria.server_limit",
    "infra_review.provider.criteria.financial",
    "infra_review.provider.criteria.technical",
    "infra_review.provider.criteria.strategic",
]
COMPARATORS = (">", ">=", "<", "<=", "==")
# keys every entry of criteria.yaml may carry besides the criterion's own parameters
COMMON_KEYS = ("id", "review", "group", "text_ru", "text_en", "default_source")
KINDS = ("number", "text", "duration", "comparator", "list", "any")


@dataclass(frozen=True)
class Param:
    """A parameter a criterion reads from its criteria.yaml entry."""

    name: str
    kind: str = "number"  # one of KINDS
    required: bool = True
    default: Any = None  # what the code uses when an optional parameter is absent
    doc: str = ""

    def check(self, value: Any, rule_id: str, path: str | None) -> None:
        where = {"file": path, "field": f"{rule_id}.{self.name}"}
        if self.kind == "number" and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise InputError(f"{rule_id}.{self.name} must be a number, got {value!r}", **where)
        if self.kind == "comparator" and value not in COMPARATORS:
            raise InputError(f"{rule_id}.{self.name} must be one of {list(COMPARATORS)}", **where)
        if self.kind == "text" and not isinstance(value, str):
            raise InputError(f"{rule_id}.{self.name} must be text, got {value!r}", **where)
        if self.kind == "list" and not isinstance(value, list):
            raise InputError(f"{rule_id}.{self.name} must be a list, got {value!r}", **where)
        if self.kind == "duration":
            try:
                parse_duration(value)
            except InputError as exc:
                raise InputError(f"{rule_id}.{self.name}: {exc.reason}", **where) from exc


@dataclass(frozen=True)
class Plot:
    """How a report plots the criterion's series: the metric and the hourly statistic."""

    metric: str
    statistic: str  # max | mean | p95


class Criterion:
    """Base of every criterion; a subclass is one criterion bound to its criteria.yaml rule."""

    id: ClassVar[str]
    review: ClassVar[str]  # capacity | provider
    group: ClassVar[str] = ""  # its criteria.yaml group: ram | cpu | server | financial ...
    scope: ClassVar[str]  # what one result is about: server | fleet | provider
    params: ClassVar[tuple[Param, ...]] = ()
    plot: ClassVar[Plot | None] = None
    # what `watch` fits a trend of against the threshold (capacity/trends.py), or None:
    # held_level | held_hourly_percentile | held_level_while_active
    trend: ClassVar[str | None] = None
    sizing_basis: ClassVar[bool] = False  # its runs' peaks are the basis of sizing its group
    # its typed evidence (an ``criteria.evidence.Evidence`` dataclass): what ``evaluate``
    # stores as ``to_dict()`` and ``read_evidence`` gives back; None: not typed (provider)
    evidence_type: ClassVar[type[Evidence] | None] = None

    # how people read it (criteria/readable.py): the unit of its text, the factor from the
    # stored observed and threshold to that unit, the unit of "for how long" if it asks,
    # and the threshold and comparator shown when its params name none
    unit: ClassVar[str] = ""
    scale: ClassVar[float] = 1.0
    duration_unit: ClassVar[str | None] = None  # h | min
    shown_threshold: ClassVar[float | None] = None
    shown_comparator: ClassVar[str] = ">"

    def __init__(self, rule: Rule, defaults: dict[str, Any] | None = None) -> None:
        self.rule = rule
        self.defaults = dict(defaults or {})

    # --- definition ---------------------------------------------------------------------------

    @classmethod
    def validate(cls, rule: Rule, path: str | None = None) -> None:
        """Every required parameter present, every key known, every value of its kind."""
        known = {p.name: p for p in cls.params}
        for key in rule.params:
            if key in COMMON_KEYS:
                continue
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise InputError(
                    f"{rule.id} has an unknown parameter '{key}'{hint}; it takes "
                    f"{', '.join(known) or 'no parameters'}",
                    file=path,
                    field=f"{rule.id}.{key}",
                )
        for p in cls.params:
            if p.name in rule.params:
                p.check(rule.params[p.name], rule.id, path)
            elif p.required:
                raise InputError(
                    f"{rule.id} needs '{p.name}'", file=path, field=f"{rule.id}.{p.name}"
                )

    def param(self, key: str) -> Any:
        """The rule's value, else the criteria file's default, else the Param's default."""
        if key in self.rule.params:
            return self.rule.params[key]
        if key in self.defaults:
            return self.defaults[key]
        return self.param_default(key)

    @classmethod
    def param_default(cls, key: str) -> Any:
        """The Param's default (None for a key it does not take)."""
        spec = next((p for p in cls.params if p.name == key), None)
        return spec.default if spec else None

    @classmethod
    def limits(cls, params: dict[str, Any]) -> shown.Limits:
        """Threshold, comparator and unit of its text from its criteria.yaml params."""
        return shown.level(
            params,
            cls.unit,
            cls.scale,
            cls.shown_threshold,
            cls.shown_comparator,
            cls.duration_unit,
        )

    @classmethod
    def shown_observed(cls, result: CriterionResult) -> tuple[float | None, float | None]:
        """(observed level, observed duration or share) in the units of ``limits``."""
        if cls.duration_unit is not None:
            return shown.held(result)
        return shown.num(result.observed, cls.scale), None

    @classmethod
    def read_evidence(cls, evidence: dict[str, Any]) -> Evidence | None:
        """A stored result's evidence as its typed class (older records load with the keys
        they have); None when the criterion's evidence is not typed."""
        return None if cls.evidence_type is None else cls.evidence_type.from_dict(evidence)

    @classmethod
    def plot_threshold(cls, evidence: dict[str, Any]) -> float | None:
        """The level its plot draws as the threshold line."""
        return evidence.get("value_threshold", evidence.get("threshold_pct"))

    # --- behaviour ----------------------------------------------------------------------------

    def evaluate(self, inputs: Any) -> CriterionResult:
        raise NotImplementedError

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        """(en, ru) for a result that has data; ``explain`` handles the common cases."""
        return (
            f"observed {result.observed}, threshold {result.threshold}",
            f"наблюдалось {result.observed}, порог {result.threshold}",
        )

    def lookback(self, interval_s: float) -> dict[str, timedelta]:
        """Per metric it judges, how far before the window the review must read so that a
        run over the window's start is judged whole (run criteria); none by default."""
        return {}

    def lookahead(self, interval_s: float) -> dict[str, timedelta]:
        """Per metric, how far after the window the review reads samples that are only
        matched by time, never judged (``cpu.n8n_queue``'s active series); none by default."""
        return {}

    @classmethod
    def forecast_samples(cls, rule: Rule, inputs: Any, series: Any) -> tuple[Any, Any]:
        """The samples of ``series`` whose trend `watch` fits (default: all of them)."""
        return series.data.ts_us, series.data.values

    @classmethod
    def incident(cls, result: CriterionResult) -> dict[str, Any] | None:
        """Something to fix rather than capacity to buy (a stalled queue), or None."""
        return None

    @classmethod
    def explain(cls, result: CriterionResult, lang: str = "en") -> str:
        en, ru = explain_both(result)
        return ru if lang == "ru" else en


REGISTRY: dict[str, type[Criterion]] = {}


def register(cls: type[Criterion]) -> type[Criterion]:
    """Class decorator: list the criterion under its id (an id is registered once)."""
    if cls.id in REGISTRY and REGISTRY[cls.id] is not cls:
        raise ValueError(f"criterion {cls.id!r} is registered twice")
    REGISTRY[cls.id] = cls
    return cls


def registered() -> dict[str, type[Criterion]]:
    """Every criterion, after importing the modules that define them."""
    for module in CRITERIA_MODULES:
        importlib.import_module(module)
    return REGISTRY


def criterion_class(criterion_id: str) -> type[Criterion] | None:
    return registered().get(criterion_id)


def bind(criteria: CriteriaSet, review: str) -> dict[str, Criterion]:
    """The review's criteria bound to their rules, in criteria.yaml's order; a registered
    criterion missing from the file, or a bad parameter, is an InputError naming it."""
    classes = {k: c for k, c in registered().items() if c.review == review}
    for criterion_id in classes:
        if criterion_id not in criteria.rules:
            raise InputError(
                f"criteria.yaml lacks the {review} criterion {criterion_id!r}",
                file=criteria.path,
                field=criterion_id,
            )
    out: dict[str, Criterion] = {}
    for rule in criteria.for_review(review):
        cls = classes.get(rule.id)
        if cls is not None:
            cls.validate(rule, criteria.path)
            out[rule.id] = cls(rule, criteria.defaults)
    return out


def bind_rules(rules: dict[str, Rule], defaults: dict[str, Any]) -> dict[str, Criterion]:
    """Criteria bound to rules already checked (a stored review's criteria snapshot)."""
    classes = registered()
    return {rid: classes[rid](rule, defaults) for rid, rule in rules.items() if rid in classes}


def explain_both(result: CriterionResult) -> tuple[str, str]:
    """(en, ru): what the criterion saw, with the numbers that decided it."""
    ev = result.evidence
    if result.outcome is Outcome.INSUFFICIENT_DATA:
        reasons = (ev.get("insufficient") or {}).get("reasons", [])[:3]
        return (
            f"insufficient data: {'; '.join(reasons) or 'no data'}",
            f"недостаточно данных: {'; '.join(map(reason_ru, reasons)) or 'нет данных'}",
        )
    if ev.get("applicable") is False:
        return (
            f"not applicable: {ev.get('reason')}",
            f"не применим: {reason_ru(ev.get('reason'))}",
        )
    cls = criterion_class(result.criterion_id)
    return (cls or Criterion).texts(result)


def describe() -> list[dict[str, Any]]:
    """Every registered criterion with its module, parameters and plot (``infra-review
    criteria``); the seed texts and values come from criteria.yaml."""
    return [
        {
            "id": cls.id,
            "review": cls.review,
            "scope": cls.scope,
            "module": cls.__module__,
            "class": cls.__qualname__,
            "params": [
                {"name": p.name, "kind": p.kind, "required": p.required, "default": p.default}
                for p in cls.params
            ],
            "plot": None
            if cls.plot is None
            else {"metric": cls.plot.metric, "statistic": cls.plot.statistic},
        }
        for cls in registered().values()
    ]
