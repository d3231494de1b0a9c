"""`taperwise mmrm`: fit a mixed model for repeated measures to a CSV file."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("mmrm")
    def mmrm(
        data: Path = typer.Option(..., "--data", help="CSV file, one row per subject and visit."),
        formula: str = typer.Option(
            ..., "--formula", help='e.g. "FEV1 ~ ARMCD*AVISIT + us(AVISIT | USUBJID)"'
        ),
        reml: bool = typer.Option(True, "--reml/--ml", help="REML (default) or ML."),
        df: str = typer.Option(
            "satterthwaite",
            "--df",
            help="satterthwaite|kenward-roger|kenward-roger-linear|residual|between-within",
        ),
        vcov: str = typer.Option(
            "asymptotic", "--vcov", help="asymptotic|empirical|jackknife|bias-reduced"
        ),
        weights: str | None = typer.Option(
            None, "--weights", help="Column of observation weights."
        ),
        levels: list[str] | None = typer.Option(
            None, "--levels", help="COL=A,B,...: level order, first = reference (repeatable)."
        ),
        lsmeans: list[str] | None = typer.Option(
            None, "--lsmeans", help="Factors for LS means, e.g. ARMCD:AVISIT (repeatable)."
        ),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Fit an MMRM (R mmrm formula syntax) and print coefficients, covariance and LS means."""
        import pandas as pd

        from taperwise.commands._common import parse_key_values
        from taperwise.errors import DataFileError
        from taperwise.jsonout import emit
        from taperwise.stats.mmrm import MMRM

        if not data.exists():
            raise DataFileError(f"{data}: file not found")
        try:
            frame = pd.read_csv(data)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise DataFileError(f"{data}: cannot read CSV ({str(exc).splitlines()[0]})") from exc
        lv = {
            k: [x.strip() for x in v.split(",") if x.strip()]
            for k, v in parse_key_values(levels, what="--levels").items()
        }
        model = MMRM(formula, reml=reml, df=df, vcov=vcov, weights=weights, levels=lv or None)
        res = model.fit(frame)
        table = res.summary()
        doc = {
            "formula": formula,
            "method": "REML" if reml else "ML",
            "df_method": df,
            "vcov": vcov,
            "n_obs": res.n_obs,
            "n_subjects": res.n_subjects,
            "deviance": res.deviance,
            "loglik": res.loglik,
            "aic": res.aic,
            "bic": res.bic,
            "converged": res.converged,
            "max_gradient": res.max_gradient,
            "coefficients": [
                {"term": term, "estimate": r.estimate, "se": r.se, "df": r.df, "t": r.t, "p": r.p}
                for term, r in table.iterrows()
            ],
            "covariance": {
                "structure": res.structure,
                "parameters": [{"name": k, "value": v} for k, v in res.cov_params.items()],
                "matrix": {
                    g: {"rows": list(m.index), "values": m.to_numpy()}
                    for g, m in res.covariance.items()
                },
            },
            "provenance": res.provenance,
        }
        if lsmeans:
            out = []
            for spec in lsmeans:
                by = [s.strip() for s in spec.split(":") if s.strip()]
                out.append({"by": by, "means": res.lsmeans(by=by).to_dict(orient="records")})
                if len(by) >= 1:
                    diff = res.lsmeans_diff(by[0], at=by[1:] or None)
                    out[-1]["differences"] = diff.to_dict(orient="records")
            doc["lsmeans"] = out
        if json_output:
            emit(doc)
            return
        from rich.console import Console
        from rich.table import Table

        con = Console(soft_wrap=True)  # piped output keeps each line whole
        con.print(f"MMRM {doc['method']}  {formula}")
        con.print(
            f"-2 log L {res.deviance:.6f}  AIC {res.aic:.4f}  BIC {res.bic:.4f}  converged {res.converged}"
        )
        t = Table("term", "estimate", "se", "df", "t", "p")
        for term, r in table.iterrows():
            t.add_row(
                term, f"{r.estimate:.6g}", f"{r.se:.6g}", f"{r.df:.4g}", f"{r.t:.4g}", f"{r.p:.4g}"
            )
        con.print(t)
        for g, m in res.covariance.items():
            con.print(f"covariance ({res.structure}, group {g}):")
            con.print(m.round(4).to_string())
        for item in doc.get("lsmeans", []):
            con.print(f"LS means by {':'.join(item['by'])}:")
            con.print(pd.DataFrame(item["means"]).round(4).to_string(index=False))
