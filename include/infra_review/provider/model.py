"""providers.yaml as records: the current provider, the alternatives and the team's
requirements. ``provider.config.load_providers`` reads and validates the file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from infra_review.errors import InputError
from infra_review.provider.yamlread import CURRENCY_RE as CURRENCY_RE
from infra_review.provider.yamlread import line_for
from infra_review.settings import config_dir

PROVIDER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
PRICE_KINDS = ("plan", "traffic", "storage", "support", "addon")
SCORE_KEYS = ("reputation", "stability", "roadmap")
GROUPS = ("financial", "technical", "strategic")
# Separators that may follow a price-list item in an invoice line ("vps-16g: app-1").
_LINE_SEPARATORS = (" ", ":", "/", "(", "[", ",", ";")


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str


@dataclass(frozen=True)
class PriceItem:
    """One price-list entry. Units by kind: plan/support/addon per month, traffic per TB,
    storage per GB-month."""

    item: str
    kind: str
    price: float
    currency: str
    included_traffic_tb: float = 0.0
    aliases: tuple[str, ...] = ()
    field: str = ""  # where it is in providers.yaml, for error messages

    def matches(self, line_item: str) -> bool:
        """An invoice line belongs to this item when it is the item (or an alias), possibly
        followed by a separator and a qualifier such as the server name."""
        text = line_item.strip().lower()
        for name in (self.item, *self.aliases):
            name = name.strip().lower()
            if text == name:
                return True
            if text.startswith(name) and text[len(name)] in _LINE_SEPARATORS:
                return True
        return False


@dataclass(frozen=True)
class Score:
    score: float
    source: str
    date: date
    field: str = ""


@dataclass(frozen=True)
class Declared:
    """Where a declared fact (technologies, automation, jurisdictions) comes from: a fact
    without a source and a date is no data, and so is one older than the staleness limit."""

    source: str | None = None
    date: date | None = None
    field: str = ""


@dataclass(frozen=True)
class Probe:
    """probe_up series that measure this provider: one server's, or one endpoint's."""

    server: str
    endpoint: str | None = None
    interval_s: int | None = None


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    index: int
    sla_pct: float | None = None
    jurisdictions: tuple[str, ...] | None = None
    technologies: dict[str, bool] = field(default_factory=dict)
    automation: dict[str, bool] = field(default_factory=dict)
    founded: int | None = None
    scores: dict[str, tuple[Score, ...]] = field(default_factory=dict)
    price_list: tuple[PriceItem, ...] = ()
    fleet_plans: dict[str, str] = field(default_factory=dict)
    support_plan: str | None = None
    addons: tuple[str, ...] = ()
    migration_cost: Money | None = None
    probes: tuple[Probe, ...] = ()
    notes: str = ""
    declared: dict[str, Declared] = field(default_factory=dict)  # fact -> its provenance

    @property
    def field(self) -> str:
        return f"providers[{self.index}]"

    def item(self, name: str) -> PriceItem | None:
        return next((p for p in self.price_list if p.item == name), None)

    def match_line(self, line_item: str) -> PriceItem | None:
        """The price-list item an invoice line belongs to; the longest name wins."""
        found = [p for p in self.price_list if p.matches(line_item)]
        return max(found, key=lambda p: len(p.item)) if found else None

    def server_of(self, line_item: str) -> str | None:
        """The qualifier after a plan's name in an invoice line ("vps-16g app-1" -> app-1)."""
        item = self.match_line(line_item)
        if item is None:
            return None
        text = line_item.strip()
        for name in sorted((item.item, *item.aliases), key=len, reverse=True):
            if text.lower().startswith(name.strip().lower()):
                rest = text[len(name.strip()) :].strip(" :/([,;)]")
                return rest or None
        return None

    def items_of(self, kind: str) -> list[PriceItem]:
        return [p for p in self.price_list if p.kind == kind]


@dataclass(frozen=True)
class Requirements:
    jurisdictions: tuple[str, ...] = ()
    critical: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(GROUPS, 1.0))
    traffic_tb_per_month: float = 0.0
    storage_gb: float = 0.0


@dataclass(frozen=True)
class ProviderConfig:
    path: str
    sha256: str
    version: str
    reporting_currency: str
    current: str
    requirements: Requirements
    providers: dict[str, Provider]
    lines: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def current_provider(self) -> Provider:
        return self.providers[self.current]

    @property
    def alternatives(self) -> list[Provider]:
        return [p for p in self.providers.values() if p.id != self.current]

    def error(self, message: str, field_path: str) -> InputError:
        """An InputError pointing at ``field_path`` in this file, with its line."""
        return InputError(message, file=self.path, line=self.line_of(field_path), field=field_path)

    def line_of(self, field_path: str) -> int | None:
        return line_for(self.lines, field_path)

    def select(self, wanted: Iterable[str] | None) -> list[Provider]:
        """The current provider plus the wanted alternatives (all when ``wanted`` is empty)."""
        wanted = [w for w in (wanted or []) if w]
        unknown = [w for w in wanted if w not in self.providers]
        if unknown:
            raise InputError(
                f"unknown provider(s) {unknown}; providers.yaml lists {sorted(self.providers)}",
                file=self.path,
                field="providers",
            )
        chosen = [self.current_provider]
        for p in self.alternatives:
            if not wanted or p.id in wanted:
                chosen.append(p)
        return chosen


def providers_path() -> Path:
    return config_dir() / "providers.yaml"
