"""run_job's transaction and the other entry points: a PostgreSQL connection dropped
mid-load rolls everything back and the retry loads exactly once; complaints from the bot's
table; the planned-services register; ``infra-review collect``."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from infra_review.cli import main
from infra_review.collect import run_job
from infra_review.errors import InputError
from infra_review.quality.gate import QualityGate
from infra_review.settings import config_dir

pytestmark = pytest.mark.integration

START = datetime(2026, 4, 1, tzinfo=UTC)


def _export(tmp_path, minutes: int = 120):
    lines = ["ts,server,metric,value,label"]
    for minute in range(minutes):
        ts = (START + timedelta(minutes=minute)).isoformat()
        lines.append(f"{ts},app-1,cpu_used_pct,{minute % 100},")
    lines.append(f"{(START + timedelta(minutes=3)).isoformat()},app-1,cpu_used_pct,250,")
    path = tmp_path / "app-1.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _counts(db) -> dict[str, int]:
    out = {}
    with db.cursor() as cur:
        for table in ("samples", "quarantine", "quality_results", "load_batches"):
            cur.execute(f"SELECT count(*) FROM infra_review.{table}")
            out[table] = cur.fetchone()[0]
    db.commit()
    return out


def test_connection_dropped_mid_load_rolls_back_and_the_retry_loads_once(
    tmp_path, db, db_url, monkeypatch
):
    import infra_review.store.samples as samples

    monkeypatch.setenv("INFRA_REVIEW_NOW", "2026-12-01T00:00:00Z")  # the export is in the past
    job = {
        "server": "app-1",
        "source": {"type": "csv", "path": str(_export(tmp_path)), "scrape_interval_s": 60},
    }
    end = START + timedelta(hours=2)
    real = samples.load_samples

    def merge_then_drop(conn, frame, **kwargs):
        stats = real(conn, frame, **kwargs)  # merged, not committed
        admin = psycopg2.connect(db_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (conn.get_backend_pid(),))
        admin.close()
        return stats

    monkeypatch.setattr(samples, "load_samples", merge_then_drop)
    gate = QualityGate(engine="pandas")
    # the task fails with the server's own error, not a secondary one from the rollback
    with pytest.raises(psycopg2.OperationalError):
        run_job(job, START, end, gate=gate)
    assert _counts(db) == {"samples": 0, "quarantine": 0, "quality_results": 0, "load_batches": 0}

    monkeypatch.setattr(samples, "load_samples", real)
    result = run_job(job, START, end, gate=gate)
    assert (result["rows_written"], result["rows_quarantined"]) == (120, 1)
    run_job(job, START, end, gate=gate)
    counts = _counts(db)
    assert counts["samples"] == 120 and counts["quarantine"] == 1 and counts["load_batches"] == 1
    with db.cursor() as cur:
        cur.execute("SELECT sum(value) FROM infra_review.samples")
        assert cur.fetchone()[0] == sum(m % 100 for m in range(120))


def test_complaints_from_the_bots_table(db, db_url):
    with db.cursor() as cur:
        cur.execute("CREATE SCHEMA bot")
        cur.execute(
            """CREATE TABLE bot.complaints (created_at timestamptz, service text, server text,
                                             category text, message text)"""
        )
        cur.execute(
            """INSERT INTO bot.complaints VALUES
                 ('2026-04-02 10:00+00', 'n8n', 'app-1', 'slow', 'webhooks take 10 s'),
                 ('2026-04-02 11:00+00', 'directus', '', 'Slow', 'admin UI hangs'),
                 ('2026-04-02 12:00+00', 'n8n', 'app-1', 'slow', '   '),
                 ('2026-04-09 12:00+00', 'n8n', 'app-1', 'slow', 'next week: other run')"""
        )
    db.commit()
    job = {
        "server": "fleet",
        "source": {
            "type": "complaints",
            "name": "telegram-bot",
            "query": """SELECT created_at AS ts, service, server, category, message AS text
                        FROM bot.complaints
                        WHERE created_at >= %(start)s AND created_at < %(end)s""",
        },
    }
    window = (START, START + timedelta(days=7))
    first = run_job(job, *window)
    assert (first["rows_in"], first["rows_written"], first["rows_quarantined"]) == (3, 2, 1)
    assert run_job(job, *window)["rows_written"] == 0
    with db.cursor() as cur:
        cur.execute("SELECT service, server, category FROM infra_review.complaints ORDER BY ts")
        assert cur.fetchall() == [("n8n", "app-1", "slow"), ("directus", "", "slow")]
        cur.execute("SELECT source, label, reason FROM infra_review.quarantine")
        assert cur.fetchall() == [("complaints:telegram-bot", "n8n", "complaint text is empty: ")]


def test_planned_services_register_is_synced_whole(tmp_path, db, db_url):
    path = tmp_path / "plans.csv"
    path.write_text(
        "service,server,planned_for,ram_gb,cpu_cores\n"
        "qdrant-2,data-1,2026-09-01,8,2\n"
        "clickhouse,app-1,2026-10-01,16,4\n"
    )
    job = {"server": "fleet", "source": {"type": "planned_services", "path": str(path)}}
    run_job(job, START, START + timedelta(minutes=5))
    path.write_text(
        "service,server,planned_for,ram_gb,cpu_cores\nqdrant-2,data-1,2026-09-01,12,2\n"
    )
    result = run_job(job, START, START + timedelta(minutes=10))
    assert result["rows_written"] == 2  # one changed, one removed from the register
    with db.cursor() as cur:
        cur.execute("SELECT service, server, ram_gb, source FROM infra_review.planned_services")
        assert cur.fetchall() == [("qdrant-2", "data-1", 12, "planned_services")]
    path.write_text("service,server,planned_for,ram_gb,cpu_cores\nqdrant-2,data-1,soon,12,2\n")
    with pytest.raises(InputError, match="line 2.*planned_for"):
        run_job(job, START, START + timedelta(minutes=15))


@pytest.fixture
def fleet_with_csv(tmp_path, monkeypatch):
    config = tmp_path / "config"
    shutil.copytree(config_dir(), config)
    export = _export(tmp_path, minutes=24 * 60)
    (config / "fleet.yaml").write_text(
        f"""servers:
  - name: app-1
    ram_gb: 16
    cpu_cores: 4
    sources:
      - {{type: csv, path: "{export}"}}
local_host: {{enabled: false}}
"""
    )
    monkeypatch.setenv("INFRA_REVIEW_CONFIG_DIR", str(config))
    monkeypatch.setenv("INFRA_REVIEW_DATA_DOCS", str(tmp_path / "docs"))
    monkeypatch.setenv("INFRA_REVIEW_NOW", "2026-12-01T00:00:00Z")  # after the export
    return config


def test_cli_backfills_an_interval_in_chunks(fleet_with_csv, db, db_url, capsys):
    argv = [
        "collect",
        "--from",
        "2026-04-01T00:00:00Z",
        "--to",
        "2026-04-02T05:00:00+05:00",
        "--chunk",
        "6h",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "4 batch(es): 1440 sample(s) new or changed, 1 quarantined" in out
    assert main(argv) == 0
    assert "4 batch(es): 0 sample(s) new or changed, 1 quarantined" in capsys.readouterr().out
    assert _counts(db)["samples"] == 1440


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2026-04-01T00:00:00", "--to", "2026-04-02T00:00:00Z"], "explicit offset"),
        (["--from", "2026-04-02T00:00:00Z", "--to", "2026-04-01T00:00:00Z"], "after --from"),
        (
            ["--from", "2026-04-01T00:00:00Z", "--to", "2026-04-02T00:00:00Z", "--servers", "nope"],
            "unknown server",
        ),
    ],
)
def test_cli_rejects_bad_arguments(fleet_with_csv, argv, message, capsys, db_url):
    assert main(["collect", *argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_a_window_that_ends_in_the_future(fleet_with_csv, monkeypatch, capsys, db):
    monkeypatch.setenv("INFRA_REVIEW_NOW", "2026-04-01T12:00:00Z")
    argv = ["collect", "--from", "2026-04-01T00:00:00Z", "--to", "2026-04-01T12:01:00Z"]
    assert main(argv) == 2
    assert "is in the future" in capsys.readouterr().err
    assert _counts(db)["load_batches"] == 0
    argv[-1] = "2026-04-01T12:00:00Z"  # up to now is fine
    assert main(argv) == 0
    assert "1 batch(es): 720 sample(s) new or changed" in capsys.readouterr().out
