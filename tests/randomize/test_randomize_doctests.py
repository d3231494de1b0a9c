"""Run the docstring examples of the randomisation package (they are part of its documentation)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "taperwise.randomize",
    "taperwise.randomize.blocks",
    "taperwise.randomize.concealment",
    "taperwise.randomize.minimisation",
    "taperwise.randomize.sequences",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
