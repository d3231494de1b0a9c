"""Audit log: hash chain, tamper detection, reasons for edits, soft deletes, no partial writes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from store_helpers import T0, enrol_participant
from taperwise.errors import AuditError, ValidationError
from taperwise.store.audit import Actor, verify_chain
from taperwise.store.engine import read_session, transaction
from taperwise.store.models import Assessment, AuditLog
from taperwise.store.records import delete_record, edit_record, record_assessment

RATER = Actor("rater1", "rater")
FORM = {
    "pulse": 1,
    "sweating": 1,
    "restlessness": 1,
    "pupil_size": 1,
    "bone_joint_aches": 1,
    "runny_nose_tearing": 1,
    "gi_upset": 1,
    "tremor": 1,
    "yawning": 1,
    "anxiety_irritability": 1,
    "gooseflesh": 0,
}


def _assess(engine, study_id, code="P001", items=FORM, **kw):
    with transaction(engine) as session:
        row, alerts = record_assessment(
            session,
            RATER,
            study_id=study_id,
            code=code,
            instrument="cows",
            items=items,
            time=kw.pop("time", T0),
            **kw,
        )
        return row.id, [a.rule_id for a in alerts]


def _audit_rows(engine) -> int:
    with read_session(engine) as session:
        return session.execute(select(func.count(AuditLog.seq))).scalar_one()


def test_chain_verifies_after_writes(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    _assess(engine, study_id)
    with read_session(engine) as session:
        report = verify_chain(session)
    assert report.ok, report
    assert report.rows > 10


def _drop_guard(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")


def test_append_only_guard_refuses_update(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET new = 'x' WHERE seq = 1"))


def test_tampered_row_is_detected(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    _assess(engine, study_id)
    _drop_guard(engine)  # an attacker with database access
    with engine.begin() as conn:
        seq = conn.execute(
            text("SELECT seq FROM audit_log WHERE entity = 'assessment' AND field = 'total'")
        ).scalar_one()
        conn.execute(text("UPDATE audit_log SET new = '3' WHERE seq = :s"), {"s": seq})
    with read_session(engine) as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_bad_seq == seq
    assert "altered" in report.problem


def test_removed_row_is_detected(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    _drop_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    with read_session(engine) as session:
        report = verify_chain(session)
    assert not report.ok and report.first_bad_seq == 3


def test_edit_without_reason_is_refused_and_writes_nothing(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    assessment_id, _ = _assess(engine, study_id)
    before = _audit_rows(engine)
    for reason in (None, "", "   "):
        with pytest.raises(AuditError, match="needs a reason"):
            with transaction(engine) as session:
                edit_record(
                    session,
                    RATER,
                    entity="assessment",
                    entity_id=assessment_id,
                    changes={"items": {"pulse": 2}},
                    reason=reason,
                )
    assert _audit_rows(engine) == before
    with read_session(engine) as session:
        assert session.get(Assessment, assessment_id).items["pulse"] == 1


def test_edit_with_reason_is_audited_and_rescored(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    assessment_id, _ = _assess(engine, study_id)
    with transaction(engine) as session:
        changed = edit_record(
            session,
            RATER,
            entity="assessment",
            entity_id=assessment_id,
            changes={"items": {"pulse": 2}},
            reason="pulse re-measured",
        )
    assert changed["total"] == (10, 11)
    with read_session(engine) as session:
        rows = (
            session.execute(
                select(AuditLog).where(AuditLog.entity == "assessment", AuditLog.action == "update")
            )
            .scalars()
            .all()
        )
        assert {r.field for r in rows} >= {"items", "total"}
        assert all(r.reason == "pulse re-measured" and r.user == "rater1" for r in rows)
        assert verify_chain(session).ok


def test_soft_delete_needs_reason_and_keeps_row(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    assessment_id, _ = _assess(engine, study_id)
    with pytest.raises(AuditError):
        with transaction(engine) as session:
            delete_record(session, RATER, entity="assessment", entity_id=assessment_id, reason=None)
    with transaction(engine) as session:
        delete_record(
            session,
            RATER,
            entity="assessment",
            entity_id=assessment_id,
            reason="entered for wrong participant",
        )
    with read_session(engine) as session:
        row = session.get(Assessment, assessment_id)
        assert (
            row is not None
            and row.deleted_at is not None
            and row.delete_reason == "entered for wrong participant"
        )


def test_invalid_item_writes_nothing(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    before = _audit_rows(engine)
    with pytest.raises(ValidationError, match=r"COWS item 'pulse' got 3; allowed 0, 1, 2, 4"):
        _assess(engine, study_id, items={**FORM, "pulse": 3})
    assert _audit_rows(engine) == before
    with read_session(engine) as session:
        assert session.execute(select(func.count(Assessment.id))).scalar_one() == 0


def test_form_with_no_item_is_refused_and_writes_nothing(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    before = _audit_rows(engine)
    with pytest.raises(ValidationError, match=r"COWS assessment has no item scored"):
        _assess(engine, study_id, items={})
    assert _audit_rows(engine) == before
    with read_session(engine) as session:
        assert session.execute(select(func.count(Assessment.id))).scalar_one() == 0


def test_partial_form_is_incomplete(kmc_study):
    engine, study_id, proto = kmc_study
    enrol_participant(engine, study_id, proto, "P001")
    partial = {k: v for k, v in FORM.items() if k != "gooseflesh" and k != "tremor"}
    assessment_id, _ = _assess(engine, study_id, items=partial, time=T0 + dt.timedelta(hours=1))
    with read_session(engine) as session:
        row = session.get(Assessment, assessment_id)
        assert row.complete is False and row.total is None


def test_audit_entries_join_the_chain_at_commit_and_vanish_on_rollback(kmc_study):
    from sqlalchemy.orm import Session

    from taperwise.store import audit

    engine, study_id, _ = kmc_study
    before = _audit_rows(engine)
    who = Actor("tester", "admin")

    def queue(field: str) -> None:
        audit.append(
            session,
            actor=who,
            study_id=study_id,
            entity="note",
            entity_id=1,
            action="create",
            changes={field: (None, "x")},
        )

    session = Session(bind=engine, expire_on_commit=False)
    try:
        queue("rolled_back")
        with session.bind.connect() as other:  # queued, not yet in the table
            assert other.execute(select(func.count(AuditLog.seq))).scalar_one() == before
        session.rollback()
        assert _audit_rows(engine) == before
        queue("kept")  # same session, next transaction: only this entry is chained
        session.commit()
    finally:
        session.close()
    with read_session(engine) as s:
        rows = s.execute(select(AuditLog).order_by(AuditLog.seq)).scalars().all()
        assert len(rows) == before + 1
        assert rows[-1].field == "kept" and rows[-1].seq == before + 1
        assert verify_chain(s).ok


def test_closing_a_session_without_commit_drops_queued_audit_entries(kmc_study):
    from sqlalchemy.orm import Session

    from taperwise.store import audit

    engine, study_id, _ = kmc_study
    before = _audit_rows(engine)
    session = Session(bind=engine)
    audit.append(
        session,
        actor=Actor("tester", "admin"),
        study_id=study_id,
        entity="note",
        entity_id=1,
        action="create",
        changes={"f": (None, "x")},
    )
    session.close()
    assert not session.info
    session.commit()  # nothing queued any more: nothing to chain
    assert _audit_rows(engine) == before
