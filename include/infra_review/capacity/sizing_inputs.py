"""The price book that ``capacity.sizing`` sizes and prices actions with: plan sizes
(``limits.load_plans``: upgrade_limits.yaml, or providers.yaml where its plans carry sizes),
plan prices (providers.yaml price lists, read by the provider review's own loader) and the
exchange rates of the reviewed quarter's last month (``infra-review import rates``).

It is JSON and stored with the review's inputs, so a recomputed review sizes the same way.
A missing providers.yaml or rate is not an error here: the sizing then says which price or
rate it lacks. A malformed providers.yaml is (InputError with file, line and field).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from infra_review.quarter import Quarter


def rate_month(quarter: Quarter) -> date:
    """The month whose rates price the recommendation: the reviewed quarter's last month."""
    last = (quarter.end - timedelta(days=1)).date()
    return date(last.year, last.month, 1)


def price_book(
    quarter: Quarter,
    *,
    conn=None,
    limits_path: Path | None = None,
    providers_path: Path | None = None,
    fleet_path: str | Path | None = None,
) -> dict[str, Any]:
    """Plans (sizes and prices) of the fleet's providers and the current one, the reporting
    currency and the month's rates (other providers' price edits do not touch a review)."""
    from infra_review.capacity.limits import load_plans
    from infra_review.fleet import load_fleet
    from infra_review.provider.model import providers_path as default_providers_path

    used = {s.provider for s in load_fleet(fleet_path).servers.values() if s.provider}
    plans, source = load_plans(limits_path, providers_path)
    book: dict[str, Any] = {
        "reporting_currency": None,
        "current_provider": None,
        "rate_month": f"{rate_month(quarter):%Y-%m}",
        "rates": {},
        "providers": {p: {"plans": v, "prices": {}} for p, v in plans.items()},
        "source": source,
    }
    path = Path(providers_path) if providers_path else default_providers_path()
    if not path.is_file():
        return book
    from infra_review.provider.config import load_providers

    config = load_providers(path)
    used.add(config.current)
    book["providers"] = {p: v for p, v in book["providers"].items() if p in used}
    book["reporting_currency"] = config.reporting_currency
    book["current_provider"] = config.current
    book["source"] = {
        "files": source["files"],
        "providers": {p: f for p, f in source["providers"].items() if p in used},
        "prices": config.path,  # the prices themselves are in the book
    }
    currencies = set()
    for provider in (p for p in config.providers.values() if p.id in used):
        entry = book["providers"].setdefault(provider.id, {"plans": [], "prices": {}})
        for item in provider.price_list:
            if item.kind == "plan":
                entry["prices"][item.item] = {"price": item.price, "currency": item.currency}
                currencies.add(item.currency)
    currencies.discard(config.reporting_currency)
    if currencies and conn is not None:
        book["rates"] = _rates(conn, rate_month(quarter), sorted(currencies), config)
    return book


def _rates(conn, month: date, currencies: list[str], config) -> dict[str, float]:
    from infra_review.errors import InputError
    from infra_review.provider.money import Converter, add_months
    from infra_review.provider.store import read_rates

    converter = Converter(read_rates(conn, month, add_months(month, 1)), config.reporting_currency)
    out = {}
    for currency in currencies:
        try:
            out[currency] = converter.factor(currency, month)
        except InputError:
            continue  # the sizing names the missing rate where a price needs it
    return out
