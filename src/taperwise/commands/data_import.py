"""`taperwise import ctn0094 DIR --db URL`: load real trial data into a study store."""

from __future__ import annotations

from pathlib import Path

import typer

from taperwise.commands._store import DB_OPTION, JSON_OPTION, USER_OPTION, actor, open_engine

import_app = typer.Typer(help="Import real data sets into a study store.", no_args_is_help=True)


@import_app.command("ctn0094")
def import_ctn0094_cmd(
    folder: Path = typer.Argument(
        ..., help="Folder with the CTN-0094 CSV files (../shared/reference-data/ctn0094)."
    ),
    db: str = DB_OPTION,
    study: list[str] = typer.Option(
        None, "--study", help="Only these studies (ctn0027, ctn0030, ctn0051); repeatable."
    ),
    user: str = USER_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Load CTN-0027, CTN-0030 and CTN-0051 as three studies (participants, arms, daily withdrawal band, doses, exits)."""
    from taperwise.commands._common import console
    from taperwise.datasets.ctn0094_import import import_ctn0094
    from taperwise.errors import ValidationError
    from taperwise.jsonout import emit

    allowed = ("ctn0027", "ctn0030", "ctn0051")
    for name in study or []:
        if name not in allowed:
            raise ValidationError(
                f"--study '{name}' is not a CTN-0094 study; allowed: {', '.join(allowed)}"
            )
    engine = open_engine(db)
    summaries = import_ctn0094(
        engine,
        folder,
        actor=actor(user, "admin"),
        studies=list(study) if study else None,
        progress=None if json_output else (lambda s: console.print(f"importing {s} ...")),
    )
    result = {
        "studies": [
            {"study": s.study, "randomised": s.randomised, "rows": s.counts} for s in summaries
        ]
    }
    if json_output:
        emit(result)
        return
    for s in summaries:
        arms = ", ".join(f"{arm} {n}" for arm, n in s.randomised.items())
        console.print(
            f"{s.study}: randomised {arms}; {s.counts['assessments']} withdrawal-band rows, {s.counts['doses']} dose days"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
