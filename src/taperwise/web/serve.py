"""Run the web app with uvicorn; ``serve_demo`` adds demo users and prints their logins.

Example
-------
>>> from taperwise.web.serve import serve
>>> serve("sqlite:///demo.db", host="127.0.0.1", port=8000)   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import secrets

log = logging.getLogger(__name__)

#: Demo accounts: one per role; the rater and investigator are blinded, the pharmacist is not.
DEMO_ROLES = {
    "demo-rater": "rater",
    "demo-investigator": "investigator",
    "demo-pharmacist": "pharmacist",
    "demo-monitor": "monitor",
    "demo-admin": "admin",
}


def create_demo_users(db_url: str) -> dict[str, tuple[str, str]]:
    """Create (or reset) one demo user per role with a fresh random password.

    Returns ``{username: (role, password)}``; the passwords are shown once and never stored in
    clear text.
    """
    from taperwise.store.audit import Actor
    from taperwise.store.engine import make_engine, transaction
    from taperwise.store.migrate import upgrade
    from taperwise.web.users import create_user

    engine = make_engine(db_url)
    upgrade(engine)
    logins: dict[str, tuple[str, str]] = {}
    try:
        with transaction(engine) as session:
            for username, role in DEMO_ROLES.items():
                password = secrets.token_urlsafe(12)
                create_user(
                    session,
                    Actor("demo-setup", "admin"),
                    username=username,
                    role=role,
                    password=password,
                    replace=True,
                )
                logins[username] = (role, password)
    finally:
        engine.dispose()
    return logins


def print_logins(logins: dict[str, tuple[str, str]], host: str, port: int) -> None:
    """Show the demo logins on the console (stderr, via rich)."""
    from rich.table import Table

    from taperwise.commands._common import console

    table = Table(title=f"demo logins for http://{host}:{port}/ (simulated data)")
    table.add_column("username")
    table.add_column("role")
    table.add_column("password")
    for username, (role, password) in logins.items():
        table.add_row(username, role + (" (unblinded)" if role == "pharmacist" else ""), password)
    console.print(table)


#: The app factory each worker process imports when ``workers > 1``.
APP_FACTORY = "taperwise.web.serve:app_from_environment"
DB_ENV = "TAPERWISE_WEB_DB"
SECRET_ENV = "TAPERWISE_SECRET_KEY"


def default_workers(db_url: str) -> int:
    """Server processes by default: one on SQLite (one writer at a time anyway), and up to four
    on PostgreSQL (one per core), where one process's GIL was the measured limit."""
    from taperwise.store.engine import normalise_url

    if normalise_url(db_url).startswith("sqlite"):
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def _warmed_app(db_url: str, *, secret_key: str | None, migrate: bool):
    from taperwise.web.app import create_app
    from taperwise.web.warmup import warm_up

    app = create_app(db_url, secret_key=secret_key, migrate=migrate)
    state = app.state.taperwise
    warm_up(state.engine, connections=state.settings.write_concurrency + 2, sessions=state.sessions)
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """Move everything allocated so far (modules, ORM mappers, schemas, parsed protocols) out of
    the garbage collector's reach.

    A full (generation 2) collection otherwise re-scans those few hundred thousand long-lived
    objects each time; on the web benchmark such collections paused a worker for 25-55 ms in
    the middle of a run, which was most of the latency tail. Freezing them leaves only the
    objects made while serving to scan.
    """
    import gc

    gc.collect()
    gc.freeze()


def app_from_environment():
    """The app of one worker process: database from ``$TAPERWISE_WEB_DB``, signing key from
    ``$TAPERWISE_SECRET_KEY`` (both set by :func:`serve`); the schema is already migrated."""
    return _warmed_app(os.environ[DB_ENV], secret_key=os.environ[SECRET_ENV], migrate=False)


def serve(
    db_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    secret_key: str | None = None,
    log_level: str = "info",
    timeout_keep_alive: int = 5,
    workers: int | None = None,
) -> None:
    """Serve the app with uvicorn until interrupted.

    ``workers`` server processes share the database, and through it the sessions, CSRF tokens
    and login rate limits; they share one signing key (``secret_key``, else
    ``$TAPERWISE_SECRET_KEY``, else a random key made here and handed to every worker).
    Default: :func:`default_workers`.
    """
    import uvicorn

    from taperwise.errors import ValidationError

    workers = default_workers(db_url) if workers is None else workers
    if workers < 1:
        raise ValidationError(f"--workers {workers} is not allowed; allowed: 1 or more")
    options = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "server_header": False,
        "timeout_keep_alive": timeout_keep_alive,
    }
    if workers == 1:
        uvicorn.run(_warmed_app(db_url, secret_key=secret_key, migrate=True), **options)
        return
    from taperwise.store.engine import make_engine
    from taperwise.store.migrate import upgrade

    engine = make_engine(db_url)
    try:
        upgrade(engine)  # once, here, before the workers start
    finally:
        engine.dispose()
    os.environ[DB_ENV] = db_url
    os.environ[SECRET_ENV] = secret_key or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(48)
    log.info("serving with %d worker processes", workers)
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)


def serve_demo(
    db_url: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None
) -> None:
    """Create the demo users, print their logins and serve the app on ``host:port``."""
    logins = create_demo_users(db_url)
    print_logins(logins, host, port)
    serve(db_url, host=host, port=port, workers=workers)
