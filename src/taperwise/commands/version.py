"""`taperwise version`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("version")
    def version(
        json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Print the taperwise version and the versions of its numerical dependencies."""
        from taperwise.jsonout import emit
        from taperwise.provenance import package_versions

        versions = package_versions()
        if json_output:
            emit(versions)
        else:
            typer.echo(f"taperwise {versions['taperwise']}")
