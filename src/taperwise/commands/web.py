"""`taperwise serve` (the web app) and `taperwise user add` (web accounts)."""

from __future__ import annotations

import typer

from taperwise.commands._store import DB_OPTION, JSON_OPTION

user_app = typer.Typer(help="Manage web-app users (argon2-hashed passwords).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        db: str = DB_OPTION,
        demo: bool = typer.Option(
            False,
            "--demo",
            help="Build the demo study when the database holds none, create demo users and print their logins.",
        ),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
        workers: int | None = typer.Option(
            None,
            "--workers",
            min=1,
            help="Server processes (default: 1 on SQLite, one per core up to 4 on PostgreSQL).",
        ),
    ) -> None:
        """Serve the clinic web app (FastAPI + htmx) on the study database."""
        from taperwise.commands._store import db_url, open_engine
        from taperwise.web.serve import create_demo_users, print_logins, serve

        url = db_url(db)
        if demo:
            from sqlalchemy import select

            from taperwise.store.engine import read_session
            from taperwise.store.models import Study

            engine = open_engine(url)
            with read_session(engine) as session:
                has_study = session.execute(select(Study.id).limit(1)).first() is not None
            if not has_study:
                from taperwise.demo import build_demo

                build_demo(engine)
            engine.dispose()
            print_logins(create_demo_users(url), host, port)
        serve(url, host=host, port=port, workers=workers)

    @user_app.command("add")
    def user_add(
        username: str = typer.Argument(..., help="Login name (pseudonymous staff id)."),
        role: str = typer.Option(
            ..., "--role", help="rater, investigator, pharmacist (unblinded), monitor, admin."
        ),
        site: str | None = typer.Option(
            None, "--site", help="Restrict the user to one site code (default: all sites)."
        ),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from the first line of stdin."
        ),
        replace: bool = typer.Option(
            False, "--replace", help="Reset role, site and password of an existing user."
        ),
        db: str = DB_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Create a web user; the password is read from stdin (never from the command line)."""
        import sys

        from taperwise.commands._common import console
        from taperwise.commands._store import open_engine
        from taperwise.errors import ValidationError
        from taperwise.jsonout import emit
        from taperwise.store.audit import Actor
        from taperwise.store.engine import transaction
        from taperwise.web.users import create_user

        if not password_stdin:
            raise ValidationError("give the password on stdin with --password-stdin")
        password = sys.stdin.readline().rstrip("\r\n")
        engine = open_engine(db)
        with transaction(engine) as session:
            user = create_user(
                session,
                Actor("cli", "admin"),
                username=username,
                role=role,
                password=password,
                site_code=site,
                replace=replace,
            )
            result = {
                "id": user.id,
                "username": user.username,
                "role": user.role,
                "site_code": user.site_code,
            }
        engine.dispose()
        if json_output:
            emit(result)
        else:
            console.print(
                f"user '{result['username']}' ({result['role']}"
                + (f", site {result['site_code']}" if result["site_code"] else ", all sites")
                + ") saved"
            )

    app.add_typer(user_app, name="user")
