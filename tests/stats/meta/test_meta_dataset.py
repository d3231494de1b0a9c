"""The bundled withdrawal-completion data set (domain.md section 5.3)."""

from __future__ import annotations

import pytest

from taperwise.datasets import withdrawal_completion as wc
from taperwise.errors import ValidationError
from taperwise.stats.meta import RMA, escalc, rma_mh


def test_rows_match_domain_reference():
    df = wc.load()
    assert list(df.study_id) == ["ling2005_inpatient", "ling2005_outpatient", "fishman2019_288", "fishman2019_216",
                                 "yu2008"]  # fmt: skip
    row = df.set_index("study_id").loc["fishman2019_216"]
    assert (row.events_trt, row.n_trt, row.events_ctl, row.n_ctl, row.status) == (
        95,
        229,
        42,
        151,
        "derived_flagged",
    )
    assert df.citation.str.len().min() > 20
    assert set(df.status) <= set(wc.STATUSES)


def test_filters():
    assert len(wc.load(statuses=["confirmed"])) == 2
    lof = wc.load(comparison_prefix="lofexidine", exclude=["fishman2019_216"])
    assert list(lof.study_id) == ["fishman2019_288", "yu2008"]
    with pytest.raises(ValidationError):
        wc.load(statuses=["maybe"])
    with pytest.raises(ValidationError):
        wc.load(exclude=["nosuchstudy"])


def test_documented_example_pooling():
    df = wc.load(comparison_prefix="lofexidine", exclude=["fishman2019_216"])
    dat = escalc("RR", ai=df.events_trt, n1i=df.n_trt, ci=df.events_ctl, n2i=df.n_ctl, data=df)
    res = RMA(method="REML").fit(yi=dat.yi, vi=dat.vi)
    assert res.k == 2 and res.tau2 >= 0
    mh = rma_mh("RR", ai="events_trt", n1i="n_trt", ci="events_ctl", n2i="n_ctl", data=df)
    assert mh.k == 2


def test_cli_on_bundled_csv(cli):
    import json

    code, out, err = cli("meta", "--data", wc.csv_path(), "--measure", "RR", "--ai", "events_trt", "--n1i", "n_trt",
                         "--ci", "events_ctl", "--n2i", "n_ctl", "--labels", "study_id", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["k"] == 5
