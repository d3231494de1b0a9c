"""`taperwise user add` and `taperwise serve` (argument handling; the server itself is tested live
in test_web_browser.py)."""

from __future__ import annotations

import io
import sys

from sqlalchemy import select


def test_user_add_reads_password_from_stdin(cli, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'users.db'}"
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    code, out, err = cli(
        "user", "add", "nurse1", "--role", "rater", "--site", "site_a", "--password-stdin",
        "--db", db, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert '"role": "rater"' in out and '"site_code": "site_a"' in out
    from taperwise.store.engine import make_engine, read_session
    from taperwise.store.models import User
    from taperwise.web.users import authenticate

    engine = make_engine(db)
    with read_session(engine) as session:
        user = session.execute(select(User).where(User.username == "nurse1")).scalar_one()
        assert user.password_hash.startswith("$argon2id$")
        assert authenticate(session, "nurse1", "a-long-password") is not None
        assert authenticate(session, "nurse1", "wrong") is None
    engine.dispose()
    monkeypatch.setattr(sys, "stdin", io.StringIO("another-password\n"))
    code, _, err = cli("user", "add", "nurse1", "--role", "rater", "--password-stdin", "--db", db)
    assert code == 2 and "already exists" in err


def test_user_add_refuses_bad_input(cli, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'users.db'}"
    code, _, err = cli("user", "add", "x1", "--role", "rater", "--db", db)
    assert code == 2 and "--password-stdin" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = cli("user", "add", "x1", "--role", "rater", "--password-stdin", "--db", db)
    assert code == 2 and "too short" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("long-enough-pw\n"))
    code, _, err = cli("user", "add", "x1", "--role", "chief", "--password-stdin", "--db", db)
    assert code == 2 and "allowed: rater, investigator, pharmacist, monitor, admin" in err


def test_serve_help(cli):
    code, out, _ = cli("serve", "--help")
    assert code == 0 and "--demo" in out and "--port" in out and "--workers" in out


def test_serve_refuses_zero_workers(cli, tmp_path):
    code, _, err = cli("serve", "--workers", "0", "--db", str(tmp_path / "x.db"))
    assert code == 2 and "--workers" in err


def test_default_workers_by_backend():
    from taperwise.web.serve import default_workers

    assert default_workers("sqlite:///x.db") == 1
    assert 1 <= default_workers("postgresql://u@localhost/db") <= 4


def test_demo_users_one_per_role(tmp_path, monkeypatch):
    from argon2 import PasswordHasher

    from taperwise.web import users
    from taperwise.web.serve import DEMO_ROLES, create_demo_users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    first = create_demo_users(db)
    second = create_demo_users(db)  # re-running resets the passwords
    assert set(first) == set(DEMO_ROLES) and first.keys() == second.keys()
    assert first["demo-pharmacist"][0] == "pharmacist"
    assert all(first[u][1] != second[u][1] for u in first)
