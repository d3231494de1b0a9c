"""`taperwise mmrm` command."""

from __future__ import annotations

import json

from conftest import require_reference


def test_cli_json_keys_and_values(cli):
    path = require_reference("mmrm", "fev_data.csv")
    code, out, err = cli(
        "mmrm",
        "--data",
        path,
        "--formula",
        "FEV1 ~ RACE + SEX + ARMCD*AVISIT + us(AVISIT | USUBJID)",
        "--levels",
        "SEX=Male,Female",
        "--lsmeans",
        "ARMCD:AVISIT",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    for key in (
        "deviance",
        "loglik",
        "aic",
        "bic",
        "converged",
        "coefficients",
        "covariance",
        "lsmeans",
    ):
        assert key in doc
    assert doc["coefficients"][0]["term"] == "(Intercept)"
    assert set(doc["coefficients"][0]) == {"term", "estimate", "se", "df", "t", "p"}
    assert abs(doc["deviance"] - 3386.44987116) < 1e-6
    assert doc["covariance"]["structure"] == "us"
    assert len(doc["covariance"]["matrix"]["all"]["values"]) == 4
    assert len(doc["lsmeans"][0]["means"]) == 8


def test_cli_ml_kr_and_errors(cli, tmp_path):
    path = require_reference("mmrm", "fev_data.csv")
    code, out, _ = cli(
        "mmrm",
        "--data",
        path,
        "--formula",
        "FEV1 ~ ARMCD + ar1(AVISIT | USUBJID)",
        "--df",
        "kenward-roger",
        "--json",
    )
    assert code == 0
    code, out, err = cli(
        "mmrm",
        "--data",
        path,
        "--formula",
        "FEV1 ~ ARMCD + ar1(AVISIT | USUBJID)",
        "--ml",
        "--df",
        "kenward-roger",
        "--json",
    )
    assert code == 2 and "REML" in (out + err)
    code, out, err = cli("mmrm", "--data", tmp_path / "missing.csv", "--formula", "y ~ us(v | id)")
    assert code == 2 and "not found" in (out + err)


def test_cli_unknown_column_is_one_line(cli):
    path = require_reference("mmrm", "fev_data.csv")
    code, out, err = cli("mmrm", "--data", path, "--formula", "FEV1 ~ FOO + us(AVISIT | USUBJID)")
    assert code == 2
    text = (out + err).strip()
    assert "FOO" in text and "Traceback" not in text


def test_cli_text_output_keeps_long_lines_whole_when_piped(cli):
    path = require_reference("mmrm", "fev_data.csv")
    formula = "FEV1 ~ RACE + SEX + ARMCD * AVISIT + FEV1_BL + us(AVISIT | USUBJID)"
    code, out, _ = cli("mmrm", "--data", path, "--formula", formula)
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("MMRM") and line.endswith(formula) for line in lines)
    assert any(line.startswith("-2 log L") and "converged True" in line for line in lines)
