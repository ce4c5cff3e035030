"""Issue 18 item 2: every Russian text the code produces reads as Russian. The scan takes
each criterion's explain for the sample quarter's results (met, not met, insufficient data,
not applicable) live from the code, plus synthetic insufficient and not-applicable results for
every criterion, and the decision summaries and Russian report lines of the golden copies
(which the golden tests hold equal to the code's output), and finds Latin words outside the
identifiers and units below."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra_review import russian
from infra_review.criteria.registry import explain_both, registered
from infra_review.criteria.result import CriterionResult, Outcome

GOLDEN = Path(__file__).resolve().parents[1] / "integration" / "golden"
START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
CYRILLIC = re.compile(r"[а-яё]", re.I)
# units, acronyms and names a Russian engineer writes in Latin letters
ALLOWED = {
    "GB", "RAM", "CPU", "API", "SLA", "TCO", "n8n", "p95", "p50", "UTC", "IPv6", "NVMe",
    "S3", "KZ", "EU", "KZT", "EUR", "USD", "swap", "Usage", "Roadmap", "upgrade", "fleet",
    "yaml", "Terraform", "Kubernetes", "Directus", "PostgreSQL", "Redis", "Qdrant",
    "Prometheus", "Airflow", "Grafana",
    # names from the sample data: a planned service and a price-list item
    "clickhouse", "backup",
}  # fmt: skip
# identifiers: servers, metric ids, criterion ids, providers, plans, file names
IDENT = re.compile(r"[\w.:/{}\-]*[\d_.:/{}\-][\w.:/{}\-]*")


def latin_words(text: str) -> list[str]:
    text = re.sub(r"«[^»]*»", " ", text)  # a quoted value from the data (a complaint tag)
    text = IDENT.sub(" ", text)  # anything with a digit, _, ., :, / or - is an identifier
    return [w for w in re.findall(r"[A-Za-z]+", text) if w not in ALLOWED]


def _results() -> list[CriterionResult]:
    out = []
    for name in ("capacity_2026Q3.json", "provider_review_2026Q3.json"):
        for r in json.loads((GOLDEN / name).read_text(encoding="utf-8"))["criterion_results"]:
            out.append(
                CriterionResult(
                    r["criterion_id"],
                    r["subject"],
                    Outcome(r["outcome"]),
                    r["observed"],
                    r["threshold"],
                    START,
                    END,
                    r["evidence"],
                )
            )
    for cid in registered():
        reasons = ["no ram_used_pct samples for app-1 in the window"]
        out.append(
            CriterionResult(
                cid, "app-1", Outcome.INSUFFICIENT_DATA, None, None, START, END,
                {"insufficient": {"kind": "gate", "reasons": reasons}, "reason": reasons[0]},
            )
        )  # fmt: skip
    for ratio in (1.2, 1.8):  # the sample quarter has no previous quarter: both outcomes here
        ev = {
            "p95_current": 0.6 * ratio,
            "ratio": ratio,
            "ratio_threshold": 1.5,
            "previous": {"p95": 0.6, "quarter": "2026Q2"},
            "label": "n8n:/healthz",
        }
        outcome = Outcome.MET if ratio > 1.5 else Outcome.NOT_MET
        out.append(CriterionResult("ram.degradation", "app-1", outcome, ratio, 1.5, START, END, ev))
    out.append(
        CriterionResult(
            "cpu.n8n_queue", "data-1", Outcome.NOT_MET, None, None, START, END,
            {"applicable": False,
             "reason": "data-1 runs no n8n (fleet.yaml) and has no n8n_queue_waiting series"},
        )
    )  # fmt: skip
    return out


def russian_texts() -> list[str]:
    texts = [explain_both(r)[1] for r in _results()]
    for name in ("capacity_2026Q3.json", "provider_review_2026Q3.json"):
        saved = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
        texts += [d["summary_ru"] for d in saved["decisions"]]
        for line in saved["report_md"]:  # the headings; a bilingual one is 'English / Russian'
            if line.startswith("#") and CYRILLIC.search(line):
                texts.append(line.rsplit(" / ", 1)[-1])
    return texts


def test_the_outcomes_cover_every_criterion():
    seen = {(r.criterion_id, r.outcome) for r in _results()}
    for cid in registered():
        assert (cid, Outcome.INSUFFICIENT_DATA) in seen
        assert {(cid, Outcome.MET), (cid, Outcome.NOT_MET)} & seen, cid


# a decimal point in a number (not in an identifier, a date or a time)
DECIMAL_POINT = re.compile(r"(?<![\w\-.:/{])\d+\.\d+(?![\w\-.:/}])")


def test_russian_texts_hold_no_english_words_and_no_decimal_points():
    found = {}
    for text in russian_texts():
        words = latin_words(text) + DECIMAL_POINT.findall(text)
        if words:
            found[text] = words
    assert not found, "\n".join(f"{w}: {t}" for t, w in list(found.items())[:40])


@pytest.mark.parametrize(
    ("n", "word"),
    [(1, "1 день"), (2, "2 дня"), (5, "5 дней"), (21, "21 день"), (91, "91 день")],
)
def test_plural_forms_come_from_babel(n, word):
    assert russian.count(n, "день", "дня", "дней") == word


def test_numbers_take_a_decimal_comma():
    assert russian.number(16.6) == "16,6"
    assert russian.percent(0.0136) == "1,4%"
    assert russian.count(2, "жалоба", "жалобы", "жалоб") == "2 жалобы"
