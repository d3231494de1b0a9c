"""Sessions, CSRF tokens and login rate limiting for the web app.

* Sessions live in the server process (:class:`SessionStore`); the browser holds only a signed,
  random session id in an ``HttpOnly; SameSite=Strict`` cookie. A session ends after
  ``idle_timeout_s`` without a request (inactivity timeout), after ``absolute_timeout_s`` in any
  case, and at logout. API clients may instead use a bearer token from ``POST /api/token``
  (same store, same timeouts).
* CSRF: every session has a synchronizer token. A state-changing request authenticated by the
  cookie must carry it in the ``X-CSRF-Token`` header (htmx and ``fetch`` calls) or in a
  ``csrf_token`` form field. Bearer-token requests need none (browsers never attach them).
  The login form, before any session exists, uses a double-submit cookie.
* Login rate limiting: :class:`LoginLimiter` refuses further attempts for a username or a client
  address after ``max_failures`` failures within ``window_s`` seconds (HTTP 429).

Example
-------
>>> store = SessionStore(idle_timeout_s=60)
>>> rec = store.create(user_id=1, kind="cookie")
>>> store.get(rec.sid).user_id
1
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from itsdangerous import BadSignature, Signer


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
    sid: str
    user_id: int
    kind: Literal["cookie", "bearer"]
    csrf: str
    created: float
    last_seen: float


@dataclass
class SessionStore:
    """Thread-safe in-memory sessions with idle and absolute timeouts."""

    idle_timeout_s: float = 15 * 60
    absolute_timeout_s: float = 12 * 3600
    clock: object = time.monotonic
    _items: dict[str, SessionRecord] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _now(self) -> float:
        return float(self.clock())  # type: ignore[operator]

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
        with self._lock:
            self._purge(now)
            self._items[record.sid] = record
        return record

    def get(self, sid: str, *, touch: bool = True) -> SessionRecord | None:
        """The live session with this id (refreshing its idle timer), or None."""
        now = self._now()
        with self._lock:
            record = self._items.get(sid)
            if record is None:
                return None
            if self._expired(record, now):
                del self._items[sid]
                return None
            if touch:
                record.last_seen = now
            return record

    def revoke(self, sid: str) -> None:
        with self._lock:
            self._items.pop(sid, None)

    def revoke_user(self, user_id: int) -> None:
        with self._lock:
            for sid in [s for s, r in self._items.items() if r.user_id == user_id]:
                del self._items[sid]

    def _expired(self, record: SessionRecord, now: float) -> bool:
        return (
            now - record.last_seen > self.idle_timeout_s
            or now - record.created > self.absolute_timeout_s
        )

    def _purge(self, now: float) -> None:
        for sid in [s for s, r in self._items.items() if self._expired(r, now)]:
            del self._items[sid]


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
    """Counts failed logins per key (username, client address) in a sliding window."""

    def __init__(self, *, max_failures: int = 5, window_s: float = 300.0, clock=time.monotonic):
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.setdefault(key, deque())
        while stamps and now - stamps[0] > self.window_s:
            stamps.popleft()
        return stamps

    def retry_after(self, *keys: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                stamps = self._recent(key, now)
                if len(stamps) >= self.max_failures:
                    wait = max(wait, self.window_s - (now - stamps[0]))
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
