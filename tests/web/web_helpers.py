"""Shared set-up for the web tests: a KMC study with users of every role and two sites."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from store_helpers import enrol_participant, randomise_participant

PASSWORD = "correct-horse-42"
USERS = {
    "rater_a": ("rater", "site_a"),
    "rater_b": ("rater", "site_b"),
    "inv": ("investigator", None),
    "pharm": ("pharmacist", None),
    "mon": ("monitor", None),
    "admin": ("admin", None),
}
CSRF_RE = re.compile(r'"X-CSRF-Token": "([^"]+)"')
SEVERE_COWS = {
    "pulse": 4,
    "sweating": 4,
    "restlessness": 5,
    "pupil_size": 5,
    "bone_joint_aches": 4,
    "runny_nose_tearing": 4,
    "gi_upset": 5,
    "tremor": 4,
    "yawning": 4,
    "anxiety_irritability": 4,
    "gooseflesh": 5,
}


@dataclass
class WebEnv:
    app: object
    engine: object
    study: str
    arms: dict[str, str]  # participant code -> arm id (the truth, for blinding checks)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self):
        from fastapi.testclient import TestClient

        return TestClient(self.app)

    def bearer(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            response = self.client().post(
                "/api/token", data={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def url(self, path: str) -> str:
        return f"/api/studies/{self.study}{path}"


def login(client, username: str, password: str = PASSWORD) -> str:
    """Log in through the HTML form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/", follow_redirects=True)
    return CSRF_RE.search(page.text).group(1)


def make_env(engine, study_id, proto, db_url, **app_options) -> WebEnv:
    from taperwise.store.audit import Actor
    from taperwise.store.engine import transaction
    from taperwise.web.app import create_app
    from taperwise.web.users import create_user

    with transaction(engine) as session:
        for username, (role, site) in USERS.items():
            create_user(
                session,
                Actor("setup", "admin"),
                username=username,
                role=role,
                site_code=site,
                password=PASSWORD,
            )
    enrol_participant(engine, study_id, proto, "A01", site="site_a")
    enrol_participant(engine, study_id, proto, "B01", site="site_b")
    arms = {code: randomise_participant(engine, study_id, code).arm for code in ("A01", "B01")}
    enrol_participant(engine, study_id, proto, "A02", site="site_a")
    app = create_app(db_url, secret_key="test-secret-key", **app_options)
    return WebEnv(app=app, engine=engine, study=study_id, arms=arms)


@pytest.fixture
def fast_argon2(monkeypatch):
    """Cheap argon2id parameters for tests (the production defaults cost ~0.1-0.4 s per hash)."""
    from argon2 import PasswordHasher

    from taperwise.web import users

    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def web(kmc_study, db_url, fast_argon2) -> WebEnv:
    engine, study_id, proto = kmc_study
    env = make_env(engine, study_id, proto, db_url)
    yield env
    env.app.state.taperwise.engine.dispose()
