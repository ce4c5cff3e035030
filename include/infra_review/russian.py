"""Russian as a Russian engineer writes it: plural forms and numbers from Babel's CLDR data
(``за 91 день``, ``2 жалобы``, ``16,6 ГБ``), and the Russian of the reasons the criteria
give in English (a missing series, a failed gate, an old score), so no English fragment
sits inside a Russian line. Identifiers (servers, metric ids, providers) stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

LOCALE = "ru"


@lru_cache(maxsize=1)
def _locale():
    from babel import Locale

    return Locale(LOCALE)


def plural(n: float, one: str, few: str, many: str) -> str:
    """The noun for ``n``: plural(1, 'день', 'дня', 'дней') -> 'день'; a fraction takes few."""
    form = _locale().plural_form(n)
    return {"one": one, "few": few, "many": many}.get(form, few)


def count(n: float, one: str, few: str, many: str) -> str:
    """'91 день', '2 жалобы', '5 серверов'."""
    return f"{number(n)} {plural(n, one, few, many)}"


def number(value: float | None, digits: int = 1) -> str:
    """A number with a decimal comma and a non-breaking thin group space, at most ``digits``
    decimals (trailing zeros dropped): 16.6 -> '16,6', 1854520 -> '1 854 520'."""
    if value is None:
        return "–"
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def percent(share: float | None, digits: int = 1) -> str:
    """A share 0..1 as '1,4%'."""
    return "–" if share is None else f"{number(share * 100, digits)}%"


# --- reasons -----------------------------------------------------------------------------

_ID = r"[\w.:/{}\-]+"
_Rule = tuple[re.Pattern, Callable[[re.Match], str]]


def _num(text: str) -> str:
    try:
        return number(float(text.rstrip("%")), 3) + ("%" if text.endswith("%") else "")
    except ValueError:
        return text


_REASONS: list[_Rule] = [
    (
        re.compile(rf"^({_ID}) runs no n8n \(fleet\.yaml\) and has no ({_ID}) series$"),
        lambda m: f"на {m[1]} нет n8n (fleet.yaml) и нет ряда {m[2]}",
    ),
    (
        re.compile(rf"^no ({_ID}) series for ({_ID}): no endpoint is probed$"),
        lambda m: f"нет ряда {m[1]} для {m[2]}: ни один адрес не опрашивается",
    ),
    (
        re.compile(rf"^({_ID}): no usable previous-quarter \((\d{{4}}Q\d)\) data(?: \((.*)\))?$"),
        lambda m: (
            f"{m[1]}: нет пригодных данных за прошлый квартал ({m[2]})"
            + (f" ({reason_ru(m[3])})" if m[3] else "")
        ),
    ),
    (
        re.compile(rf"^no ({_ID}) samples for ({_ID}) in the window$"),
        lambda m: f"нет замеров {m[1]} для {m[2]} за период",
    ),
    (re.compile(r"^no samples$"), lambda m: "нет замеров"),
    (
        re.compile(rf"^({_ID}) failed the gate or is missing$"),
        lambda m: f"{m[1]} не прошёл проверку качества или отсутствует",
    ),
    (
        re.compile(rf"^({_ID}) failed the gate$"),
        lambda m: f"{m[1]} не прошёл проверку качества",
    ),
    (
        re.compile(
            r"^coverage ([\d.]+%) below the floor ([\d.]+%) \((\d+) of (\d+) expected samples\)$"
        ),
        lambda m: (
            f"покрытие {_num(m[1])} ниже порога {_num(m[2])} ({m[3]} из {m[4]} ожидаемых замеров)"
        ),
    ),
    (
        re.compile(
            r"^coverage ([\d.]+%) below the floor ([\d.]+%) in (\S+) \((\d+) of (\d+) expected samples\)$"
        ),
        lambda m: (
            f"покрытие {_num(m[1])} ниже порога {_num(m[2])} в {m[3]} "
            f"({m[4]} из {m[5]} ожидаемых замеров)"
        ),
    ),
    (
        re.compile(r"^(\d+) sample\(s\) of this series were quarantined by the quality gate$"),
        lambda m: (
            f"{count(int(m[1]), 'замер', 'замера', 'замеров')} этого ряда в карантине "
            "проверки качества"
        ),
    ),
    (
        re.compile(r"^installed RAM or CPU cores unknown \(fleet\.yaml ram_gb, cpu_cores\)$"),
        lambda m: "неизвестны объём RAM или число ядер CPU (fleet.yaml ram_gb, cpu_cores)",
    ),
    (
        re.compile(r"^no plan sizes known for provider (.+)$"),
        lambda m: f"неизвестны тарифы провайдера {m[1]}",
    ),
    (re.compile(r"^no server to size$"), lambda m: "нет сервера для расчёта"),
    (
        re.compile(r"^no server with CPU or RAM data$"),
        lambda m: "нет сервера с данными CPU или RAM",
    ),
    (
        re.compile(rf"^({_ID}): (.+)$"),
        lambda m: f"{m[1]}: {reason_ru(m[2])}",
    ),
    (
        re.compile(rf"^no invoices from ({_ID}) in (\S+)$"),
        lambda m: f"нет счетов от {m[1]} за {m[2]}",
    ),
    (
        re.compile(rf"^no support tickets from ({_ID}) in (\S+)$"),
        lambda m: f"нет обращений в поддержку {m[1]} за {m[2]}",
    ),
    (
        re.compile(r"^no (\w+) score dated before (\S+)$"),
        lambda m: f"нет оценки {m[1]} с датой до {m[2]}",
    ),
    (
        re.compile(r"^the (\w+) score is (\d+) days old, older than (\d+) days$"),
        lambda m: (
            f"оценке {m[1]} {count(int(m[2]), 'день', 'дня', 'дней')}, "
            f"это старше {count(int(m[3]), 'дня', 'дней', 'дней')}"
        ),
    ),
    (
        re.compile(r"^(\d+) years in business, fewer than (\d+)$"),
        lambda m: f"{count(int(m[1]), 'год', 'года', 'лет')} на рынке, меньше {m[2]}",
    ),
    (re.compile(r"^founding year not declared$"), lambda m: "год основания не указан"),
    (
        re.compile(r"^measured uptime is good, but no contractual SLA is declared$"),
        lambda m: "измеренная доступность хорошая, но SLA в договоре не указан",
    ),
    (
        re.compile(r"^measured uptime ([\d.]+)% is not above ([\d.]+)%$"),
        lambda m: f"измеренная доступность {_num(m[1] + '%')} не выше {_num(m[2] + '%')}",
    ),
    (
        re.compile(r"^the contract only promises ([\d.]+)%$"),
        lambda m: f"договор обещает только {_num(m[1] + '%')}",
    ),
    (
        re.compile(r"^the provider's data-centre jurisdictions are not declared$"),
        lambda m: "юрисдикции дата-центров провайдера не указаны",
    ),
    (
        re.compile(r"^no price-list item has a unit price in two or more months$"),
        lambda m: "ни у одной позиции прайс-листа нет цены за два месяца и более",
    ),
    (
        re.compile(r"^the current provider's invoiced total is not positive$"),
        lambda m: "сумма счетов текущего провайдера не положительна",
    ),
    (re.compile(r"^the invoiced amount is zero$"), lambda m: "сумма счетов равна нулю"),
    (
        re.compile(r"^not declared: (.+)$"),
        lambda m: f"не указано: {m[1]}",
    ),
    (
        re.compile(r"^undeclared checklist item\(s\) (.+) decide the outcome$"),
        lambda m: f"результат зависит от неуказанных пунктов {m[1]}",
    ),
    (
        re.compile(rf"^({_ID})'s (\w+) are declared without a source and a date \((.+)\)$"),
        lambda m: f"{m[2]} провайдера {m[1]} указаны без источника и даты ({m[3]})",
    ),
    (
        re.compile(rf"^({_ID})'s (\w+) are dated (\S+), after the quarter$"),
        lambda m: f"{m[2]} провайдера {m[1]} датированы {m[3]}, после квартала",
    ),
    (
        re.compile(rf"^({_ID})'s (\w+) are (\d+) days old, older than (\d+) days$"),
        lambda m: (
            f"{m[2]} провайдера {m[1]}: {count(int(m[3]), 'день', 'дня', 'дней')}, "
            f"старше {count(int(m[4]), 'дня', 'дней', 'дней')}"
        ),
    ),
]


_FEE_KINDS = {"price_deviation": "выше цены прайс-листа", "unlisted": "нет в прайс-листе"}


def _price_change(item: str) -> str:
    m = re.match(r"^(\S+) ([+-][\d.]+)% from (\S+)$", item)
    return f"{m[1]} {_num(m[2] + '%')} с {m[3]}" if m else item


def _fee(item: str) -> str:
    m = re.match(r"^(\S+) (\S+) (\w+) \+([\d.]+) (\w+)$", item)
    if not m:
        return item
    return f"{m[1]} {m[2]}: {_FEE_KINDS.get(m[3], m[3])}, +{_num(m[4])} {m[5]}"


# reasons that carry a list joined by '; ' (matched on the whole text first)
_LISTS: list[_Rule] = [
    (
        re.compile(r"^unit price changed: (.+)$"),
        lambda m: "цена за единицу изменилась: " + "; ".join(map(_price_change, m[1].split("; "))),
    ),
    (
        re.compile(r"^(\d+) line\(s\) beyond the price list: (.+)$"),
        lambda m: (
            f"{count(int(m[1]), 'строка', 'строки', 'строк')} сверх прайс-листа: "
            + "; ".join(map(_fee, m[2].split("; ")))
        ),
    ),
]


def reason_ru(text: str | None) -> str:
    """The Russian of a reason a criterion gave in English; several reasons joined by '; '
    are translated one by one. A reason no rule knows stays as it is (the Russian text test
    lists it)."""
    if not text:
        return ""
    for pattern, render in _LISTS:
        m = pattern.match(str(text))
        if m:
            return render(m)
    parts = [p.strip() for p in str(text).split("; ")]
    out = []
    for part in parts:
        for pattern, render in _REASONS:
            m = pattern.match(part)
            if m:
                out.append(render(m))
                break
        else:
            out.append(part)
    return "; ".join(out)
