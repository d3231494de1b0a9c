# ruff: noqa: F811  (pytest fixtures imported from web_helpers)
"""The JSON API on SQLite and PostgreSQL: records, scoring, alerts, audit, exports."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from web_helpers import SEVERE_COWS, fast_argon2, web  # noqa: F401  (fixtures)


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/me"),
        ("get", "/api/studies"),
        ("get", "/api/studies/kmc-bup-pbo/participants"),
        ("post", "/api/studies/kmc-bup-pbo/participants/A01/assessments"),
        ("post", "/api/alerts/1/acknowledge"),
        ("get", "/api/audit/assessment/1"),
        ("get", "/api/studies/kmc-bup-pbo/export"),
    ],
)
def test_unauthenticated_api_calls_get_401(web, method, path):
    response = getattr(web.client(), method)(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "not authenticated"}


def test_bad_bearer_token_is_401(web):
    headers = {"Authorization": "Bearer forged.token"}
    assert web.client().get("/api/me", headers=headers).status_code == 401


def test_me_reports_role_site_and_blinding(web):
    client = web.client()
    me = client.get("/api/me", headers=web.bearer("rater_a")).json()
    assert me["role"] == "rater" and me["site_code"] == "site_a" and me["unblinded"] is False
    assert client.get("/api/me", headers=web.bearer("pharm")).json()["unblinded"] is True


def test_assessment_scores_bands_and_raises_severe_alert(web):
    client = web.client()
    response = client.post(
        web.url("/participants/A01/assessments"),
        headers=web.bearer("rater_a"),
        json={"instrument": "cows", "items": SEVERE_COWS, "context": "pre-dose"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["record"]["total"] == 48
    assert body["record"]["band"] == "severe"
    assert body["record"]["rater"] == "rater_a"
    assert any(a["rule_id"] == "cows.severe" for a in body["alerts"])
    listed = client.get(web.url("/participants"), headers=web.bearer("rater_a")).json()
    row = next(r for r in listed["data"] if r["code"] == "A01")
    assert row["last_cows_total"] == 48 and row["last_cows_band"] == "severe"
    assert row["open_alerts"] >= 1


def test_partial_form_is_incomplete_never_a_total(web):
    response = web.client().post(
        web.url("/participants/A01/assessments"),
        headers=web.bearer("rater_a"),
        json={"instrument": "cows", "items": {"pulse": 1, "sweating": 2}},
    )
    assert response.status_code == 201
    record = response.json()["record"]
    assert record["complete"] is False and record["total"] is None and record["band"] is None


def test_invalid_item_score_is_422_with_one_line_detail(web):
    response = web.client().post(
        web.url("/participants/A01/assessments"),
        headers=web.bearer("rater_a"),
        json={"instrument": "cows", "items": {"pulse": 3}},
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "COWS item 'pulse' got 3; allowed 0, 1, 2, 4"}


def test_running_score_endpoint(web):
    client = web.client()
    headers = web.bearer("rater_a")
    partial = client.post(
        "/api/instruments/cows/score", headers=headers, json={"items": {"pulse": 2}}
    )
    assert partial.json()["complete"] is False and partial.json()["total"] is None
    assert partial.json()["partial_sum"] == 2
    full = client.post("/api/instruments/cows/score", headers=headers, json={"items": SEVERE_COWS})
    assert full.json() | {} == full.json() and full.json()["total"] == 48
    assert full.json()["band"] == "severe"
    assert client.post("/api/instruments/nope/score", headers=headers, json={}).status_code == 404


def test_acknowledge_alert_and_find_it_in_the_audit(web):
    client = web.client()
    saved = client.post(
        web.url("/participants/A01/assessments"),
        headers=web.bearer("rater_a"),
        json={"instrument": "cows", "items": SEVERE_COWS},
    ).json()
    alert = next(a for a in saved["alerts"] if a["rule_id"] == "cows.severe")
    acked = client.post(f"/api/alerts/{alert['id']}/acknowledge", headers=web.bearer("rater_a"))
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "rater_a"
    again = client.post(f"/api/alerts/{alert['id']}/acknowledge", headers=web.bearer("inv"))
    assert again.status_code == 409
    history = client.get(f"/api/audit/alert/{alert['id']}", headers=web.bearer("mon")).json()
    assert {"acknowledge"} <= {h["action"] for h in history}
    assert any(h["field"] == "acknowledged_by" and h["new"] == "rater_a" for h in history)
    open_ids = [
        a["id"] for a in client.get(web.url("/alerts"), headers=web.bearer("inv")).json()["data"]
    ]
    assert alert["id"] not in open_ids


def test_dose_checked_against_protocol(web):
    client = web.client()
    headers = web.bearer("pharm")
    detail = client.get(web.url("/participants/A01"), headers=headers).json()
    arm = detail["arm"]
    assert arm == web.arms["A01"]
    wrong_unit = client.post(
        web.url("/participants/A01/doses"), headers=headers, json={"amount": 1, "unit": "furlong"}
    )
    assert wrong_unit.status_code == 422
    assert "allowed" in wrong_unit.json()["detail"]
    not_randomised = client.post(
        web.url("/participants/A02/doses"), headers=headers, json={"amount": 1, "unit": "mg"}
    )
    assert not_randomised.status_code == 409
    held = client.post(
        web.url("/participants/A01/doses"),
        headers=headers,
        json={"amount": 0, "unit": "mg", "given": False},
    )
    assert held.status_code == 422  # a held dose needs a reason (or the unit is refused)


def test_adverse_event_validation(web):
    client = web.client()
    headers = web.bearer("inv")
    bad_grade = client.post(
        web.url("/participants/A01/adverse-events"), headers=headers, json={"term": "x", "grade": 6}
    )
    assert bad_grade.status_code == 422
    bad_criterion = client.post(
        web.url("/participants/A01/adverse-events"),
        headers=headers,
        json={"term": "Syncope", "grade": 3, "seriousness": ["felt bad"]},
    )
    assert bad_criterion.status_code == 422
    assert "ICH E2A" in bad_criterion.json()["detail"]
    ok = client.post(
        web.url("/participants/A01/adverse-events"),
        headers=headers,
        json={"term": "Syncope", "grade": 3, "seriousness": ["hospitalisation"]},
    )
    if ok.status_code == 422:  # the vocabulary may spell the criterion differently
        pytest.fail(ok.json()["detail"])
    assert ok.status_code == 201 and ok.json()["record"]["serious"] is True


def test_edit_needs_reason_and_protects_allocation(web):
    client = web.client()
    saved = client.post(
        web.url("/participants/A01/vitals"),
        headers=web.bearer("rater_a"),
        json={"sbp": 120, "dbp": 80, "hr": 70},
    ).json()
    vid = saved["record"]["id"]
    headers = web.bearer("inv")
    no_reason = client.patch(
        f"/api/records/vitals/{vid}", headers=headers, json={"changes": {"hr": 72}, "reason": ""}
    )
    assert no_reason.status_code == 422
    edited = client.patch(
        f"/api/records/vitals/{vid}",
        headers=headers,
        json={"changes": {"hr": 72}, "reason": "transcription error"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["changed"] == {"hr": [70.0, 72]}
    history = client.get(f"/api/audit/vitals/{vid}", headers=headers).json()
    update = [h for h in history if h["action"] == "update"]
    assert update and update[0]["field"] == "hr" and update[0]["reason"] == "transcription error"
    assert update[0]["old"] == "70.0" and update[0]["new"] == "72"
    participant_id = client.get(f"/api/audit/vitals/{vid}", headers=headers).status_code
    assert participant_id == 200
    from sqlalchemy import select

    from taperwise.store.engine import read_session
    from taperwise.store.models import Participant

    with read_session(web.engine) as session:
        pid = session.execute(select(Participant.id).where(Participant.code == "A01")).scalar_one()
    refused = client.patch(
        f"/api/records/participant/{pid}",
        headers=headers,
        json={"changes": {"arm_id": "PBO"}, "reason": "try"},
    )
    assert refused.status_code == 422
    deleted = client.post(
        f"/api/records/vitals/{vid}/delete", headers=headers, json={"reason": "duplicate"}
    )
    assert deleted.status_code == 204


def test_enrol_and_randomise_blinded(web):
    client = web.client()
    headers = web.bearer("inv")
    enrolled = client.post(
        web.url("/participants"),
        headers=headers,
        json={
            "code": "A03",
            "site": "site_a",
            "strata": {"primary_opioid": "fentanyl"},
            "consent_version": "1.0",
            "consent_date": "2026-03-01",
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    duplicate = client.post(web.url("/participants"), headers=headers, json={"code": "A03"})
    assert duplicate.status_code in (409, 422)
    outcome = client.post(web.url("/participants/A03/randomise"), headers=headers)
    assert outcome.status_code == 200
    body = outcome.json()
    assert body["arm"] is None and body["sequence"] is None and body["arm_label"]
    again = client.post(web.url("/participants/A03/randomise"), headers=headers)
    assert again.status_code == 409
    no_consent = client.post(
        web.url("/participants"),
        headers=headers,
        json={"code": "A04", "site": "site_a", "strata": {"primary_opioid": "other"}},
    )
    assert no_consent.status_code == 201
    refused = client.post(web.url("/participants/A04/randomise"), headers=headers)
    assert refused.status_code == 422 and "consent" in refused.json()["detail"]


def test_dashboard_counts(web):
    dash = web.client().get(web.url("/dashboard"), headers=web.bearer("inv")).json()
    assert dash["enrolled"] == 3 and dash["randomised"] == 2
    assert dash["by_site"] == {"site_a": 2, "site_b": 1}
    assert set(dash["by_arm"]) <= {"A", "B", "C"} or all(
        k not in web.arms.values() for k in dash["by_arm"]
    )
    pharm = web.client().get(web.url("/dashboard"), headers=web.bearer("pharm")).json()
    assert set(pharm["by_arm"]) <= set(web.arms.values()) | {"KMC", "BUP", "PBO"}
    site_a = web.client().get(web.url("/dashboard"), headers=web.bearer("rater_a")).json()
    assert site_a["enrolled"] == 2 and site_a["by_site"] == {"site_a": 2}


def test_exports_csv_and_sdtm(web):
    client = web.client()
    client.post(
        web.url("/participants/A01/assessments"),
        headers=web.bearer("rater_a"),
        json={"instrument": "cows", "items": SEVERE_COWS},
    )
    csv = client.get(web.url("/export?table=assessments&format=csv"), headers=web.bearer("inv"))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert len(frame) == 1
    qs = client.get(web.url("/export?table=sdtm_qs&format=json"), headers=web.bearer("mon"))
    assert qs.status_code == 200 and qs.json()[0]["DOMAIN"] == "QS"
    assert client.get(web.url("/export"), headers=web.bearer("rater_a")).status_code == 403


def test_openapi_is_served(web):
    spec = web.client().get("/openapi.json").json()
    assert "/api/studies/{study_id}/participants/{code}/assessments" in spec["paths"]
