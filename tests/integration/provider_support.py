"""Fixtures shared by the provider integration tests: the example quarter (2026Q3) loaded
into a fresh database from include/config/examples/ plus generated probe series."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra_review.quarter import Quarter

Q3 = Quarter(2026, 3)
NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture(scope="module")
def probe_files(tmp_path_factory) -> list[Path]:
    """probe_up of the sample quarter's app-1 and data-1, and the generated pilot."""
    from infra_review.demo.sample_quarter import generate_frames
    from infra_review.provider.demo import write_pilot_probes

    out = tmp_path_factory.mktemp("probes")
    samples = generate_frames(Q3)["samples"]
    probes = samples[samples["metric"] == "probe_up"].copy()
    probes["ts"] = probes["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    current = out / "current-probes.csv"
    probes[["ts", "server", "metric", "value", "label"]].to_csv(current, index=False)
    return [current, write_pilot_probes(out, Q3)]


@pytest.fixture
def example_db(db_url, probe_files, tmp_path, monkeypatch) -> str:
    from infra_review.imports import import_samples
    from infra_review.provider.demo import examples_dir
    from infra_review.provider.loads import import_invoices, import_rates, import_tickets

    monkeypatch.setenv("INFRA_REVIEW_DATA_DIR", str(tmp_path / "data"))
    import_rates(examples_dir() / "example-rates.csv", now=NOW)
    import_invoices(examples_dir() / "example-invoices.csv", now=NOW)
    import_tickets(examples_dir() / "example-tickets.csv", now=NOW)
    for path in probe_files:
        import_samples(path)
    return db_url
