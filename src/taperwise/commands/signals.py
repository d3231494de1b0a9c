"""`taperwise signals`: FAERS/CAERS ingest, disproportionality scoring, ranked tables."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from taperwise.commands._common import console
from taperwise.errors import ValidationError

signals_app = typer.Typer(
    help="Adverse-event signal detection on FAERS / CAERS (PRR, ROR, IC, GPS EBGM).",
    no_args_is_help=True,
)
ingest_app = typer.Typer(
    help="Convert FDA FAERS / CAERS files into a Parquet dataset.", no_args_is_help=True
)
signals_app.add_typer(ingest_app, name="ingest")

OnError = Annotated[
    str, typer.Option("--on-error", help="Malformed lines: fail (default) or skip (counted).")
]
Synonyms = Annotated[
    Path | None,
    typer.Option("--synonyms", help="Product synonyms file (.yaml groups or .csv name,group)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _parse_theta(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise ValidationError(f"--theta '{text}' must be 5 numbers a1,b1,a2,b2,p") from exc
    if len(values) != 5 or min(values[:4]) <= 0 or not 0 < values[4] < 1:
        raise ValidationError(
            f"--theta '{text}' must be 5 numbers a1,b1,a2,b2,p with a, b > 0 and 0 < p < 1"
        )
    return values


def _parse_roles(text: str) -> list[str] | None:
    if text.strip().upper() in ("ALL", "*", ""):
        return None
    return [r.strip().upper() for r in text.split(",") if r.strip()]


def _check_on_error(value: str) -> str:
    if value not in ("fail", "skip"):
        raise ValidationError(f"--on-error '{value}' is not allowed; use fail or skip")
    return value


@ingest_app.command("faers")
def ingest_faers_cmd(
    folder: Annotated[
        Path, typer.Argument(help="Folder with FAERS quarterly ASCII files (any nesting).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Dataset folder to write.")],
    on_error: OnError = "fail",
    synonyms: Synonyms = None,
    json_out: JsonFlag = False,
) -> None:
    """Ingest FAERS quarterly ASCII files (DEMO, DRUG, REAC, OUTC, RPSR, THER, INDI + Deleted/)."""
    from taperwise.jsonout import emit
    from taperwise.signals.faers import ingest_faers

    _check_on_error(on_error)
    with console.status("ingesting FAERS") as status:
        report = ingest_faers(
            folder, out, on_error=on_error, synonyms=synonyms, progress=lambda m: status.update(m)
        )
    if json_out:
        emit({"out": str(out), **report.as_dict()})
        return
    console.print(
        f"[bold]{report.reports}[/] reports kept ({report.report_versions} versions, {report.latest_versions} latest, "
        f"{report.deleted_listed} caseids on deleted lists); rows {report.rows}; "
        f"skipped malformed lines: {report.skipped_lines}"
    )
    for f in report.files:
        if f.skipped:
            console.print(f"  {f.path}: skipped {f.skipped} line(s), e.g. {f.first_errors[0]}")
    typer.echo(str(out))


@ingest_app.command("caers")
def ingest_caers_cmd(
    file: Annotated[Path, typer.Argument(help="CAERS CSV file (public layout).")],
    out: Annotated[Path, typer.Option("--out", help="Dataset folder to write.")],
    on_error: OnError = "fail",
    synonyms: Synonyms = None,
    industry_code: Annotated[
        str | None,
        typer.Option(
            "--industry-code", help="Keep one FDA industry code (54 = dietary supplements)."
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Ingest a CAERS CSV (symptoms split into one row per MedDRA PT)."""
    from taperwise.jsonout import emit
    from taperwise.signals.caers import ingest_caers

    _check_on_error(on_error)
    report = ingest_caers(
        file, out, on_error=on_error, synonyms=synonyms, industry_code=industry_code
    )
    if json_out:
        emit({"out": str(out), **report.as_dict()})
        return
    console.print(
        f"[bold]{report.rows}[/] rows, {report.reports} reports; skipped malformed lines: {report.skipped}"
    )
    for message in report.first_errors:
        console.print(f"  {message}")
    typer.echo(str(out))


def _run_score(
    input_: Path,
    *,
    id_col: str | None,
    drug_col: str | None,
    event_col: str | None,
    strata: list[str] | None,
    theta: str | None,
    roles: str,
    margins: str,
    backend: str,
    likelihood: str,
    squash: str,
    normalize: bool,
    synonyms: Path | None,
):  # noqa: ANN202 - returns ScoreResult (imported lazily)
    from taperwise.signals.normalize import ProductNormalizer
    from taperwise.signals.pipeline import score_source
    from taperwise.signals.source import open_source

    src = open_source(
        input_, id_col=id_col, drug_col=drug_col, event_col=event_col, strata=strata or ()
    )
    normalizer = (
        ProductNormalizer.default(synonyms) if (normalize or synonyms is not None) else None
    )
    with console.status("scoring") as status:
        return score_source(
            src,
            backend=backend,
            margins=margins,
            roles=_parse_roles(roles),
            normalizer=normalizer,
            theta=_parse_theta(theta),
            likelihood=likelihood,
            squash=squash,
            progress=lambda m: status.update(m),
        )


InputOpt = Annotated[
    Path,
    typer.Option("--input", help="Ingested dataset folder, or a CSV/Parquet file of report rows."),
]
IdOpt = Annotated[
    str | None, typer.Option("--id", help="Report id column (default id / primaryid).")
]
DrugOpt = Annotated[
    str | None, typer.Option("--drug", help="Product column (default drug, or var1).")
]
EventOpt = Annotated[
    str | None, typer.Option("--event", help="Event column (default event, or var2).")
]
StrataOpt = Annotated[
    list[str] | None, typer.Option("--strata", help="Stratification column (repeatable).")
]
ThetaOpt = Annotated[
    str | None, typer.Option("--theta", help="Fixed prior a1,b1,a2,b2,p (skips the fit).")
]
RolesOpt = Annotated[
    str,
    typer.Option("--roles", help="Drug roles kept when the input has roles (PS,SS,C,I or ALL)."),
]
MarginsOpt = Annotated[
    str, typer.Option("--margins", help="reports (distinct reports, openEBGM) or cells (PhViD).")
]
BackendOpt = Annotated[
    str, typer.Option("--backend", help="duckdb (default, out of core) or dask.")
]
LikOpt = Annotated[
    str,
    typer.Option(
        "--likelihood",
        help="auto (truncated; all_cells if degenerate), truncated (openEBGM) or all_cells.",
    ),
]
SquashOpt = Annotated[
    str,
    typer.Option("--squash", help="auto (openEBGM autoSquash above 20,000 pairs), none, log-bins."),
]
NormOpt = Annotated[
    bool,
    typer.Option("--normalize/--verbatim", help="Fold and group product names (kratom, synonyms)."),
]


@signals_app.command("score")
def score_cmd(
    input_: InputOpt,
    out: Annotated[Path, typer.Option("--out", help="Output table, .csv or .parquet.")],
    id_col: IdOpt = None,
    drug_col: DrugOpt = None,
    event_col: EventOpt = None,
    strata: StrataOpt = None,
    theta: ThetaOpt = None,
    roles: RolesOpt = "PS,SS",
    margins: MarginsOpt = "reports",
    backend: BackendOpt = "duckdb",
    likelihood: LikOpt = "auto",
    squash: SquashOpt = "auto",
    normalize: NormOpt = False,
    synonyms: Synonyms = None,
    json_out: JsonFlag = False,
) -> None:
    """Score every (product, event) pair: n, expected, PRR, ROR (+CI), IC (IC025), Qn, EBGM, EB05, EB95."""
    from taperwise.jsonout import emit

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ValidationError(f"--out '{out}' must end in .csv or .parquet")
    res = _run_score(
        input_,
        id_col=id_col,
        drug_col=drug_col,
        event_col=event_col,
        strata=strata,
        theta=theta,
        roles=roles,
        margins=margins,
        backend=backend,
        likelihood=likelihood,
        squash=squash,
        normalize=normalize,
        synonyms=synonyms,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        res.table.to_csv(out, index=False, float_format="%.10g")
    else:
        res.table.to_parquet(out, index=False)
    if json_out:
        summary = res.summary()
        summary["out"] = str(out)
        emit(summary)
        return
    t = res.theta
    console.print(
        f"{res.pairs} pairs, {res.reports} reports; theta = ({t[0]:.6g}, {t[1]:.6g}, {t[2]:.6g}, {t[3]:.6g}, {t[4]:.6g}), "
        f"-LL {res.neg_loglik:.6f}"
    )
    typer.echo(str(out))


@signals_app.command("top")
def top_cmd(
    drug: Annotated[
        str,
        typer.Option(
            "--drug", help="Product or group, e.g. kratom (names are folded and grouped)."
        ),
    ],
    scores: Annotated[
        Path | None, typer.Option("--scores", help="A table written by 'signals score'.")
    ] = None,
    input_: Annotated[
        Path | None,
        typer.Option("--input", help="Score this dataset/CSV first (normalised names)."),
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Rank by eb05 (default), ebgm, prr, ror_lb, ic025 or n.")
    ] = "eb05",
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 20,
    min_n: Annotated[
        int, typer.Option("--min-n", help="Only pairs with at least this many reports.")
    ] = 1,
    roles: RolesOpt = "PS,SS",
    synonyms: Synonyms = None,
    json_out: JsonFlag = False,
) -> None:
    """Print the ranked events of one product (or product group such as kratom)."""
    import pandas as pd
    from rich.table import Table

    from taperwise.jsonout import emit
    from taperwise.signals.normalize import ProductNormalizer

    allowed = ("eb05", "ebgm", "prr", "ror_lb", "ic025", "n")
    if by not in allowed:
        raise ValidationError(f"--by '{by}' is not allowed; use {', '.join(allowed)}")
    if (scores is None) == (input_ is None):
        raise ValidationError("give exactly one of --scores FILE or --input DATASET")
    if scores is not None:
        if not scores.exists():
            raise ValidationError(f"--scores '{scores}' not found")
        table = (
            pd.read_parquet(scores)
            if scores.suffix.lower() == ".parquet"
            else pd.read_csv(scores, keep_default_na=False, na_values=[""])
        )
        missing = {"drug", "event", "n", by} - set(table.columns)
        if missing:
            raise ValidationError(
                f"{scores}: not a 'signals score' table (missing {', '.join(sorted(missing))})"
            )
    else:
        assert input_ is not None
        res = _run_score(
            input_,
            id_col=None,
            drug_col=None,
            event_col=None,
            strata=None,
            theta=None,
            roles=roles,
            margins="reports",
            backend="duckdb",
            likelihood="auto",
            squash="auto",
            normalize=True,
            synonyms=synonyms,
        )
        table = res.table
    norm = ProductNormalizer.default(synonyms)
    target = norm(drug)
    groups = {str(d): norm(d) for d in pd.unique(table["drug"].astype(str))}
    sel = table[table["drug"].astype(str).map(groups) == target]
    sel = sel[sel["n"] >= min_n].sort_values(by, ascending=False).head(limit)
    cols = [
        c
        for c in (
            "drug",
            "event",
            "n",
            "expected",
            "prr",
            "ror_lb",
            "ic025",
            "ebgm",
            "eb05",
            "eb95",
        )
        if c in sel.columns
    ]
    if json_out:
        emit(
            {
                "drug": drug,
                "group": target,
                "by": by,
                "rows": sel[cols].astype({"drug": str, "event": str}).to_dict(orient="records"),
            }
        )
        return
    if sel.empty:
        console.print(f"no pair for '{drug}' (group {target}) with n >= {min_n}")
        return
    tab = Table(title=f"{target}: events ranked by {by}")
    for c in cols:
        tab.add_column(c, justify="left" if c in ("drug", "event") else "right")
    for _, row in sel[cols].iterrows():
        tab.add_row(
            *[str(row[c]) if c in ("drug", "event", "n") else f"{float(row[c]):.3g}" for c in cols]
        )
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 160).print(tab)


def register(app: typer.Typer) -> None:
    """Add the ``signals`` command group."""
    app.add_typer(signals_app, name="signals")
