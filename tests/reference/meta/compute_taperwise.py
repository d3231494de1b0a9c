"""taperwise's value for every id in ``metafor_anchors.REFS`` (used by the reference tests and by
``benchmarks/compare_meta_peers.py``). Models use ``stopping="metafor"`` (the default)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from taperwise.stats.meta import (
    RMA,
    confint_tau2,
    cumul,
    escalc,
    influence,
    leave1out,
    lrt,
    permutest,
    ranktest,
    regtest,
    rma_mh,
    rma_peto,
    robust,
)


def _put(
    out: dict[str, float], prefix: str, res, names=("estimate", "se", "zval", "ci_lb", "ci_ub")
) -> None:
    for n in names:
        out[f"{prefix}.{n}"] = float(getattr(res, n))


def _coefs(out: dict[str, float], prefix: str, res) -> None:
    for term, row in res.coefficients.items():
        t = term.replace("factor(alloc)", "")
        for q, v in row.items():
            out[f"{prefix}.{t}.{q}"] = v


def compute(root: Path) -> dict[str, float]:
    """All values, keyed as in the reference list. ``root``: the metadat folder."""
    out: dict[str, float] = {}
    bcg = pd.read_csv(root / "dat.bcg.csv")
    cells = dict(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    d = escalc("RR", **cells)
    for i in range(13):
        out[f"bcg.RR.yi[{i + 1}]"] = d.yi[i]
        out[f"bcg.RR.vi[{i + 1}]"] = d.vi[i]

    # 2.2 REML
    r = RMA().fit(yi="yi", vi="vi", data=d)
    _put(out, "REML", r)
    for n in ("tau2", "se_tau2", "tau", "I2", "H2", "QE"):
        out[f"REML.{n}"] = getattr(r, n)
    out["REML.tau2.FP"] = r.tau2
    out["REML.QE.FP"] = r.QE
    pe = r.predict(transf=np.exp).iloc[0]
    out["REML.exp.pred"], out["REML.exp.ci_lb"], out["REML.exp.ci_ub"] = pe.pred, pe.ci_lb, pe.ci_ub
    out["REML.predict.exp.pi_lb"], out["REML.predict.exp.pi_ub"] = pe.pi_lb, pe.pi_ub
    p0 = r.predict().iloc[0]
    out["REML.predict.pi_lb"], out["REML.predict.pi_ub"] = p0.pi_lb, p0.pi_ub
    out["REML.predict.prob_below_0"] = float(
        stats.norm.cdf(0, p0.pred, math.sqrt(p0.se**2 + r.tau2))
    )
    ci = confint_tau2(r)
    for q in ("tau2", "tau", "I2", "H2"):
        est, lb, ub = getattr(ci, q)
        out[f"REML.QP.{q}.lb"], out[f"REML.QP.{q}.ub"] = lb, ub
    rs = r.rstandard()
    for i in range(4):
        out[f"REML.rstandard.z[{i + 1}]"] = rs.z[i]
        out[f"REML.rstandard.resid[{i + 1}]"] = rs.resid[i]
        out[f"REML.rstandard.se[{i + 1}]"] = rs.se[i]
    rk = ranktest(r)
    out["REML.ranktest.tau"], out["REML.ranktest.pval"] = rk["statistic"], rk["pval"]
    inf = influence(r).iloc[0]
    for q in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"):
        out[f"REML.inf1.{q}"] = inf[q]
    out["REML.inf1.dfbs"] = inf["dfbs_intrcpt"]
    l1 = leave1out(r).iloc[0]
    for q in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2"):
        out[f"REML.l1o1.{q}"] = l1[q]
    cu = cumul(r, order=bcg.year.to_numpy())
    for i, v in enumerate(cu.estimate, start=1):
        out[f"REML.cumul.year[{i}]"] = v
    rb = robust(r)
    out["REML.robust.vcov"], out["REML.robust.tval"] = rb.vb[0, 0], rb.zval
    pb = rb.predict(transf=np.exp).iloc[0]
    out["REML.robust.exp.ci_lb"], out["REML.robust.exp.ci_ub"] = pb.ci_lb, pb.ci_ub
    out["REML.robust.exp.pi_lb"], out["REML.robust.exp.pi_ub"] = pb.pi_lb, pb.pi_ub
    rb0 = robust(r, adjust=False)
    out["REML.robust.noadj.vcov"], out["REML.robust.noadj.tval"] = rb0.vb[0, 0], rb0.zval
    rb2 = robust(r, type="CR2")
    out["REML.robust.CR2.vcov"], out["REML.robust.CR2.df"] = rb2.vb[0, 0], rb2.ddf
    out["REML.robust.CR2.tval"] = rb2.zval

    # 2.3 knha
    rk = RMA(test="knha").fit(yi="yi", vi="vi", data=d)
    out["KNHA.se"], out["KNHA.tval"], out["KNHA.pval"] = rk.se, rk.zval, rk.pval
    out["KNHA.ci_lb"], out["KNHA.ci_ub"] = rk.ci_lb, rk.ci_ub
    pk = rk.predict(transf=np.exp).iloc[0]
    for q in ("ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        out[f"KNHA.exp.{q}"] = pk[q]
    rg = regtest(rk)
    out["KNHA.regtest.t"], out["KNHA.regtest.df"], out["KNHA.regtest.pval"] = (
        rg.statistic,
        rg.df,
        rg.pval,
    )
    out["KNHA.regtest.limit"] = rg.limit_estimate
    out["KNHA.regtest.limit_lb"], out["KNHA.regtest.limit_ub"] = rg.limit_ci_lb, rg.limit_ci_ub

    # 2.4 DL, EE, ML, DLIT/SJIT
    rd = RMA(method="DL").fit(yi="yi", vi="vi", data=d)
    _put(out, "DL", rd, ("estimate", "ci_lb", "ci_ub", "zval", "tau2", "I2", "tau", "H2"))
    pd_ = rd.predict(transf=np.exp).iloc[0]
    out["DL.exp.pred"], out["DL.exp.ci_lb"], out["DL.exp.ci_ub"] = pd_.pred, pd_.ci_lb, pd_.ci_ub
    cd = confint_tau2(rd)
    out["DL.QP.tau2.lb"], out["DL.QP.tau2.ub"] = cd.tau2[1:]
    out["DL.QP.I2.lb"], out["DL.QP.I2.ub"] = cd.I2[1:]
    out["DL.QP.H2.lb"], out["DL.QP.H2.ub"] = cd.H2[1:]
    re = RMA(method="EE").fit(yi="yi", vi="vi", data=d)
    _put(out, "EE", re, ("estimate", "se", "zval", "ci_lb", "ci_ub", "QE", "I2", "H2"))
    pe = re.predict(transf=np.exp).iloc[0]
    out["EE.exp.pred"], out["EE.exp.ci_lb"], out["EE.exp.ci_ub"] = pe.pred, pe.ci_lb, pe.ci_ub
    rm = RMA(method="ML").fit(yi="yi", vi="vi", data=d)
    _put(
        out,
        "ML",
        rm,
        ("tau2", "se_tau2", "tau", "I2", "H2", "estimate", "se", "zval", "ci_lb", "ci_ub"),
    )
    for q, v in rm.fit_stats().items():
        out[f"ML.{q}"] = v
    out["DLIT.tau2"] = RMA(method="DLIT").fit(yi="yi", vi="vi", data=d).tau2
    out["SJIT.tau2"] = RMA(method="SJIT").fit(yi="yi", vi="vi", data=d).tau2
    for measure in ("OR", "RD"):
        dm = escalc(measure, **cells)
        for method in ("EE", "DL"):
            rr = RMA(method=method).fit(yi="yi", vi="vi", data=dm)
            _put(
                out,
                f"{measure}.{method}",
                rr,
                ("estimate", "ci_lb", "ci_ub", "zval", "QE", "tau2", "I2"),
            )
            pp = rr.predict(transf=np.exp).iloc[0]
            out[f"{measure}.{method}.exp.pred"] = pp.pred
            out[f"{measure}.{method}.exp.ci_lb"], out[f"{measure}.{method}.exp.ci_ub"] = (
                pp.ci_lb,
                pp.ci_ub,
            )

    # 2.5 meta-regression
    ra = RMA(mods="~ ablat").fit(yi="yi", vi="vi", data=d)
    for n in ("tau2", "se_tau2", "tau", "I2", "H2", "R2", "QE", "QEp", "QM"):
        out[f"ABLAT.{n}"] = getattr(ra, n)
    _coefs(out, "ABLAT", ra)
    out["ABLAT.vcov[1,1]"], out["ABLAT.vcov[1,2]"], out["ABLAT.vcov[2,2]"] = (
        ra.vb[0, 0],
        ra.vb[0, 1],
        ra.vb[1, 1],
    )
    fit = ra.predict()
    for i in range(3):
        out[f"ABLAT.fitted[{i + 1}]"] = fit.pred[i]
        out[f"ABLAT.fitted.se[{i + 1}]"] = fit.se[i]
    ia = influence(ra)
    for i in range(13):
        out[f"ABLAT.hat[{i + 1}]"] = ia.hat.iloc[i]
        out[f"ABLAT.cook_d[{i + 1}]"] = ia.cook_d.iloc[i]
    ca = confint_tau2(ra)
    out["ABLAT.QP.tau2.lb"], out["ABLAT.QP.tau2.ub"] = ca.tau2[1:]
    out["ABLAT.QP.tau.lb"], out["ABLAT.QP.tau.ub"] = ca.tau[1:]
    out["ABLAT.QP.I2"], out["ABLAT.QP.I2.lb"], out["ABLAT.QP.I2.ub"] = ca.I2
    out["ABLAT.QP.H2"], out["ABLAT.QP.H2.lb"], out["ABLAT.QP.H2.ub"] = ca.H2
    pa = ra.predict(newmods=[[10], [20], [30], [40], [50], [60]], transf=np.exp)
    for j, a in enumerate((10, 20, 30, 40, 50, 60)):
        for q in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            out[f"ABLAT.predict.exp@{a}.{q}"] = pa[q].iloc[j]
    ram = RMA(method="ML", mods="~ ablat").fit(yi="yi", vi="vi", data=d)
    for q, v in ram.fit_stats().items():
        out[f"ABLAT.ML.{q}"] = v
    out["ABLAT.ML.LRT"] = lrt(ram, rm)["LRT"]
    out["ABLAT.REML.LRT"] = lrt(ra, r)["LRT"]
    rak = RMA(mods="~ ablat", test="knha").fit(yi="yi", vi="vi", data=d)
    out["ABLAT.KNHA.F"], out["ABLAT.KNHA.Fp"] = rak.QM, rak.QMp
    _coefs(out, "ABLAT.KNHA", rak)
    ay = RMA(mods="~ ablat + year").fit(yi="yi", vi="vi", data=d)
    for n in ("tau2", "se_tau2", "I2", "H2", "R2", "QE", "QEp", "QM", "QMp"):
        out[f"AY.{n}"] = getattr(ay, n)
    _coefs(out, "AY", ay)
    aye = RMA(method="EE", mods="~ ablat + year").fit(yi="yi", vi="vi", data=d)
    out["AY.EE.QE"], out["AY.EE.QM"] = aye.QE, aye.QM
    _coefs(out, "AY.EE", aye)
    aym = RMA(method="ML", mods="~ ablat + year").fit(yi="yi", vi="vi", data=d)
    out["AY.ML.tau2"], out["AY.ML.R2"], out["AY.ML.QM"] = aym.tau2, aym.R2, aym.QM
    _coefs(out, "AY.ML", aym)
    out["AY.ML.LRT"], out["AY.ML.LRTp"] = lrt(aym, rm)["LRT"], lrt(aym, rm)["pval"]
    al = RMA(mods="~ factor(alloc)").fit(yi="yi", vi="vi", data=d)
    for n in ("tau2", "se_tau2", "QE", "QM", "QMp"):
        out[f"ALLOC.{n}"] = getattr(al, n)
    _coefs(out, "ALLOC", al)
    aab = RMA(mods="~ ablat + factor(alloc)", btt=[2, 3]).fit(yi="yi", vi="vi", data=d)
    out["ABLAT+ALLOC.btt.QM"], out["ABLAT+ALLOC.btt.QMp"] = aab.QM, aab.QMp
    aabk = RMA(mods="~ ablat + factor(alloc)", btt=[2, 3], test="knha").fit(
        yi="yi", vi="vi", data=d
    )
    out["ABLAT+ALLOC.btt.KNHA.F"], out["ABLAT+ALLOC.btt.KNHA.Fp"] = aabk.QM, aabk.QMp

    # 2.6 MH / Peto
    for m in ("RR", "OR", "RD"):
        mh = rma_mh(m, **cells)
        for q in ("estimate", "se", "zval", "ci_lb", "ci_ub", "QE", "I2", "H2"):
            out[f"MH.{m}.{q}"] = getattr(mh, q)
        out[f"MH.{m}.exp.pred"] = math.exp(mh.estimate)
        out[f"MH.{m}.exp.ci_lb"], out[f"MH.{m}.exp.ci_ub"] = math.exp(mh.ci_lb), math.exp(mh.ci_ub)
        if m == "OR":
            out["MH.OR.CMH"], out["MH.OR.TA"] = mh.CMH, mh.TA
    pt = rma_peto(**cells)
    for q in ("estimate", "se", "zval", "ci_lb", "ci_ub", "QE", "I2", "H2"):
        out[f"PETO.{q}"] = getattr(pt, q)
    out["PETO.exp.pred"], out["PETO.exp.ci_lb"], out["PETO.exp.ci_ub"] = (
        math.exp(pt.estimate), math.exp(pt.ci_lb), math.exp(pt.ci_ub))  # fmt: skip
    l1_mh = leave1out(rma_mh("RR", **cells)).iloc[0]
    l1_pt = leave1out(pt).iloc[0]
    for q, col in (("estimate", "estimate"), ("se", "se"), ("zval", "zval"), ("ci_lb", "ci_lb"),
                   ("ci_ub", "ci_ub"), ("QE", "Q"), ("I2", "I2"), ("H2", "H2")):  # fmt: skip
        out[f"MH.RR.l1o1.{q}"] = l1_mh[col]
        out[f"PETO.l1o1.{q}"] = l1_pt[col]

    # 2.8 colditz (= bcg counts), OR, ML
    do = escalc("OR", **cells)
    ro = RMA(method="ML").fit(yi="yi", vi="vi", data=do)
    out["COLDITZ.ML.tau2"] = ro.tau2
    cq, cp = confint_tau2(ro), confint_tau2(ro, type="PL")
    out["COLDITZ.QP.lb"], out["COLDITZ.QP.ub"] = cq.tau2[1:]
    out["COLDITZ.PL.lb"], out["COLDITZ.PL.ub"] = cp.tau2[1:]
    po = ro.predict(transf=np.exp).iloc[0]
    out["COLDITZ.exp.pred"], out["COLDITZ.exp.ci_lb"], out["COLDITZ.exp.ci_ub"] = (
        po.pred,
        po.ci_lb,
        po.ci_ub,
    )
    pok = (
        RMA(method="ML", test="knha").fit(yi="yi", vi="vi", data=do).predict(transf=np.exp).iloc[0]
    )
    out["COLDITZ.KNHA.exp.ci_lb"], out["COLDITZ.KNHA.exp.ci_ub"] = pok.ci_lb, pok.ci_ub
    out["COLDITZ.pi_lb"], out["COLDITZ.pi_ub"] = ro.pi_lb, ro.pi_ub

    # 2.10 normand, hine
    nd = pd.read_csv(root / "dat.normand1999.csv")
    cont = dict(m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i")
    for m in ("SMD", "SMDH", "ROM"):
        e = escalc(m, data=nd, **cont)
        for i in range(4):
            out[f"NORMAND.{m}.yi[{i + 1}]"] = e.yi[i]
            out[f"NORMAND.{m}.vi[{i + 1}]"] = e.vi[i]
    e4 = escalc("SMD", data=nd.iloc[:4], **cont)
    out["NORMAND.SMD4.REML.tau2"] = RMA().fit(yi="yi", vi="vi", data=e4).tau2
    emn = escalc("MN", data=nd, m1i="m1i", sd1i="sd1i", n1i="n1i")
    out["NORMAND.MN.REML.tau2"] = RMA().fit(yi="yi", vi="vi", data=emn).tau2
    hd = pd.read_csv(root / "dat.hine1989.csv")
    eh = escalc("RD", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=hd)
    for i in range(6):
        out[f"HINE.RD100.yi[{i + 1}]"] = eh.yi[i] * 100
        out[f"HINE.RD100.vi[{i + 1}]"] = eh.vi[i] * 100**2
    for m in ("EE", "REML", "DL"):
        rh = RMA(method=m).fit(yi=eh.yi * 100, vi=eh.vi * 100**2)
        _put(out, f"HINE.RD100.{m}", rh, ("estimate", "ci_lb", "ci_ub", "tau2"))
    rh = RMA().fit(yi="yi", vi="vi", data=eh)
    _put(out, "HINE.RD", rh)
    out["HINE.RD.permutest.pval"] = permutest(rh)["pval"]["intrcpt"]
    return {k: float(v) for k, v in out.items()}
