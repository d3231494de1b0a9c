"""The Dask backend gives exactly the DuckDB backend's counts and scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import require_reference
from taperwise.signals.counting import count_pairs, expected_counts
from taperwise.signals.pipeline import score_source
from taperwise.signals.source import open_source


def _assert_same(a, b):
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y), name
        else:
            assert x == y, name
    assert np.array_equal(expected_counts(a), expected_counts(b))


@pytest.mark.parametrize("strata", [(), ("strat1",)])
@pytest.mark.parametrize("margins", ["reports", "cells"])
def test_dask_equals_duckdb_on_caers(strata, margins):
    path = require_reference("caers", "caers.csv")
    src = open_source(path, strata=strata)
    _assert_same(
        count_pairs(src, margins=margins), count_pairs(src, backend="dask", margins=margins)
    )


def test_dask_local_cluster_scores_identical(tmp_path):
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(11)
    size = 20000
    df = pd.DataFrame(
        {
            "id": rng.integers(0, 3000, size).astype(str),
            "drug": rng.choice(
                [f"D{i}" for i in range(60)], size, p=np.r_[0.3, np.full(59, 0.7 / 59)]
            ),
            "event": rng.choice([f"E{i}" for i in range(90)], size),
            "role": rng.choice(["PS", "SS", "C"], size),
            "sex": rng.choice(["F", "M", ""], size),
        }
    )
    path = tmp_path / "rows.parquet"
    df.to_parquet(path)
    src = open_source(path, strata=["sex"])
    theta = (0.2, 0.1, 2.0, 4.0, 0.3)
    a = score_source(src, theta=theta)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        b = score_source(src, theta=theta, backend="dask", dask_client=client)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.reports == b.reports and a.pairs == b.pairs
