"""`taperwise meta` and its sub-commands: JSON keys from issue 4, errors, plots."""

from __future__ import annotations

import json

import pytest

from conftest import require_reference

BCG_CELLS = ["--measure", "RR", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"]


@pytest.fixture(scope="module")
def bcg_csv() -> str:
    return str(require_reference("metadat", "dat.bcg.csv"))


def _json(cli, *args):
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_meta_main_keys(cli, bcg_csv):
    doc = _json(cli, "meta", "--data", bcg_csv, *BCG_CELLS)
    for key in ("k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "se_tau2",
                "I2", "H2", "QE", "QEp", "QM", "QMp", "coefficients"):  # fmt: skip
        assert key in doc, key
    assert doc["k"] == 13
    assert doc["tau2"] == pytest.approx(0.313243325980895, rel=1e-12)
    assert doc["estimate"] == pytest.approx(-0.7145, abs=5e-5)


def test_meta_knha_mods(cli, bcg_csv):
    doc = _json(cli, "meta", "--data", bcg_csv, *BCG_CELLS, "--test", "knha", "--mods", "~ ablat")
    assert "tval" in doc and "zval" not in doc
    assert doc["QM"] == pytest.approx(12.5905, abs=5e-5)
    assert set(doc["coefficients"]) == {"intrcpt", "ablat"}
    assert doc["coefficients"]["ablat"]["tval"] == pytest.approx(-3.5483, abs=5e-5)
    assert doc["pi_lb"] is None  # prediction interval only for models without moderators


def test_meta_yi_vi_input(cli, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("yi,vi,sei\n0.1,0.01,0.1\n0.3,0.04,0.2\n0.2,0.09,0.3\n")
    a = _json(cli, "meta", "--data", path, "--yi", "yi", "--vi", "vi", "--method", "DL")
    b = _json(cli, "meta", "--data", path, "--yi", "yi", "--sei", "sei", "--method", "DL")
    assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-12)


def test_meta_continuous_input(cli):
    path = require_reference("metadat", "dat.normand1999.csv")
    doc = _json(cli, "meta", "--data", path, "--measure", "SMD", "--m1i", "m1i", "--sd1i", "sd1i", "--n1i", "n1i",
                "--m2i", "m2i", "--sd2i", "sd2i", "--n2i", "n2i")  # fmt: skip
    assert doc["k"] == 9


def test_mh_and_peto(cli, bcg_csv):
    doc = _json(cli, "meta", "mh", "--data", bcg_csv, *BCG_CELLS)
    assert doc["estimate"] == pytest.approx(-0.4537, abs=5e-5) and doc["measure"] == "RR"
    doc = _json(
        cli,
        "meta",
        "mh",
        "--data",
        bcg_csv,
        "--ai",
        "tpos",
        "--bi",
        "tneg",
        "--ci",
        "cpos",
        "--di",
        "cneg",
    )
    assert doc["measure"] == "OR" and doc["CMH"] == pytest.approx(135.6889, abs=5e-5)
    doc = _json(cli, "meta", "peto", "--data", bcg_csv, *BCG_CELLS)
    assert doc["estimate"] == pytest.approx(-0.4744, abs=5e-5)


def test_regtest_ranktest_trimfill_keys(cli, bcg_csv):
    doc = _json(cli, "meta", "regtest", "--data", bcg_csv, *BCG_CELLS, "--test", "knha")
    assert {"statistic", "df", "pval", "limit_estimate", "limit_ci_lb", "limit_ci_ub"} <= set(doc)
    assert doc["statistic"] == pytest.approx(-0.7812, abs=5e-5) and doc["df"] == 11
    doc = _json(
        cli,
        "meta",
        "regtest",
        "--data",
        bcg_csv,
        *BCG_CELLS,
        "--model",
        "lm",
        "--predictor",
        "ninv",
    )
    assert doc["predictor"] == "ninv"
    doc = _json(cli, "meta", "ranktest", "--data", bcg_csv, *BCG_CELLS)
    assert doc["statistic"] == pytest.approx(0.0256, abs=5e-5) and doc["pval"] == pytest.approx(
        0.9524, abs=5e-5
    )
    doc = _json(cli, "meta", "trimfill", "--data", bcg_csv, *BCG_CELLS, "--estimator", "R0")
    assert {"k0", "side", "estimate", "se", "tau2", "filled"} <= set(doc)


def test_tables(cli, bcg_csv):
    doc = _json(cli, "meta", "leave1out", "--data", bcg_csv, *BCG_CELLS, "--labels", "author")
    assert len(doc["rows"]) == 13 and doc["rows"][0]["study"] == "Aronson"
    assert doc["rows"][0]["estimate"] == pytest.approx(-0.707083788031436, rel=1e-9)
    doc = _json(cli, "meta", "influence", "--data", bcg_csv, *BCG_CELLS)
    assert doc["rows"][0]["cook_d"] == pytest.approx(0.00171654236729195, rel=1e-9)
    doc = _json(cli, "meta", "cumul", "--data", bcg_csv, *BCG_CELLS, "--order", "year")
    assert doc["rows"][-1]["estimate"] == pytest.approx(-0.714532, abs=5e-7)
    doc = _json(cli, "meta", "confint", "--data", bcg_csv, *BCG_CELLS)
    assert doc["I2"]["ci_lb"] == pytest.approx(81.9177, abs=5e-5)
    doc = _json(
        cli, "meta", "permutest", "--data", bcg_csv, *BCG_CELLS, "--iter", "50", "--seed", "1"
    )
    assert doc["permutations"] == 50


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plots(cli, bcg_csv, tmp_path, suffix):
    out = tmp_path / f"forest{suffix}"
    code, _, err = cli(
        "meta", "forest", "--data", bcg_csv, *BCG_CELLS, "--out", out, "--labels", "author", "--exp"
    )
    assert code == 0, err
    head = out.read_bytes()[:8]
    assert head.startswith(b"\x89PNG") if suffix == ".png" else b"<?xml" in out.read_bytes()[:100]
    out = tmp_path / f"funnel{suffix}"
    code, _, err = cli("meta", "funnel", "--data", bcg_csv, *BCG_CELLS, "--out", out, "--trimfill")
    assert code == 0, err and out.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--measure", "RR", "--ai", "nope", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"],
            "column 'nope' (--ai)",
        ),
        (
            ["--measure", "XX", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"],
            "not supported",
        ),
        ([*BCG_CELLS, "--method", "FOO"], "method 'FOO'"),
        ([*BCG_CELLS, "--mods", "~ nothere"], "formula"),
        (["--yi", "tpos"], "--vi or --sei"),
    ],
)
def test_bad_input_exit_2_one_line(cli, bcg_csv, args, message):
    code, out, err = cli("meta", "--data", bcg_csv, *args)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_file(cli, tmp_path):
    code, _, err = cli("meta", "--data", tmp_path / "none.csv", *BCG_CELLS)
    assert code == 2 and "file not found" in err


def test_forest_bad_suffix(cli, bcg_csv, tmp_path):
    code, _, err = cli("meta", "forest", "--data", bcg_csv, *BCG_CELLS, "--out", tmp_path / "f.txt")
    assert code == 2 and ".png" in err


def test_human_output(cli, bcg_csv):
    code, out, _ = cli("meta", "--data", bcg_csv, *BCG_CELLS)
    assert code == 0 and "REML model (k = 13" in out and "prediction interval" in out


def test_leave1out_and_cumul_for_mh_and_peto(cli, bcg_csv):
    # full-precision metafor leave1out for MH RR and Peto, trial 1 (tests/testthat/test_misc_influence.r)
    doc = _json(cli, "meta", "leave1out", "--data", bcg_csv, *BCG_CELLS, "--pooling", "mh")
    assert doc["method"] == "MH"
    assert doc["rows"][0]["estimate"] == pytest.approx(-0.451379469928476, rel=1e-9)
    doc = _json(cli, "meta", "leave1out", "--data", bcg_csv, *BCG_CELLS, "--pooling", "peto")
    assert doc["rows"][0]["Q"] == pytest.approx(167.200450619361, rel=1e-9)
    doc = _json(
        cli, "meta", "cumul", "--data", bcg_csv, *BCG_CELLS, "--pooling", "peto", "--order", "year"
    )
    assert doc["rows"][-1]["estimate"] == pytest.approx(-0.4744, abs=5e-5)
    code, _, err = cli("meta", "cumul", "--data", bcg_csv, *BCG_CELLS, "--pooling", "xx")
    assert code == 2 and "--pooling" in err


def test_weights_genq_stopping_level(cli, bcg_csv, tmp_path):
    import pandas as pd

    from taperwise.stats.meta import escalc

    bcg = pd.read_csv(bcg_csv)
    d = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg).assign(
        w=lambda f: 1 / f.vi
    )
    path = tmp_path / "bcg_w.csv"
    d.to_csv(path, index=False)
    genq = _json(
        cli,
        "meta",
        "--data",
        path,
        "--yi",
        "yi",
        "--vi",
        "vi",
        "--method",
        "GENQ",
        "--weights",
        "w",
    )
    dl = _json(cli, "meta", "--data", path, "--yi", "yi", "--vi", "vi", "--method", "DL")
    assert genq["tau2"] == pytest.approx(dl["tau2"], rel=1e-12)
    tight = _json(cli, "meta", "--data", path, "--yi", "yi", "--vi", "vi", "--stopping", "tight")
    assert tight["tau2"] == pytest.approx(0.31324325813648, rel=1e-11)
    l90 = _json(cli, "meta", "--data", path, "--yi", "yi", "--vi", "vi", "--level", "90")
    assert l90["ci_ub"] - l90["ci_lb"] == pytest.approx(
        2 * 1.6448536269514722 * l90["se"], rel=1e-12
    )
    code, _, err = cli("meta", "--data", path, "--yi", "yi", "--vi", "vi", "--method", "GENQ")
    assert code == 2 and "GENQ" in err
