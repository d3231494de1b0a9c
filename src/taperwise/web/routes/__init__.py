"""Routers of the web app: ``auth`` (login, tokens), ``api`` (JSON under /api) and ``pages`` (HTML)."""
