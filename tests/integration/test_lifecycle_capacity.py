"""The lifecycle end to end on the real capacity review: 2026Q3 proposes upgrade_ram for
app-1, people accept and implement it through the CLI, and the 2026Q4 review confirms it
when fleet.yaml shows more RAM and the RAM triggers are gone, or does not confirm it (with
the evidence) when fleet.yaml still shows 16 GB."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra_review import clock
from infra_review.capacity.runner import run_capacity_review
from infra_review.cli import main
from infra_review.lifecycle.store import events
from infra_review.quarter import Quarter
from infra_review.settings import config_dir
from infra_review.store.db import connect
from infra_review.store.samples import load_samples

pytestmark = pytest.mark.integration
Q4 = Quarter.parse("2026Q4")


@pytest.fixture
def quarter_url(pg_server_url: str, sample_quarter_template: str, monkeypatch):
    from tests.conftest import _drop, _with_database, clone_database

    name = clone_database(pg_server_url, sample_quarter_template, "ir_test_life")
    url = _with_database(pg_server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    _drop(pg_server_url, name)


def _load_q4(url: str, ram_factor: float) -> None:
    """2026Q4 like 2026Q3, app-1's RAM use scaled by ``ram_factor`` (twice the RAM: half the
    share) and, after an upgrade, no swapping."""
    from infra_review.demo.sample_quarter import generate_frames

    samples = generate_frames(Q4)["samples"].copy()
    app = samples["server"] == "app-1"
    ram = app & (samples["metric"] == "ram_used_pct")
    samples.loc[ram, "value"] = samples.loc[ram, "value"] * ram_factor
    if ram_factor < 1:
        samples.loc[app & (samples["metric"] == "swap_io_pages_per_s"), "value"] = 0.0
    with connect(url) as conn:
        load_samples(conn, samples, batch_key="test:q4", source="test")


def _fleet(tmp_path: Path, ram_gb: int) -> Path:
    text = (config_dir() / "fleet.yaml").read_text(encoding="utf-8")
    assert "    ram_gb: 16\n" in text
    path = tmp_path / "fleet.yaml"
    path.write_text(text.replace("    ram_gb: 16\n", f"    ram_gb: {ram_gb}\n", 1))
    return path


def _accept_and_implement(capsys) -> int:
    with clock.frozen(datetime(2026, 10, 2, 9, tzinfo=UTC)):
        q3 = run_capacity_review("2026Q3", ["app-1"], run_key="q3")
    assert q3.decision_of("app-1").decision == "upgrade_ram"
    did = q3.written["decision_ids"]["app-1"]
    with clock.frozen(datetime(2026, 10, 20, 9, tzinfo=UTC)):
        assert main(["decision", "accept", str(did), "--by", "ops", "--note", "go"]) == 0
        assert main(["decision", "implemented", str(did), "--by", "ops", "--on", "2026-10-19"]) == 0
    assert "accepted -> implemented by ops on 2026-10-19" in capsys.readouterr().out
    return did


def test_the_next_quarter_confirms_an_implemented_upgrade(quarter_url, tmp_path, capsys):
    did = _accept_and_implement(capsys)
    _load_q4(quarter_url, ram_factor=0.5)
    with clock.frozen(datetime(2027, 1, 2, 9, tzinfo=UTC)):
        q4 = run_capacity_review("2026Q4", ["app-1"], run_key="q4", fleet_path=_fleet(tmp_path, 32))
    assert q4.decision_of("app-1").decision != "upgrade_ram"
    with connect(quarter_url) as conn:
        last = events(conn, did)[-1]
    assert (last["to_state"], last["author"]) == ("confirmed", f"review run {q4.run_id}")
    assert last["evidence"]["upgrade_ram"]["before"] == 16
    assert last["evidence"]["upgrade_ram"]["after"] == 32
    assert set(last["evidence"]["upgrade_ram"]["criteria"].values()) == {"not_met"}


def test_no_more_ram_in_fleet_yaml_is_not_confirmed(quarter_url, capsys):
    did = _accept_and_implement(capsys)
    _load_q4(quarter_url, ram_factor=1.0)
    with clock.frozen(datetime(2027, 1, 2, 9, tzinfo=UTC)):
        q4 = run_capacity_review("2026Q4", ["app-1"], run_key="q4")
    with connect(quarter_url) as conn:
        last = events(conn, did)[-1]
    assert (last["to_state"], last["run_id"]) == ("not_confirmed", q4.run_id)
    assert "fleet.yaml shows 16 GB RAM (was 16)" in last["note"]
    # implemented on 19 October (marked on the 20th): judged from 20 October 00:00 on
    assert (
        "still met after the implementation (2026-10-20 00:00 UTC): "
        "ram.sustained (30 h 0 min above from 2026-11-14 06:00 UTC)"
    ) in last["note"]
    assert last["evidence"]["upgrade_ram"]["implemented_at"] == "2026-10-20T00:00:00+00:00"
