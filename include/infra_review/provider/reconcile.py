"""Invoice lines reconciled to the price list (issue 14): each line is matched to a
price-list item, given a quantity and its expected amount, so that the difference per line
is the evidence behind fin.transparency, fin.hidden_fees and fin.predictable.

Quantity, in order: the invoice's ``quantity`` column; 1 for a plan, support plan or add-on
(a line per server and month); for traffic or storage without a quantity it is derived from
the amount (``quantity_source: derived``): the line is explained, but its price cannot be
checked. Amounts are compared in the reporting currency at the line's month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from infra_review.provider.inputs import InvoiceLine
from infra_review.provider.model import PriceItem, Provider
from infra_review.provider.money import Converter

PER_LINE = ("plan", "support", "addon")  # one unit per invoice line


@dataclass(frozen=True)
class Reconciled:
    """One invoice line against the price list (money in the reporting currency)."""

    line: InvoiceLine
    item: PriceItem | None
    quantity: float | None
    quantity_source: str  # invoice | per_line | derived | none
    amount: float  # the line, converted
    expected: float | None  # quantity x list price, converted
    factor: float  # reporting-currency units per unit of the line's currency

    @property
    def difference(self) -> float | None:
        return None if self.expected is None else self.amount - self.expected

    @property
    def charge(self) -> bool:
        return self.line.amount > 0

    @property
    def explained(self) -> float:
        """The part of a charge the price list explains: up to its expected amount."""
        if not self.charge or self.item is None or self.expected is None:
            return 0.0
        return max(0.0, min(self.amount, self.expected))

    def above(self, tolerance_pct: float) -> bool:
        """Billed above the expected amount by more than ``tolerance_pct`` percent."""
        if self.expected is None or self.quantity_source == "derived":
            return False
        return self.amount > self.expected * (1 + tolerance_pct / 100) + 1e-9

    @property
    def unit_price(self) -> float | None:
        """What one unit cost on this line, in the line's own currency (None when the
        quantity was derived from the amount, or is zero)."""
        if self.quantity_source in ("derived", "none") or not self.quantity:
            return None
        return self.line.amount / self.quantity

    def record(self) -> dict[str, Any]:
        """The line's row in the evidence (amounts in the line's currency)."""
        ln = self.line
        out: dict[str, Any] = {
            "month": f"{ln.month:%Y-%m}",
            "line_item": ln.line_item,
            "item": self.item.item if self.item else None,
            "quantity": None if self.quantity is None else round(self.quantity, 6),
            "quantity_source": self.quantity_source,
            "amount": ln.amount,
            "currency": ln.currency,
        }
        if self.item is not None:
            out["unit_price"] = self.item.price
            out["price_currency"] = self.item.currency
        if self.expected is not None and self.factor:
            out["expected"] = round(self.expected / self.factor, 6)
            out["difference"] = round((self.amount - self.expected) / self.factor, 6)
        if ln.source_file:
            out["source"] = f"{ln.source_file}:{ln.source_line}"
        return out


def reconcile(
    provider: Provider, lines: Iterable[InvoiceLine], converter: Converter
) -> list[Reconciled]:
    """Every line of ``provider`` in ``lines`` against its price list; a missing rate for
    a line's month raises InputError naming the line."""
    out = []
    for ln in lines:
        if ln.provider != provider.id:
            continue
        factor = converter.factor(ln.currency, ln.month, **ln.where())
        amount = ln.amount * factor
        item = provider.match_line(ln.line_item)
        if item is None:
            out.append(Reconciled(ln, None, ln.quantity, "none", amount, None, factor))
            continue
        price = item.price * converter.factor(item.currency, ln.month, **ln.where())
        if ln.quantity is not None:
            quantity, source = ln.quantity, "invoice"
        elif item.kind in PER_LINE:
            quantity, source = 1.0, "per_line"
        else:
            quantity, source = (amount / price if price else 0.0), "derived"
        out.append(Reconciled(ln, item, quantity, source, amount, quantity * price, factor))
    return out


def unit_prices(
    lines: list[Reconciled],
) -> tuple[dict[tuple[str, str, date], float], dict[tuple[str, str, date], float], set[str]]:
    """(item, currency, month) -> unit price and -> quantity; items priced by usage whose
    quantity is not on the invoice cannot be checked and are named."""
    amount: dict[tuple[str, str, date], float] = defaultdict(float)
    quantity: dict[tuple[str, str, date], float] = defaultdict(float)
    unchecked = set()
    for r in lines:
        if r.item is None:
            continue
        if r.unit_price is None:
            unchecked.add(r.item.item)
            continue
        key = (r.item.item, r.line.currency, r.line.month)
        amount[key] += r.line.amount
        quantity[key] += r.quantity or 0.0
    prices = {k: amount[k] / q for k, q in quantity.items() if q}
    return prices, dict(quantity), unchecked - {k[0] for k in prices}


def by_item(values: dict[tuple[str, str, date], float]) -> dict[tuple[str, str], list]:
    out: dict[tuple[str, str], list] = defaultdict(list)
    for (item, currency, month), v in sorted(values.items(), key=lambda kv: kv[0][2]):
        out[(item, currency)].append((month, v))
    return out


def month_changes(values: dict[tuple[str, str, date], float], relative: bool = True) -> list[dict]:
    """Month-over-month changes per item: each one with its month (the first month at the
    new value), the values before and after, and the relative change."""
    out = []
    for (item, currency), series in sorted(by_item(values).items()):
        for (_m0, before), (m1, after) in zip(series, series[1:], strict=False):
            if abs(after - before) <= 1e-9 * max(1.0, abs(before)):
                continue
            row = {
                "item": item,
                "month": f"{m1:%Y-%m}",
                "from": round(before, 6),
                "to": round(after, 6),
                "change": round((after - before) / before, 6) if before else 1.0,
            }
            if relative:
                row["currency"] = currency
            out.append(row)
    return out
