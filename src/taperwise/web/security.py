"""Sessions, CSRF tokens and login rate limiting for the web app.

* Sessions live in the database (:class:`SessionStore`, table ``web_sessions``), so several
  server processes share them and a logout or an expiry is seen by all of them at once. The
  browser holds only a signed, random session id in an ``HttpOnly; SameSite=Strict`` cookie; the
  table holds a SHA-256 digest of that id, never the id itself. A session ends after
  ``idle_timeout_s`` without a request (inactivity timeout), after ``absolute_timeout_s`` in any
  case, and at logout. API clients may instead use a bearer token from ``POST /api/token``
  (same store, same timeouts). The idle timer is written back at most once per
  ``touch_interval_s`` (60 s), so a busy session costs one small write a minute, not one per
  request; a session may therefore end up to that long before the full idle timeout.
* CSRF: every session has a synchronizer token. A state-changing request authenticated by the
  cookie must carry it in the ``X-CSRF-Token`` header (htmx and ``fetch`` calls) or in a
  ``csrf_token`` form field. Bearer-token requests need none (browsers never attach them).
  The login form, before any session exists, uses a double-submit cookie.
* Login rate limiting: :class:`LoginLimiter` refuses further attempts for a username or a client
  address after ``max_failures`` failures within ``window_s`` seconds (HTTP 429). Failures are
  counted in the database (table ``login_failures``, keys stored as digests), so the limit holds
  across server processes.

Example
-------
>>> from taperwise.store.engine import make_engine
>>> from taperwise.store.migrate import upgrade
>>> engine = make_engine("sqlite:///:memory:")
>>> upgrade(engine)
>>> store = SessionStore(engine, idle_timeout_s=60)
>>> store.get("no-such-session") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, Signer
from sqlalchemy import Engine, delete, func, or_, select, update

from taperwise.store.engine import read_session, transaction
from taperwise.store.models import LoginFailure, User, WebSession

_SESSIONS = WebSession.__table__
_USERS = User.__table__
_FAILURES = LoginFailure.__table__


@dataclass(frozen=True)
class WebSettings:
    """Security settings of one app instance (all keyword options of :func:`create_app`)."""

    idle_timeout_s: float = 15 * 60
    absolute_timeout_s: float = 12 * 3600
    login_max_failures: int = 5
    login_window_s: float = 300.0
    secure_cookies: bool = False
    cookie_name: str = "tw_session"
    login_csrf_cookie: str = "tw_login_csrf"
    #: Write units of work open at once on PostgreSQL (SQLite: always 1). Keep it below the
    #: connection pool size and the worker-thread count so a waiting writer never holds either.
    #: 1 by default: every write ends by chaining its audit rows under one lock, and in one
    #: Python process (GIL) several writers in flight only lengthen that critical section. On the
    #: web benchmark (50 writes/s, 2 cores) p99 was 70-170 ms with 1, 235-315 ms with 2 and up to
    #: 1.3 s with 8.
    write_concurrency: int = 1


@dataclass
class SessionRecord:
    """One live session, with the account it belongs to (read together in one query)."""

    sid: str
    user_id: int
    kind: Literal["cookie", "bearer"]
    csrf: str
    created: float
    last_seen: float
    username: str = ""
    role: str = ""
    site_code: str | None = None
    user_active: bool = True


def digest(value: str) -> str:
    """SHA-256 hex digest: what the database stores instead of session ids and limiter keys."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class SessionStore:
    """Database-backed sessions with idle and absolute timeouts (shared by server processes).

    ``clock`` returns seconds since the epoch; every process must use the same clock, so the
    default is :func:`time.time`.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        idle_timeout_s: float = 15 * 60,
        absolute_timeout_s: float = 12 * 3600,
        touch_interval_s: float = 60.0,
        clock=time.time,
    ) -> None:
        self.engine = engine
        self.idle_timeout_s = idle_timeout_s
        self.absolute_timeout_s = absolute_timeout_s
        self.touch_interval_s = touch_interval_s
        self.clock = clock

    def _now(self) -> float:
        return float(self.clock())

    def _expired(self, created: float, last_seen: float, now: float) -> bool:
        return now - last_seen > self.idle_timeout_s or now - created > self.absolute_timeout_s

    def create(self, *, user_id: int, kind: Literal["cookie", "bearer"]) -> SessionRecord:
        now = self._now()
        record = SessionRecord(
            sid=secrets.token_urlsafe(32),
            user_id=user_id,
            kind=kind,
            csrf=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
        )
        with transaction(self.engine) as session:
            session.execute(  # purge expired sessions while we hold a write transaction anyway
                delete(_SESSIONS).where(
                    or_(
                        _SESSIONS.c.last_seen_s < now - self.idle_timeout_s,
                        _SESSIONS.c.created_s < now - self.absolute_timeout_s,
                    )
                )
            )
            session.execute(
                _SESSIONS.insert().values(
                    token_hash=digest(record.sid),
                    user_id=user_id,
                    kind=kind,
                    csrf=record.csrf,
                    created_s=now,
                    last_seen_s=now,
                )
            )
        return record

    def get(self, sid: str, *, touch: bool = True) -> SessionRecord | None:
        """The live session with this id and its account, or None; refreshes the idle timer."""
        now = self._now()
        key = digest(sid)
        with read_session(self.engine) as session:
            row = session.execute(
                select(
                    _SESSIONS.c.user_id,
                    _SESSIONS.c.kind,
                    _SESSIONS.c.csrf,
                    _SESSIONS.c.created_s,
                    _SESSIONS.c.last_seen_s,
                    _USERS.c.username,
                    _USERS.c.role,
                    _USERS.c.site_code,
                    _USERS.c.active,
                )
                .join(_USERS, _USERS.c.id == _SESSIONS.c.user_id)
                .where(_SESSIONS.c.token_hash == key)
            ).first()
        if row is None:
            return None
        if self._expired(row.created_s, row.last_seen_s, now):
            self.revoke(sid)
            return None
        last_seen = row.last_seen_s
        if touch and now - last_seen >= self.touch_interval_s:
            with transaction(self.engine) as session:
                session.execute(
                    update(_SESSIONS).where(_SESSIONS.c.token_hash == key).values(last_seen_s=now)
                )
            last_seen = now
        return SessionRecord(
            sid=sid,
            user_id=row.user_id,
            kind=row.kind,
            csrf=row.csrf,
            created=row.created_s,
            last_seen=last_seen,
            username=row.username,
            role=row.role,
            site_code=row.site_code,
            user_active=bool(row.active),
        )

    def revoke(self, sid: str) -> None:
        with transaction(self.engine) as session:
            session.execute(delete(_SESSIONS).where(_SESSIONS.c.token_hash == digest(sid)))


class TokenSigner:
    """Signs session ids so a forged or truncated cookie is rejected before any lookup."""

    def __init__(self, secret_key: str) -> None:
        self._signer = Signer(secret_key, salt="taperwise-session")

    def sign(self, sid: str) -> str:
        return self._signer.sign(sid).decode("ascii")

    def unsign(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return self._signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeError):
            return None


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two optional tokens (False if either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


class LoginLimiter:
    """Counts failed logins per key (username, client address) in a sliding window.

    The failures are rows of ``login_failures`` (the key as a digest), so every server process
    sees the same counts.
    """

    def __init__(
        self, engine: Engine, *, max_failures: int = 5, window_s: float = 300.0, clock=time.time
    ) -> None:
        self.engine = engine
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock

    def retry_after(self, *keys: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = float(self.clock())
        with read_session(self.engine) as session:
            rows = session.execute(
                select(func.count(), func.min(_FAILURES.c.at_s))
                .where(
                    _FAILURES.c.key_hash.in_([digest(k) for k in keys]),
                    _FAILURES.c.at_s > now - self.window_s,
                )
                .group_by(_FAILURES.c.key_hash)
            ).all()
        wait = max(
            (self.window_s - (now - first) for n, first in rows if n >= self.max_failures),
            default=0.0,
        )
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = float(self.clock())
        with transaction(self.engine) as session:
            session.execute(delete(_FAILURES).where(_FAILURES.c.at_s <= now - self.window_s))
            session.execute(
                _FAILURES.insert(), [{"key_hash": digest(k), "at_s": now} for k in keys]
            )

    def succeeded(self, *keys: str) -> None:
        with transaction(self.engine) as session:
            session.execute(
                delete(_FAILURES).where(_FAILURES.c.key_hash.in_([digest(k) for k in keys]))
            )
