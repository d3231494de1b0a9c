"""FastAPI dependencies as ``Annotated`` types: database sessions and the current user.

``SessionDep`` is a read session; ``WriteSessionDep`` is one unit of work (committed when the route
returns, rolled back on any error, before the response is sent). ``CurrentUser`` resolves the
bearer token or session cookie (one database query reads the session and its account), enforces
the CSRF token on state-changing cookie requests and checks that the account is still active.
Authorisation helpers keep role and site rules in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from taperwise.errors import NotFoundError, PermissionDenied
from taperwise.store.audit import Actor
from taperwise.store.engine import read_session
from taperwise.store.models import Participant, Study
from taperwise.web.security import SessionRecord, tokens_equal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Which roles may do what. Monitors are read-only; only the pharmacist is unblinded.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset({"rater", "investigator", "pharmacist", "monitor", "admin"}),
    # Outcome assessment stays with blinded staff: the (unblinded) pharmacist does not rate.
    "assess": frozenset({"rater", "investigator", "admin"}),
    "vitals": frozenset({"rater", "investigator", "pharmacist", "admin"}),
    "dose": frozenset({"investigator", "pharmacist", "admin"}),
    "adverse_event": frozenset({"rater", "investigator", "pharmacist", "admin"}),
    "enrol": frozenset({"investigator", "admin"}),
    "randomise": frozenset({"investigator", "admin"}),
    "acknowledge": frozenset({"rater", "investigator", "pharmacist", "admin"}),
    "edit": frozenset({"investigator", "admin"}),
    "export": frozenset({"investigator", "pharmacist", "monitor", "admin"}),
    "users": frozenset({"admin"}),
}
UNBLINDED_ROLES = frozenset({"pharmacist"})


@dataclass(frozen=True)
class WebUser:
    """The authenticated user of one request."""

    id: int
    username: str
    role: str
    site_code: str | None
    session: SessionRecord

    @property
    def unblinded(self) -> bool:
        return self.role in UNBLINDED_ROLES

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.site_code)

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied(
                f"user '{self.username}' ({self.role}) may not {permission.replace('_', ' ')}"
            )


def get_engine(request: Request) -> Engine:
    return request.app.state.taperwise.engine


def get_read_session(request: Request) -> Iterator[Session]:
    with read_session(get_engine(request)) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


class NotAuthenticated(Exception):
    """Raised when a request has no valid session; APIs answer 401, pages redirect to login."""


@dataclass(frozen=True)
class Credentials:
    """What a request presents: a verified-signature session id and, for unsafe cookie
    requests, the CSRF token it supplied."""

    sid: str
    kind: str  # cookie, bearer
    check_csrf: bool
    csrf_supplied: str | None


async def request_credentials(request: Request) -> Credentials:
    """The signed session id of this request (bearer header or cookie), without any lookup.

    Runs on the event loop: it only parses headers (and the form body, for the CSRF field of
    an unsafe cookie request); the database lookup happens in :func:`current_user`, in a worker
    thread.
    """
    state = request.app.state.taperwise
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        sid, kind = state.signer.unsign(header[7:].strip()), "bearer"
    else:
        sid, kind = state.signer.unsign(request.cookies.get(state.settings.cookie_name)), "cookie"
    if not sid:
        raise NotAuthenticated()
    check_csrf = kind == "cookie" and request.method not in SAFE_METHODS
    supplied = None
    if check_csrf:
        supplied = request.headers.get("x-csrf-token")
        if not supplied and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get("csrf_token")
            supplied = value if isinstance(value, str) else None
    return Credentials(sid, kind, check_csrf, supplied)


def current_user(
    request: Request, credentials: Annotated[Credentials, Depends(request_credentials)]
) -> WebUser:
    """The live session's user (one query: session and account), CSRF-checked, still active."""
    state = request.app.state.taperwise
    record = state.sessions.get(credentials.sid)
    if record is None or record.kind != credentials.kind:
        raise NotAuthenticated()
    if credentials.check_csrf and not tokens_equal(credentials.csrf_supplied, record.csrf):
        raise HTTPException(
            status_code=403, detail="CSRF token missing or wrong; reload the page and retry"
        )
    if not record.user_active:
        state.sessions.revoke(record.sid)
        raise NotAuthenticated()
    web_user = WebUser(record.user_id, record.username, record.role, record.site_code, record)
    request.state.user = web_user
    return web_user


CurrentUser = Annotated[WebUser, Depends(current_user)]


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_write_session(request: Request, user: CurrentUser) -> AsyncIterator[Session]:
    """One unit of work: commit when the route returns, roll back on any error.

    Authentication runs first (``user``), so unauthenticated requests never queue. Writers then
    take a slot (``write_slots``: one on SQLite, ``WebSettings.write_concurrency`` on PostgreSQL)
    before they touch a connection, and keep it until the commit. Waiting for a slot holds no
    worker thread and no pooled connection, so writers can never starve the commits of the
    writers ahead of them (a deadlock otherwise seen under load). On SQLite the queue also
    replaces the busy handler's back-off sleeps (up to 100 ms) that made the latency tail.
    """
    state = request.app.state.taperwise
    async with state.write_slots if state.write_slots is not None else nullcontext():
        session = Session(bind=state.engine, expire_on_commit=False)
        try:
            yield session
        except BaseException:
            await run_in_threadpool(_finish, session, False)
            raise
        await run_in_threadpool(_finish, session, True)


WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]


# -- site-scoped lookups -------------------------------------------------------------------------
def scoped_study(session: Session, user: WebUser, study_id: str) -> Study:
    study = session.get(Study, study_id)
    if study is None:
        raise NotFoundError(f"study '{study_id}' not found")
    return study


def scoped_participant(session: Session, user: WebUser, study: Study, code: str) -> Participant:
    """The participant, or 404 when it does not exist or belongs to another site than the user's."""
    from sqlalchemy import select

    stmt = select(Participant).where(
        Participant.study_id == study.id,
        Participant.code == code,
        Participant.deleted_at.is_(None),
    )
    if user.site_code:
        stmt = stmt.where(Participant.site_code == user.site_code)
    participant = session.execute(stmt).scalar_one_or_none()
    if participant is None:
        raise NotFoundError(f"participant '{code}' not found in study '{study.id}'")
    return participant


def site_filter(user: WebUser):
    """A WHERE clause limiting participants to the user's site (True for all-site users)."""
    from sqlalchemy import true

    return Participant.site_code == user.site_code if user.site_code else true()
