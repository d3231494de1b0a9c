"""The same seed gives the same operating characteristics under serial, processes and dask."""

from __future__ import annotations

import pytest

from taperwise.simulate import load_scenario
from taperwise.simulate.operating import operating_characteristics

RUN = dict(reps=8, seed=77, chunk_size=3)


def _strip(oc):
    d = oc.to_dict()
    d.pop("provenance")
    for key in ("elapsed_s", "cpu_s", "executor", "workers", "address"):
        d["settings"].pop(key)
    return d


def _reps(oc):
    return [{k: v for k, v in r.items() if k != "cpu_s"} for r in oc.replicates]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("lofexidine-phase3").with_n(30)


@pytest.fixture(scope="module")
def serial(scenario):
    return operating_characteristics(scenario, executor="serial", keep_replicates=True, **RUN)


def test_same_seed_same_result_serial(scenario, serial):
    again = operating_characteristics(scenario, executor="serial", keep_replicates=True, **RUN)
    assert _reps(again) == _reps(serial)


def test_other_seed_other_result(scenario, serial):
    other = operating_characteristics(scenario, executor="serial", **{**RUN, "seed": 78})
    assert _strip(other) != _strip(serial)


@pytest.mark.slow
def test_processes_equal_serial(scenario, serial):
    oc = operating_characteristics(
        scenario, executor="processes", workers=2, keep_replicates=True, **RUN
    )
    assert _reps(oc) == _reps(serial)
    assert _strip(oc) == _strip(serial)


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(scenario, serial):
    seen = []
    oc = operating_characteristics(
        scenario,
        executor="dask",
        workers=2,
        keep_replicates=True,
        progress=lambda done, total: seen.append((done, total)),
        **RUN,
    )
    assert _reps(oc) == _reps(serial)
    assert _strip(oc) == _strip(serial)
    assert seen[-1] == (RUN["reps"], RUN["reps"])


@pytest.mark.slow
def test_dask_scheduler_address_equals_serial(scenario, serial):
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        oc = operating_characteristics(
            scenario,
            executor="dask",
            address=cluster.scheduler_address,
            keep_replicates=True,
            **RUN,
        )
    assert _reps(oc) == _reps(serial)
