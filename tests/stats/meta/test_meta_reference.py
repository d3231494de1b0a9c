"""Every metafor reference value of stats-anchors.md section 2 (constants and their sources in
tests/reference/meta/metafor_anchors.py; tolerances stated there: FP values at 1e-9 relative,
printed values at half a unit of the last printed digit)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from conftest import require_reference

HERE = Path(__file__).resolve().parents[2] / "reference" / "meta"


def _load(name: str, filename: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ANCHORS = _load("meta_metafor_anchors", "metafor_anchors.py")


@pytest.fixture(scope="module")
def values() -> dict[str, float]:
    root = require_reference("metadat")
    return _load("meta_compute_taperwise", "compute_taperwise.py").compute(root)


@pytest.mark.parametrize("ref", ANCHORS.REFS, ids=[r.id for r in ANCHORS.REFS])
def test_metafor_reference_value(ref, values):
    assert ref.id in values, f"no taperwise value computed for {ref.id}"
    ours = values[ref.id]
    if ref.dp is None:
        tol = 1e-9 * abs(ref.value) + 1e-12
    else:
        tol = 0.5 * 10.0**-ref.dp + 1e-12
    assert abs(ours - ref.value) <= tol, (
        f"{ref.id}: ours {ours!r} vs metafor {ref.value!r} ({ref.source})"
    )


def test_reference_ids_unique():
    ids = [r.id for r in ANCHORS.REFS]
    assert len(ids) == len(set(ids))
