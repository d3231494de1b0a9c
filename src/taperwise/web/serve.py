"""Run the web app with uvicorn; ``serve_demo`` adds demo users and prints their logins.

Example
-------
>>> from taperwise.web.serve import serve
>>> serve("sqlite:///demo.db", host="127.0.0.1", port=8000)   # doctest: +SKIP
"""

from __future__ import annotations

import logging
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


def serve(
    db_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    secret_key: str | None = None,
    log_level: str = "info",
    timeout_keep_alive: int = 5,
) -> None:
    """Serve the app with uvicorn until interrupted (one worker: sessions live in the process)."""
    import uvicorn

    from taperwise.web.app import create_app
    from taperwise.web.warmup import warm_up

    app = create_app(db_url, secret_key=secret_key)
    state = app.state.taperwise
    warm_up(state.engine, connections=state.settings.write_concurrency + 2)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        timeout_keep_alive=timeout_keep_alive,
    )


def serve_demo(db_url: str, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Create the demo users, print their logins and serve the app on ``host:port``."""
    logins = create_demo_users(db_url)
    print_logins(logins, host, port)
    serve(db_url, host=host, port=port)
