"""The `taperwise` command.

Sub-commands live in :mod:`taperwise.commands`; each module there has ``register(app)``. Bad input
raises :class:`taperwise.errors.TaperwiseError`; :func:`main` prints its one-line message to
stderr and returns exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

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


@app.callback()
def _root() -> None:
    """taperwise: measure, record, randomise, analyse. It never proposes a dose."""


register_all(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 2 bad input or usage, 1 other failure)."""
    try:
        result = app(args=argv, prog_name="taperwise", standalone_mode=False)
    except TaperwiseError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except Exception as exc:
        # typer vendors click; recognise its exceptions by behaviour rather than by class path.
        if type(exc).__name__ in {"Exit", "NoArgsIsHelpError"}:
            return int(getattr(exc, "exit_code", 0) or 0)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.stderr.write("aborted\n")
            return 1
        raise
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
