"""Which of taperwise / PyMARE / statsmodels reproduce each metafor reference value?

Runs PyMARE and statsmodels on the same data (dat.bcg, dat.hine1989, dat.normand1999 from
``shared/reference-data/metadat``) for every reference value of stats-anchors.md section 2 that
the peer can compute at all, and checks it at the reference's own tolerance (FP values: 1e-9
relative; printed values: half a unit of the last printed digit). Peers get the yi/vi that
taperwise's escalc computes when they have no effect-size function of their own for the measure.

Usage: ``python benchmarks/compare_meta_peers.py [--markdown FILE]``
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
REF_DIR = ROOT / "tests" / "reference" / "meta"
DATA = Path(
    __import__("os").environ.get(
        "TAPERWISE_REFERENCE_DATA", ROOT.parent / "shared" / "reference-data"
    )
)
META = DATA / "metadat"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def pymare_values() -> dict[str, float]:
    """Values PyMARE 0.0.13 can compute (z tests via small_sample_correction='wald')."""
    from pymare import Dataset
    from pymare.estimators import (
        DerSimonianLaird,
        VarianceBasedLikelihoodEstimator,
        WeightedLeastSquares,
    )

    from taperwise.stats.meta import escalc

    out: dict[str, float] = {}
    bcg = pd.read_csv(META / "dat.bcg.csv")
    d = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    y, v = d.yi.to_numpy(), d.vi.to_numpy()

    def fe(est, prefix, names=("estimate", "se", "zval", "ci_lb", "ci_ub")):
        s = est.summary()
        st = s.get_fe_stats()
        m = {"estimate": st["est"], "se": st["se"], "zval": st["z"], "ci_lb": st["ci_l"], "ci_ub": st["ci_u"],
             "pval": st["p"]}  # fmt: skip
        for n in names:
            out[f"{prefix}.{n}"] = float(np.ravel(m[n])[0])
        return s

    ds = Dataset(y=y, v=v)
    s = fe(
        VarianceBasedLikelihoodEstimator(method="REML", small_sample_correction="wald").fit_dataset(
            ds
        ),
        "REML",
    )
    tau2 = float(np.ravel(s.tau2)[0])
    out["REML.tau2"] = out["REML.tau2.FP"] = tau2
    out["REML.tau"] = math.sqrt(tau2)
    het = s.get_heterogeneity_stats()
    out["REML.QE"] = out["REML.QE.FP"] = float(np.ravel(het["Q"])[0])
    out["REML.I2"] = float(np.ravel(het["I^2"])[0])  # PyMARE's I^2 is Q-based
    re = s.get_re_stats()
    out["REML.QP.tau2.lb"], out["REML.QP.tau2.ub"] = (
        float(np.ravel(re["ci_l"])[0]),
        float(np.ravel(re["ci_u"])[0]),
    )
    out["REML.QP.tau.lb"], out["REML.QP.tau.ub"] = (
        math.sqrt(out["REML.QP.tau2.lb"]),
        math.sqrt(out["REML.QP.tau2.ub"]),
    )
    sk = fe(
        VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(ds),
        "KNHA",
        ("se", "zval", "ci_lb", "ci_ub"),
    )
    out["KNHA.tval"] = out.pop("KNHA.zval")
    out["KNHA.pval"] = float(np.ravel(sk.get_fe_stats()["p"])[0])
    s = fe(
        VarianceBasedLikelihoodEstimator(method="ML", small_sample_correction="wald").fit_dataset(
            ds
        ),
        "ML",
    )
    out["ML.tau2"] = float(np.ravel(s.tau2)[0])
    out["ML.tau"] = math.sqrt(out["ML.tau2"])
    s = fe(
        DerSimonianLaird(small_sample_correction="wald").fit_dataset(ds),
        "DL",
        ("estimate", "zval", "ci_lb", "ci_ub"),
    )
    out["DL.tau2"] = float(np.ravel(s.tau2)[0])
    out["DL.tau"] = math.sqrt(out["DL.tau2"])
    out["DL.I2"] = float(np.ravel(s.get_heterogeneity_stats()["I^2"])[0])
    s = fe(WeightedLeastSquares(tau2=0).fit_dataset(ds), "EE")
    out["EE.QE"] = float(np.ravel(s.get_heterogeneity_stats()["Q"])[0])
    out["EE.I2"] = float(np.ravel(s.get_heterogeneity_stats()["I^2"])[0])
    # meta-regression ~ ablat
    dsx = Dataset(y=y, v=v, X=bcg[["ablat"]].to_numpy(float), X_names=["ablat"])
    s = (
        VarianceBasedLikelihoodEstimator(method="REML", small_sample_correction="wald")
        .fit_dataset(dsx)
        .summary()
    )
    st = s.get_fe_stats()
    out["ABLAT.tau2"] = float(np.ravel(s.tau2)[0])
    for j, term in enumerate(("intrcpt", "ablat")):
        for key, name in (
            ("est", "estimate"),
            ("se", "se"),
            ("z", "zval"),
            ("ci_l", "ci_lb"),
            ("ci_u", "ci_ub"),
        ):
            out[f"ABLAT.{term}.{name}"] = float(np.ravel(st[key])[j])
    out["ABLAT.QE"] = float(np.ravel(s.get_heterogeneity_stats()["Q"])[0])
    s = VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(dsx).summary()
    st = s.get_fe_stats()
    for j, term in enumerate(("intrcpt", "ablat")):
        for key, name in (("se", "se"), ("z", "tval"), ("ci_l", "ci_lb"), ("ci_u", "ci_ub")):
            out[f"ABLAT.KNHA.{term}.{name}"] = float(np.ravel(st[key])[j])
    # hine1989 RD x 100 (stats-anchors section 5: DL must truncate at 0)
    hd = pd.read_csv(META / "dat.hine1989.csv")
    eh = escalc("RD", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=hd)
    dh = Dataset(y=eh.yi.to_numpy() * 100, v=eh.vi.to_numpy() * 1e4)
    for name, est in (("DL", DerSimonianLaird(small_sample_correction="wald")),
                      ("REML", VarianceBasedLikelihoodEstimator(method="REML", small_sample_correction="wald")),
                      ("EE", WeightedLeastSquares(tau2=0))):  # fmt: skip
        s = est.fit_dataset(dh).summary()
        st = s.get_fe_stats()
        out[f"HINE.RD100.{name}.estimate"] = float(np.ravel(st["est"])[0])
        out[f"HINE.RD100.{name}.ci_lb"] = float(np.ravel(st["ci_l"])[0])
        out[f"HINE.RD100.{name}.ci_ub"] = float(np.ravel(st["ci_u"])[0])
        out[f"HINE.RD100.{name}.tau2"] = float(np.ravel(s.tau2)[0]) if name != "EE" else 0.0
    return out


def statsmodels_values() -> dict[str, float]:
    """Values statsmodels 0.15 can compute (combine_effects, effectsize_*, StratifiedTable)."""
    from statsmodels.stats.contingency_tables import StratifiedTable
    from statsmodels.stats.meta_analysis import (
        combine_effects,
        effectsize_2proportions,
        effectsize_smd,
    )

    out: dict[str, float] = {}
    bcg = pd.read_csv(META / "dat.bcg.csv")
    n1, n2 = bcg.tpos + bcg.tneg, bcg.cpos + bcg.cneg
    yi, vi = effectsize_2proportions(bcg.tpos, n1, bcg.cpos, n2, statistic="rr")
    for i in range(13):
        out[f"bcg.RR.yi[{i + 1}]"], out[f"bcg.RR.vi[{i + 1}]"] = float(yi[i]), float(vi[i])

    def frame(y, v, method_re):
        r = combine_effects(np.asarray(y, float), np.asarray(v, float), method_re=method_re)
        return r, r.summary_frame()

    for measure, stat in (("RR", "rr"), ("OR", "or"), ("RD", "diff")):
        y, v = effectsize_2proportions(bcg.tpos, n1, bcg.cpos, n2, statistic=stat)
        r, f = frame(y, v, "chi2")
        prefix = "" if measure == "RR" else f"{measure}."
        for model, row in (("DL", "random effect"), ("EE", "fixed effect")):
            est, se = float(f.loc[row, "eff"]), float(f.loc[row, "sd_eff"])
            out[f"{prefix}{model}.estimate"], out[f"{prefix}{model}.se"] = est, se
            out[f"{prefix}{model}.zval"] = est / se
            out[f"{prefix}{model}.ci_lb"], out[f"{prefix}{model}.ci_ub"] = (
                f.loc[row, "ci_low"],
                f.loc[row, "ci_upp"],
            )
            if measure != "RD":
                out[f"{prefix}{model}.exp.pred"] = math.exp(est)
                out[f"{prefix}{model}.exp.ci_lb"] = math.exp(f.loc[row, "ci_low"])
                out[f"{prefix}{model}.exp.ci_ub"] = math.exp(f.loc[row, "ci_upp"])
        out[f"{prefix}DL.tau2"] = float(r.tau2)
        out[f"{prefix}DL.I2"] = out[f"{prefix}EE.I2"] = 100 * float(r.i2)
        out[f"{prefix}EE.QE"] = float(r.q)
        if measure == "RR":
            out["DL.tau"] = math.sqrt(max(r.tau2, 0))
            out["EE.H2"] = out["DL.H2"] = float(r.h2) if hasattr(r, "h2") else float(r.q) / 12
            rp, _ = frame(y, v, "iterated")
            out["DLIT.tau2"] = out["SJIT.tau2"] = float(rp.tau2)
    tables = np.stack([np.array([[a, b], [c, d]]) for a, b, c, d in bcg[["tpos", "tneg", "cpos", "cneg"]].to_numpy()],
                      axis=2).astype(float)  # fmt: skip
    st = StratifiedTable(tables)
    est, se = float(st.logodds_pooled), float(st.logodds_pooled_se)
    out["MH.OR.estimate"], out["MH.OR.se"], out["MH.OR.zval"] = est, se, est / se
    lo, hi = st.logodds_pooled_confint()
    out["MH.OR.ci_lb"], out["MH.OR.ci_ub"] = float(lo), float(hi)
    out["MH.OR.exp.pred"], out["MH.OR.exp.ci_lb"], out["MH.OR.exp.ci_ub"] = (
        math.exp(est),
        math.exp(lo),
        math.exp(hi),
    )
    out["MH.OR.CMH"] = float(st.test_null_odds(correction=True).statistic)
    out["MH.OR.TA"] = float(st.test_equal_odds(adjust=True).statistic)
    rr = float(st.riskratio_pooled)
    out["MH.RR.estimate"], out["MH.RR.exp.pred"] = math.log(rr), rr
    nd = pd.read_csv(META / "dat.normand1999.csv").iloc[:4]
    g, vg = effectsize_smd(nd.m1i, nd.sd1i, nd.n1i, nd.m2i, nd.sd2i, nd.n2i)
    for i in range(4):
        out[f"NORMAND.SMD.yi[{i + 1}]"], out[f"NORMAND.SMD.vi[{i + 1}]"] = float(g[i]), float(vg[i])
    hd = pd.read_csv(META / "dat.hine1989.csv")
    y, v = effectsize_2proportions(hd.ai, hd.n1i, hd.ci, hd.n2i, statistic="diff")
    for i in range(6):
        out[f"HINE.RD100.yi[{i + 1}]"], out[f"HINE.RD100.vi[{i + 1}]"] = (
            float(y[i]) * 100,
            float(v[i]) * 1e4,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r, f = frame(np.asarray(y) * 100, np.asarray(v) * 1e4, "chi2")
    for model, row in (("DL", "random effect"), ("EE", "fixed effect")):
        out[f"HINE.RD100.{model}.estimate"] = float(f.loc[row, "eff"])
        out[f"HINE.RD100.{model}.ci_lb"], out[f"HINE.RD100.{model}.ci_ub"] = (
            f.loc[row, "ci_low"],
            f.loc[row, "ci_upp"],
        )
    out["HINE.RD100.DL.tau2"] = float(r.tau2)
    out["HINE.RD100.EE.tau2"] = 0.0
    return out


def _ok(ref, value: float | None) -> str:
    if value is None:
        return "—"
    if not np.isfinite(value):
        return "✗ (nan)"
    tol = 1e-9 * abs(ref.value) + 1e-12 if ref.dp is None else 0.5 * 10.0**-ref.dp + 1e-12
    return "✓" if abs(value - ref.value) <= tol else f"✗ ({value:.6g})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--markdown", type=Path, help="write the per-value table to this markdown file"
    )
    args = parser.parse_args(argv)
    anchors = _load("meta_metafor_anchors", REF_DIR / "metafor_anchors.py")
    ours = _load("meta_compute_taperwise", REF_DIR / "compute_taperwise.py").compute(META)
    peers = {"PyMARE": pymare_values(), "statsmodels": statsmodels_values()}
    rows = []
    counts = {"taperwise": 0, "PyMARE": 0, "statsmodels": 0}
    attempted = {"taperwise": 0, "PyMARE": 0, "statsmodels": 0}
    for ref in anchors.REFS:
        row = {
            "id": ref.id,
            "metafor": ref.value,
            "tolerance": "1e-9 rel" if ref.dp is None else f"{ref.dp} dp",
        }
        for name, vals in (("taperwise", ours), *peers.items()):
            mark = _ok(ref, vals.get(ref.id))
            row[name] = mark
            attempted[name] += ref.id in vals
            counts[name] += mark == "✓"
        rows.append(row)
    table = pd.DataFrame(rows)
    n = len(anchors.REFS)
    summary = [f"| {k} | {counts[k]} / {n} | {attempted[k]} |" for k in counts]
    text = [
        "| package | reproduced (of all §2 values) | values it can compute at all |",
        "|---|---|---|",
        *summary,
    ]
    print("\n".join(text))
    if args.markdown:
        md = [
            "| id | metafor | tolerance | taperwise | PyMARE | statsmodels |",
            "|---|---|---|---|---|---|",
        ]
        md += [f"| {r['id']} | {r['metafor']:g} | {r['tolerance']} | {r['taperwise']} | {r['PyMARE']} | "
               f"{r['statsmodels']} |" for r in rows]  # fmt: skip
        args.markdown.write_text("\n".join(text) + "\n\n" + "\n".join(md) + "\n", encoding="utf-8")
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
