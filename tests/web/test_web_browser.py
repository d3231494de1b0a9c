"""Browser test: Debian's Chromium (headless) driven by Playwright against a live uvicorn.

Log in, enter a COWS with the keyboard only, see total and band, see the alert for the severe
score, acknowledge it in the alerts inbox and find the acknowledgement in the audit history.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import pytest
from web_helpers import PASSWORD, SEVERE_COWS

from browser import ARGS, ARTIFACTS, CHROMIUM, require_chromium
from server_helpers import threaded_uvicorn
from store_helpers import enrol_participant, new_study, randomise_participant

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live_server(tmp_path):
    from taperwise.store.audit import Actor
    from taperwise.store.engine import transaction
    from taperwise.web.app import create_app
    from taperwise.web.users import create_user

    url = f"sqlite:///{tmp_path / 'browser.db'}"
    engine, study_id, proto = new_study(url)
    enrol_participant(engine, study_id, proto, "A01", site="site_a")
    randomise_participant(engine, study_id, "A01")
    with transaction(engine) as session:
        create_user(
            session, Actor("setup", "admin"), username="nurse", role="rater", password=PASSWORD
        )
    engine.dispose()
    app = create_app(url, secret_key="browser-test")
    with threaded_uvicorn(app) as base:
        yield base, study_id, url
    app.state.taperwise.engine.dispose()


def _assessment_count(url: str) -> int:
    from sqlalchemy import func, select

    from taperwise.store.engine import make_engine
    from taperwise.store.models import Assessment

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Assessment)).scalar_one()
    finally:
        engine.dispose()


def test_keyboard_cows_entry_alert_ack_and_audit(live_server):
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    base, study_id, url = live_server
    ARTIFACTS.mkdir(exist_ok=True)
    console_errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.set_default_timeout(15000)

        page.goto(f"{base}/login")
        page.keyboard.type("nurse")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/studies/{study_id}")

        page.goto(f"{base}/studies/{study_id}/participants/A01/assess/cows")
        first = page.locator('input[name="item.pulse"]').first
        expect(first).to_be_focused()
        for value in SEVERE_COWS.values():  # in form order, one key per item
            page.keyboard.press(str(value))
        total = page.locator("#running-total")
        expect(total).to_contain_text("Total 48")
        expect(total.locator("[data-band]")).to_have_text("severe")
        page.screenshot(path=str(ARTIFACTS / "web-01-cows-keyboard-entry.png"), full_page=True)

        page.keyboard.press("Enter")
        result = page.locator("#result")
        expect(result.locator(".saved-total")).to_have_text("48")
        expect(result).to_contain_text("cows.severe")
        page.screenshot(path=str(ARTIFACTS / "web-02-cows-saved-alert.png"), full_page=True)

        # the save clears the form; a second Enter saves nothing (no duplicate assessment)
        expect(page.locator('input[name="item.pulse"]:checked')).to_have_count(0)
        expect(first).to_be_focused()
        page.keyboard.press("Enter")
        expect(total.locator("[data-nothing-to-save]")).to_be_visible()
        expect(result.locator(".saved-total")).to_have_text("48")
        assert _assessment_count(url) == 1

        page.goto(f"{base}/studies/{study_id}/alerts")
        row = page.locator("li.alert", has_text="cows.severe").first
        expect(row).to_be_visible()
        row.get_by_role("button", name="Acknowledge").click()
        acked = page.locator("li.alert", has_text="cows.severe").first
        expect(acked).to_contain_text("acknowledged by nurse")
        page.screenshot(path=str(ARTIFACTS / "web-03-alert-acknowledged.png"), full_page=True)

        acked.get_by_role("link", name="audit").click()
        audit = page.locator("table.audit")
        expect(audit).to_contain_text("acknowledge")
        expect(audit).to_contain_text("nurse")
        page.screenshot(path=str(ARTIFACTS / "web-04-audit-history.png"), full_page=True)

        page.goto(f"{base}/studies/{study_id}/participants/A01")
        expect(page.locator("div.chart svg").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "web-05-timeline.png"), full_page=True)
        browser.close()
    assert not [e for e in console_errors if "favicon" not in e], console_errors
