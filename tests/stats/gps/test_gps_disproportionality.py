"""PRR / ROR / chi-square / IC / BCPNN against published values (pharmacovigilance.md §2.6)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "reference" / "gps"))
import openebgm_reference as ref  # noqa: E402

from taperwise.stats.gps import bcpnn, chi_square, evans_signal, ic, prr, ror  # noqa: E402


def test_pvda_prr_ror_ic():
    r = prr(ref.PVDA_PRR["a"], ref.PVDA_PRR["b"], ref.PVDA_PRR["c"], ref.PVDA_PRR["d"])
    # pvda prints 0.266, 0.5, 0.940; recomputed to 6 significant digits (tol 5e-7 abs)
    assert float(r.prr) == pytest.approx(0.5, abs=1e-12)
    assert float(r.lower) == pytest.approx(ref.PVDA_PRR["lower"], abs=5e-7)
    assert float(r.upper) == pytest.approx(ref.PVDA_PRR["upper"], abs=5e-7)
    o = ror(ref.PVDA_ROR["a"], ref.PVDA_ROR["b"], ref.PVDA_ROR["c"], ref.PVDA_ROR["d"])
    assert float(o.ror) == pytest.approx(25.0, abs=1e-12)
    # 7 significant digits in the reference -> rel 1e-6 (54.096165 was printed as 54.09617)
    assert float(o.lower) == pytest.approx(ref.PVDA_ROR["lower"], rel=1e-6)
    assert float(o.upper) == pytest.approx(ref.PVDA_ROR["upper"], rel=1e-6)
    i = ic(ref.PVDA_IC["obs"], ref.PVDA_IC["exp"])
    assert float(i.lower) == pytest.approx(ref.PVDA_IC["lower"], abs=5e-7)
    assert float(i.ic) == pytest.approx(ref.PVDA_IC["ic"], abs=5e-7)
    assert float(i.upper) == pytest.approx(ref.PVDA_IC["upper"], abs=5e-7)
    z = ic(ref.PVDA_DRUGZ["obs"], ref.PVDA_DRUGZ["exp"])
    assert float(z.ic) == pytest.approx(ref.PVDA_DRUGZ["ic"], abs=5e-6)
    assert float(z.lower) == pytest.approx(ref.PVDA_DRUGZ["ic025"], abs=5e-6)


def test_pvda_ic_of_one_one():
    # pvda test 1: ic(1, 1) = 0, limits log2(qgamma(0.025/0.975, 1.5, 1.5))
    from scipy import stats

    i = ic(1, 1)
    assert float(i.ic) == 0.0
    assert float(i.lower) == pytest.approx(
        np.log2(stats.gamma.ppf(0.025, 1.5, scale=1 / 1.5)), rel=1e-12
    )
    assert float(i.upper) == pytest.approx(
        np.log2(stats.gamma.ppf(0.975, 1.5, scale=1 / 1.5)), rel=1e-12
    )


@pytest.mark.parametrize("row", ref.GOULD)
def test_bcpnn_gould_table1(row):
    r = bcpnn(row["n11"], row["n1"], row["n_1"], row["n"])
    assert float(r.ic) == pytest.approx(row["ic"], abs=5e-7)
    assert float(r.variance) == pytest.approx(row["var"], rel=1e-6)
    assert float(r.lower) == pytest.approx(row["lo"], abs=5e-7)
    assert float(r.upper) == pytest.approx(row["hi"], abs=5e-7)


@pytest.mark.parametrize("row", ref.NOREN)
def test_shrinkage_ic_noren(row):
    e = row["n1"] * row["n_1"] / row["n"]
    r = ic(row["n11"], e, method="approx")
    assert float(r.ic) == pytest.approx(row["ic"], abs=5e-7)
    assert float(r.lower) == pytest.approx(row["ic025"], abs=5e-7)
    if "ic975" in row:
        assert float(r.upper) == pytest.approx(row["ic975"], abs=5e-7)


@pytest.mark.parametrize("row", ref.SINGHAL)
def test_singhal_prr_ror_chi2(row):
    a, b, c, d = row["a"], row["b"], row["c"], row["d"]
    p, o = prr(a, b, c, d), ror(a, b, c, d)
    for got, want in [
        (p.prr, row["prr"]),
        (p.lower, row["prr_lo"]),
        (p.upper, row["prr_hi"]),
        (o.ror, row["ror"]),
        (o.lower, row["ror_lo"]),
        (o.upper, row["ror_hi"]),
        (chi_square(a, b, c, d), row["chi2"]),
        (chi_square(a, b, c, d, yates=True), row["yates"]),
    ]:
        assert float(got) == pytest.approx(want, rel=1e-6)
    assert bool(evans_signal(a, p.prr, chi_square(a, b, c, d)))


def test_zero_cells_follow_the_formula():
    # c = 0: PRR infinite (openEBGM), ROR undefined; no epsilon is added
    with np.errstate(all="ignore"):
        assert np.isinf(prr(1, 0, 0, 10).prr)
        assert not np.isfinite(ror(1, 0, 0, 10).ror)
    assert not bool(evans_signal(2, 10.0, 50.0))  # fewer than 3 reports


def test_ic_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        ic(1, 1, method="bogus")
    with pytest.raises(ValueError, match="0.95"):
        ic(1, 1, method="approx", level=0.9)
