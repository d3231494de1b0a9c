"""`taperwise analyze`: run the protocol's SAP on a study and write results.json + report.html."""

from __future__ import annotations

from pathlib import Path

import typer

from taperwise.commands._store import JSON_OPTION


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze(
        db: str | None = typer.Option(
            None, "--db", help="Database URL of the study (sqlite:///FILE or postgresql://...)."
        ),
        study: str | None = typer.Option(
            None, "--study", help="Study id (optional when the database holds one study)."
        ),
        data: Path | None = typer.Option(
            None, "--data", help="Analysis dataset folder (export --format analysis / csv)."
        ),
        protocol: Path | None = typer.Option(
            None, "--protocol", help="Protocol YAML (or an SAP-only YAML) for --data."
        ),
        out: Path = typer.Option(..., "--out", help="Folder for results.json and report.html."),
        sensitivity: bool = typer.Option(
            True, "--sensitivity/--no-sensitivity", help="Run the sensitivity analyses."
        ),
        seed: int = typer.Option(2026, "--seed", help="Seed of the tipping-point imputation."),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Run the SAP (primary MMRM, secondary, safety, sensitivity, CONSORT) and write a report."""
        from taperwise.errors import ValidationError

        if (db is None) == (data is None):
            raise ValidationError(
                "give either --db URL [--study ID] or --data PATH --protocol FILE"
            )
        if data is not None and protocol is None:
            raise ValidationError("--data needs --protocol FILE (a protocol or an SAP-only YAML)")
        if db is not None and protocol is not None:
            raise ValidationError(
                "--protocol goes with --data; with --db the study's protocol is used"
            )
        from rich.progress import Progress, SpinnerColumn, TextColumn

        from taperwise.analysis import run_sap
        from taperwise.analysis.plan import load_plan
        from taperwise.analysis_dataset import AnalysisDataset
        from taperwise.commands._common import console
        from taperwise.jsonout import emit
        from taperwise.report.trial import write_report

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
            disable=json_output,
        ) as bar:
            bar.add_task("reading the analysis dataset", total=None)
            if db is not None:
                from taperwise.commands._store import open_engine
                from taperwise.store.engine import read_session
                from taperwise.store.export import export_dataset
                from taperwise.store.studies import get_study, protocol_of

                engine = open_engine(db, migrate=False)
                with read_session(engine) as session:
                    dataset = export_dataset(session, study_id=study)
                    plan = protocol_of(get_study(session, dataset.meta.get("study")))
                engine.dispose()
            else:
                dataset = AnalysisDataset.read(data)
                plan = load_plan(protocol)
                if study is not None:
                    dataset = dataset.filter_study(study)
            bar.add_task("running the SAP", total=None)
            result = run_sap(dataset, plan, sensitivity=sensitivity, seed=seed, report=True)
            paths = write_report(result, out)
        if json_output:
            emit(result.to_dict())
            return
        primary = result.primary or {}
        console.print(f"[bold]{result.study}[/]: primary covariance {primary.get('covariance')}")
        for c in primary.get("contrasts") or []:
            console.print(
                f"  {c['arm']} - {c['vs']}: {c['estimate']:.2f} "
                f"(CI {c['ci_lb']:.2f} to {c['ci_ub']:.2f}, p = {c['pval']:.3g})"
            )
        for note in result.notes:
            console.print(f"  note: {note}")
        console.print(f"wrote {paths['results']} and {paths['report']}")
