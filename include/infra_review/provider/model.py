"""providers.yaml: the current provider, the alternatives and the team's requirements.

Validated on load; every error names the file, the line and the field path (for example
``providers[1].price_list[2].currency``), because a wrong price silently skews the TCO.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from infra_review.errors import InputError
from infra_review.fleet import SERVER_NAME_RE, Fleet
from infra_review.settings import config_dir

PROVIDER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
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

    @property
    def field(self) -> str:
        return f"providers[{self.index}]"

    def item(self, name: str) -> PriceItem | None:
        return next((p for p in self.price_list if p.item == name), None)

    def match_line(self, line_item: str) -> PriceItem | None:
        """The price-list item an invoice line belongs to; the longest name wins."""
        found = [p for p in self.price_list if p.matches(line_item)]
        return max(found, key=lambda p: len(p.item)) if found else None

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
        return _line_for(self.lines, field_path)

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


def _line_for(lines: dict[str, int], field_path: str) -> int | None:
    """The line of ``field_path``, or of its nearest parent when the field itself is absent."""
    path = field_path
    while path:
        if path in lines:
            return lines[path]
        path = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path)
    return None


def _line_index(text: str) -> dict[str, int]:
    """Map every field path in the YAML document to its 1-based line."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if path:
            lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                key_path = f"{path}.{key.value}" if path else str(key.value)
                lines[key_path] = key.start_mark.line + 1
                walk(value, key_path)
                lines[key_path] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                walk(value, f"{path}[{i}]")

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, "")
    return lines


class _Reader:
    """Typed access to the parsed document that raises InputError with line and field."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines

    def fail(self, message: str, field_path: str) -> InputError:
        return InputError(
            message, file=self.path, line=_line_for(self.lines, field_path), field=field_path
        )

    def mapping(self, value: Any, where: str, *, optional: bool = False) -> dict[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            raise self.fail("expected a mapping", where)
        return value

    def seq(self, value: Any, where: str, *, optional: bool = False) -> list[Any]:
        if value is None and optional:
            return []
        if not isinstance(value, list):
            raise self.fail("expected a list", where)
        return value

    def text(self, value: Any, where: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str | int) or isinstance(value, bool) or str(value).strip() == "":
            raise self.fail("expected a non-empty text", where)
        text = str(value).strip()
        if pattern is not None and not pattern.match(text):
            raise self.fail(f"{text!r} does not match {pattern.pattern}", where)
        return text

    def number(
        self, value: Any, where: str, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"expected a number, got {value!r}", where)
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise self.fail("expected a finite number", where)
        if minimum is not None and number < minimum:
            raise self.fail(f"must be at least {minimum}, got {value!r}", where)
        if maximum is not None and number > maximum:
            raise self.fail(f"must be at most {maximum}, got {value!r}", where)
        return number

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"expected true or false, got {value!r}", where)
        return value

    def day(self, value: Any, where: str) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise self.fail(f"expected a date YYYY-MM-DD, got {value!r}", where) from exc

    def currency(self, value: Any, where: str) -> str:
        return self.text(value, where, CURRENCY_RE)


def load_providers(path: str | Path | None = None, fleet: Fleet | None = None) -> ProviderConfig:
    """Load and validate providers.yaml; with ``fleet``, check every alternative hosts it."""
    path = Path(path) if path else providers_path()
    name = str(path)
    if not path.is_file():
        raise InputError("file not found", file=name)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        doc = yaml.safe_load(text)
        lines = _line_index(text)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc}", file=name) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"malformed YAML: {getattr(exc, 'problem', exc)}",
            file=name,
            line=mark.line + 1 if mark else None,
        ) from exc
    r = _Reader(name, lines)
    doc = r.mapping(doc, "(top level)")
    for key in ("version", "reporting_currency", "current", "providers"):
        if key not in doc:
            raise r.fail("missing key", key)
    reporting_currency = r.currency(doc["reporting_currency"], "reporting_currency")
    requirements = _requirements(
        r, r.mapping(doc.get("requirements"), "requirements", optional=True)
    )
    providers: dict[str, Provider] = {}
    for index, item in enumerate(r.seq(doc["providers"], "providers")):
        provider = _provider(r, r.mapping(item, f"providers[{index}]"), index)
        if provider.id in providers:
            raise r.fail(f"duplicate provider id {provider.id!r}", f"providers[{index}].id")
        providers[provider.id] = provider
    current = r.text(doc["current"], "current")
    if current not in providers:
        raise r.fail(f"current provider {current!r} is not in providers", "current")
    config = ProviderConfig(
        path=name,
        sha256=hashlib.sha256(raw).hexdigest(),
        version=str(doc["version"]),
        reporting_currency=reporting_currency,
        current=current,
        requirements=requirements,
        providers=providers,
        lines=lines,
    )
    _check_tco_inputs(config)
    if fleet is not None:
        check_fleet(config, fleet)
    return config


def _requirements(r: _Reader, doc: dict[str, Any]) -> Requirements:
    jurisdictions = tuple(
        r.text(j, f"requirements.jurisdictions[{i}]").upper()
        for i, j in enumerate(
            r.seq(doc.get("jurisdictions"), "requirements.jurisdictions", optional=True)
        )
    )
    critical = tuple(
        r.text(c, f"requirements.critical[{i}]")
        for i, c in enumerate(r.seq(doc.get("critical"), "requirements.critical", optional=True))
    )
    for i, crit in enumerate(critical):
        if not re.match(r"^(fin|tech|strat)\.[a-z_]+$", crit):
            raise r.fail(f"{crit!r} is not a provider criterion id", f"requirements.critical[{i}]")
    weights_doc = r.mapping(doc.get("weights"), "requirements.weights", optional=True)
    unknown = [k for k in weights_doc if k not in GROUPS]
    if unknown:
        raise r.fail(
            f"unknown group(s) {unknown}; groups are {list(GROUPS)}", "requirements.weights"
        )
    weights = {g: r.number(weights_doc.get(g, 1.0), f"requirements.weights.{g}", 0) for g in GROUPS}
    if sum(weights.values()) <= 0:
        raise r.fail("at least one weight must be positive", "requirements.weights")
    usage = r.mapping(doc.get("usage"), "requirements.usage", optional=True)
    return Requirements(
        jurisdictions=jurisdictions,
        critical=critical,
        weights=weights,
        traffic_tb_per_month=r.number(
            usage.get("traffic_tb_per_month", 0), "requirements.usage.traffic_tb_per_month", 0
        ),
        storage_gb=r.number(usage.get("storage_gb", 0), "requirements.usage.storage_gb", 0),
    )


def _provider(r: _Reader, doc: dict[str, Any], index: int) -> Provider:
    at = f"providers[{index}]"
    if "id" not in doc:
        raise r.fail("missing key", f"{at}.id")
    pid = r.text(doc["id"], f"{at}.id", PROVIDER_ID_RE)
    price_list = []
    for i, item in enumerate(r.seq(doc.get("price_list"), f"{at}.price_list", optional=True)):
        where = f"{at}.price_list[{i}]"
        item = r.mapping(item, where)
        for key in ("item", "kind", "price", "currency"):
            if key not in item:
                raise r.fail("missing key", f"{where}.{key}")
        kind = r.text(item["kind"], f"{where}.kind")
        if kind not in PRICE_KINDS:
            raise r.fail(f"kind must be one of {list(PRICE_KINDS)}", f"{where}.kind")
        price_list.append(
            PriceItem(
                item=r.text(item["item"], f"{where}.item"),
                kind=kind,
                price=r.number(item["price"], f"{where}.price", 0),
                currency=r.currency(item["currency"], f"{where}.currency"),
                included_traffic_tb=r.number(
                    item.get("included_traffic_tb", 0), f"{where}.included_traffic_tb", 0
                ),
                aliases=tuple(
                    r.text(a, f"{where}.aliases[{j}]")
                    for j, a in enumerate(
                        r.seq(item.get("aliases"), f"{where}.aliases", optional=True)
                    )
                ),
                field=where,
            )
        )
    names = [p.item for p in price_list]
    for i, item_name in enumerate(names):
        if names.index(item_name) != i:
            raise r.fail(f"duplicate price-list item {item_name!r}", f"{at}.price_list[{i}].item")

    def known_item(value: Any, where: str, kinds: tuple[str, ...]) -> str:
        name = r.text(value, where)
        found = next((p for p in price_list if p.item == name), None)
        if found is None:
            raise r.fail(f"{name!r} is not in this provider's price_list", where)
        if found.kind not in kinds:
            raise r.fail(f"{name!r} is a {found.kind}, expected {' or '.join(kinds)}", where)
        return name

    fleet_doc = r.mapping(doc.get("fleet"), f"{at}.fleet", optional=True)
    fleet_plans = {}
    for server, plan in fleet_doc.items():
        r.text(server, f"{at}.fleet.{server}", SERVER_NAME_RE)
        fleet_plans[str(server)] = known_item(plan, f"{at}.fleet.{server}", ("plan",))
    support_plan = (
        known_item(doc["support_plan"], f"{at}.support_plan", ("support",))
        if doc.get("support_plan") is not None
        else None
    )
    addons = tuple(
        known_item(a, f"{at}.addons[{i}]", ("addon",))
        for i, a in enumerate(r.seq(doc.get("addons"), f"{at}.addons", optional=True))
    )
    migration = None
    if doc.get("migration_cost") is not None:
        m = r.mapping(doc["migration_cost"], f"{at}.migration_cost")
        for key in ("amount", "currency"):
            if key not in m:
                raise r.fail("missing key", f"{at}.migration_cost.{key}")
        migration = Money(
            r.number(m["amount"], f"{at}.migration_cost.amount", 0),
            r.currency(m["currency"], f"{at}.migration_cost.currency"),
        )
    jurisdictions = None
    if doc.get("jurisdictions") is not None:
        jurisdictions = tuple(
            r.text(j, f"{at}.jurisdictions[{i}]").upper()
            for i, j in enumerate(r.seq(doc["jurisdictions"], f"{at}.jurisdictions"))
        )
    technologies = {
        str(k): r.flag(v, f"{at}.technologies.{k}")
        for k, v in r.mapping(doc.get("technologies"), f"{at}.technologies", optional=True).items()
    }
    automation = {
        str(k): r.flag(v, f"{at}.automation.{k}")
        for k, v in r.mapping(doc.get("automation"), f"{at}.automation", optional=True).items()
    }
    scores: dict[str, tuple[Score, ...]] = {}
    scores_doc = r.mapping(doc.get("scores"), f"{at}.scores", optional=True)
    for key, value in scores_doc.items():
        if key not in SCORE_KEYS:
            raise r.fail(
                f"unknown score {key!r}; scores are {list(SCORE_KEYS)}", f"{at}.scores.{key}"
            )
        entries = value if isinstance(value, list) else [value]
        parsed = []
        for i, entry in enumerate(entries):
            where = f"{at}.scores.{key}" + (f"[{i}]" if isinstance(value, list) else "")
            entry = r.mapping(entry, where)
            for k in ("score", "source", "date"):
                if k not in entry:
                    raise r.fail(
                        "missing key (a score needs score, source and date)", f"{where}.{k}"
                    )
            parsed.append(
                Score(
                    score=r.number(entry["score"], f"{where}.score", 0, 5),
                    source=r.text(entry["source"], f"{where}.source"),
                    date=r.day(entry["date"], f"{where}.date"),
                    field=where,
                )
            )
        scores[key] = tuple(parsed)
    probes = []
    for i, probe in enumerate(r.seq(doc.get("probes"), f"{at}.probes", optional=True)):
        where = f"{at}.probes[{i}]"
        probe = r.mapping(probe, where)
        if "server" not in probe:
            raise r.fail("missing key", f"{where}.server")
        interval = None
        if probe.get("interval") is not None:
            from infra_review.criteria.rules import parse_duration

            try:
                interval = int(parse_duration(probe["interval"]).total_seconds())
            except InputError as exc:
                raise r.fail(exc.reason, f"{where}.interval") from exc
            if interval <= 0:
                raise r.fail("interval must be positive", f"{where}.interval")
        probes.append(
            Probe(
                server=r.text(probe["server"], f"{where}.server", SERVER_NAME_RE),
                endpoint=r.text(probe["endpoint"], f"{where}.endpoint")
                if probe.get("endpoint")
                else None,
                interval_s=interval,
            )
        )
    founded = None
    if doc.get("founded") is not None:
        founded = int(r.number(doc["founded"], f"{at}.founded", 1900, 2100))
    return Provider(
        id=pid,
        name=r.text(doc.get("name", pid), f"{at}.name"),
        index=index,
        sla_pct=r.number(doc["sla_pct"], f"{at}.sla_pct", 0, 100)
        if doc.get("sla_pct") is not None
        else None,
        jurisdictions=jurisdictions,
        technologies=technologies,
        automation=automation,
        founded=founded,
        scores=scores,
        price_list=tuple(price_list),
        fleet_plans=fleet_plans,
        support_plan=support_plan,
        addons=addons,
        migration_cost=migration,
        probes=tuple(probes),
        notes=str(doc.get("notes") or ""),
    )


def _check_tco_inputs(config: ProviderConfig) -> None:
    """An alternative needs prices for every part of the fleet's usage, or its TCO is wrong."""
    req = config.requirements
    for p in config.alternatives:
        if req.storage_gb > 0 and not p.items_of("storage"):
            raise config.error(
                f"requirements.usage.storage_gb is {req.storage_gb:g} but {p.id} lists no "
                "price_list item of kind storage",
                f"{p.field}.price_list",
            )
        if req.traffic_tb_per_month > 0 and p.fleet_plans:
            included = sum(p.item(plan).included_traffic_tb for plan in p.fleet_plans.values())
            if req.traffic_tb_per_month > included and not p.items_of("traffic"):
                raise config.error(
                    f"the fleet's traffic ({req.traffic_tb_per_month:g} TB/month) exceeds the "
                    f"{included:g} TB included in {p.id}'s plans, and its price_list has no item "
                    "of kind traffic",
                    f"{p.field}.price_list",
                )
        for kind in ("storage", "traffic"):
            if len(p.items_of(kind)) > 1:
                raise config.error(
                    f"{p.id} lists more than one {kind} item; keep one per kind",
                    f"{p.field}.price_list",
                )


def check_fleet(config: ProviderConfig, fleet: Fleet) -> None:
    """Every alternative must say which plan would host each server of the current fleet."""
    for p in config.alternatives:
        missing = [s for s in fleet.names() if s not in p.fleet_plans]
        if missing:
            raise config.error(
                f"{p.id} has no plan for server(s) {missing} of fleet.yaml; map every server "
                "to a plan so the TCO covers the same fleet",
                f"{p.field}.fleet",
            )
