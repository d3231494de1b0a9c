"""Property-based API fuzzing with schemathesis: no generated request may cause a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from web_helpers import PASSWORD

from store_helpers import enrol_participant, new_study, randomise_participant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from taperwise.store.audit import Actor
    from taperwise.store.engine import transaction
    from taperwise.web.app import create_app
    from taperwise.web.users import create_user

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    engine, study_id, proto = new_study(url)
    enrol_participant(engine, study_id, proto, "A01", site="site_a")
    randomise_participant(engine, study_id, "A01")
    with transaction(engine) as session:
        create_user(
            session, Actor("setup", "admin"), username="fuzzer", role="admin", password=PASSWORD
        )
    engine.dispose()
    app = create_app(url, secret_key="fuzz")
    # Many generated logins fail on purpose; keep the limiter from turning them all into 429.
    app.state.taperwise.limiter.max_failures = 10**9
    from fastapi.testclient import TestClient

    token = TestClient(app).post("/api/token", data={"username": "fuzzer", "password": PASSWORD})
    app.state.fuzz_token = token.json()["access_token"]
    yield app
    app.state.taperwise.engine.dispose()


EXAMPLES_PER_OPERATION = 4  # about 25 operations: ~100 generated requests in all


def test_api_never_answers_5xx(fuzz_app):
    from hypothesis import given

    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    headers = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"}
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/logout":
            continue  # would revoke the shared token for the remaining cases
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def check(case):
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
                )

        check()
    assert operations >= 15 and len(statuses) >= operations
    print(f"schemathesis: {len(statuses)} requests, statuses {sorted(set(statuses))}")
    assert not failures, "\n".join(failures)
