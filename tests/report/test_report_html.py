"""The trial report is one self-contained HTML file: no external URL, no script, charts inline."""

from __future__ import annotations

import re

import pytest

from taperwise.analysis import run_sap, synthetic_dataset, synthetic_sap
from taperwise.report.trial import render_report, write_report


@pytest.fixture(scope="module")
def result():
    ds = synthetic_dataset(n_per_arm=15, effects={"ACT": -2.0}, seed=8)
    return run_sap(ds, synthetic_sap(days=[1, 2, 3]), n_imputations=3, report=True)


def test_self_contained(result):
    html = result.report_html
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert "default-src 'none'" in html  # CSP: the browser may fetch nothing
    # every src/href is a fragment inside the page (SVG clip paths)
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert all(r.startswith("#") for r in refs), refs
    # the only URLs are XML namespace names, never fetched
    urls = set(re.findall(r"https?://[^\"'\s<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert html.count("<svg") >= 3


def test_sections(result):
    html = result.report_html
    for title in (
        "Participant flow (CONSORT)",
        "Primary analysis",
        "Completion and time to dropout",
        "Endpoints (forest plot)",
        "Adverse events",
        "Sensitivity analyses",
        "Provenance",
    ):
        assert title in html
    assert "not a claim of efficacy" in html


def test_write_report(result, tmp_path):
    paths = write_report(result, tmp_path / "r")
    assert paths["results"].read_text() == result.to_json()
    assert paths["report"].read_text(encoding="utf-8") == result.report_html


def test_report_when_primary_fails():
    ds = synthetic_dataset(n_per_arm=6, seed=1)
    ds.assessments.loc[
        (ds.assessments["arm"] == "PBO") & (ds.assessments["day"] > 0), "complete"
    ] = False
    res = run_sap(ds, synthetic_sap(days=[1, 2]), sensitivity=False)
    assert "error" in res.primary
    assert "could not be run" in render_report(res)
