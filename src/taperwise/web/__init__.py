"""The clinic web app: FastAPI + Jinja2 + htmx (vendored), on the same store and services as the CLI.

Layers (FastAPI full-stack template): pydantic schemas in Base/Create/Public layers
(:mod:`.schemas`), dependencies as ``Annotated`` types (``SessionDep``, ``WriteSessionDep``,
``CurrentUser`` in :mod:`.deps`), thin routes (:mod:`.routes`) calling :mod:`.services`, which call
the store services. Security pieces (sessions, CSRF, rate limiting) are in :mod:`.security`,
argon2 users in :mod:`.users`.

Example
-------
>>> from taperwise.web.app import create_app          # doctest: +SKIP
>>> app = create_app("sqlite:///study.db")             # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000)
"""
