"""Append-only, hash-chained audit log.

Each row holds who, when, entity, field, old value, new value and reason, plus the SHA-256 of the
previous row (``prev_hash``) and of itself (``hash``, over a canonical JSON of every column and
``prev_hash``). Changing, deleting or reordering any row breaks the chain, which
:func:`verify_chain` reports with the first bad sequence number.

Appends are serialised so the chain never forks: SQLite write transactions are ``BEGIN IMMEDIATE``
(see :mod:`.engine`) and PostgreSQL writers take a transaction-scoped advisory lock. Database
triggers (created by the migration) refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from taperwise.errors import AuditError
from taperwise.store.models import AuditLog, Base, utcnow

GENESIS_HASH = "0" * 64
#: Advisory-lock key used by PostgreSQL writers of the audit chain.
AUDIT_LOCK_KEY = 7_277_270_094

#: Columns that are bookkeeping, not clinical content; they are not audited field by field.
_BOOKKEEPING = {"id", "created_at", "created_by", "deleted_at", "deleted_by", "delete_reason"}


@dataclass(frozen=True)
class Actor:
    """Who is making a change (a pseudonymous username, never a patient identifier)."""

    username: str
    role: str = "admin"
    site_code: str | None = None


SYSTEM = Actor("system", "system")


def value_text(value: Any) -> str | None:
    """Canonical text of a value as stored in the audit log."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def row_hash(row: AuditLog | Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an audit row (all columns except ``hash``)."""
    get = row.get if isinstance(row, Mapping) else (lambda k: getattr(row, k))
    payload = [
        get("seq"),
        value_text(get("ts")),
        get("user"),
        get("study_id"),
        get("entity"),
        get("entity_id"),
        get("action"),
        get("field"),
        get("old"),
        get("new"),
        get("reason"),
        get("prev_hash"),
    ]
    canonical = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def append(
    session: Session,
    *,
    actor: Actor,
    study_id: str | None,
    entity: str,
    entity_id: Any,
    action: str,
    changes: Mapping[str, tuple[Any, Any]],
    reason: str | None = None,
) -> list[AuditLog]:
    """Append one audit row per changed field, chained to the current head."""
    if not changes:
        return []
    _lock_chain(session)
    session.flush()
    head = session.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
    now = utcnow()
    rows: list[AuditLog] = []
    for field, (old, new) in changes.items():
        seq += 1
        row = AuditLog(
            seq=seq,
            ts=now,
            user=actor.username,
            study_id=study_id,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            field=field,
            old=value_text(old),
            new=value_text(new),
            reason=reason,
            prev_hash=prev,
        )
        row.hash = row_hash(row)
        prev = row.hash
        rows.append(row)
    session.add_all(rows)
    session.flush()
    return rows


def audited_fields(obj: Base) -> dict[str, Any]:
    """The clinical content of a row, field by field."""
    mapper = inspect(type(obj))
    return {c.key: getattr(obj, c.key) for c in mapper.column_attrs if c.key not in _BOOKKEEPING}


def record_create(
    session: Session, actor: Actor, obj: Base, *, entity: str, study_id: str | None
) -> None:
    """Add ``obj`` and audit every non-empty field as created."""
    if hasattr(obj, "created_by"):
        obj.created_by = actor.username
    session.add(obj)
    session.flush()
    changes = {k: (None, v) for k, v in audited_fields(obj).items() if v not in (None, "", [], {})}
    append(
        session,
        actor=actor,
        study_id=study_id,
        entity=entity,
        entity_id=obj.id,
        action="create",
        changes=changes,
    )


def _require_reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise AuditError(
            f"{what} needs a reason: changes after the first save are audited (give --reason)"
        )
    return reason.strip()


def record_update(
    session: Session,
    actor: Actor,
    obj: Base,
    updates: Mapping[str, Any],
    *,
    entity: str,
    study_id: str | None,
    reason: str | None,
) -> dict[str, tuple[Any, Any]]:
    """Apply ``updates`` to ``obj`` and audit each changed field; a reason is mandatory."""
    why = _require_reason(reason, f"editing {entity} {obj.id}")
    if getattr(obj, "deleted_at", None) is not None:
        raise AuditError(f"{entity} {obj.id} is deleted; it cannot be edited")
    allowed = audited_fields(obj)
    changes: dict[str, tuple[Any, Any]] = {}
    for field, new in updates.items():
        if field not in allowed:
            raise AuditError(
                f"{entity} has no editable field '{field}'; allowed: {', '.join(sorted(allowed))}"
            )
        old = getattr(obj, field)
        if value_text(old) != value_text(new):
            setattr(obj, field, new)
            changes[field] = (old, new)
    append(
        session,
        actor=actor,
        study_id=study_id,
        entity=entity,
        entity_id=obj.id,
        action="update",
        changes=changes,
        reason=why,
    )
    return changes


def record_delete(
    session: Session,
    actor: Actor,
    obj: Base,
    *,
    entity: str,
    study_id: str | None,
    reason: str | None,
) -> None:
    """Soft-delete ``obj`` (never removes the row) and audit it; a reason is mandatory."""
    why = _require_reason(reason, f"deleting {entity} {obj.id}")
    if obj.deleted_at is not None:
        raise AuditError(f"{entity} {obj.id} is already deleted")
    now = utcnow()
    obj.deleted_at, obj.deleted_by, obj.delete_reason = now, actor.username, why
    append(
        session,
        actor=actor,
        study_id=study_id,
        entity=entity,
        entity_id=obj.id,
        action="delete",
        changes={"deleted_at": (None, now)},
        reason=why,
    )


@dataclass(frozen=True)
class ChainReport:
    """Outcome of :func:`verify_chain`."""

    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash and link; report the first row that does not match."""
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for row in session.execute(select(AuditLog).order_by(AuditLog.seq)).scalars():
        count += 1
        if row.seq != expected_seq:
            return ChainReport(
                False,
                count,
                row.seq,
                f"sequence gap: expected {expected_seq}, found {row.seq} (rows removed)",
            )
        if row.prev_hash != prev:
            return ChainReport(
                False, count, row.seq, "prev_hash does not match the previous row (chain broken)"
            )
        if row_hash(row) != row.hash:
            return ChainReport(
                False, count, row.seq, "row content does not match its hash (row altered)"
            )
        prev = row.hash
        expected_seq += 1
    return ChainReport(True, count)


def history(session: Session, *, entity: str, entity_id: Any) -> list[AuditLog]:
    """All audit rows of one entity, oldest first."""
    stmt = (
        select(AuditLog)
        .where(AuditLog.entity == entity, AuditLog.entity_id == str(entity_id))
        .order_by(AuditLog.seq)
    )
    return list(session.execute(stmt).scalars())
