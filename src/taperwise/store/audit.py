"""Append-only, hash-chained audit log.

Each row holds who, when, entity, field, old value, new value and reason, plus the SHA-256 of the
previous row (``prev_hash``) and of itself (``hash``, over a canonical JSON of every column and
``prev_hash``). Changing, deleting or reordering any row breaks the chain, which
:func:`verify_chain` reports with the first bad sequence number.

Entries are queued during a unit of work and chained once, just before COMMIT
(:func:`chain_pending`, run by a ``before_commit`` hook). Chaining is serialised so the chain
never forks: SQLite write transactions are ``BEGIN IMMEDIATE`` (see :mod:`.engine`) and
PostgreSQL writers take a transaction-scoped advisory lock, held from the head read to the
commit only. Database triggers (created by the migration) refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select, text
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


#: Key in ``Session.info`` of the audit entries waiting to be chained at commit.
_PENDING = "taperwise_audit_pending"


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
) -> int:
    """Queue one audit row per changed field; they join the chain when the transaction commits.

    Chaining (taking the chain lock, reading the head, computing the hashes, inserting) happens
    once per transaction, in :func:`chain_pending`, just before COMMIT: the chain lock is then
    held only for those few statements and the commit, not for the whole unit of work. A rolled
    back transaction leaves no audit row. Returns the number of entries queued.
    """
    if not changes:
        return 0
    if not session.in_transaction():
        session.begin()  # so that a rollback of this unit of work also drops the queue
    pending = session.info.setdefault(_PENDING, [])
    for field, (old, new) in changes.items():
        pending.append(
            {
                "user": actor.username,
                "study_id": study_id,
                "entity": entity,
                "entity_id": str(entity_id),
                "action": action,
                "field": field,
                "old": value_text(old),
                "new": value_text(new),
                "reason": reason,
            }
        )
    return len(changes)


def chain_pending(session: Session) -> list[AuditLog]:
    """Append the queued entries to the hash chain (called by the ``before_commit`` hook)."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return []
    session.flush()  # the audited rows first, outside the chain lock
    _lock_chain(session)
    head = session.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
    now = utcnow()
    rows: list[AuditLog] = []
    for entry in pending:
        seq += 1
        row = AuditLog(seq=seq, ts=now, prev_hash=prev, **entry)
        row.hash = row_hash(row)
        prev = row.hash
        rows.append(row)
    session.add_all(rows)
    session.flush()
    return rows


@event.listens_for(Session, "before_commit")
def _chain_before_commit(session: Session) -> None:
    chain_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: Any) -> None:
    # a committed queue is already chained; a rolled-back or closed unit of work drops its queue
    # (savepoints are not used with audited writes)
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


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
