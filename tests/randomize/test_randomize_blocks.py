"""Permuted-block allocation lists: reproducibility, balance, block sizes, strata, report."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taperwise.errors import ValidationError
from taperwise.randomize import generate_block_list, stratum_key, stratum_keys

ARMS = ["KMC", "BUP", "PBO"]


def _list(**kw):
    options = {
        "arms": ARMS,
        "ratio": [1, 1, 1],
        "block_sizes": [3, 6],
        "strata": {"site": ["a", "b"], "sex": ["F", "M"]},
        "n_per_stratum": 60,
        "seed": 11,
    } | kw
    return generate_block_list(**options)


def _blocks(lst):
    blocks: dict[tuple[str, int], list] = {}
    for e in lst.entries:
        blocks.setdefault((e.stratum, e.block), []).append(e)
    return blocks


def test_same_seed_same_list_different_seed_differs():
    a, b, c = _list(), _list(), _list(seed=12)
    assert a.entries == b.entries and a.sha256 == b.sha256
    assert [e.arm for e in a.entries] != [e.arm for e in c.entries]
    assert a.sha256 != c.sha256


def test_golden_hash_pins_the_algorithm():
    # Regression pin taken from this implementation (numpy 2.4 PCG64 streams): a change here means lists generated with an
    # earlier taperwise can no longer be regenerated from their seed; do not update casually.
    lst = _list(strata={"site": ["a", "b"]}, n_per_stratum=60)
    assert lst.sha256 == "02e7364c7eb38c8a12862f086fd6376c15da25f1bd1c6cc5ff7d2830ba0159c8"


def test_every_block_balanced_and_sizes_from_the_set():
    lst = _list(
        arms=["KMC", "BUP", "PBO"], ratio=[2, 2, 1], block_sizes=[5, 10, 15], n_per_stratum=47
    )
    for (_, _), entries in _blocks(lst).items():
        size = entries[0].block_size
        assert size in {5, 10, 15}
        assert len(entries) == size and all(e.block_size == size for e in entries)
        counts = Counter(e.arm for e in entries)
        assert counts == {"KMC": 2 * size // 5, "BUP": 2 * size // 5, "PBO": size // 5}


def test_sequence_numbers_unique_and_strata_in_cartesian_order():
    lst = _list()
    assert [e.sequence for e in lst.entries] == list(range(1, len(lst.entries) + 1))
    order = list(dict.fromkeys(e.stratum for e in lst.entries))
    assert order == ["site=a|sex=F", "site=a|sex=M", "site=b|sex=F", "site=b|sex=M"]
    assert lst.stratum_keys == order


def test_whole_blocks_reach_n_per_stratum():
    lst = _list(n_per_stratum=61)
    for row in lst.report["strata"]:
        assert 61 <= row["n_generated"] < 61 + 6
        assert sum(row["counts"].values()) == row["n_generated"]
        assert row["counts"]["KMC"] == row["counts"]["BUP"] == row["counts"]["PBO"]


def test_strata_independent():
    two = _list(strata={"site": ["a", "b"]})
    three = _list(strata={"site": ["a", "b", "c"]})
    # each stratum has its own generator: adding a level at the end changes no existing stratum
    for key in ("site=a", "site=b"):
        assert [e.arm for e in two.for_stratum(key)] == [e.arm for e in three.for_stratum(key)]
    assert [e.arm for e in two.for_stratum("site=a")] != [e.arm for e in two.for_stratum("site=b")]


def test_unstratified_list_has_empty_stratum():
    lst = _list(strata=None, n_per_stratum=12)
    assert {e.stratum for e in lst.entries} == {""}
    assert lst.report["n_strata"] == 1


def test_report_and_hash():
    lst = _list()
    rep = lst.report
    assert rep["seed"] == 11
    assert rep["parameters"]["block_sizes"] == [3, 6]
    assert rep["n_entries"] == len(lst.entries)
    assert sum(int(v) for v in rep["block_size_use"].values()) == len(_blocks(lst))
    assert rep["sha256"] == lst.sha256 == hashlib.sha256(lst.to_csv().encode()).hexdigest()
    assert rep["provenance"]["versions"]["numpy"]
    # max imbalance within blocks of 3 and 6 for 1:1:1 can be at most 2 (e.g. B, B first)
    assert 0 < rep["max_imbalance"] <= 2
    frame = lst.to_frame()
    assert list(frame.columns) == ["sequence", "stratum", "block", "block_size", "arm"]
    assert len(frame) == len(lst.entries)


def test_max_imbalance_two_arms_fixed_block_two():
    lst = generate_block_list(arms=["A", "B"], block_sizes=[2], n_per_stratum=20, seed=1)
    assert lst.report["max_imbalance"] == 1.0


def test_stratum_key():
    assert stratum_key({"sex": "F", "site": "a", "x": "1"}, ["site", "sex"]) == "site=a|sex=F"
    assert stratum_key({}, []) == ""
    assert stratum_keys({"a": ["1", "2"], "b": ["x"]}) == ["a=1|b=x", "a=2|b=x"]
    with pytest.raises(ValidationError, match="factor 'sex' has no level"):
        stratum_key({"site": "a"}, ["site", "sex"])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (
            {"block_sizes": [4, 6]},
            "block size 4 is not a multiple of the ratio sum 3 .* allowed sizes are multiples of 3: 3, 6, 9",
        ),
        ({"ratio": [2, 2, 1], "block_sizes": [3]}, "ratio sum 5 .*multiples of 5: 5, 10, 15"),
        ({"ratio": [1, 1]}, "ratio: got 2 part"),
        ({"ratio": [1, 0, 1]}, "not a positive integer"),
        ({"arms": ["A"]}, "at least 2 arms"),
        ({"arms": ["A", "A"]}, "duplicate"),
        ({"n_per_stratum": 0}, "n per stratum"),
        ({"seed": -1}, "seed"),
        ({"strata": {"site": []}}, "at least one"),
        ({"strata": {"site": ["a", "a"]}}, "repeats"),
        ({"strata": {"site": ["a|b"]}}, "may not contain"),
        ({"block_sizes": [3, 3]}, "given twice"),
        ({"block_sizes": []}, "none given"),
    ],
)
def test_bad_input_one_line(kw, match):
    with pytest.raises(ValidationError, match=match) as info:
        _list(**kw)
    assert "\n" not in str(info.value)


@settings(max_examples=60, deadline=None)
@given(
    ratio=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    multiples=st.sets(st.integers(1, 4), min_size=1, max_size=3),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**32),
)
def test_property_blocks_balanced_for_any_ratio(ratio, multiples, n, seed):
    arms = [f"arm{i}" for i in range(len(ratio))]
    unit = sum(ratio)
    sizes = sorted(m * unit for m in multiples)
    lst = generate_block_list(
        arms=arms,
        ratio=ratio,
        block_sizes=sizes,
        strata={"s": ["x", "y"]},
        n_per_stratum=n,
        seed=seed,
    )
    for entries in _blocks(lst).values():
        size = entries[0].block_size
        assert size in sizes and len(entries) == size
        counts = Counter(e.arm for e in entries)
        assert all(counts[a] == r * size // unit for a, r in zip(arms, ratio, strict=True))
    for row in lst.report["strata"]:
        assert n <= row["n_generated"] < n + max(sizes)


def test_read_allocation_csv_roundtrip_and_refuses_edits():
    from taperwise.errors import DataFileError
    from taperwise.randomize import read_allocation_csv

    lst = _list(n_per_stratum=9)
    text = lst.to_csv()
    assert read_allocation_csv(text) == lst.entries
    lines = text.splitlines()
    with pytest.raises(DataFileError, match="list.csv: stratum .* block 1 has"):
        read_allocation_csv("\n".join(lines[:2] + lines[3:]), source="list.csv")
    with pytest.raises(DataFileError, match="list.csv:1: header"):
        read_allocation_csv("seq,arm\n1,A\n", source="list.csv")
    with pytest.raises(DataFileError, match="list.csv:3: sequence 1 repeats line 2"):
        read_allocation_csv("\n".join([lines[0], lines[1], lines[1]]), source="list.csv")
    with pytest.raises(DataFileError, match=":2: sequence, block and block_size must be integers"):
        read_allocation_csv(lines[0] + "\nx,,1,2,A\n")


def test_block_arrangements_and_sizes_are_uniform():
    from scipy.stats import chisquare

    lst = generate_block_list(arms=["A", "B"], block_sizes=[4], n_per_stratum=24_000, seed=2)
    patterns = Counter("".join(e.arm for e in b) for b in _blocks(lst).values())
    assert len(patterns) == 6  # C(4, 2) balanced arrangements
    assert chisquare(list(patterns.values())).pvalue > 1e-3
    mixed = generate_block_list(
        arms=["A", "B"], block_sizes=[2, 4, 6], n_per_stratum=40_000, seed=3
    )
    use = [int(v) for v in mixed.report["block_size_use"].values()]
    assert chisquare(use).pvalue > 1e-3
