"""`taperwise demo`: build the demo study (simulated data) and serve the web app on it."""

from __future__ import annotations

import typer

from taperwise.commands._store import JSON_OPTION


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        db: str = typer.Option(
            "sqlite:///demo.db", "--db", help="Database for the demo study (replaced when --fresh)."
        ),
        participants: int = typer.Option(
            60, "--participants", help="Number of simulated participants."
        ),
        seed: int = typer.Option(
            20261124, "--seed", help="Seed of the simulation and the allocation list."
        ),
        fresh: bool = typer.Option(True, "--fresh/--keep", help="Start from an empty SQLite file."),
        no_serve: bool = typer.Option(
            False, "--no-serve", help="Build the study only; do not start the web app."
        ),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Build a KMC vs buprenorphine vs placebo demo study with simulated participants (data are simulated)."""
        from pathlib import Path

        from rich.progress import Progress

        from taperwise.commands._common import console
        from taperwise.commands._store import open_engine
        from taperwise.demo import build_demo
        from taperwise.jsonout import emit
        from taperwise.store.engine import normalise_url

        url = normalise_url(db)
        if fresh and url.startswith("sqlite:///") and ":memory:" not in url:
            path = Path(url[len("sqlite:///") :])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = open_engine(url)
        with Progress(console=console, transient=True, disable=json_output) as bar:
            task = bar.add_task("simulating participants", total=participants)
            summary = build_demo(
                engine,
                n_participants=participants,
                seed=seed,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        result = summary.to_dict() | {"db": db, "simulated": True}
        if json_output:
            emit(result)
        else:
            console.print(
                f"demo study '{summary.study}' in {db}: {summary.participants} simulated participants "
                f"({', '.join(f'{k} {v}' for k, v in sorted(summary.randomised.items()))}), "
                f"{summary.assessments} assessments, {summary.doses} doses, {summary.alerts} alerts"
            )
        if no_serve or json_output:
            return
        try:
            from taperwise.web.serve import serve_demo
        except ImportError:
            console.print(
                "the web app is not available yet; the demo study is ready for the CLI (e.g. `taperwise alerts --db "
                + db
                + "`)"
            )
            return
        serve_demo(db)
