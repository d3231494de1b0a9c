"""Web users: argon2 password hashes, creation and authentication.

Users are staff accounts (pseudonymous usernames, never patient data). A user has one role
(``rater``, ``investigator``, ``pharmacist``, ``monitor``, ``admin``) and optionally one site; a user
with a site sees and writes only that site's participants.

Example
-------
>>> from taperwise.web.users import hash_password, verify_password
>>> h = hash_password("correct horse battery staple")
>>> verify_password(h, "correct horse battery staple"), verify_password(h, "wrong")
(True, False)
"""

from __future__ import annotations

import logging
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from taperwise.errors import ConflictError, ValidationError
from taperwise.store import audit
from taperwise.store.audit import Actor
from taperwise.store.models import User

log = logging.getLogger(__name__)

ROLES = ("rater", "investigator", "pharmacist", "monitor", "admin")
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")

# argon2id with the library's (RFC 9106 low-memory) defaults.
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("taperwise-dummy-password")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (PHC string with salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a missing or malformed hash)."""
    if not password_hash:
        _safe_verify(_DUMMY_HASH, password)
        return False
    return _safe_verify(password_hash, password)


def _safe_verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str) -> None:
    """Refuse passwords shorter than :data:`MIN_PASSWORD_LENGTH` characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password too short ({len(password)} characters); at least {MIN_PASSWORD_LENGTH} required"
        )


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    role: str,
    password: str,
    site_code: str | None = None,
    replace: bool = False,
) -> User:
    """Create a user (or, with ``replace``, reset an existing one's role, site and password).

    The audit log records the account change (username, role, site), never the password.
    """
    username = username.strip()
    if not _USERNAME.match(username):
        raise ValidationError(
            f"username '{username}' is not allowed; use 2-64 letters, digits, '.', '_' or '-'"
        )
    if role not in ROLES:
        raise ValidationError(f"role '{role}' is not allowed; allowed: {', '.join(ROLES)}")
    check_password_policy(password)
    site_code = (site_code or "").strip() or None
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    action = "create"
    old: dict[str, object] = {"role": None, "site_code": None}
    if user is not None:
        if not replace:
            raise ConflictError(f"user '{username}' already exists")
        action = "update"
        old = {"role": user.role, "site_code": user.site_code}
        user.role, user.site_code, user.active = role, site_code, True
        user.password_hash = hash_password(password)
    else:
        user = User(
            username=username,
            role=role,
            site_code=site_code,
            password_hash=hash_password(password),
            active=True,
        )
        session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        study_id=None,
        entity="user",
        entity_id=user.id,
        action=action,
        changes={
            "username": (None if action == "create" else username, username),
            "role": (old["role"], role),
            "site_code": (old["site_code"], site_code),
            "password": (None, "(set)"),
        },
    )
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (same cost either way)."""
    user = session.execute(
        select(User).where(User.username == username.strip())
    ).scalar_one_or_none()
    if user is None or not user.active:
        verify_password(None, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash or ""):
        log.info("password hash parameters changed; the hash is refreshed at the next save")
    return user


def list_users(session: Session) -> list[User]:
    """All users, by username."""
    return list(session.execute(select(User).order_by(User.username)).scalars())
