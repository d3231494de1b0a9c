"""Login, logout and API tokens, with rate limiting and a double-submit CSRF token on the form."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from taperwise.store.engine import read_session
from taperwise.web.deps import CurrentUser
from taperwise.web.schemas import TokenPublic
from taperwise.web.security import tokens_equal
from taperwise.web.users import authenticate

log = logging.getLogger(__name__)
router = APIRouter()


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check_credentials(request: Request, username: str, password: str) -> int:
    """The user id for valid credentials; 429 while rate-limited, 401 for bad credentials."""
    state = request.app.state.taperwise
    keys = (f"ip:{_client(request)}", f"user:{username.strip().lower()}")
    wait = state.limiter.retry_after(*keys)
    if wait:
        raise HTTPException(
            status_code=429,
            detail=f"too many failed logins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    with read_session(state.engine) as session:
        user = authenticate(session, username, password)
        user_id = user.id if user else None
    if user_id is None:
        state.limiter.failed(*keys)
        log.info("failed login from %s", _client(request))
        raise HTTPException(status_code=401, detail="wrong username or password")
    state.limiter.succeeded(keys[1])
    return user_id


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None) -> Response:
    state = request.app.state.taperwise
    token = secrets.token_urlsafe(32)
    response = state.templates.TemplateResponse(
        request, "login.html", {"csrf": token, "next": _safe_next(next), "user": None}
    )
    response.set_cookie(
        state.settings.login_csrf_cookie,
        token,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
        max_age=3600,
    )
    return response


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    state = request.app.state.taperwise
    if not tokens_equal(csrf_token, request.cookies.get(state.settings.login_csrf_cookie)):
        raise HTTPException(status_code=403, detail="login form expired; reload the page")
    try:
        user_id = _check_credentials(request, username, password)
    except HTTPException as exc:
        response = state.templates.TemplateResponse(
            request,
            "login.html",
            {"csrf": csrf_token, "next": _safe_next(next), "user": None, "error": exc.detail},
            status_code=exc.status_code,
            headers=exc.headers,
        )
        return response
    record = state.sessions.create(user_id=user_id, kind="cookie")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        state.settings.cookie_name,
        state.signer.sign(record.sid),
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )
    response.delete_cookie(state.settings.login_csrf_cookie)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, user: CurrentUser) -> Response:
    state = request.app.state.taperwise
    state.sessions.revoke(user.session.sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(state.settings.cookie_name)
    return response


@router.post("/api/token", response_model=TokenPublic, tags=["auth"])
def api_token(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> TokenPublic:
    """Exchange username and password (form fields) for a bearer token (same timeouts as a session)."""
    state = request.app.state.taperwise
    user_id = _check_credentials(request, username, password)
    record = state.sessions.create(user_id=user_id, kind="bearer")
    return TokenPublic(
        access_token=state.signer.sign(record.sid),
        expires_in=int(state.settings.idle_timeout_s),
    )


@router.post("/api/logout", status_code=204, tags=["auth"])
def api_logout(request: Request, user: CurrentUser) -> Response:
    """End the current session or revoke the bearer token used."""
    request.app.state.taperwise.sessions.revoke(user.session.sid)
    return Response(status_code=204)
