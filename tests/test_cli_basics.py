from __future__ import annotations

import json
import math

import numpy as np

from taperwise.jsonout import dumps


def test_help_lists_commands(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert "taperwise" in out.lower() or "usage" in out.lower()


def test_unknown_command_is_usage_error(cli):
    code, _, err = cli("no-such-command")
    assert code == 2
    assert "no-such-command" in err


def test_json_maps_nan_to_null_and_numpy_to_plain():
    doc = json.loads(
        dumps({"a": np.float64(math.nan), "b": np.int64(3), "c": np.array([1.5, 2.0])})
    )
    assert doc == {"a": None, "b": 3, "c": [1.5, 2.0]}
