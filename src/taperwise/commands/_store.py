"""Options and helpers shared by the commands that work on a study database."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import typer

from taperwise.errors import ValidationError

DB_OPTION = typer.Option(
    None,
    "--db",
    help="Database URL: sqlite:///FILE (default sqlite:///taperwise.db, or $TAPERWISE_DB) or postgresql://USER@HOST/DB.",
)
STUDY_OPTION = typer.Option(
    None, "--study", help="Study id (optional when the database holds one study)."
)
USER_OPTION = typer.Option(
    None, "--user", help="Who is acting (pseudonymous username; default $TAPERWISE_USER or 'cli')."
)
ROLE_OPTION = typer.Option(
    "investigator",
    "--role",
    help="Role of the acting user: rater, investigator, pharmacist, monitor, admin.",
)
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON document.")

ROLES = ("rater", "investigator", "pharmacist", "monitor", "admin")


def db_url(db: str | None) -> str:
    return db or os.environ.get("TAPERWISE_DB") or "sqlite:///taperwise.db"


def open_engine(db: str | None, *, migrate: bool = True) -> Any:
    """An engine on the database, with the schema brought to the current revision."""
    from taperwise.store.engine import make_engine
    from taperwise.store.migrate import upgrade

    engine = make_engine(db_url(db))
    if migrate:
        upgrade(engine)
    return engine


def actor(user: str | None, role: str = "investigator", site: str | None = None) -> Any:
    from taperwise.store.audit import Actor

    if role not in ROLES:
        raise ValidationError(f"--role '{role}' is not allowed; allowed: {', '.join(ROLES)}")
    return Actor(user or os.environ.get("TAPERWISE_USER") or "cli", role, site)


def parse_time(value: str | None, *, option: str = "--time") -> dt.datetime | None:
    """ISO 8601 date-time (UTC when no offset is given)."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{option} '{value}' is not an ISO 8601 date-time (e.g. 2026-11-24T08:30 or 2026-11-24T08:30+01:00)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date(value: str | None, *, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{option} '{value}' is not an ISO date (YYYY-MM-DD)") from None


def parse_int_items(pairs: list[str] | None) -> dict[str, int]:
    """``--item key=score`` options as integers; the error names the item."""
    from taperwise.commands._common import parse_key_values

    items: dict[str, int] = {}
    for key, value in parse_key_values(pairs, what="--item").items():
        try:
            items[key] = int(value)
        except ValueError:
            raise ValidationError(f"item '{key}' got '{value}'; scores are whole numbers") from None
    return items


def alert_dicts(alerts: list[Any]) -> list[dict[str, Any]]:
    return [
        {"id": a.id, "rule_id": a.rule_id, "severity": a.severity, "message": a.message}
        for a in alerts
    ]


def print_alerts(alerts: list[Any]) -> None:
    from taperwise.commands._common import console

    for a in alerts:
        style = {"urgent": "bold red", "warning": "yellow"}.get(a.severity, "cyan")
        console.print(f"[{style}]ALERT {a.severity.upper()}[/] {a.rule_id}: {a.message}")


def record_and_report(
    recorder: Callable[..., tuple[Any, list[Any]]],
    *,
    db: str | None,
    user: str | None,
    role: str,
    json_output: bool,
    describe: Callable[[Any], dict[str, Any]],
    message: Callable[[dict[str, Any]], str],
    code: str,
    **fields: Any,
) -> None:
    """Write one clinical record in one transaction (safety rules run inside it) and report it.

    ``recorder`` is a store service returning ``(row, alerts)``; the JSON document is ``id``,
    ``participant``, the ``describe(row)`` fields and ``alerts``, in that order.
    """
    from taperwise.jsonout import emit
    from taperwise.store.engine import transaction

    engine = open_engine(db)
    with transaction(engine) as session:
        row, alerts = recorder(session, actor(user, role), code=code, **fields)
        result = {"id": row.id, "participant": code, **describe(row), "alerts": alert_dicts(alerts)}
    if json_output:
        emit(result)
    else:
        typer.echo(message(result))
        print_alerts(alerts)
