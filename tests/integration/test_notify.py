"""Notifications end to end: a real SMTP server (aiosmtpd) and a local HTTP server that
records Bot API sendMessage calls, with the channels configured by Airflow connections
(``AIRFLOW_CONN_*``), as a deployment would."""

from __future__ import annotations

import json
import logging
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from infra_review.lifecycle.store import transition
from infra_review.notify import notify_review
from infra_review.quarter import Quarter
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review
from tests.support.net import free_port as _free_port

pytestmark = pytest.mark.integration
TOKEN = "123456:TEST-token"
CHAT = "-100200300"


@pytest.fixture
def smtp(monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    received = []

    class Keep(MessageHandler):
        def handle_message(self, message):
            received.append(message)

        def prepare_message(self, session, envelope):
            return message_from_bytes(envelope.content, policy=policy.default)

    port = _free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {
            "from_email": "review@example.org",
            "to": "ops@example.org, cto@example.org",
            "disable_ssl": True,
            "disable_tls": True,
            "timeout": 5,
            "retry_limit": 1,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_INFRA_REVIEW_SMTP", json.dumps(conn))
    yield received
    controller.stop()


class BotApi(BaseHTTPRequestHandler):
    calls: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        kind = self.headers.get("Content-Type", "")
        params = (
            json.loads(body) if "json" in kind else {k: v[0] for k, v in parse_qs(body).items()}
        )
        type(self).calls.append({"path": self.path, "params": params})
        if len(type(self).calls) <= type(self).fail_first:
            self.send_response(502)
            self.end_headers()
            return
        result = {
            "message_id": len(type(self).calls),
            "date": 1700000000,
            "chat": {"id": int(CHAT), "type": "group", "title": "ops"},
            "text": params.get("text", ""),
        }
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def bot(monkeypatch):
    BotApi.calls, BotApi.fail_first = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), BotApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = {
        "conn_type": "telegram",
        "host": CHAT,
        "password": TOKEN,
        "extra": {"base_url": f"http://127.0.0.1:{server.server_address[1]}/bot"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_INFRA_REVIEW_TELEGRAM", json.dumps(conn))
    yield BotApi
    server.shutdown()


def _run(key: str, quarter: str = "2026Q3") -> ReviewRun:
    q = Quarter.parse(quarter)
    return ReviewRun(
        review_type="capacity",
        quarter=quarter,
        window_start=q.start,
        window_end=q.end,
        run_key=key,
        criteria_version="v1",
        criteria_sha256="abc",
        report_path=None,
    )


def _rec(subject: str, decision: str, ram: int = 16, quarter: str = "2026Q3") -> DecisionRecord:
    return DecisionRecord(
        subject_kind="server",
        subject=subject,
        decision=decision,
        summary_en=f"{subject}: {decision} <now>",
        summary_ru=f"{subject}: {decision} (сейчас)",
        context={"metadata": {"ram_gb": ram}, "actions": [decision]},
        confirmation={"criteria": ["ram.sustained"]},
    )


def _review(db, key, records, quarter="2026Q3") -> int:
    run_id = record_review(db, _run(key, quarter), records).run_id
    db.commit()
    return run_id


def test_one_message_per_review_by_email_and_telegram(db, smtp, bot):
    run_id = _review(db, "r1", [_rec("app-1", "upgrade_ram"), _rec("db-1", "no_action")])
    out = notify_review(run_id, conn=db, report_url="http://ui/r1/report.html", backoff_s=0)
    assert out["channels"] == {"telegram": "sent", "email": "sent"}
    (mail,) = smtp
    assert mail["To"] == "ops@example.org, cto@example.org"
    assert mail["From"] == "review@example.org"
    assert "2026Q3 capacity: 1 to act on" in mail["Subject"]
    body = mail.get_body(("html",)).get_content()
    assert "app-1: upgrade_ram. app-1: upgrade_ram &lt;now&gt;" in body  # escaped
    assert "Отчёт: http://ui/r1/report.html" in body and "db-1" not in body
    (call,) = bot.calls
    assert call["path"] == f"/bot{TOKEN}/sendMessage"
    assert call["params"]["chat_id"] == CHAT
    text = call["params"]["text"]
    assert (
        "Решения, требующие действий:\n- #1 app-1: upgrade_ram. app-1: upgrade_ram (сейчас)" in text
    )
    assert "&lt;now&gt;" in text and "Report: http://ui/r1/report.html" in text


def test_a_rerun_with_the_same_decision_sends_nothing_a_changed_one_does(db, smtp, bot):
    _review(db, "r1", [_rec("app-1", "upgrade_ram")])
    same = _review(db, "r2", [_rec("app-1", "upgrade_ram")])
    assert notify_review(same, conn=db, backoff_s=0)["message"] is None
    changed = _review(db, "r3", [_rec("app-1", "add_server")])
    out = notify_review(changed, conn=db, backoff_s=0)
    assert "app-1: add_server (was upgrade_ram)" in out["message"]["text"]
    assert len(bot.calls) == 1 and len(smtp) == 1


def test_not_confirmed_is_news_even_without_a_new_action(db, smtp, bot):
    q3 = _review(db, "q3", [_rec("app-1", "upgrade_ram")])
    with db.cursor() as cur:
        cur.execute("SELECT decision_id FROM infra_review.decisions WHERE run_id = %s", (q3,))
        (did,) = cur.fetchone()
    transition(db, did, "accept", "bob")
    transition(db, did, "implemented", "bob")
    db.commit()
    q4 = _review(db, "q4", [_rec("app-1", "no_action", ram=16, quarter="2026Q4")], "2026Q4")
    out = notify_review(q4, conn=db, backoff_s=0)
    text = out["message"]["text"]
    assert f"Не подтверждены данными:\n- #{did} app-1 upgrade_ram (2026Q3): fleet.yaml" in text
    assert f"Not confirmed by the data:\n- #{did} app-1 upgrade_ram (2026Q3): fleet.yaml" in text


def test_no_notifier_configured_is_a_log_line_not_a_failure(db, caplog, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_INFRA_REVIEW_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_INFRA_REVIEW_TELEGRAM", raising=False)
    run_id = _review(db, "r1", [_rec("app-1", "upgrade_ram")])
    with caplog.at_level(logging.INFO, logger="infra_review.notify.send"):
        out = notify_review(run_id, conn=db)
    assert out["channels"] == {"telegram": "not configured", "email": "not configured"}
    assert "no notifier configured" in caplog.text and "upgrade_ram" in caplog.text
    assert notify_review(None)["message"] is None  # a dry run


def test_a_failing_channel_is_retried_and_never_fails_the_review(db, smtp, bot, monkeypatch):
    bot.fail_first = 2  # the Bot API answers 502 twice, then accepts
    run_id = _review(db, "r1", [_rec("app-1", "upgrade_ram")])
    out = notify_review(run_id, conn=db, backoff_s=0)
    assert out["channels"]["telegram"] == "sent" and len(bot.calls) == 3
    # an SMTP server that is gone: retried, reported as failed, nothing raised
    conn = json.loads(__import__("os").environ["AIRFLOW_CONN_INFRA_REVIEW_SMTP"])
    conn["port"] = _free_port()
    monkeypatch.setenv("AIRFLOW_CONN_INFRA_REVIEW_SMTP", json.dumps(conn))
    out = notify_review(run_id, conn=db, attempts=2, backoff_s=0)
    assert out["channels"]["email"] == "failed" and out["message"] is not None


def test_sent_from_inside_a_running_event_loop(db, smtp, bot):
    """The Telegram hook's asyncio.run cannot start in a thread whose event loop is running
    (an async caller, or a library that left its loop running): the message still goes."""
    import asyncio

    run_id = _review(db, "r1", [_rec("app-1", "upgrade_ram")])

    async def caller() -> dict:
        return notify_review(run_id, conn=db, backoff_s=0)

    out = asyncio.run(caller())
    assert out["channels"] == {"telegram": "sent", "email": "sent"}
    assert len(bot.calls) == 1 and len(smtp) == 1
