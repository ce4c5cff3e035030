"""Builders shared by the provider criterion tests (one test module per criterion module)."""

from __future__ import annotations

from datetime import date

from infra_review.criteria.rules import load_criteria
from infra_review.provider import inputs as pi
from infra_review.provider.criteria import Context, bind
from infra_review.provider.model import Declared, PriceItem, Provider, Requirements
from infra_review.provider.money import Converter
from infra_review.quarter import Quarter

RULES = load_criteria()
C = bind(RULES)
Q1 = pi.ReviewWindow(Quarter(2026, 1))  # 90 days
Q2 = pi.ReviewWindow(Quarter(2026, 2))  # 91 days
FRESH = date(2026, 5, 1)  # before Q2's end, well within a year


def declared(*facts: str, on: date = FRESH, source: str | None = "vendor docs") -> dict:
    return {f: Declared(source, on, f"providers[0].{f}") for f in facts}


def provider(pid: str = "alt", **kwargs) -> Provider:
    return Provider(id=pid, name=pid, index=0, **kwargs)


def plan(item: str, price: float, currency: str = "KZT", included: float = 0.0) -> PriceItem:
    return PriceItem(
        item, "plan", price, currency, included, field=f"providers[0].price_list.{item}"
    )


def kzt_months(months: list[date], amount: float, provider_id: str = "cur") -> list[pi.InvoiceLine]:
    return [pi.InvoiceLine(provider_id, m, "vps-1", amount, "KZT") for m in months]


def ctx(p: Provider, window=Q2, invoices=(), converter=None, **kwargs) -> Context:
    return Context(
        provider=p,
        is_current=kwargs.pop("is_current", False),
        window=window,
        requirements=kwargs.pop("requirements", Requirements()),
        invoices=list(invoices),
        converter=converter or Converter([], "KZT"),
        **kwargs,
    )
