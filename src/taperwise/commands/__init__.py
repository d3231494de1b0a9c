"""CLI command modules. Each module defines ``register(app: typer.Typer) -> None``.

Modules are discovered, so adding a command group needs no edit elsewhere. Keep heavy imports
(numpy, SQLAlchemy, the stats engines) inside the command functions so `taperwise --help` is fast.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    """Import every module in this package and let it register its commands on ``app``."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
