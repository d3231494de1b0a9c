"""Exports for the web app: analysis-dataset tables and the SDTM QS domain, site-scoped."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from taperwise.store.models import Participant, Study
from taperwise.web.deps import WebUser


def export_table(session: Session, user: WebUser, study: Study, table: str) -> pd.DataFrame:
    """One table, blinded unless the user is unblinded, limited to the user's site."""
    from taperwise.store.export import export_dataset, sdtm_qs

    if table == "sdtm_qs":
        frame = sdtm_qs(session, study_id=study.id)
        if user.site_code and not frame.empty:
            codes = _site_codes(session, study, user.site_code)
            frame = frame[frame["USUBJID"].isin({f"{study.id}-{c}" for c in codes})]
        return frame.reset_index(drop=True)
    dataset = export_dataset(session, study_id=study.id, blinded=not user.unblinded)
    frame = dataset.tables()[table] if callable(dataset.tables) else dataset.tables[table]
    if user.site_code and not frame.empty and "participant" in frame.columns:
        frame = frame[frame["participant"].isin(_site_codes(session, study, user.site_code))]
    return frame.reset_index(drop=True)


def _site_codes(session: Session, study: Study, site: str) -> set[str]:
    return set(
        session.execute(
            select(Participant.code).where(
                Participant.study_id == study.id, Participant.site_code == site
            )
        ).scalars()
    )
