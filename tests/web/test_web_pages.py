# ruff: noqa: F811  (pytest fixtures imported from web_helpers)
"""HTML screens and htmx fragments (TestClient)."""

from __future__ import annotations

import re

from web_helpers import SEVERE_COWS, fast_argon2, login, web  # noqa: F401  (fixtures)


def test_pages_render_for_every_role(web):
    for username in ("rater_a", "inv", "pharm", "mon", "admin"):
        client = web.client()
        login(client, username)
        for path in ("", "/participants", "/alerts", "/participants/A01"):
            response = client.get(f"/studies/{web.study}{path}")
            assert response.status_code == 200, (username, path, response.text[:300])
    client = web.client()
    login(client, "mon")
    assert client.get(f"/studies/{web.study}/exports").status_code == 200
    assert client.get(f"/studies/{web.study}/participants/A01/assess/cows").status_code == 403


def test_keyboard_entry_running_total_and_save(web):
    client = web.client()
    csrf = login(client, "rater_a")
    base = f"/studies/{web.study}/participants/A01/assess/cows"
    form = client.get(base)
    assert form.status_code == 200
    assert "data-keyboard-entry" in form.text and 'name="item.pulse"' in form.text
    assert re.search(r"<kbd>4</kbd>", form.text)
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf}
    partial = client.post(base + "/score", data={"item.pulse": "2"}, headers=headers)
    assert "incomplete" in partial.text and "not a total" in partial.text
    fields = {f"item.{k}": str(v) for k, v in SEVERE_COWS.items()}
    full = client.post(base + "/score", data=fields, headers=headers)
    assert 'data-total="48"' in full.text and 'data-band="severe"' in full.text
    bad = client.post(base + "/score", data={"item.pulse": "3"}, headers=headers)
    assert bad.status_code == 422 and "allowed 0, 1, 2, 4" in bad.text
    saved = client.post(base, data=fields | {"context": "pre-dose"}, headers=headers)
    assert saved.status_code == 200
    assert "saved-total" in saved.text and ">48<" in saved.text and "severe" in saved.text
    assert "cows.severe" in saved.text
    alert_id = re.search(r'data-alert-id="(\d+)"', saved.text).group(1)
    acked = client.post(f"/studies/{web.study}/alerts/{alert_id}/ack", headers=headers)
    assert acked.status_code == 200 and "acknowledged by rater_a" in acked.text
    audit = client.get(f"/audit/alert/{alert_id}")
    assert audit.status_code == 200 and "acknowledge" in audit.text


def test_form_errors_come_back_as_fragments(web):
    client = web.client()
    csrf = login(client, "pharm")
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf}
    bad = client.post(
        f"/studies/{web.study}/participants/A01/dose",
        data={"amount": "5", "unit": "furlong"},
        headers=headers,
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "<html" not in bad.text


def test_randomise_and_enrol_forms(web):
    client = web.client()
    csrf = login(client, "inv")
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf}
    page = client.get(f"/studies/{web.study}/participants/A02/randomise")
    assert "consent" in page.text
    refused = client.post(
        f"/studies/{web.study}/participants/A02/randomise", data={}, headers=headers
    )
    assert refused.status_code == 422
    done = client.post(
        f"/studies/{web.study}/participants/A02/randomise", data={"confirm": "on"}, headers=headers
    )
    assert done.status_code == 200 and "arm-label" in done.text
    assert "list sequence" not in done.text  # blinded: no arm id or sequence
    enrol = client.post(
        f"/studies/{web.study}/enrol",
        data={"code": "A10", "site": "site_a", "strata.primary_opioid": "other", "eligible": "on"},
        headers=headers,
    )
    assert enrol.status_code == 200 and "Enrolled" in enrol.text


def test_audit_page_edit_with_reason(web):
    client = web.client()
    csrf = login(client, "inv")
    saved = client.post(
        f"/api/studies/{web.study}/participants/A01/vitals",
        json={"sbp": 120, "dbp": 80, "hr": 70},
        headers={"X-CSRF-Token": csrf},
    ).json()
    vid = saved["record"]["id"]
    response = client.post(
        f"/audit/vitals/{vid}/edit",
        data={"field": "hr", "value": "74", "reason": "re-measured", "csrf_token": csrf},
    )
    assert response.status_code == 200
    assert "re-measured" in response.text and "74" in response.text


def test_participant_timeline_has_chart_spec(web):
    client = web.client()
    csrf = login(client, "rater_a")
    client.post(
        f"/api/studies/{web.study}/participants/A01/assessments",
        json={"instrument": "cows", "items": SEVERE_COWS},
        headers={"X-CSRF-Token": csrf},
    )
    page = client.get(f"/studies/{web.study}/participants/A01").text
    assert 'id="spec-cows"' in page and "vega-lite" in page
    assert "/static/vendor/vega-embed.min.js" in page
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


def test_chart_spec_has_bands_doses_and_points():
    import datetime as dt

    from taperwise.web.charts import timeline_spec

    t = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    spec = timeline_spec(
        "cows",
        [{"instrument": "cows", "complete": True, "total": 20, "band": "moderate", "time": t}],
        [{"time": t, "given": True}],
        [{"onset": t, "term": "Diarrhoea", "grade": 1}],
    )
    bands = spec["layer"][0]["data"]["values"]
    assert [b["band"] for b in bands] == ["mild", "moderate", "moderately severe", "severe"]
    assert spec["layer"][2]["data"]["values"][0]["total"] == 20
