"""The decision page's buttons, end to end in Chromium on a real Airflow: the signed-in admin
accepts a decision and sees the event; a cross-site POST and an anonymous one are refused."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from infra_review.lifecycle.store import events
from infra_review.quarter import Quarter
from infra_review.store.db import connect
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def decision_id(airflow) -> int:
    """A provider decision of an earlier quarter (the capacity test owns 2026Q3's records)."""
    q = Quarter.parse("2025Q4")
    run = ReviewRun("provider", "2025Q4", q.start, q.end, "browser-actions", "v1", "abc")
    rec = DecisionRecord(
        "provider", "example-kz-cloud", "evaluate_migration", "Pilot example-eu-cloud.", "Пилот."
    )
    with connect(airflow.decisions_url) as conn:
        return record_review(conn, run, [rec]).decision_ids[("provider", "example-kz-cloud")]


def test_accept_a_decision_on_its_page_and_see_the_event(page, airflow, decision_id, shoot):
    # From the decisions page, the decision's state links to its own page with the buttons.
    page.goto(f"{airflow.url}/capacity-decisions/?quarter=2025Q4&type=provider")
    link = page.locator("section.decision[data-subject='example-kz-cloud'] a.state")
    expect(link).to_have_text("state: proposed")
    link.click()
    page.wait_for_url(f"{airflow.url}/decision-actions/decisions/{decision_id}")
    expect(page.locator("#state")).to_have_text("proposed")
    page.locator("#note").fill("pilot approved in the team meeting")
    page.get_by_role("button", name="Accept / Принять").click()
    expect(page.locator("#state")).to_have_text("accepted", timeout=60_000)
    row = page.locator("#events tr", has_text="pilot approved in the team meeting")
    expect(row).to_contain_text("proposed")
    expect(row).to_contain_text("accepted")
    expect(row).to_contain_text("admin")
    shoot(page, "decision-accepted")
    with connect(airflow.decisions_url) as conn:
        last = events(conn, decision_id)[-1]
    assert (last["to_state"], last["author"]) == ("accepted", "admin")
    # Same session, but the request says it comes from another site: refused, nothing written.
    forged = page.request.post(
        f"{airflow.url}/decision-actions/api/decisions/{decision_id}/dismiss",
        data={"note": "forged"},
        headers={"Origin": "https://evil.example", "Content-Type": "application/json"},
    )
    assert forged.status == 403
    with connect(airflow.decisions_url) as conn:
        assert events(conn, decision_id)[-1]["to_state"] == "accepted"


def test_decision_actions_refuse_anonymous_callers(airflow, decision_id):
    r = requests.post(
        f"{airflow.url}/decision-actions/api/decisions/{decision_id}/dismiss",
        json={"note": "anonymous"},
        timeout=60,
    )
    assert r.status_code == 401, r.text[:200]
    r = requests.get(f"{airflow.url}/decision-actions/decisions/{decision_id}", timeout=60)
    assert r.status_code == 401
