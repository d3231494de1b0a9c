"""Property tests: the engine is pure, total and only emits catalogued rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from taperwise.protocol import load_protocol
from taperwise.safety import (
    RULE_CATALOGUE,
    AssessmentFact,
    DoseFact,
    ParticipantFacts,
    VitalsFact,
    evaluate,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROTOCOLS = [
    load_protocol(EXAMPLES / n)
    for n in ("kmc-vs-buprenorphine-vs-placebo.yaml", "lofexidine-phase3.yaml")
]
KNOWN = {r.rule_id for r in RULE_CATALOGUE}
T0 = dt.datetime(2026, 1, 1)
COWS_ALLOWED = {
    "pulse": [0, 1, 2, 4],
    "sweating": [0, 1, 2, 3, 4],
    "restlessness": [0, 1, 3, 5],
    "pupil_size": [0, 1, 2, 5],
    "bone_joint_aches": [0, 1, 2, 4],
    "runny_nose_tearing": [0, 1, 2, 4],
    "gi_upset": [0, 1, 2, 3, 5],
    "tremor": [0, 1, 2, 4],
    "yawning": [0, 1, 2, 4],
    "anxiety_irritability": [0, 1, 2, 4],
    "gooseflesh": [0, 3, 5],
}

times = st.floats(min_value=-72, max_value=0).map(lambda x: T0 + dt.timedelta(hours=x))
cows_forms = st.fixed_dictionaries(
    {k: st.sampled_from(v) for k, v in COWS_ALLOWED.items()}
).flatmap(
    lambda items: times.map(lambda t: AssessmentFact(t, "cows", sum(items.values()), True, items))
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(range(len(PROTOCOLS))),
    st.data(),
    st.lists(cows_forms, max_size=6),
    st.lists(st.tuples(times, st.floats(min_value=0, max_value=20), st.booleans()), max_size=6),
    st.lists(
        st.tuples(times, st.integers(60, 160), st.integers(30, 100), st.integers(35, 130)),
        max_size=4,
    ),
    cows_forms,
)
def test_engine_is_total_and_deterministic(pi, data, assessments, doses, vitals, new_cows):
    protocol = PROTOCOLS[pi]
    arm = data.draw(st.sampled_from(protocol.arms))
    f = ParticipantFacts(
        "P-1",
        arm,
        assessments=tuple(assessments),
        doses=tuple(DoseFact(t, arm.id, a, arm.regimen.unit, g) for t, a, g in doses),
        vitals=tuple(VitalsFact(t, s, d, hr) for t, s, d, hr in vitals),
    )
    new_dose = DoseFact(T0, arm.id, data.draw(st.floats(0, 20)), arm.regimen.unit, True)
    for event in (
        None,
        new_cows.__class__(T0, "cows", new_cows.total, True, new_cows.items),
        new_dose,
    ):
        first = evaluate(protocol, f, event)
        assert first == evaluate(protocol, f, event)
        assert {a.rule_id for a in first} <= KNOWN
    severe = [
        a
        for a in evaluate(
            protocol, f, AssessmentFact(T0, "cows", new_cows.total, True, new_cows.items)
        )
        if a.rule_id == "cows.severe"
    ]
    assert bool(severe) == (new_cows.total > protocol.safety.cows_severe_total)
