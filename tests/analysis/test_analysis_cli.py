"""`taperwise analyze` on a dataset folder, on a study database, and its one-line errors."""

from __future__ import annotations

import json

import pytest

from taperwise.analysis import synthetic_dataset
from taperwise.demo import DEMO_PROTOCOL


@pytest.fixture
def dataset_dir(tmp_path):
    ds = synthetic_dataset(
        n_per_arm=12, effects={"KMC": 0.0, "BUP": -4.0}, gi_shift={"KMC": 1.0}, seed=21
    )
    return ds.write(tmp_path / "ds")


def test_analyze_data_json(cli, dataset_dir, tmp_path):
    code, out, err = cli(
        "analyze",
        "--data",
        dataset_dir,
        "--protocol",
        DEMO_PROTOCOL,
        "--out",
        tmp_path / "out",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["primary"]["covariance"] in ("us", "toeph", "ar1")
    assert [c["arm"] for c in doc["primary"]["contrasts"]] == ["KMC", "BUP"]
    assert doc["consort"]["randomised"] == {"PBO": 12, "KMC": 12, "BUP": 12}
    assert doc["provenance"]["protocol"]["id"] == "kmc-bup-pbo"
    assert {"no_gi_items", "per_protocol", "complete_case", "tipping_point"} <= set(
        doc["sensitivity"]
    )
    assert (tmp_path / "out" / "report.html").stat().st_size > 10_000
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == doc


def test_analyze_sap_only_plan(cli, dataset_dir, tmp_path):
    plan = tmp_path / "sap.yaml"
    plan.write_text(
        "sap:\n  primary_instrument: cows\n  primary_days: [1, 2, 3]\n"
        "  covariates: [baseline]\n  control_arm: PBO\n"
    )
    code, out, err = cli(
        "analyze",
        "--data",
        dataset_dir,
        "--protocol",
        plan,
        "--out",
        tmp_path / "o2",
        "--no-sensitivity",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["sensitivity"] is None and doc["primary"]["endpoint"]["days"] == [1, 2, 3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x"], "either --db"),
        (["--data", "DS", "--out", "x"], "--data needs --protocol"),
        (["--data", "missing-folder", "--protocol", "P", "--out", "x"], "not an analysis dataset"),
    ],
)
def test_analyze_errors(cli, dataset_dir, args, message):
    args = [str(dataset_dir) if a == "DS" else str(DEMO_PROTOCOL) if a == "P" else a for a in args]
    code, out, err = cli("analyze", *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_analyze_bad_sap_file(cli, dataset_dir, tmp_path):
    plan = tmp_path / "sap.yaml"
    plan.write_text("sap:\n  primary_instrument: nope\n")
    code, _, err = cli("analyze", "--data", dataset_dir, "--protocol", plan, "--out", tmp_path)
    assert code == 2 and "sap.primary_instrument" in err


@pytest.mark.slow
def test_analyze_demo_database(cli, tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    code, _, err = cli("demo", "--db", db, "--no-serve", "--participants", "30", "--json")
    assert code == 0, err
    code, out, err = cli("analyze", "--db", db, "--out", tmp_path / "out", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert sum(doc["consort"]["randomised"].values()) == 30
    assert doc["provenance"]["dataset"]["source"] == "store"
    assert doc["provenance"]["protocol"]["version"] == "0.1.0"
