"""The sentences of a sized action, in English and Russian (``RAM 16 -> 32 GB (plan vps-32g,
+30 000 KZT/month; projected 42% used)``), and ``money`` for the reports."""

from __future__ import annotations

from typing import Any

from infra_review import russian as rus
from infra_review.capacity.sizing_need import RESOURCES


def _num(x: float | None) -> str:
    return "?" if x is None else str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def money(amount: float | None, currency: str | None, signed: bool = True) -> str:
    """``+30 000 KZT`` (a space between thousands, as in both languages' reports)."""
    if amount is None:
        return "unknown"
    text = f"{amount:+,.0f}" if signed else f"{amount:,.0f}"
    return f"{text.replace(',', ' ')} {currency or ''}".strip()


def texts_unsized(rec: dict[str, Any], why: str) -> dict[str, str]:
    res = RESOURCES[rec["resource"]]
    return {
        "text_en": f"{res.label}: not sized ({why})",
        "text_ru": f"{res.label}: размер не определён ({why})",
    }


# what the need was sized from (sizing_need.basis), said in a few words: the fleet's
# server.upgrade_limit sizes from the projected p95, so its number differs and says so too
_BASIS = {
    "peak of the qualifying runs": ("from the runs' peak", "по пику эпизодов"),
    "p95 of the quarter": ("from the p95", "по p95"),
}


def texts(rec: dict[str, Any]) -> dict[str, str]:
    """``RAM 16 -> 32 GB (needs 19.6 from the runs' peak; plan vps-32g; +30 000 KZT/month;
    projected 49% used)``."""
    res = RESOURCES[rec["resource"]]
    cur, unit, unit_ru = _num(rec.get("current")), res.unit, res.unit_ru
    basis_en, basis_ru = _BASIS.get((rec.get("basis") or {}).get("statistic"), ("", ""))
    need_num, need_num_ru = _num(rec.get("needed")), rus.number(rec.get("needed"))
    need, need_ru = f"{need_num} {basis_en}".strip(), f"{need_num_ru} {basis_ru}".strip()
    cur_ru = rus.number(rec.get("current"))
    if rec["status"] == "no_plan":
        needed_en = " ".join(filter(None, [f"{need_num} {unit} needed", basis_en]))
        needed_ru = " ".join(filter(None, [f"нужно {need_num_ru} {unit_ru}", basis_ru]))
        return {
            "text_en": (
                f"{res.label} {cur} -> {needed_en}: no plan of {rec['provider']} holds "
                f"it (largest {rec['largest_plan']}: {_num(rec['largest_size'])} {unit}); "
                "see add_server"
            ),
            "text_ru": (
                f"{res.label} {cur_ru} -> {needed_ru}: ни один тариф {rec['provider']} "
                f"не вмещает (крупнейший {rec['largest_plan']}: {rus.number(rec['largest_size'])} "
                f"{unit_ru}); см. add_server"
            ),
        }
    cost = rec.get("monthly_cost_change")
    cost_en = (
        f"{money(cost, rec['currency'])}/month"
        if cost is not None
        else f"cost change unknown: {rec.get('cost_note')}"
    )
    cost_ru = (
        f"{money(cost, rec['currency'])}/мес."
        if cost is not None
        else f"изменение стоимости неизвестно: {rec.get('cost_note')}"
    )
    util = rec.get("projected_utilisation")
    util_en = f"projected {util:.0%} used" if util is not None else ""
    util_ru = f"прогноз загрузки {rus.percent(util, 0)}" if util is not None else ""
    rec_num = _num(rec.get("recommended"))
    rec_ru = rus.number(rec.get("recommended"))
    if rec["action"] == "add_server":
        return {
            "text_en": (
                f"fleet {res.label} {cur} -> {rec_num} {unit} (new server {rec['plan']}, "
                f"{_num(rec['new_server_size'])} {unit}; {cost_en}; {util_en})"
            ),
            "text_ru": (
                f"парк {res.label} {cur_ru} -> {rec_ru} {unit_ru} (новый сервер {rec['plan']}, "
                f"{rus.number(rec['new_server_size'])} {unit_ru}; {cost_ru}; {util_ru})"
            ),
        }
    return {
        "text_en": (
            f"{res.label} {cur} -> {rec_num} {unit} (needs {need}; plan {rec['plan']}; "
            f"{cost_en}; {util_en})"
        ),
        "text_ru": (
            f"{res.label} {cur_ru} -> {rec_ru} {unit_ru} (нужно {need_ru}; тариф {rec['plan']}; "
            f"{cost_ru}; {util_ru})"
        ),
    }
