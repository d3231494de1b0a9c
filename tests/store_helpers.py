"""Helpers for store tests: studies from the shipped example protocols, enrolment, randomisation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KMC_PROTOCOL = REPO / "examples" / "kmc-vs-buprenorphine-vs-placebo.yaml"
LOFEXIDINE_PROTOCOL = REPO / "examples" / "lofexidine-phase3.yaml"
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def new_study(url: str, protocol: Path = KMC_PROTOCOL, seed: int = 11):
    from taperwise.store.audit import Actor
    from taperwise.store.engine import make_engine, transaction
    from taperwise.store.migrate import upgrade
    from taperwise.store.studies import create_study, protocol_of

    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        study = create_study(
            session,
            Actor("admin", "admin"),
            protocol_text=protocol.read_text(),
            source=str(protocol),
            seed=seed,
        )
        proto = protocol_of(study)
    return engine, study.id, proto


def enrol_participant(engine, study_id: str, proto, code: str, **extra):
    """Enrol with consent and the first level of every stratum factor."""
    from taperwise.store.audit import Actor
    from taperwise.store.engine import transaction
    from taperwise.store.participants import enroll

    strata = {k: str(v[0]) for k, v in (proto.randomisation.strata or {}).items() if k != "site"}
    site = None
    if "site" in (proto.randomisation.strata or {}):
        site = str(proto.randomisation.strata["site"][0])
    kwargs = {
        "site": site,
        "strata": strata,
        "consent_version": "1.0",
        "consent_date": T0.date(),
        "opioid_class": "short_acting",
        "last_opioid_use_at": T0 - dt.timedelta(hours=12),
    }
    kwargs.update(extra)
    with transaction(engine) as session:
        participant, alerts = enroll(
            session, Actor("inv", "investigator"), study_id=study_id, code=code, **kwargs
        )
    return participant, alerts


def randomise_participant(engine, study_id: str, code: str):
    from taperwise.store.audit import Actor
    from taperwise.store.engine import transaction
    from taperwise.store.participants import randomise

    with transaction(engine) as session:
        return randomise(session, Actor("inv", "investigator"), study_id=study_id, code=code)
