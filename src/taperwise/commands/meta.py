"""`taperwise meta`: meta-analysis of published studies (metafor-compatible engine).

``taperwise meta --data CSV --measure RR --ai COL --bi COL --ci COL --di COL --json`` fits the
model; sub-commands (``mh``, ``peto``, ``regtest``, ``ranktest``, ``trimfill``, ``leave1out``,
``influence``, ``cumul``, ``confint``, ``permutest``, ``forest``, ``funnel``) take the same data
options.
"""

# No ``from __future__ import annotations`` here: the shared options are attached to each
# command's signature at import time and typer needs real annotation objects.

import functools
import inspect
import math
from pathlib import Path
from typing import Annotated, Any

import typer

DATA_OPTIONS: list[tuple[str, Any, Any]] = [
    ("data", Path | None, typer.Option("--data", help="CSV file, one row per study.")),
    (
        "measure",
        str | None,
        typer.Option(
            "--measure",
            help="Effect size: RR, OR, RD, PETO, AS, MD, SMD, SMDH, ROM, MN, PR, PLO, PAS, ZCOR.",
        ),
    ),
    ("ai", str | None, typer.Option("--ai", help="Column: events, treatment arm.")),
    ("bi", str | None, typer.Option("--bi", help="Column: non-events, treatment arm.")),
    ("ci", str | None, typer.Option("--ci", help="Column: events, control arm.")),
    ("di", str | None, typer.Option("--di", help="Column: non-events, control arm.")),
    ("n1i", str | None, typer.Option("--n1i", help="Column: treatment-arm size.")),
    ("n2i", str | None, typer.Option("--n2i", help="Column: control-arm size.")),
    ("m1i", str | None, typer.Option("--m1i", help="Column: treatment-arm mean.")),
    ("sd1i", str | None, typer.Option("--sd1i", help="Column: treatment-arm SD.")),
    ("m2i", str | None, typer.Option("--m2i", help="Column: control-arm mean.")),
    ("sd2i", str | None, typer.Option("--sd2i", help="Column: control-arm SD.")),
    ("xi", str | None, typer.Option("--xi", help="Column: events (single-group proportions).")),
    (
        "ni",
        str | None,
        typer.Option(
            "--ni", help="Column: sample size (proportions, ZCOR, regtest ni predictors)."
        ),
    ),
    ("ri", str | None, typer.Option("--ri", help="Column: correlation (ZCOR).")),
    ("yi", str | None, typer.Option("--yi", help="Column: precomputed effect sizes.")),
    ("vi", str | None, typer.Option("--vi", help="Column: sampling variances (with --yi).")),
    (
        "sei",
        str | None,
        typer.Option("--sei", help="Column: standard errors (with --yi, instead of --vi)."),
    ),
    ("add", float, typer.Option("--add", help="Added to zero cells (metafor add).")),
    ("to", str, typer.Option("--to", help="Which tables get --add: only0, all, if0all, none.")),
    (
        "drop00",
        bool,
        typer.Option("--drop00/--keep00", help="Drop tables with no events in both arms."),
    ),
    (
        "method",
        str,
        typer.Option(
            "--method",
            help="tau^2 estimator: EE, DL, HE, HS, SJ, ML, REML, EB, PM, GENQ, DLIT, SJIT.",
        ),
    ),
    ("test", str, typer.Option("--test", help="z, t or knha (Knapp-Hartung).")),
    (
        "mods",
        str | None,
        typer.Option("--mods", help='Moderator formula, e.g. "~ ablat + factor(alloc)".'),
    ),
    (
        "weights",
        str | None,
        typer.Option("--weights", help="Column: user weights (needed for GENQ)."),
    ),
    ("level", float, typer.Option("--level", help="Confidence level in percent.")),
    (
        "stopping",
        str,
        typer.Option("--stopping", help="metafor (metafor-compatible iteration) or tight."),
    ),
    ("labels", str | None, typer.Option("--labels", help="Column with study labels.")),
    ("json_output", bool, typer.Option("--json", help="Print one JSON document.")),
]
DEFAULTS: dict[str, Any] = {
    name: None for name, _, _ in DATA_OPTIONS
} | {"add": 0.5, "to": "only0", "drop00": False, "method": "REML", "test": "z", "level": 95.0,
     "stopping": "metafor", "json_output": False}  # fmt: skip
DATA_NAMES = [name for name, _, _ in DATA_OPTIONS]


def with_data_options(func):
    """Append the shared data options to a command's signature; pass them as ``opts`` (a dict)."""
    sig = inspect.signature(func)
    own = [p for p in sig.parameters.values() if p.name != "opts"]
    extra = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=DEFAULTS[name],
            annotation=Annotated[typ, opt],
        )  # fmt: skip
        for name, typ, opt in DATA_OPTIONS
    ]
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]

    @functools.wraps(func)
    def wrapper(**kwargs):
        opts = {name: kwargs.pop(name) for name in DATA_NAMES}
        return func(opts=opts, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=own + extra)
    wrapper.__annotations__ = {p.name: p.annotation for p in own + extra}
    return wrapper


# ----------------------------------------------------------------------------- data loading


def _read(opts: dict[str, Any]):
    import pandas as pd

    from taperwise.errors import DataFileError, ValidationError

    path = opts["data"]
    if path is None:
        raise ValidationError("meta: --data CSV is required")
    if not Path(path).is_file():
        raise DataFileError(f"{path}: file not found")
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # pandas raises several parser errors
        raise DataFileError(f"{path}: cannot read CSV ({exc})") from None
    if df.empty:
        raise DataFileError(f"{path}: no rows")
    for key in ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i", "xi", "ni", "ri",
                "yi", "vi", "sei", "weights", "labels"):  # fmt: skip
        col = opts.get(key)
        if col is not None and col not in df.columns:
            raise ValidationError(
                f"{path}: column '{col}' (--{key}) not found; columns are {', '.join(map(str, df.columns))}"
            )
    return df


def _effects(opts: dict[str, Any]):
    """Data frame with yi, vi (escalc or given) and the study labels."""
    from taperwise.errors import ValidationError
    from taperwise.stats.meta import escalc

    df = _read(opts)
    if opts["yi"] is not None:
        if opts["vi"] is None and opts["sei"] is None:
            raise ValidationError("meta: --yi needs --vi or --sei")
        dat = df.copy()
        dat["yi"] = df[opts["yi"]].astype(float)
        dat["vi"] = (
            df[opts["vi"]].astype(float)
            if opts["vi"] is not None
            else df[opts["sei"]].astype(float) ** 2
        )
    else:
        if opts["measure"] is None:
            raise ValidationError(
                "meta: give --measure with the count/mean columns, or --yi and --vi"
            )
        cols = {
            k: opts[k]
            for k in (
                "ai",
                "bi",
                "ci",
                "di",
                "n1i",
                "n2i",
                "m1i",
                "sd1i",
                "m2i",
                "sd2i",
                "xi",
                "ni",
                "ri",
            )
        }
        dat = escalc(
            opts["measure"], data=df, add=opts["add"], to=opts["to"], drop00=opts["drop00"],
            **{k: v for k, v in cols.items() if v is not None},
        )  # fmt: skip
    labels = (
        df[opts["labels"]].astype(str).tolist()
        if opts["labels"]
        else [str(i + 1) for i in range(len(df))]
    )
    dat["_label"] = labels
    return dat


def _fit(opts: dict[str, Any]):
    from taperwise.stats.meta import RMA

    dat = _effects(opts)
    keep = dat["yi"].notna() & dat["vi"].notna()
    dat = dat[keep].reset_index(drop=True)
    model = RMA(method=opts["method"], test=opts["test"], mods=opts["mods"], level=opts["level"],
                stopping=opts["stopping"])  # fmt: skip
    res = model.fit(yi="yi", vi="vi", data=dat, weights=opts["weights"])
    return res, dat


def pd_series_labels(n: int):
    import pandas as pd

    return pd.Series([str(i + 1) for i in range(n)])


def _xlab(opts: dict[str, Any]) -> str:
    names = {"RR": "Log Risk Ratio", "OR": "Log Odds Ratio", "RD": "Risk Difference", "PETO": "Log Odds Ratio",
             "SMD": "Standardized Mean Difference", "SMDH": "Standardized Mean Difference", "MD": "Mean Difference",
             "ROM": "Log Ratio of Means", "PLO": "Log Odds", "PR": "Proportion", "ZCOR": "Fisher's z"}  # fmt: skip
    return names.get(str(opts.get("measure") or "").upper(), "Observed Outcome")


def _out(doc: dict[str, Any], opts: dict[str, Any], text: str) -> None:
    from taperwise.jsonout import emit

    if opts["json_output"]:
        emit(doc)
    else:
        typer.echo(text)


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NA"
    return f"{x:.4f}" if isinstance(x, float) else str(x)


def _table_text(frame) -> str:
    return frame.to_string(float_format=lambda v: f"{v:.4f}")


# ----------------------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    meta_app = typer.Typer(
        help="Meta-analysis (metafor-compatible): pool published studies, test heterogeneity and bias.",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @meta_app.callback()
    @with_data_options
    def meta(ctx: typer.Context, opts: dict[str, Any] = None) -> None:  # type: ignore[assignment]
        """Fit an equal-, random- or mixed-effects model (metafor rma.uni)."""
        if ctx.invoked_subcommand is not None:
            return
        if opts["data"] is None:
            typer.echo(ctx.get_help())
            return
        res, _ = _fit(opts)
        doc = {"measure": opts["measure"], **res.to_dict()}
        lines = [
            f"{res.method} model (k = {res.k}; tau^2 = {_fmt(res.tau2)}, I^2 = {_fmt(res.I2)}%, H^2 = {_fmt(res.H2)})",
            f"Q(df = {res.k - res.p}) = {_fmt(res.QE)}, p = {_fmt(res.QEp)}",
            _table_text(res.summary()),
        ]
        if res.intercept_only:
            lines.append(f"prediction interval: [{_fmt(res.pi_lb)}, {_fmt(res.pi_ub)}]")
        else:
            lines.append(f"QM = {_fmt(res.QM)}, p = {_fmt(res.QMp)}; R^2 = {_fmt(res.R2)}%")
        _out(doc, opts, "\n".join(lines))

    def _binary_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
        from taperwise.errors import ValidationError

        df = _read(opts)
        if opts["ai"] is None or opts["ci"] is None:
            raise ValidationError("meta mh/peto: give --ai and --ci with --bi/--di or --n1i/--n2i")
        kw = {k: opts[k] for k in ("ai", "bi", "ci", "di", "n1i", "n2i")}
        if kw["bi"] is None and kw["n1i"] is None or kw["di"] is None and kw["n2i"] is None:
            raise ValidationError("meta mh/peto: give --bi/--di or --n1i/--n2i")
        return {**kw, "data": df, "level": opts["level"]}

    @meta_app.command("mh")
    @with_data_options
    def mh(opts: dict[str, Any] = None) -> None:  # type: ignore[assignment]
        """Mantel-Haenszel pooled OR / RR / RD (metafor rma.mh); --measure OR (default), RR or RD."""
        from taperwise.stats.meta import rma_mh

        res = rma_mh(str(opts["measure"] or "OR"), **_binary_kwargs(opts))
        doc = res.to_dict()
        _out(doc, opts, "\n".join(f"{k}: {_fmt(v)}" for k, v in doc.items() if k != "provenance"))

    @meta_app.command("peto")
    @with_data_options
    def peto(opts: dict[str, Any] = None) -> None:  # type: ignore[assignment]
        """Peto's pooled log odds ratio (metafor rma.peto)."""
        from taperwise.stats.meta import rma_peto

        res = rma_peto(**_binary_kwargs(opts))
        doc = res.to_dict()
        _out(doc, opts, "\n".join(f"{k}: {_fmt(v)}" for k, v in doc.items() if k != "provenance"))

    @meta_app.command("regtest")
    @with_data_options
    def regtest_cmd(
        model: Annotated[
            str, typer.Option("--model", help="rma (default) or lm (classic Egger).")
        ] = "rma",
        predictor: Annotated[
            str, typer.Option("--predictor", help="sei, vi, ni, ninv or sqrtninv.")
        ] = "sei",
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Egger-type regression test for funnel-plot asymmetry (metafor regtest)."""
        from taperwise.stats.meta import regtest

        res, dat = _fit(opts)
        ni = None
        if predictor in ("ni", "ninv", "sqrtninv"):
            if opts["ni"] is not None:
                ni = dat[opts["ni"]].to_numpy(float)
            elif opts["n1i"] is not None and opts["n2i"] is not None:
                ni = (dat[opts["n1i"]] + dat[opts["n2i"]]).to_numpy(float)
            elif opts["ai"] and opts["bi"] and opts["ci"] and opts["di"]:
                ni = (
                    dat[[opts["ai"], opts["bi"], opts["ci"], opts["di"]]]
                    .sum(axis=1)
                    .to_numpy(float)
                )
        out = regtest(res, model=model, predictor=predictor, ni=ni)
        doc = out.to_dict()
        _out(doc, opts, "\n".join(f"{k}: {_fmt(v)}" for k, v in doc.items() if k != "provenance"))

    @meta_app.command("ranktest")
    @with_data_options
    def ranktest_cmd(opts: dict[str, Any] = None) -> None:  # type: ignore[assignment]
        """Begg-Mazumdar rank correlation test (metafor ranktest)."""
        from taperwise.stats.meta import ranktest

        res, _ = _fit(opts)
        doc = ranktest(res)
        _out(doc, opts, f"Kendall's tau = {_fmt(doc['statistic'])}, p = {_fmt(doc['pval'])}")

    @meta_app.command("trimfill")
    @with_data_options
    def trimfill_cmd(
        estimator: Annotated[str, typer.Option("--estimator", help="L0 (default) or R0.")] = "L0",
        side: Annotated[
            str | None, typer.Option("--side", help="left or right (default: estimated).")
        ] = None,
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Duval-Tweedie trim-and-fill (metafor trimfill)."""
        from taperwise.stats.meta import trimfill

        res, _ = _fit(opts)
        tf = trimfill(res, estimator=estimator, side=side)
        doc = tf.to_dict()
        _out(
            doc,
            opts,
            "\n".join(
                f"{k}: {_fmt(v)}" for k, v in doc.items() if k not in ("provenance", "filled")
            ),
        )

    def _frame_doc(frame, res, opts, what: str) -> None:
        frame = frame.copy()
        frame.index = frame.index.astype(str)
        rows = [
            {"study": idx, **row}
            for idx, row in zip(frame.index, frame.to_dict(orient="records"), strict=True)
        ]
        doc = {"k": res.k, "method": res.method, "rows": rows, "provenance": res.provenance}
        _out(doc, opts, f"{what}\n{_table_text(frame)}")

    def _pooled(opts: dict[str, Any], pooling: str):
        """The fitted model for leave1out / cumul: rma (default), mh or peto."""
        from taperwise.errors import ValidationError
        from taperwise.stats.meta import rma_mh, rma_peto

        if pooling == "rma":
            return _fit(opts)
        if pooling not in ("mh", "peto"):
            raise ValidationError(
                f"meta: --pooling '{pooling}' not allowed; allowed: rma, mh, peto"
            )
        kw = _binary_kwargs(opts)
        df = kw["data"]
        res = rma_mh(str(opts["measure"] or "OR"), **kw) if pooling == "mh" else rma_peto(**kw)
        if res.k != len(df):
            raise ValidationError(
                "meta: --pooling mh/peto needs every row to have two non-empty arms"
            )
        labels = df[opts["labels"]].astype(str) if opts["labels"] else pd_series_labels(len(df))
        return res, df.assign(_label=labels.to_numpy())

    pooling_opt = typer.Option("--pooling", help="rma (default), mh (Mantel-Haenszel) or peto.")

    @meta_app.command("leave1out")
    @with_data_options
    def leave1out_cmd(
        pooling: Annotated[str, pooling_opt] = "rma",
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Leave-one-out estimates (metafor leave1out)."""
        from taperwise.stats.meta import leave1out

        res, dat = _pooled(opts, pooling)
        _frame_doc(leave1out(res, labels=dat["_label"]), res, opts, "leave-one-out")

    @meta_app.command("influence")
    @with_data_options
    def influence_cmd(opts: dict[str, Any] = None) -> None:  # type: ignore[assignment]
        """Influence diagnostics (metafor influence)."""
        from taperwise.stats.meta import influence

        res, dat = _fit(opts)
        _frame_doc(influence(res, labels=dat["_label"]), res, opts, "influence diagnostics")

    @meta_app.command("cumul")
    @with_data_options
    def cumul_cmd(
        order: Annotated[
            str | None, typer.Option("--order", help="Column to order by (e.g. year).")
        ] = None,
        pooling: Annotated[str, pooling_opt] = "rma",
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Cumulative meta-analysis (metafor cumul)."""
        from taperwise.errors import ValidationError
        from taperwise.stats.meta import cumul

        res, dat = _pooled(opts, pooling)
        if order is not None and order not in dat.columns:
            raise ValidationError(f"{opts['data']}: column '{order}' (--order) not found")
        key = dat[order].to_numpy() if order else None
        _frame_doc(
            cumul(res, order=key, labels=dat["_label"]), res, opts, "cumulative meta-analysis"
        )

    @meta_app.command("confint")
    @with_data_options
    def confint_cmd(
        type_: Annotated[
            str, typer.Option("--type", help="QP (Q-profile, default) or PL (profile likelihood).")
        ] = "QP",
        solver: Annotated[
            str | None, typer.Option("--solver", help="metafor or exact root finding.")
        ] = None,
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Confidence intervals for tau^2, tau, I^2, H^2 (metafor confint)."""
        from taperwise.stats.meta import confint_tau2

        res, _ = _fit(opts)
        ci = confint_tau2(res, type=type_, solver=solver)
        _out(ci.to_dict(), opts, _table_text(ci.table()))

    @meta_app.command("permutest")
    @with_data_options
    def permutest_cmd(
        iterations: Annotated[
            int, typer.Option("--iter", help="Permutations (exact when all fit).")
        ] = 1000,
        seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Permutation test of the coefficients (metafor permutest)."""
        from taperwise.stats.meta import permutest

        res, _ = _fit(opts)
        doc = permutest(res, iter=iterations, seed=seed)
        _out(doc, opts, "\n".join(f"{k}: {v}" for k, v in doc.items()))

    @meta_app.command("forest")
    @with_data_options
    def forest_cmd(
        out: Annotated[Path, typer.Option("--out", help="Output file (.png or .svg).")],
        exp: Annotated[
            bool, typer.Option("--exp", help="Label the axis on the exponentiated scale.")
        ] = False,
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Forest plot (PNG/SVG)."""
        import numpy as np

        from taperwise.report.meta_plots import forest_plot

        res, dat = _fit(opts)
        xlab = _xlab(opts)
        if exp and xlab.startswith("Log "):
            xlab = xlab[4:] + " (log scale)"
        path = forest_plot(
            res, out, labels=dat["_label"].tolist(), transf=np.exp if exp else None, xlab=xlab
        )
        _out({"out": str(path), "k": res.k}, opts, f"wrote {path}")

    @meta_app.command("funnel")
    @with_data_options
    def funnel_cmd(
        out: Annotated[Path, typer.Option("--out", help="Output file (.png or .svg).")],
        fill: Annotated[
            bool, typer.Option("--trimfill", help="Add trim-and-fill studies.")
        ] = False,
        opts: dict[str, Any] = None,  # type: ignore[assignment]
    ) -> None:
        """Funnel plot (PNG/SVG)."""
        from taperwise.report.meta_plots import funnel_plot
        from taperwise.stats.meta import trimfill

        res, _ = _fit(opts)
        filled = trimfill(res).filled if fill else None
        path = funnel_plot(res, out, xlab=_xlab(opts), filled=filled)
        _out({"out": str(path), "k": res.k}, opts, f"wrote {path}")

    app.add_typer(meta_app, name="meta")
