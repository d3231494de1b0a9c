"""Counting rules: openEBGM processRaw hand tables, margins, roles, strata, normalisation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference" / "gps"))
import openebgm_reference as ref  # noqa: E402

from taperwise.errors import DataFileError, ValidationError  # noqa: E402
from taperwise.signals.counting import count_pairs, expected_counts  # noqa: E402
from taperwise.signals.normalize import ProductNormalizer, fold_name  # noqa: E402
from taperwise.signals.pipeline import score_source  # noqa: E402
from taperwise.signals.source import open_source  # noqa: E402


def _cells(counts, values):
    return {
        (counts.drugs[d], counts.events[e]): v
        for d, e, v in zip(counts.pair_drug, counts.pair_event, values, strict=True)
    }


def test_openebgm_dat2_hand_calculation():
    df = pd.DataFrame(ref.DAT2)
    counts = count_pairs(open_source(df, drug_col="var1", event_col="var2"))
    e = _cells(counts, expected_counts(counts))
    n = _cells(counts, counts.n)
    res = score_source(open_source(df, drug_col="var1", event_col="var2"), theta=ref.THETA_TESTS)
    prr = {(r.drug, r.event): r.prr for r in res.table.itertuples()}
    for cell, n_want, e_want, prr_want in zip(
        ref.DAT2_CELLS, ref.DAT2_N, ref.DAT2_E, ref.DAT2_PRR, strict=True
    ):
        if n_want == 0:
            assert cell not in n
            continue
        assert n[cell] == n_want
        assert e[cell] == pytest.approx(e_want, rel=1e-12)
        assert prr[cell] == pytest.approx(prr_want, abs=5e-5)  # printed to 4 dp


def test_openebgm_dat2_stratified():
    df = pd.DataFrame(ref.DAT2)
    src = open_source(df, drug_col="var1", event_col="var2", strata=["strat1", "strat2"])
    counts = count_pairs(src)
    assert len(counts.strata) == 3  # Male/age_cat1, Female/age_cat1, Male/age_cat2 present
    e = _cells(counts, expected_counts(counts))
    n = _cells(counts, counts.n)
    res = score_source(src, theta=ref.THETA_TESTS)
    prr = {(r.drug, r.event): r.prr for r in res.table.itertuples()}
    for cell, n_want, e_want, rr_want, prr_want in zip(
        ref.DAT2_CELLS, ref.DAT2_N, ref.DAT2_E_STRAT, ref.DAT2_RR_STRAT, ref.DAT2_PRR, strict=True
    ):
        if n_want == 0:
            continue
        assert e[cell] == pytest.approx(e_want, rel=1e-12)
        assert n[cell] / e[cell] == pytest.approx(rr_want, abs=5e-5)
        assert prr[cell] == pytest.approx(prr_want, abs=5e-5)  # PRR ignores strata


def test_cells_margins_follow_phvid():
    df = pd.DataFrame(
        {
            "id": [1, 1, 1, 2, 3],
            "drug": ["A", "A", "B", "A", "B"],
            "event": ["x", "y", "x", "x", "y"],
        }
    )
    rep = count_pairs(open_source(df), margins="reports")
    cel = count_pairs(open_source(df), margins="cells")
    assert rep.n_total == 3 and cel.n_total == 5
    assert rep.drug_margin.tolist() == [2, 2] and cel.drug_margin.tolist() == [3, 2]
    # E = n1. n.1 / N with cell sums (PhViD as.PhViD)
    e = expected_counts(cel)
    assert e[0] == pytest.approx(3 * 3 / 5)


def test_duplicates_and_roles_and_dropped_rows():
    df = pd.DataFrame(
        {
            "id": ["1", "1", "1", "2", "3", "", "4"],
            "drug": ["A", "A", "B", "A", "A", "A", ""],
            "event": ["x", "x", "x", "x", "y", "x", "x"],
            "role": ["PS", "PS", "C", "ss", "PS", "PS", "PS"],
        }
    )
    counts = count_pairs(open_source(df))
    assert counts.dropped_rows == 2
    assert _cells(counts, counts.n) == {("A", "x"): 2, ("A", "y"): 1}
    all_roles = count_pairs(open_source(df), roles=None)
    assert ("B", "x") in _cells(all_roles, all_roles.n)
    with pytest.raises(ValidationError, match="role"):
        count_pairs(open_source(df), roles=["XX"])
    with pytest.raises(ValidationError, match="margins"):
        count_pairs(open_source(df), margins="bogus")


def test_normaliser_groups_kratom_and_user_synonyms(tmp_path):
    norm = ProductNormalizer.default()
    for name in (
        "Kratom",
        "MITRAGYNA SPECIOSA LEAF",
        "ketum",
        "Kratum",
        "7-Hydroxymitragynine",
        "Kratom Magnesium Citrate",
    ):
        assert norm(name) == "KRATOM", name
    assert norm("magnesium citrate") == "MAGNESIUM CITRATE"
    assert fold_name("Tylenol,  Extra-Strength!") == "TYLENOL EXTRA STRENGTH"
    syn = tmp_path / "syn.yaml"
    syn.write_text(
        "groups:\n  ACETAMINOPHEN:\n    names: [tylenol, paracetamol]\n  KRATOM:\n    contains: [MAENG DA]\n"
    )
    user = ProductNormalizer.default(syn)
    assert user("Tylenol") == "ACETAMINOPHEN" and user("Maeng Da capsules") == "KRATOM"
    csv_syn = tmp_path / "syn.csv"
    csv_syn.write_text("name,group\nAdvil,ibuprofen\n")
    assert ProductNormalizer.default(csv_syn)("ADVIL") == "IBUPROFEN"
    csv_syn.write_text("name,group\nAdvil\n")
    with pytest.raises(DataFileError, match=r"syn\.csv:2"):
        ProductNormalizer.default(csv_syn)
    syn.write_text("groups:\n  A: [x\n")
    with pytest.raises(DataFileError, match=r"syn\.yaml:\d+: invalid YAML"):
        ProductNormalizer.default(syn)


def test_normalised_counting_merges_variants():
    df = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "drug": ["Kratom powder", "MITRAGYNINE", "aspirin"],
            "event": ["x", "x", "x"],
        }
    )
    counts = count_pairs(open_source(df), normalizer=ProductNormalizer.default())
    assert _cells(counts, counts.n) == {("ASPIRIN", "x"): 1, ("KRATOM", "x"): 2}


def test_source_errors(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        open_source(tmp_path / "missing.csv")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValidationError, match="column"):
        open_source(tmp_path / "x.csv")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataFileError, match="manifest"):
        open_source(tmp_path / "folder")


def test_score_all_cells_and_empty():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "id": rng.integers(0, 400, 3000),
            "drug": rng.choice(list("ABCDEFGH"), 3000),
            "event": rng.choice(list("pqrstuvwxyz"), 3000),
        }
    )
    res = score_source(open_source(df), likelihood="all_cells")
    assert res.fit is not None and res.fit.likelihood == "all_cells"
    assert list(res.table.columns[:4]) == ["drug", "event", "n", "expected"]
    with pytest.raises(ValidationError, match="no \\(product, event\\) pair"):
        score_source(open_source(df.assign(drug="")))


def test_auto_likelihood_falls_back_to_all_cells_on_degenerate_fit():
    # Independent Zipf draws (no disproportionality at all): the zero-truncated fit runs to the
    # boundary, the pipeline refits on all cells and still reports the (single-gamma) boundary.
    rng = np.random.default_rng(1)
    reports = 20000
    ids = np.repeat(
        np.arange(reports), (1 + rng.poisson(1.0, reports)) * (1 + rng.poisson(2.0, reports))
    )

    def zipf(n, s):
        w = 1 / np.arange(1, n + 1) ** s
        return np.searchsorted(np.cumsum(w / w.sum()), rng.uniform(size=ids.size)).astype(str)

    df = pd.DataFrame({"id": ids, "drug": zipf(800, 1.05), "event": zipf(1500, 0.95)})
    res = score_source(open_source(df))
    assert res.fit is not None
    assert res.fit.likelihood == "all_cells"
    assert res.fit.boundary
    assert res.summary()["fit"]["boundary"] is True
