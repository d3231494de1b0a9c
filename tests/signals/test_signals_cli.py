"""`taperwise signals` commands end to end (CAERS reference, FAERS files written by the tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import require_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference" / "gps"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import openebgm_reference as ref  # noqa: E402
from test_signals_faers_ingest import write_faers  # noqa: E402

COLUMNS = [
    "drug",
    "event",
    "n",
    "expected",
    "prr",
    "ror",
    "ror_lb",
    "ror_ub",
    "ic",
    "ic025",
    "qn",
    "ebgm",
    "eb05",
    "eb95",
]
THETA = ",".join(str(v) for v in ref.THETA_VIGNETTE04)


def test_score_caers_with_vignette_theta(cli, tmp_path):
    caers = require_reference("caers", "caers.csv")
    out = tmp_path / "scores.csv"
    code, stdout, err = cli(
        "signals", "score", "--input", caers, "--theta", THETA, "--out", out, "--json"
    )
    assert code == 0, err
    doc = json.loads(stdout)
    assert {"theta", "neg_loglik", "pairs", "reports"} <= set(doc)
    assert doc["pairs"] == ref.N_PAIRS and doc["reports"] == ref.N_REPORTS
    assert doc["theta"] == pytest.approx(list(ref.THETA_VIGNETTE04))
    table = pd.read_csv(out)
    assert list(table.columns) == COLUMNS
    assert int((table.eb05.round(2) >= 2).sum()) == ref.COUNT_EB05_GE_2
    assert int((table.ebgm.round(2) > 3).sum()) == ref.COUNT_EBGM_GT_3
    top = table.sort_values("eb05", ascending=False).iloc[0]
    assert (top.drug, top.event) == ("REUMOFAN PLUS", "WEIGHT INCREASED")
    assert top.eb05 == pytest.approx(ref.TOP_EXACT["eb05"], rel=1e-6)


def test_score_caers_fits_theta(cli, tmp_path):
    caers = require_reference("caers", "caers.csv")
    out = tmp_path / "scores.parquet"
    code, stdout, err = cli("signals", "score", "--input", caers, "--out", out, "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["neg_loglik"] == pytest.approx(ref.NLL_OPTIMA["full"][1], abs=1e-6)
    assert doc["fit"]["boundary"] is False
    table = pd.read_parquet(out)
    assert list(table.columns) == COLUMNS and len(table) == ref.N_PAIRS


def test_score_caers_stratified_by_gender(cli, tmp_path):
    caers = require_reference("caers", "caers.csv")
    out = tmp_path / "s.csv"
    code, stdout, err = cli(
        "signals",
        "score",
        "--input",
        caers,
        "--strata",
        "strat1",
        "--theta",
        THETA,
        "--out",
        out,
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["strata"] == ["Female", "Male", "Not Available"]


def test_ingest_caers_raw_and_score(cli, tmp_path):
    raw = require_reference("caers", "caers_raw.csv")
    ds = tmp_path / "caers_ds"
    code, stdout, err = cli("signals", "ingest", "caers", raw, "--out", ds, "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    # openEBGM vignette 1: 308 rows after splitting the symptom lists
    assert doc["rows"] == 308 and doc["reports"] == 114
    table = pd.read_parquet(ds / "caers.parquet")
    assert table.sex.value_counts().to_dict() == {"Female": 177, "Male": 119, "Not Available": 12}
    assert table.age_group.value_counts().to_dict() == {
        "unknown": 213,
        "under_18": 65,
        "18_plus": 30,
    }
    code, stdout, err = cli(
        "signals",
        "score",
        "--input",
        ds,
        "--theta",
        THETA,
        "--strata",
        "sex",
        "--out",
        tmp_path / "c.csv",
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["reports"] == 114


def test_ingest_caers_malformed(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Report ID,Product,Product Type,Sex,MedDRA Preferred Terms\n"
        '1,KRATOM POWDER,SUSPECT,Male,"NAUSEA, VOMITING"\n'
        "2,,SUSPECT,Male,NAUSEA\n"
        "3,ASPIRIN,SUSPECT,Female\n"
    )
    code, _, err = cli("signals", "ingest", "caers", bad, "--out", tmp_path / "ds")
    assert code == 2 and "bad.csv:3: empty product name" in err
    code, stdout, err = cli(
        "signals", "ingest", "caers", bad, "--out", tmp_path / "ds", "--on-error", "skip", "--json"
    )
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["skipped"] == 2 and doc["rows"] == 2
    table = pd.read_parquet(tmp_path / "ds" / "caers.parquet")
    assert set(table.drug) == {"KRATOM"} and set(table.product_raw) == {"KRATOM POWDER"}


def test_faers_ingest_score_and_top(cli, tmp_path):
    src = write_faers(tmp_path / "faers")
    ds = tmp_path / "ds"
    code, stdout, err = cli("signals", "ingest", "faers", src, "--out", ds, "--json")
    assert code == 0, err
    assert json.loads(stdout)["reports"] == 5
    out = tmp_path / "f.csv"
    code, stdout, err = cli(
        "signals", "score", "--input", ds, "--theta", THETA, "--out", out, "--json"
    )
    assert code == 0, err
    doc = json.loads(stdout)
    # PS/SS only: ASPIRIN (role C) is not counted
    table = pd.read_csv(out)
    assert "ASPIRIN" not in set(table.drug)
    assert doc["reports"] == 5
    kratom = table[table.drug == "KRATOM"].set_index("event")
    assert kratom.loc["Nausea", "n"] == 3
    code, stdout, err = cli(
        "signals",
        "score",
        "--input",
        ds,
        "--roles",
        "ALL",
        "--theta",
        THETA,
        "--out",
        out,
        "--json",
    )
    assert code == 0 and "ASPIRIN" in set(pd.read_csv(out).drug)
    code, stdout, err = cli(
        "signals", "top", "--drug", "kratom", "--scores", out, "--json", "--by", "n"
    )
    assert code == 0, err
    rows = json.loads(stdout)["rows"]
    assert rows[0]["event"] == "Nausea" and rows[0]["n"] == 3
    code, stdout, err = cli("signals", "top", "--drug", "Mitragyna speciosa", "--input", ds)
    assert code == 0, err
    assert "Nausea" in stdout and "KRATOM" in stdout


def test_cli_errors_exit_2(cli, tmp_path):
    caers = require_reference("caers", "caers.csv")
    code, _, err = cli("signals", "score", "--input", caers, "--out", tmp_path / "x.txt")
    assert code == 2 and "must end in .csv or .parquet" in err
    code, _, err = cli(
        "signals", "score", "--input", caers, "--theta", "1,2,3", "--out", tmp_path / "x.csv"
    )
    assert code == 2 and "--theta" in err
    code, _, err = cli(
        "signals", "score", "--input", caers, "--drug", "nope", "--out", tmp_path / "x.csv"
    )
    assert code == 2 and "column(s) nope not found" in err
    code, _, err = cli(
        "signals", "ingest", "faers", tmp_path, "--out", tmp_path / "o", "--on-error", "maybe"
    )
    assert code == 2 and "--on-error" in err
    code, _, err = cli("signals", "top", "--drug", "kratom")
    assert code == 2 and "exactly one" in err
