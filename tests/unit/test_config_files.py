"""The shipped config files load, carry every seed criterion, and bad files name the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from infra_review.criteria.rules import load_criteria, parse_duration
from infra_review.errors import InputError
from infra_review.fleet import load_fleet

SEED_CRITERIA = {
    "ram.sustained", "ram.swap", "ram.degradation", "ram.planned",
    "cpu.sustained", "cpu.api_latency", "cpu.n8n_queue", "cpu.complaints",
    "server.both_loaded", "server.geo", "server.isolation", "server.upgrade_limit",
    "fin.tco", "fin.predictable", "fin.transparency", "fin.hidden_fees",
    "tech.sla", "tech.modern", "tech.support", "tech.automation",
    "strat.jurisdiction", "strat.reputation", "strat.stability", "strat.roadmap",
}  # fmt: skip


def test_criteria_file_has_every_seed_criterion_with_both_texts():
    criteria = load_criteria()
    assert set(criteria.rules) == SEED_CRITERIA
    assert len(criteria.sha256) == 64 and criteria.version
    for rule in criteria.rules.values():
        assert rule.text_ru and rule.text_en
        assert rule.params.get("default_source") in {"seed", "ours"}, rule.id
    # the seed's own numbers
    assert criteria["ram.sustained"].threshold == 85
    assert criteria["ram.sustained"].duration() == timedelta(hours=24)
    assert criteria["cpu.sustained"].threshold == 90
    assert criteria["cpu.n8n_queue"].threshold == 100
    assert criteria["fin.tco"].threshold == 1.5
    assert criteria["tech.sla"].threshold == 99.5
    assert "более 24 часов" in criteria["ram.sustained"].text_ru


def test_criteria_split_by_review():
    criteria = load_criteria()
    assert len(criteria.for_review("capacity")) == 12
    assert len(criteria.for_review("provider")) == 12


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24h", timedelta(hours=24)), ("15m", timedelta(minutes=15)), ("90s", timedelta(seconds=90)),
     ("1.5h", timedelta(minutes=90)), ("2d", timedelta(days=2))],
)  # fmt: skip
def test_durations(text, expected):
    assert parse_duration(text) == expected


def test_bad_duration_and_bad_yaml_and_duplicates(tmp_path: Path):
    with pytest.raises(InputError):
        parse_duration("24 hours")
    bad = tmp_path / "criteria.yaml"
    bad.write_text("version: 1\ncriteria:\n  - id: x\n    review: capacity\n   group: [\n")
    with pytest.raises(InputError) as err:
        load_criteria(bad)
    assert err.value.file == str(bad) and err.value.line is not None
    bad.write_text(
        "version: 1\ncriteria:\n"
        "  - {id: a, review: capacity, group: g, text_ru: r, text_en: e}\n"
        "  - {id: a, review: capacity, group: g, text_ru: r, text_en: e}\n"
    )
    with pytest.raises(InputError, match="duplicate criterion id"):
        load_criteria(bad)
    bad.write_text("version: 1\ncriteria:\n  - {id: a, review: capacity, group: g, text_ru: r}\n")
    with pytest.raises(InputError) as err:
        load_criteria(bad)
    assert err.value.field == "text_en"


def test_fleet_loads_the_seed_servers():
    fleet = load_fleet()
    assert {"app-1", "data-1"} <= set(fleet.servers)
    app = fleet.servers["app-1"]
    assert app.ram_gb == 16 and app.cpu_cores == 4 and app.scrape_interval_s == 60


@pytest.mark.parametrize(
    ("server_yaml", "field"),
    [
        ("{name: a, ram_gb: -4}", "servers[0].ram_gb"),
        ("{name: 'bad name'}", "servers[0].name"),
        ("{name: a, scrape_interval: soon}", "servers[0].scrape_interval"),
        ("{name: a, sources: [{url: x}]}", "servers[0].sources[0]"),
    ],
)
def test_bad_fleet_names_the_field(tmp_path: Path, server_yaml: str, field: str):
    path = tmp_path / "fleet.yaml"
    path.write_text(f"servers:\n  - {server_yaml}\n")
    with pytest.raises(InputError) as err:
        load_fleet(path)
    assert err.value.field == field
    assert err.value.file == str(path)
