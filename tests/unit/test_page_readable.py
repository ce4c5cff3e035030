"""The decisions page (issue 18 item 4): values with units, the evidence sentence, colours by
meaning, and the provider review as a side-by-side scorecard."""

from __future__ import annotations

import re

from infra_review.reporting.page import meaning, render_page


def _shown(obs, thr, cmp_, unit, en, ru, **more):
    return {
        "observed_shown": obs, "threshold_shown": thr, "comparator": cmp_, "unit": unit,
        "duration_observed": None, "duration_threshold": None, "duration_comparator": None,
        "duration_unit": None, "evidence_en": en, "evidence_ru": ru, **more,
    }  # fmt: skip


CAPACITY = {
    "decision_id": 1, "review_type": "capacity", "quarter": "2026Q3", "subject_kind": "server",
    "subject": "app-1", "decision": "upgrade_ram", "status": "proposed",
    "summary_en": "app-1: upgrade RAM.", "summary_ru": "app-1: увеличить RAM.",
    "criteria": [
        {"subject": "app-1", "criterion_id": "cpu.api_latency", "outcome": "not_met",
         "observed": 0.0, "threshold": 1.0,
         "shown": _shown(1.06, 2.0, ">", "s", "hourly p95 API latency never above 2 s",
                         "часовой p95 ни разу не выше 2 с", duration_observed=0.0,
                         duration_threshold=1.0, duration_comparator=">=", duration_unit="h")},
        {"subject": "app-1", "criterion_id": "ram.sustained", "outcome": "met",
         "observed": 30.0, "threshold": 24.0,
         "shown": _shown(92.0, 85.0, ">", "%", "RAM above 85% for 30 h", "RAM выше 85% 30 ч",
                         duration_observed=30.0, duration_threshold=24.0,
                         duration_comparator=">", duration_unit="h")},
    ],
}  # fmt: skip
PROVIDER = {
    "decision_id": 2, "review_type": "provider", "quarter": "2026Q3", "subject_kind": "provider",
    "subject": "kz", "decision": "stay", "status": "proposed",
    "summary_en": "Stay.", "summary_ru": "Остаёмся.",
    "criteria": [
        {"subject": p, "criterion_id": cid, "outcome": out, "observed": None, "threshold": None,
         "shown": _shown(obs, thr, cmp_, unit, f"{p} {cid} en", f"{p} {cid} ru")}
        for p, cid, out, obs, thr, cmp_, unit in [
            ("kz", "fin.tco", "met", 100.0, 150.0, "<", "%"),
            ("eu", "fin.tco", "met", 72.48, 150.0, "<", "%"),
            ("kz", "tech.support", "not_met", 6.5, 4.0, "<=", "h"),
            ("eu", "tech.support", "insufficient_data", None, 4.0, "<=", "h"),
        ]
    ],
}  # fmt: skip


def _page(*decisions) -> str:
    return render_page(
        decisions, texts={}, report_href=lambda p: None, quarter=None, review_type=None, base="/x"
    )


def test_capacity_rows_show_units_durations_and_sentences():
    html = _page(CAPACITY)
    row = re.search(r"<tr [^>]*data-criterion='cpu.api_latency'.*?</tr>", html).group(0)
    assert "1.06&nbsp;s" in row and "&gt; 2&nbsp;s" in row and "&gt;= 1&nbsp;h" in row
    assert "hourly p95 API latency never above 2 s" in row and "часовой p95" in row
    met = re.search(r"<tr [^>]*data-criterion='ram.sustained'[^>]*>", html).group(0)
    assert "meaning-warn" in met  # a met capacity trigger asks for action


def test_provider_review_is_a_scorecard_with_the_provider_on_every_cell():
    html = _page(PROVIDER)
    assert "class='criteria scorecard'" in html
    assert html.count("<tr data-criterion='fin.tco'>") == 1  # one row per criterion
    row = re.search(r"<tr data-criterion='tech.support'>.*?</tr>", html).group(0)
    assert row.count("data-provider='kz'") == 1 and row.count("data-provider='eu'") == 1
    assert "<span class='provider muted'>kz</span>" in row
    assert "6.5&nbsp;h" in row and "&lt;= 4&nbsp;h" in row and "kz tech.support en" in row
    tco = re.search(r"<tr data-criterion='fin.tco'>.*?</tr>", html).group(0)
    assert "meaning-good" in tco and "72.48&nbsp;%" in tco
    assert "meaning-bad" in row and "meaning-unknown" in row
    # the current provider's column comes first
    assert html.index("<th data-provider='kz'>") < html.index("<th data-provider='eu'>")


def test_meaning_of_outcomes():
    assert meaning("capacity", "met") == "warn" and meaning("capacity", "not_met") == "calm"
    assert meaning("provider", "met") == "good" and meaning("provider", "not_met") == "bad"
    assert meaning("provider", "insufficient_data") == "unknown"
