"""Eight processes writing assessments at once lose nothing (SQLite WAL and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp

from sqlalchemy import func, select

from store_helpers import T0, enrol_participant
from taperwise.store.audit import verify_chain
from taperwise.store.engine import read_session
from taperwise.store.models import Assessment, AuditLog

WRITERS = 8
PER_WRITER = 15


def _writer(url: str, study_id: str, code: str, start) -> int:
    from taperwise.store.audit import Actor
    from taperwise.store.engine import make_engine, transaction
    from taperwise.store.records import record_assessment

    engine = make_engine(url)
    start.wait(30)
    actor = Actor(f"rater-{code}", "rater")
    for i in range(PER_WRITER):
        with transaction(engine) as session:
            record_assessment(
                session,
                actor,
                study_id=study_id,
                code=code,
                instrument="sows_gossop",
                items={k: (i + j) % 4 for j, k in enumerate(_gossop_keys())},
                time=T0 + dt.timedelta(minutes=10 * i),
            )
    engine.dispose()
    return PER_WRITER


def _gossop_keys() -> list[str]:
    from taperwise.instruments import get_instrument

    return [item.key for item in get_instrument("sows_gossop").items]


def test_eight_concurrent_writers_lose_nothing(kmc_study, db_url):
    engine, study_id, proto = kmc_study
    codes = [f"C{i:02d}" for i in range(WRITERS)]
    for code in codes:
        enrol_participant(engine, study_id, proto, code)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(WRITERS) as pool:
        start = manager.Event()
        results = [pool.apply_async(_writer, (db_url, study_id, code, start)) for code in codes]
        start.set()
        written = sum(r.get(timeout=300) for r in results)
    assert written == WRITERS * PER_WRITER
    with read_session(engine) as session:
        assert (
            session.execute(select(func.count(Assessment.id))).scalar_one() == WRITERS * PER_WRITER
        )
        per_code = session.execute(
            select(Assessment.rater, func.count()).group_by(Assessment.rater)
        ).all()
        assert sorted(n for _, n in per_code) == [PER_WRITER] * WRITERS
        seqs = session.execute(select(AuditLog.seq).order_by(AuditLog.seq)).scalars().all()
        assert seqs == list(range(1, len(seqs) + 1))
        assert verify_chain(session).ok
