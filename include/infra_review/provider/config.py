"""Load and validate providers.yaml into ``provider.model`` records.

Every error names the file, the line and the field path, because a wrong price silently
skews the TCO.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from infra_review.errors import InputError
from infra_review.fleet import SERVER_NAME_RE, Fleet
from infra_review.provider.model import (
    GROUPS,
    PRICE_KINDS,
    PROVIDER_ID_RE,
    SCORE_KEYS,
    Declared,
    Money,
    PriceItem,
    Probe,
    Provider,
    ProviderConfig,
    Requirements,
    Score,
    providers_path,
)
from infra_review.provider.yamlread import Reader, line_index


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
        lines = line_index(text)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc}", file=name) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"malformed YAML: {getattr(exc, 'problem', exc)}",
            file=name,
            line=mark.line + 1 if mark else None,
        ) from exc
    r = Reader(name, lines)
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


def _requirements(r: Reader, doc: dict[str, Any]) -> Requirements:
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


def _provider(r: Reader, doc: dict[str, Any], index: int) -> Provider:
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
    declared: dict[str, Declared] = {}
    jurisdictions = None
    if doc.get("jurisdictions") is not None:
        value = doc["jurisdictions"]
        where = f"{at}.jurisdictions"
        if isinstance(value, dict):
            declared["jurisdictions"] = _provenance(r, value, where)
            value = value.get("codes")
            where += ".codes"
        jurisdictions = tuple(
            r.text(j, f"{where}[{i}]").upper() for i, j in enumerate(r.seq(value, where))
        )
    technologies = _flags(r, doc.get("technologies"), f"{at}.technologies", declared)
    automation = _flags(r, doc.get("automation"), f"{at}.automation", declared)
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
        declared=declared,
    )


def _provenance(r: Reader, doc: dict[str, Any], where: str) -> Declared:
    """``source`` and ``date`` of a declared fact; either may be missing (then it is no data)."""
    source = r.text(doc["source"], f"{where}.source") if doc.get("source") is not None else None
    day = r.day(doc["date"], f"{where}.date") if doc.get("date") is not None else None
    return Declared(source, day, where)


def _flags(r: Reader, value: Any, where: str, declared: dict[str, Declared]) -> dict[str, bool]:
    """true/false per key, plus the fact's ``source`` and ``date`` in the same mapping."""
    doc = r.mapping(value, where, optional=True)
    if doc:
        declared[where.rsplit(".", 1)[-1]] = _provenance(r, doc, where)
    return {
        str(k): r.flag(v, f"{where}.{k}") for k, v in doc.items() if k not in ("source", "date")
    }


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
