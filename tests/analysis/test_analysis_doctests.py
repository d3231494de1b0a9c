"""The docstring examples of taperwise.analysis and the trial report run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "taperwise.analysis",
    "taperwise.analysis._synthetic",
    "taperwise.analysis.batch",
    "taperwise.analysis.prepare",
    "taperwise.analysis.pipeline",
    "taperwise.analysis.result",
    "taperwise.analysis.ctn0094",
    "taperwise.report.trial",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
