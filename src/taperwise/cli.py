"""The `taperwise` command.

Sub-commands live in :mod:`taperwise.commands`; each module there has ``register(app)``. Bad input
raises :class:`taperwise.errors.TaperwiseError`; :func:`main` prints its one-line message to
stderr and returns exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click
import typer

from taperwise.commands import register_all
from taperwise.errors import TaperwiseError

app = typer.Typer(
    name="taperwise",
    help="Measure opioid withdrawal, keep supervised dosing safe, run and analyse trials. "
    "taperwise never proposes a dose and never claims efficacy: it measures.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

register_all(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 2 bad input or usage, 1 other failure)."""
    try:
        result = app(args=argv, prog_name="taperwise", standalone_mode=False)
    except TaperwiseError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("aborted\n")
        return 1
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
