"""The demo's generated quarters: a calm history quarter before the incident quarter, and files
written once and kept while the generator and its inputs are the same."""

from __future__ import annotations

import pandas as pd
import pytest

from infra_review.demo import sample_quarter as sq
from infra_review.quarter import Quarter


def test_the_history_quarter_is_calmer_and_the_incident_stays_where_it_was():
    incident = sq.generate_frames()["samples"]
    history = sq.generate_frames(Quarter(2026, 2), sq.SEED - 1, quarters_before=1)["samples"]

    def ram(frame: pd.DataFrame) -> pd.Series:
        rows = frame[(frame.server == "app-1") & (frame.metric == "ram_used_pct")]
        return rows.set_index("ts")["value"]

    above = ram(incident)[ram(incident) > 85]
    assert above.index.min() == pd.Timestamp("2026-08-14T06:00Z")  # day 44, as before
    assert len(above) > 29 * 60
    assert ram(history).max() < 85  # no episode: the decision changes between the quarters
    assert ram(history).median() < ram(incident).median()
    assert history["ts"].min() == pd.Timestamp("2026-04-01T00:00Z")
    assert history["ts"].max() < pd.Timestamp("2026-07-01T00:00Z")


@pytest.fixture
def small(monkeypatch):
    """A tiny quarter instead of 1.85M rows: what is tested here is when files are rewritten."""
    calls = []

    def frames(quarter, seed, *, quarters_before=0):
        calls.append((str(quarter), seed, quarters_before))
        return {
            "samples": pd.DataFrame(
                {
                    "ts": pd.to_datetime(["2026-07-01T00:00Z", "2026-07-01T00:01Z"]),
                    "server": "app-1",
                    "metric": "ram_used_pct",
                    "value": [50.0 + seed % 7, 51.0],
                    "label": "",
                }
            ),
            "complaints": pd.DataFrame(columns=["ts", "service", "server", "category", "text"]),
            "plans": pd.DataFrame(columns=["service", "server", "planned_for", "ram_gb"]),
        }

    monkeypatch.setattr(sq, "generate_frames", frames)
    return calls


def test_files_are_written_once_and_kept_while_nothing_changed(tmp_path, small):
    first = sq.write_sample_quarter(tmp_path, sq.DEFAULT_QUARTER)
    assert (first.reused, first.rows, len(small)) == (False, 2, 1)
    again = sq.write_sample_quarter(tmp_path, sq.DEFAULT_QUARTER)
    assert (again.reused, again.rows, len(small)) == (True, 2, 1)
    # another seed, another quarter profile or an edited file: written again
    assert not sq.write_sample_quarter(tmp_path, sq.DEFAULT_QUARTER, seed=7).reused
    assert not sq.write_sample_quarter(
        tmp_path, sq.DEFAULT_QUARTER, seed=7, quarters_before=1
    ).reused
    with first.samples.open("a") as out:
        out.write("2026-07-01T00:02:00Z,app-1,ram_used_pct,52.0,\n")
    assert not sq.write_sample_quarter(
        tmp_path, sq.DEFAULT_QUARTER, seed=7, quarters_before=1
    ).reused
    assert sq.write_sample_quarter(tmp_path, sq.DEFAULT_QUARTER, seed=7, quarters_before=1).reused
    assert len(small) == 4
    # the history quarter keeps its planned-services file apart from the reviewed quarter's
    assert first.plans.name == "planned-services.csv"
    history = sq.write_sample_quarter(tmp_path, Quarter(2026, 2), quarters_before=1)
    assert history.plans.name == "planned-services-2026Q2.csv"
