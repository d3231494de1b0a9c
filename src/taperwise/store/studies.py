"""Studies: create one from a protocol file, look it up, load its protocol."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from taperwise.errors import ConflictError, NotFoundError
from taperwise.store import audit
from taperwise.store.audit import Actor
from taperwise.store.migrate import upgrade
from taperwise.store.models import AllocationEntry, AllocationListInfo, Site, Study

if TYPE_CHECKING:
    from taperwise.protocol import Protocol


def init_database(engine: Engine) -> None:
    """Create or upgrade the schema (Alembic head)."""
    upgrade(engine)


@lru_cache(maxsize=32)
def _parse_cached(yaml_text: str, source: str) -> Protocol:
    from taperwise.protocol import parse_protocol

    return parse_protocol(yaml_text, source=source)


def protocol_of(study: Study) -> Protocol:
    """The study's protocol, parsed from the YAML stored with it (cached by content)."""
    return _parse_cached(study.protocol_yaml, f"study {study.id} protocol")


def get_study(session: Session, study_id: str | None) -> Study:
    """The study with this id; with ``None``, the only study in the database."""
    if study_id is None:
        studies = list(session.execute(select(Study)).scalars())
        if len(studies) == 1:
            return studies[0]
        if not studies:
            raise NotFoundError(
                "the database holds no study; run `taperwise study init --protocol FILE` first"
            )
        raise NotFoundError(
            f"the database holds {len(studies)} studies; choose one with --study ({', '.join(s.id for s in studies)})"
        )
    study = session.get(Study, study_id)
    if study is None:
        known = ", ".join(session.execute(select(Study.id)).scalars()) or "none"
        raise NotFoundError(f"study '{study_id}' not found; studies in this database: {known}")
    return study


def site_codes(protocol: Protocol) -> list[str]:
    """Sites named by the protocol (its ``sites`` list or the levels of a ``site`` stratum)."""
    sites = list(getattr(protocol, "sites", None) or [])
    if not sites:
        strata = getattr(protocol.randomisation, "strata", None) or {}
        sites = list(strata.get("site", []))
    return [str(s) for s in sites] or ["main"]


def create_study(
    session: Session,
    actor: Actor,
    *,
    protocol_text: str,
    source: str,
    study_id: str | None = None,
    seed: int | None = None,
    allocation_list: bool = True,
) -> Study:
    """Create a study from protocol YAML text: sites and, for block designs, the concealed list.

    ``allocation_list=False`` is for imported trials whose allocation happened in the source.
    """
    from taperwise.protocol import parse_protocol

    protocol = parse_protocol(protocol_text, source=source)
    sid = study_id or protocol.id
    if session.get(Study, sid) is not None:
        raise ConflictError(f"study '{sid}' already exists in this database")
    study = Study(
        id=sid,
        title=protocol.title,
        protocol_id=protocol.id,
        protocol_version=str(protocol.version),
        protocol_yaml=protocol_text,
        protocol_sha256=hashlib.sha256(protocol_text.encode("utf-8")).hexdigest(),
    )
    session.add(study)
    session.flush()
    audit.append(
        session,
        actor=actor,
        study_id=sid,
        entity="study",
        entity_id=sid,
        action="create",
        changes={
            "protocol_id": (None, study.protocol_id),
            "protocol_version": (None, study.protocol_version),
            "protocol_sha256": (None, study.protocol_sha256),
        },
    )
    for code in site_codes(protocol):
        session.add(Site(study_id=sid, code=code, name=code))
    if allocation_list:
        _create_allocation_list(session, actor, study, protocol, seed)
    session.flush()
    return study


def _create_allocation_list(
    session: Session, actor: Actor, study: Study, protocol: Protocol, seed: int | None
) -> None:
    settings = protocol.randomisation
    if getattr(settings, "method", "permuted_blocks") != "permuted_blocks":
        return  # minimisation assigns at randomisation time
    from taperwise.randomize import generate_block_list

    arms = [arm.id for arm in protocol.arms]
    ratio_map = dict(settings.ratio) if settings.ratio else {a: 1 for a in arms}
    effective_seed = (
        seed
        if seed is not None
        else (settings.seed if settings.seed is not None else _seed_from(study.id))
    )
    allocation = generate_block_list(
        arms=arms,
        ratio=[int(ratio_map.get(a, 1)) for a in arms],
        block_sizes=list(settings.block_sizes),
        strata=dict(settings.strata) or None,
        n_per_stratum=int(settings.n_per_stratum),
        seed=int(effective_seed),
    )
    session.add_all(
        AllocationEntry(
            study_id=study.id,
            sequence=e.sequence,
            stratum=e.stratum,
            block=e.block,
            block_size=e.block_size,
            arm_id=e.arm,
        )
        for e in allocation.entries
    )
    session.add(
        AllocationListInfo(
            study_id=study.id,
            seed=int(effective_seed),
            sha256=allocation.sha256,
            report=_jsonable_report(allocation.report),
            created_by=actor.username,
        )
    )
    # The list itself stays concealed: the audit records its fingerprint, not its content.
    audit.append(
        session,
        actor=actor,
        study_id=study.id,
        entity="allocation_list",
        entity_id=study.id,
        action="create",
        changes={"sha256": (None, allocation.sha256), "entries": (None, len(allocation.entries))},
    )


def _jsonable_report(report: object) -> dict:
    from taperwise.jsonout import to_jsonable

    value = to_jsonable(report)
    return value if isinstance(value, dict) else {"report": value}


def _seed_from(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def read_protocol_file(path: str | Path) -> tuple[str, str]:
    """Text and display name of a protocol file (validated later by the parser)."""
    file = Path(path)
    if not file.exists():
        raise NotFoundError(f"{file}: protocol file not found")
    return file.read_text(encoding="utf-8"), str(file)
