"""The FastAPI application factory.

Example
-------
>>> from fastapi.testclient import TestClient
>>> from taperwise.web.app import create_app
>>> app = create_app("sqlite:///:memory:")                 # doctest: +SKIP
>>> TestClient(app).get("/api/me").status_code             # doctest: +SKIP
401
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders

from taperwise.errors import TaperwiseError
from taperwise.web.deps import NotAuthenticated
from taperwise.web.security import LoginLimiter, SessionStore, TokenSigner, WebSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


@dataclass
class AppState:
    """Everything one app instance shares between requests."""

    engine: Engine
    settings: WebSettings
    sessions: SessionStore
    signer: TokenSigner
    limiter: LoginLimiter
    templates: Jinja2Templates
    write_slots: anyio.Semaphore | None = None


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def create_app(
    db_url: str,
    *,
    secret_key: str | None = None,
    settings: WebSettings | None = None,
    migrate: bool = True,
) -> FastAPI:
    """Build the web app on the database at ``db_url``.

    Parameters
    ----------
    db_url
        ``sqlite:///FILE`` or ``postgresql://...``; the schema is upgraded to the current revision.
    secret_key
        Signs session cookies and bearer tokens. Default: ``$TAPERWISE_SECRET_KEY`` or a random
        key per process (sessions then end when the server restarts). Several server processes
        on one database must share the key (:func:`taperwise.web.serve.serve` sees to it).
    settings
        Timeouts, rate limits and cookie options (:class:`~taperwise.web.security.WebSettings`).
    migrate
        Bring the schema to the current Alembic revision first.
    """
    from taperwise.store.engine import make_engine
    from taperwise.store.migrate import upgrade

    settings = settings or WebSettings()
    key = secret_key or os.environ.get("TAPERWISE_SECRET_KEY") or secrets.token_urlsafe(48)
    engine = make_engine(db_url)
    if migrate:
        upgrade(engine)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["when"] = _format_time
    app = FastAPI(
        title="taperwise",
        summary="Opioid-withdrawal care and trial data capture under medical supervision",
        description=(
            "Bedside COWS/SOWS entry, doses checked against the protocol, adverse events, alerts, "
            "concealed randomisation and audit history. Authenticate with `POST /api/token` "
            "(bearer) or the session cookie of the web pages (state-changing cookie requests need "
            "the `X-CSRF-Token` header). taperwise never proposes a dose."
        ),
        version=_version(),
        # Swagger UI / ReDoc load their scripts from a CDN, which the CSP (and the no-CDN rule)
        # forbids; the schema itself is served at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.taperwise = AppState(
        engine=engine,
        settings=settings,
        sessions=SessionStore(
            engine,
            idle_timeout_s=settings.idle_timeout_s,
            absolute_timeout_s=settings.absolute_timeout_s,
        ),
        signer=TokenSigner(key),
        limiter=LoginLimiter(
            engine, max_failures=settings.login_max_failures, window_s=settings.login_window_s
        ),
        templates=templates,
        write_slots=anyio.Semaphore(
            1 if engine.dialect.name == "sqlite" else settings.write_concurrency
        ),
    )
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    from taperwise.web.routes import api, auth, pages

    app.include_router(auth.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    _install_handlers(app)

    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Plain ASGI middleware adding the security headers to every HTTP response.

    Written as raw ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware
    wraps every request in extra tasks and streams, a measurable share of a bedside write.
    """

    def __init__(self, app) -> None:  # noqa: ANN001 - any ASGI app
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI callables
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message) -> None:  # noqa: ANN001 - ASGI message
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


_SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "not authenticated"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(TaperwiseError)
    async def domain_error(request: Request, exc: TaperwiseError) -> Response:
        return _error_response(request, exc.http_status, exc.message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error_response(request, exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if _is_api(request):
            return JSONResponse({"detail": _jsonable_errors(errors)}, status_code=422)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "form"))
        return _error_response(request, 422, f"{where}: {first.get('msg', 'invalid input')}")


def _jsonable_errors(errors) -> list:
    from fastapi.encoders import jsonable_encoder

    cleaned = []
    for err in errors:
        err = dict(err)
        err.pop("ctx", None)
        err.pop("url", None)
        cleaned.append(err)
    return jsonable_encoder(cleaned)


def _error_response(request: Request, status: int, detail, headers=None) -> Response:
    if _is_api(request) or not isinstance(detail, str):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    state = request.app.state.taperwise
    template = "fragments/error.html" if request.headers.get("hx-request") else "error.html"
    return state.templates.TemplateResponse(
        request,
        template,
        {"status": status, "message": detail, "user": getattr(request.state, "user", None)},
        status_code=status,
        headers=headers,
    )


def _format_time(value) -> str:
    if value is None:
        return ""
    try:
        return value.strftime("%Y-%m-%d %H:%M")
    except AttributeError:
        return str(value)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("taperwise")
    except Exception:  # noqa: BLE001
        return "0"


__all__ = ["AppState", "HTMLResponse", "create_app"]
