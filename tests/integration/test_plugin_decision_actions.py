"""The "Decision actions" plugin on a real database: who may change a decision, what a
forged cross-site request gets, and that a change is an event. The Airflow session check is
replaced by a fixed user (the browser test covers the real session end to end)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra_review import clock
from infra_review.lifecycle.store import events
from infra_review.quarter import Quarter
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location(
        "decision_actions", ROOT / "plugins" / "decision_actions.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


class FakeUser:
    def __init__(self, name: str, rights: set[str]):
        self.name, self.rights = name, rights

    def get_name(self) -> str:
        return self.name


@pytest.fixture
def site(plugin, db, monkeypatch):
    from fastapi.testclient import TestClient

    q = Quarter.parse("2026Q3")
    run = ReviewRun("capacity", "2026Q3", q.start, q.end, "r1", "v1", "abc")
    rec = DecisionRecord("server", "app-1", "upgrade_ram", "app-1 <b>needs RAM</b>", "app-1: ОЗУ")
    did = record_review(db, run, [rec]).decision_ids[("server", "app-1")]
    db.commit()
    user = FakeUser("alice", {"GET", "PUT"})
    plugin.app.dependency_overrides[plugin.current_user] = lambda: user
    monkeypatch.setattr(plugin, "may", lambda u, review_type, method: method in u.rights)
    with clock.frozen(NOW):
        yield TestClient(plugin.app, base_url="http://airflow.local:8080"), did, user
    plugin.app.dependency_overrides.clear()


SAME = {"Origin": "http://airflow.local:8080", "Sec-Fetch-Site": "same-origin"}


def test_accept_from_the_page_is_an_event_by_the_signed_in_user(site, db):
    client, did, _ = site
    page = client.get(f"/decisions/{did}")
    assert page.status_code == 200
    assert "script-src 'sha256-" in page.headers["content-security-policy"]
    assert "app-1 &lt;b&gt;needs RAM&lt;/b&gt;" in page.text  # escaped
    assert "data-action='accept'" in page.text and "data-action='implemented'" not in page.text
    r = client.post(f"/api/decisions/{did}/accept", json={"note": "approved"}, headers=SAME)
    assert r.status_code == 200, r.text
    assert (r.json()["from_state"], r.json()["to_state"]) == ("proposed", "accepted")
    last = events(db, did)[-1]
    assert (last["to_state"], last["author"], last["note"]) == ("accepted", "alice", "approved")
    page = client.get(f"/decisions/{did}")
    assert "<strong id='state'>accepted</strong>" in page.text
    assert "data-action='implemented'" in page.text


def test_an_illegal_change_is_refused_with_the_reason(site):
    client, did, _ = site
    r = client.post(f"/api/decisions/{did}/implemented", json={}, headers=SAME)
    assert r.status_code == 409
    assert (
        r.json()["detail"]
        == f"decision {did} is proposed: 'implemented' is allowed only from accepted"
    )
    r = client.post(f"/api/decisions/{did}/dismiss", json={"note": ""}, headers=SAME)
    assert r.status_code == 409 and "say why" in r.json()["detail"]
    assert client.post(f"/api/decisions/{did}/delete", json={}, headers=SAME).status_code == 404


def test_forged_cross_site_requests_are_refused(site, db):
    client, did, _ = site
    form = client.post(
        f"/api/decisions/{did}/accept",
        data={"note": "x"},
        headers={"Origin": "http://airflow.local:8080"},
    )
    assert form.status_code == 415  # an HTML form from another site cannot send JSON
    evil = client.post(
        f"/api/decisions/{did}/accept", json={}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403 and "Origin" in evil.json()["detail"]
    cross = client.post(
        f"/api/decisions/{did}/accept", json={}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    assert [e["to_state"] for e in events(db, did)] == ["proposed"]


def test_readers_see_no_buttons_and_cannot_change_others_see_nothing(site, db):
    client, did, user = site
    user.rights = {"GET"}
    page = client.get(f"/decisions/{did}")
    assert page.status_code == 200 and "<button" not in page.text
    r = client.post(f"/api/decisions/{did}/accept", json={}, headers=SAME)
    assert r.status_code == 403 and "edit access" in r.json()["detail"]
    user.rights = set()
    assert client.get(f"/decisions/{did}").status_code == 404
    assert client.get(f"/api/decisions/{did}/events").status_code == 404
    assert [e["to_state"] for e in events(db, did)] == ["proposed"]


def test_no_session_is_401(plugin, db):
    from fastapi.testclient import TestClient

    plugin.app.dependency_overrides.clear()
    client = TestClient(plugin.app, base_url="http://airflow.local:8080")
    r = client.post("/api/decisions/1/accept", json={}, headers=SAME)
    assert r.status_code == 401
