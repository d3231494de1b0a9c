"""escalc: formulas and zero-cell handling (metafor conventions), hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from taperwise.errors import ValidationError
from taperwise.stats.meta import escalc
from taperwise.stats.meta.escalc import cmicalc


def test_rr_first_bcg_trial_exact():
    r = escalc("RR", ai=[4], bi=[119], ci=[11], di=[128])
    assert r.yi[0] == pytest.approx(math.log((4 / 123) / (11 / 139)), rel=1e-14)
    assert r.vi[0] == pytest.approx(1 / 4 - 1 / 123 + 1 / 11 - 1 / 139, rel=1e-14)


def test_n1i_n2i_equivalent_to_cells():
    a = escalc("OR", ai=[3, 5], bi=[7, 15], ci=[2, 9], di=[8, 11])
    b = escalc("OR", ai=[3, 5], n1i=[10, 20], ci=[2, 9], n2i=[10, 20])
    pd.testing.assert_frame_equal(a, b)


def test_only0_adds_to_tables_with_a_zero():
    r = escalc("OR", ai=[0, 5], bi=[10, 15], ci=[3, 9], di=[7, 11])
    assert r.yi[0] == pytest.approx(math.log((0.5 * 7.5) / (10.5 * 3.5)))
    assert r.vi[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
    assert r.yi[1] == pytest.approx(math.log((5 * 11) / (15 * 9)))


def test_to_all_and_if0all_and_none():
    cells = dict(ai=[0, 5], bi=[10, 15], ci=[3, 9], di=[7, 11])
    all_ = escalc("OR", to="all", **cells)
    assert all_.yi[1] == pytest.approx(math.log((5.5 * 11.5) / (15.5 * 9.5)))
    if0 = escalc("OR", to="if0all", **cells)
    assert if0.yi[1] == pytest.approx(all_.yi[1])
    none = escalc("OR", to="none", **cells)
    assert np.isnan(none.yi[0]) and np.isnan(none.vi[0])
    no_zero = escalc("OR", to="if0all", ai=[1, 5], bi=[10, 15], ci=[3, 9], di=[7, 11])
    assert no_zero.yi[0] == pytest.approx(math.log((1 * 7) / (10 * 3)))


def test_drop00_sets_double_zero_tables_missing():
    cells = dict(ai=[0, 2], bi=[10, 8], ci=[0, 1], di=[12, 9])
    kept = escalc("RR", **cells)
    dropped = escalc("RR", drop00=True, **cells)
    assert np.isfinite(kept.yi[0]) and np.isnan(dropped.yi[0])
    assert dropped.yi[1] == pytest.approx(kept.yi[1])


def test_rd_as_peto():
    r = escalc("RD", ai=[10], n1i=[50], ci=[5], n2i=[50])
    assert r.yi[0] == pytest.approx(0.1)
    assert r.vi[0] == pytest.approx(0.2 * 0.8 / 50 + 0.1 * 0.9 / 50)
    a = escalc("AS", ai=[10], n1i=[50], ci=[5], n2i=[50])
    assert a.yi[0] == pytest.approx(math.asin(math.sqrt(0.2)) - math.asin(math.sqrt(0.1)))
    assert a.vi[0] == pytest.approx(1 / 200 + 1 / 200)
    p = escalc("PETO", ai=[10], n1i=[50], ci=[5], n2i=[50])
    e = 15 * 50 / 100
    v = 15 * 85 * 0.5 * 0.5 / 99
    assert p.yi[0] == pytest.approx((10 - e) / v) and p.vi[0] == pytest.approx(1 / v)


def test_continuous_measures():
    kw = dict(m1i=[10.0], sd1i=[2.0], n1i=[20], m2i=[8.0], sd2i=[3.0], n2i=[25])
    md = escalc("MD", **kw)
    assert md.yi[0] == 2 and md.vi[0] == pytest.approx(4 / 20 + 9 / 25)
    smd = escalc("SMD", **kw)
    sp = math.sqrt((19 * 4 + 24 * 9) / 43)
    assert smd.yi[0] == pytest.approx(cmicalc(np.array([43.0]))[0] * 2 / sp)
    rom = escalc("ROM", **kw)
    assert rom.yi[0] == pytest.approx(math.log(10 / 8))
    mn = escalc("MN", m1i=[10.0], sd1i=[2.0], n1i=[16])
    assert mn.vi[0] == pytest.approx(0.25)


def test_cmicalc_matches_approximation():
    # exact c(10) = Gamma(5) / (sqrt(5) Gamma(4.5)); Hedges' approximation 1 - 3/(4m - 1) is O(1/m^2) off
    assert cmicalc(np.array([10.0]))[0] == pytest.approx(
        24 / (math.sqrt(5) * math.gamma(4.5)), rel=1e-13
    )
    m = np.array([10.0, 50.0, 200.0])
    assert np.allclose(cmicalc(m), 1 - 3 / (4 * m - 1), atol=4e-4)


def test_proportions_and_correlation():
    plo = escalc("PLO", xi=[0, 5], ni=[10, 20])
    assert plo.yi[0] == pytest.approx(math.log(0.5 / 10.5))
    assert plo.vi[1] == pytest.approx(1 / 5 + 1 / 15)
    pr = escalc("PR", xi=[5], ni=[20], to="none")
    assert pr.yi[0] == 0.25 and pr.vi[0] == pytest.approx(0.25 * 0.75 / 20)
    pas = escalc("PAS", xi=[5], ni=[20])
    assert pas.vi[0] == pytest.approx(1 / 80)
    z = escalc("ZCOR", ri=[0.5, 0.1], ni=[28, 4])
    assert z.yi[0] == pytest.approx(math.atanh(0.5)) and z.vi[0] == pytest.approx(1 / 25)
    assert np.isnan(z.vi[1])


def test_columns_from_data_keep_data():
    df = pd.DataFrame({"a": [4], "b": [119], "c": [11], "d": [128], "name": ["x"]})
    r = escalc("RR", ai="a", bi="b", ci="c", di="d", data=df)
    assert list(r.columns) == ["a", "b", "c", "d", "name", "yi", "vi"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (dict(measure="XX", ai=[1], bi=[1], ci=[1], di=[1]), "not supported"),
        (dict(measure="RR", ai=[1], bi=[1], ci=[1]), "needs di"),
        (dict(measure="RR", ai=[1, 2], bi=[1], ci=[1], di=[1]), "has 1 values"),
        (dict(measure="RR", ai=[5], n1i=[3], ci=[1], di=[1]), ">= 0"),
        (dict(measure="RR", ai=[1], bi=[1], ci=[1], di=[1], to="some"), "to="),
        (dict(measure="RR", ai="col", bi=[1], ci=[1], di=[1]), "column 'col'"),
        (dict(measure="ZCOR", ri=[1.5], ni=[10]), "between -1 and 1"),
    ],
)
def test_bad_input(args, match):
    measure = args.pop("measure")
    with pytest.raises(ValidationError, match=match):
        escalc(measure, **args)
