"""Concealment logic: next unused entry per stratum, 80 % warning, exhaustion is an error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taperwise.errors import ConflictError, NotFoundError, ValidationError
from taperwise.randomize import generate_block_list, next_assignment
from taperwise.randomize.concealment import stratum_usage


@pytest.fixture
def lst():
    # block size 2 and n = 10 gives exactly 10 entries per stratum
    return generate_block_list(
        arms=["A", "B"], block_sizes=[2], strata={"site": ["a", "b"]}, n_per_stratum=10, seed=4
    )


def test_next_is_lowest_unused_in_stratum(lst):
    a = lst.for_stratum("site=a")
    b = lst.for_stratum("site=b")
    first = next_assignment(lst.entries, set(), "site=b")
    assert first.entry == b[0] and first.used_after == 1 and first.size == 10
    used = {a[0].sequence, a[1].sequence, b[0].sequence}
    assert next_assignment(lst.entries, used, "site=a").entry == a[2]
    assert next_assignment(lst.entries, used, "site=b").entry == b[1]
    # a gap (entry 2 unused but 3 used) is filled first
    assert next_assignment(lst.entries, {a[0].sequence, a[2].sequence}, "site=a").entry == a[1]
    assert first.arm == b[0].arm and first.remaining == 9


def test_warning_from_80_percent(lst):
    a = lst.for_stratum("site=a")
    used_six = {e.sequence for e in a[:6]}
    assert next_assignment(lst.entries, used_six, "site=a").warning is None  # 7 of 10
    used_seven = {e.sequence for e in a[:7]}
    warned = next_assignment(lst.entries, used_seven, "site=a")  # 8 of 10 = 80 %
    assert warned.warning is not None
    assert "8 of 10" in warned.warning and "site=a" in warned.warning
    assert "\n" not in warned.warning


def test_walk_to_exhaustion_then_conflict(lst):
    used: set[int] = set()
    arms = []
    for _ in range(10):
        got = next_assignment(lst.entries, used, "site=a")
        used.add(got.entry.sequence)
        arms.append(got.arm)
    assert arms == [e.arm for e in lst.for_stratum("site=a")]
    with pytest.raises(
        ConflictError, match="exhausted for stratum site=a: all 10 entries used"
    ) as info:
        next_assignment(lst.entries, used, "site=a")
    assert "\n" not in str(info.value)
    # the other stratum is untouched
    assert next_assignment(lst.entries, used, "site=b").used_after == 1
    assert stratum_usage(lst.entries, used) == {"site=a": (10, 10), "site=b": (0, 10)}


def test_unknown_stratum_and_sequences(lst):
    with pytest.raises(NotFoundError, match="stratum 'site=z' is not in the allocation list"):
        next_assignment(lst.entries, set(), "site=z")
    with pytest.raises(ValidationError, match="used sequence"):
        next_assignment(lst.entries, {999}, "site=a")
    doubled = list(lst.entries) + [lst.entries[0]]
    with pytest.raises(ValidationError, match="appears more than once"):
        next_assignment(doubled, set(), "site=a")


def test_unstratified_exhaustion_message():
    lst = generate_block_list(arms=["A", "B"], block_sizes=[2], n_per_stratum=2, seed=1)
    used = {e.sequence for e in lst.entries}
    with pytest.raises(ConflictError, match=r"\(unstratified\)"):
        next_assignment(lst.entries, used, "")


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_property_next_is_lowest_unused_and_warning_threshold(data):
    lst = generate_block_list(
        arms=["A", "B", "C"], block_sizes=[3, 6], strata={"s": ["x", "y"]}, n_per_stratum=15, seed=9
    )
    stratum = data.draw(st.sampled_from(["s=x", "s=y"]))
    all_seq = [e.sequence for e in lst.entries]
    used = set(data.draw(st.lists(st.sampled_from(all_seq), unique=True)))
    mine = lst.for_stratum(stratum)
    unused = [e for e in mine if e.sequence not in used]
    if not unused:
        with pytest.raises(ConflictError):
            next_assignment(lst.entries, used, stratum)
        return
    got = next_assignment(lst.entries, used, stratum)
    assert got.entry == unused[0]
    assert got.used_after == len(mine) - len(unused) + 1
    assert (got.warning is not None) == (got.used_after / got.size >= 0.8)
