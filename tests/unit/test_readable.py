"""Each criterion's threshold in the unit of its text (issue 18 item 1)."""

from __future__ import annotations

from infra_review.criteria import readable
from infra_review.criteria.registry import registered
from infra_review.criteria.rules import load_criteria


def test_every_criterion_has_a_unit_and_a_comparator():
    criteria = load_criteria()
    for cid in registered():
        lim = readable.limits(cid, criteria.rules[cid].params)
        assert lim.unit, cid
        assert lim.comparator in (">", ">=", "<", "<=", "=="), cid
        assert lim.threshold is not None, cid
        assert lim.unit in readable.UNITS_RU, cid


def test_the_issues_examples_read_in_the_unit_of_their_text():
    rules = load_criteria().rules

    def lim(cid):
        return readable.limits(cid, rules[cid].params)

    assert (lim("cpu.api_latency").threshold, lim("cpu.api_latency").unit) == (2.0, "s")
    assert lim("cpu.api_latency").duration_threshold == 1.0
    assert (lim("cpu.n8n_queue").threshold, lim("cpu.n8n_queue").unit) == (100.0, "items")
    assert (lim("cpu.n8n_queue").duration_threshold, lim("cpu.n8n_queue").duration_unit) == (
        15.0,
        "min",
    )
    cpu = lim("cpu.sustained")
    assert (cpu.threshold, cpu.duration_threshold, cpu.duration_unit) == (90.0, 1.0, "h")
    assert (lim("ram.swap").threshold, lim("ram.swap").unit) == (10.0, "% of hours")
    loaded = lim("server.both_loaded")
    assert (loaded.threshold, loaded.duration_threshold, loaded.duration_comparator) == (
        80.0,
        90.0,
        ">=",
    )
    assert (lim("fin.tco").threshold, lim("fin.tco").comparator) == (150.0, "<")
    assert (lim("tech.support").threshold, lim("tech.support").unit) == (4.0, "h")


def test_an_unknown_criterion_still_has_a_comparator():
    assert readable.limits("x.new", {"threshold": 3}).comparator == ">"
