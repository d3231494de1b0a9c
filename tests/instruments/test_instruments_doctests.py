"""The runnable examples in the instruments docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "taperwise.instruments",
    "taperwise.instruments.model",
    "taperwise.instruments.loader",
    "taperwise.instruments.registry",
    "taperwise.instruments.scoring",
    "taperwise.instruments.fhir",
    "taperwise.instruments.redcap",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
