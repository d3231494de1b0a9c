# ruff: noqa: F811  (pytest fixtures imported from web_helpers)
"""Security: role and site isolation, CSRF, blinded views, sessions, login rate limiting."""

from __future__ import annotations

import re

import pytest
from web_helpers import (  # noqa: F401  (fixtures)
    PASSWORD,
    SEVERE_COWS,
    fast_argon2,
    login,
    make_env,
    web,
)


# -- site isolation ------------------------------------------------------------------------------
def test_site_user_sees_only_own_site(web):
    client = web.client()
    headers = web.bearer("rater_a")
    codes = {
        r["code"] for r in client.get(web.url("/participants"), headers=headers).json()["data"]
    }
    assert codes == {"A01", "A02"}
    assert client.get(web.url("/participants/B01"), headers=headers).status_code == 404
    write = client.post(
        web.url("/participants/B01/assessments"),
        headers=headers,
        json={"instrument": "cows", "items": SEVERE_COWS},
    )
    assert write.status_code == 404


def test_site_user_cannot_touch_other_site_alerts_or_audit(web):
    client = web.client()
    saved = client.post(
        web.url("/participants/B01/assessments"),
        headers=web.bearer("rater_b"),
        json={"instrument": "cows", "items": SEVERE_COWS},
    ).json()
    alert_id = saved["alerts"][0]["id"]
    record_id = saved["record"]["id"]
    a = web.bearer("rater_a")
    assert alert_id not in [
        x["id"] for x in client.get(web.url("/alerts"), headers=a).json()["data"]
    ]
    assert client.post(f"/api/alerts/{alert_id}/acknowledge", headers=a).status_code == 404
    assert client.get(f"/api/audit/assessment/{record_id}", headers=a).status_code == 404
    assert client.get(f"/api/audit/alert/{alert_id}", headers=a).status_code == 404
    assert client.get("/api/audit/user/1", headers=a).status_code == 404
    csv = client.get(web.url("/export?table=assessments"), headers=web.bearer("inv")).text
    assert "B01" in csv


def test_site_user_cannot_enrol_at_other_site(web):
    response = web.client().post(
        web.url("/participants"),
        headers=web.bearer("admin"),
        json={"code": "Z1", "site": "nowhere"},
    )
    assert response.status_code == 422


# -- roles ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "username,method,path,body,status",
    [
        ("mon", "post", "/participants/A01/assessments", {"instrument": "cows", "items": {}}, 403),
        ("mon", "post", "/participants/A01/vitals", {"hr": 70}, 403),
        ("rater_a", "post", "/participants/A01/doses", {"amount": 1, "unit": "mg"}, 403),
        ("rater_a", "post", "/participants/A02/randomise", None, 403),
        (
            "pharm",
            "post",
            "/participants/A01/assessments",
            {"instrument": "cows", "items": {}},
            403,
        ),
        ("rater_a", "post", "/participants", {"code": "X9"}, 403),
    ],
)
def test_role_permissions(web, username, method, path, body, status):
    client = web.client()
    kwargs = {"headers": web.bearer(username)}
    if body is not None:
        kwargs["json"] = body
    response = getattr(client, method)(web.url(path), **kwargs)
    assert response.status_code == status, response.text
    assert "may not" in response.json()["detail"]


def test_only_admin_manages_users(web):
    client = web.client()
    assert client.get("/api/users", headers=web.bearer("inv")).status_code == 403
    body = {
        "username": "newbie",
        "role": "rater",
        "site_code": "site_a",
        "password": "long-enough-1",
    }
    assert client.post("/api/users", headers=web.bearer("inv"), json=body).status_code == 403
    created = client.post("/api/users", headers=web.bearer("admin"), json=body)
    assert created.status_code == 201 and "password" not in created.json()
    short = client.post(
        "/api/users", headers=web.bearer("admin"), json=body | {"username": "x2", "password": "s"}
    )
    assert short.status_code == 422
    from sqlalchemy import select

    from taperwise.store.engine import read_session
    from taperwise.store.models import User

    with read_session(web.engine) as session:
        stored = session.execute(
            select(User.password_hash).where(User.username == "newbie")
        ).scalar_one()
    assert stored.startswith("$argon2id$")


# -- blinding ------------------------------------------------------------------------------------
def test_blinded_roles_never_see_the_arm(web):
    client = web.client()
    arm = web.arms["A01"]
    for username in ("rater_a", "inv", "mon", "admin"):
        headers = web.bearer(username)
        detail = client.get(web.url("/participants/A01"), headers=headers).json()
        assert detail["arm"] is None and detail["arm_label"], username
        listed = client.get(web.url("/participants"), headers=headers).json()["data"]
        assert all(r["arm"] is None for r in listed)
        history = client.get(f"/api/audit/participant/{_pid(web, 'A01')}", headers=headers).json()
        arm_rows = [h for h in history if h["field"] in ("arm_id", "allocation_sequence")]
        assert arm_rows and all(h["new"] == "(blinded)" for h in arm_rows)
    pharm = web.bearer("pharm")
    assert client.get(web.url("/participants/A01"), headers=pharm).json()["arm"] == arm
    history = client.get(f"/api/audit/participant/{_pid(web, 'A01')}", headers=pharm).json()
    assert any(h["field"] == "arm_id" and h["new"] == arm for h in history)


def test_blinded_export_and_page(web):
    client = web.client()
    arm_ids = set(web.arms.values())
    csv = client.get(web.url("/export?table=participants"), headers=web.bearer("inv")).text
    unblinded = client.get(web.url("/export?table=participants"), headers=web.bearer("pharm")).text
    assert any(a in unblinded for a in arm_ids)
    assert csv != unblinded
    login(client, "inv")
    page = client.get(f"/studies/{web.study}/participants/A01").text
    assert "(blinded)" in page
    assert not re.search(r"arm: (" + "|".join(arm_ids) + r")\b", page)
    other = web.client()
    login(other, "pharm")
    page = other.get(f"/studies/{web.study}/participants/A01").text
    assert f"arm: {web.arms['A01']}" in page


def _pid(env, code: str) -> int:
    from sqlalchemy import select

    from taperwise.store.engine import read_session
    from taperwise.store.models import Participant

    with read_session(env.engine) as session:
        return session.execute(select(Participant.id).where(Participant.code == code)).scalar_one()


# -- CSRF and cookies ----------------------------------------------------------------------------
def test_session_cookie_flags(web):
    client = web.client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"username": "inv", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "tw_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_login_form_needs_its_csrf_token(web):
    client = web.client()
    client.get("/login")
    response = client.post(
        "/login", data={"username": "inv", "password": PASSWORD, "csrf_token": "wrong"}
    )
    assert response.status_code == 403


def test_cookie_requests_need_csrf_token(web):
    client = web.client()
    csrf = login(client, "rater_a")
    url = web.url("/participants/A01/assessments")
    body = {"instrument": "cows", "items": SEVERE_COWS}
    assert client.post(url, json=body).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    # HTML form post: the token may come as a form field
    form_url = f"/studies/{web.study}/participants/A01/vitals"
    assert client.post(form_url, data={"hr": "70"}).status_code == 403
    ok = client.post(form_url, data={"hr": "70", "csrf_token": csrf})
    assert ok.status_code == 200 and "Saved vitals" in ok.text
    # a GET never changes state and needs no token
    assert client.get(web.url("/participants")).status_code == 200


def test_logout_ends_the_session(web):
    client = web.client()
    csrf = login(client, "inv")
    assert client.get("/api/me").status_code == 200
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get("/api/me").status_code == 401


@pytest.fixture
def session_clock(web) -> list[float]:
    """A settable clock for the session store: ``now[0]`` is the time in epoch seconds."""
    now = [1_000_000.0]
    web.app.state.taperwise.sessions.clock = lambda: now[0]
    return now


def test_inactivity_timeout(web, session_clock):
    store, now = web.app.state.taperwise.sessions, session_clock
    client = web.client()
    login(client, "inv")
    assert client.get("/api/me").status_code == 200
    now[0] += store.idle_timeout_s - 1
    assert client.get("/api/me").status_code == 200  # activity refreshes the timer
    now[0] += store.idle_timeout_s - 1
    assert client.get("/api/me").status_code == 200
    now[0] += store.idle_timeout_s + 1
    assert client.get("/api/me").status_code == 401
    page = client.get(f"/studies/{web.study}/participants", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_absolute_timeout_ends_even_an_active_session(web, session_clock):
    store, now = web.app.state.taperwise.sessions, session_clock
    client = web.client()
    login(client, "inv")
    while now[0] + store.idle_timeout_s / 2 < 1_000_000.0 + store.absolute_timeout_s:
        now[0] += store.idle_timeout_s / 2
        assert client.get("/api/me").status_code == 200
    now[0] += store.idle_timeout_s / 2 + 1  # past the absolute limit, within the idle one
    assert client.get("/api/me").status_code == 401


def _stored_sessions(engine):
    from sqlalchemy import select

    from taperwise.store.engine import read_session
    from taperwise.store.models import WebSession

    with read_session(engine) as session:
        return session.execute(select(WebSession.token_hash, WebSession.last_seen_s)).all()


def test_sessions_are_stored_as_digests_and_touched_at_most_once_a_minute(web, session_clock):
    store, now = web.app.state.taperwise.sessions, session_clock
    token = web.bearer("inv")["Authorization"].split()[1]
    sid = web.app.state.taperwise.signer.unsign(token)
    [(stored_hash, last_seen)] = _stored_sessions(web.engine)
    assert stored_hash != sid and sid not in stored_hash and len(stored_hash) == 64
    client = web.client()
    now[0] += store.touch_interval_s - 1
    assert client.get("/api/me", headers=web.bearer("inv")).status_code == 200
    assert _stored_sessions(web.engine)[0].last_seen_s == last_seen  # no write yet
    now[0] += 2
    assert client.get("/api/me", headers=web.bearer("inv")).status_code == 200
    assert _stored_sessions(web.engine)[0].last_seen_s == now[0]


def test_a_second_server_process_shares_sessions_and_login_limits(web, db_url):
    """Two app instances on one database (as two worker processes): a token made by one works
    on the other, a logout on one ends it on both, failed logins add up across them."""
    from fastapi.testclient import TestClient

    from taperwise.web.app import create_app

    other = create_app(db_url, secret_key="test-secret-key")
    try:
        headers = web.bearer("inv")
        second = TestClient(other)
        assert second.get("/api/me", headers=headers).json()["username"] == "inv"
        assert second.post("/api/logout", headers=headers).status_code in (200, 204)
        assert web.client().get("/api/me", headers=headers).status_code == 401
        for client in [web.client(), second] * 2 + [web.client()]:
            bad = client.post("/api/token", data={"username": "mon", "password": "wrong-password"})
            assert bad.status_code == 401
        blocked = second.post("/api/token", data={"username": "mon", "password": PASSWORD})
        assert blocked.status_code == 429
    finally:
        other.state.taperwise.engine.dispose()


def test_login_rate_limiting(web):
    client = web.client()
    for _ in range(5):
        bad = client.post("/api/token", data={"username": "inv", "password": "wrong-password"})
        assert bad.status_code == 401
    blocked = client.post("/api/token", data={"username": "inv", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    # other users from another address are not locked out by it
    assert web.app.state.taperwise.limiter.retry_after("user:pharm") == 0


def test_security_headers(web):
    response = web.client().get("/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_login_redirect_stays_on_site():
    from taperwise.web.routes.auth import _safe_next

    assert _safe_next("/studies/x/alerts") == "/studies/x/alerts"
    for target in ("//evil.example", "/\\evil.example", "https://evil.example", None, ""):
        assert _safe_next(target) == "/"


# -- response headers ----------------------------------------------------------------------------
def test_security_headers_on_pages_api_errors_and_static(web):
    client = web.client()
    responses = {
        "page": client.get("/login"),
        "api": client.get(web.url("/participants"), headers=web.bearer("rater_a")),
        "401": client.get("/api/me"),
        "static": client.get("/static/app.css"),
    }
    for kind, response in responses.items():
        assert response.headers["x-frame-options"] == "DENY", kind
        assert response.headers["x-content-type-options"] == "nosniff", kind
        assert response.headers["referrer-policy"] == "same-origin", kind
        assert "script-src 'self'" in response.headers["content-security-policy"], kind
    assert responses["401"].status_code == 401
    assert responses["page"].headers["cache-control"] == "no-store"
    assert responses["api"].headers["cache-control"] == "no-store"
    assert "no-store" not in responses["static"].headers.get("cache-control", "")
