"""Browser test: the trial report opens in Debian's Chromium (headless, Playwright) with no console
errors and no network requests; a full-page screenshot goes to ``test-artifacts/``.
"""

from __future__ import annotations

import pytest

from browser import ARGS, ARTIFACTS, CHROMIUM, require_chromium

pytestmark = [pytest.mark.browser]


def test_report_opens_without_errors_or_requests(tmp_path):
    require_chromium()
    from playwright import sync_api

    from taperwise.analysis import run_sap, synthetic_dataset, synthetic_sap
    from taperwise.report.trial import write_report

    ds = synthetic_dataset(
        n_per_arm=25, effects={"ACT": -2.0, "BUP": -4.0}, gi_shift={"ACT": 1.5}, seed=11
    )
    res = run_sap(ds, synthetic_sap(days=[1, 2, 3, 4, 5]), n_imputations=5)
    paths = write_report(res, tmp_path)
    url = paths["report"].resolve().as_uri()
    console, failed, requests = [], [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: failed.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url)
        page.wait_for_load_state("load")
        assert "Trial analysis report" in page.title()
        assert page.locator("svg").count() >= 3  # trajectories, KM, forest
        assert page.get_by_text("Participant flow (CONSORT)").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "analysis-report.png"), full_page=True)
        browser.close()
    errors = [t for kind, t in console if kind in ("error", "warning")]
    assert errors == [] and failed == []
    assert [u for u in requests if u != url] == []
