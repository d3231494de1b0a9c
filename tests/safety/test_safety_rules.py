"""Every safety rule, both ways: it fires, and it stays quiet just the other side of its limit."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from taperwise.protocol import load_protocol
from taperwise.safety import (
    AdverseEventFact,
    AssessmentFact,
    DoseFact,
    ParticipantFacts,
    VitalsFact,
    evaluate,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KMC_P = load_protocol(EXAMPLES / "kmc-vs-buprenorphine-vs-placebo.yaml")
LFX_P = load_protocol(EXAMPLES / "lofexidine-phase3.yaml")
T0 = dt.datetime(2026, 3, 2, 8, 0)


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def facts(protocol=KMC_P, arm: str | None = "BUP", **kw) -> ParticipantFacts:
    return ParticipantFacts(
        participant="P-014",
        arm=protocol.arm(arm) if arm else None,
        **kw,
    )


def cows(at: float, total: int | None, *, complete: bool = True, items=None, gi_attr=False):
    return AssessmentFact(h(at), "cows", total, complete, items or {}, gi_attr)


def dose(at: float, amount: float, arm: str = "BUP", unit: str = "mg", given: bool = True):
    return DoseFact(h(at), arm, amount, unit, given)


def ids(alerts) -> list[str]:
    return [a.rule_id for a in alerts]


# --- COWS severe -------------------------------------------------------------------------


def test_cows_severe_fires_above_36():
    alerts = evaluate(KMC_P, facts(), cows(0, 37))
    assert ids(alerts) == ["cows.severe"]
    assert alerts[0].severity == "urgent"
    assert "37 > 36" in alerts[0].message and alerts[0].message.startswith("P-014: ")


def test_cows_severe_quiet_at_36():
    assert evaluate(KMC_P, facts(), cows(0, 36)) == []


def test_cows_severe_from_incomplete_form_lower_bound():
    items = {
        "pulse": 4,
        "sweating": 4,
        "restlessness": 5,
        "pupil_size": 5,
        "bone_joint_aches": 4,
        "runny_nose_tearing": 4,
        "gi_upset": 5,
        "tremor": 4,
        "yawning": 4,
    }  # 39, two items missing
    alerts = evaluate(LFX_P, facts(LFX_P, "PBO"), cows(0, None, complete=False, items=items))
    assert ids(alerts) == ["cows.severe"] and "incomplete" in alerts[0].message


def test_cows_severe_incomplete_below_limit_is_quiet():
    alerts = evaluate(KMC_P, facts(), cows(0, None, complete=False, items={"pulse": 4}))
    assert alerts == []


def test_cows_severe_ignores_other_instruments():
    ev = AssessmentFact(h(0), "sows", 50, True, {})
    assert evaluate(LFX_P, facts(LFX_P, "PBO"), ev) == []


# --- COWS rise ---------------------------------------------------------------------------


def test_cows_rise_fires_at_13_within_24h():
    f = facts(assessments=(cows(-30, 2), cows(-20, 5), cows(-1, 10)))
    alerts = evaluate(KMC_P, f, cows(0, 18))
    assert ids(alerts) == ["cows.rise_24h"]
    assert "rose by 13 (from 5 to 18)" in alerts[0].message and alerts[0].severity == "warning"


def test_cows_rise_quiet_at_12():
    f = facts(assessments=(cows(-20, 5),))
    assert evaluate(KMC_P, f, cows(0, 17)) == []


def test_cows_rise_quiet_when_low_value_is_older_than_24h():
    f = facts(assessments=(cows(-24.5, 2), cows(-10, 10)))
    assert evaluate(KMC_P, f, cows(0, 20)) == []


def test_cows_rise_window_edge_is_inclusive():
    f = facts(assessments=(cows(-24, 2),))
    assert ids(evaluate(KMC_P, f, cows(0, 15))) == ["cows.rise_24h"]


def test_cows_rise_ignores_incomplete_earlier_forms():
    f = facts(assessments=(cows(-5, None, complete=False, items={"pulse": 1}),))
    assert evaluate(KMC_P, f, cows(0, 20)) == []


def test_severe_and_rise_together():
    f = facts(assessments=(cows(-6, 20),))
    assert ids(evaluate(KMC_P, f, cows(0, 40))) == ["cows.severe", "cows.rise_24h"]


# --- buprenorphine below threshold ----------------------------------------------------------


def test_bup_fires_when_latest_cows_below_8():
    f = facts(assessments=(cows(-3, 12), cows(-1, 7)))
    alerts = evaluate(KMC_P, f, dose(0, 4))
    assert ids(alerts) == ["bup.below_cows_threshold"]
    assert "latest COWS was 7 < 8" in alerts[0].message


def test_bup_quiet_at_threshold():
    f = facts(assessments=(cows(-1, 8),))
    assert evaluate(KMC_P, f, dose(0, 4)) == []


def test_bup_fires_when_no_cows_recorded():
    alerts = evaluate(KMC_P, facts(), dose(0, 4))
    assert ids(alerts) == ["bup.below_cows_threshold"] and "no complete COWS" in alerts[0].message


def test_bup_after_methadone_uses_13():
    f = facts(prior_opioid_class="methadone", assessments=(cows(-1, 12),))
    alerts = evaluate(KMC_P, f, dose(0, 4))
    assert ids(alerts) == ["bup.below_cows_threshold"] and "12 < 13" in alerts[0].message
    f13 = facts(prior_opioid_class="methadone", assessments=(cows(-1, 13),))
    assert evaluate(KMC_P, f13, dose(0, 4)) == []


def test_bup_cows_after_the_dose_does_not_count():
    f = facts(assessments=(cows(1, 20),))
    assert ids(evaluate(KMC_P, f, dose(0, 4))) == ["bup.below_cows_threshold"]


def test_bup_checks_first_dose_only_by_default():
    f = facts(assessments=(cows(-1, 10), cows(3, 2)), doses=(dose(0, 4),))
    assert evaluate(KMC_P, f, dose(4, 4)) == []


def test_bup_every_dose_option():
    protocol = KMC_P.model_copy(
        update={"safety": KMC_P.safety.model_copy(update={"buprenorphine_check": "every_dose"})}
    )
    f = facts(protocol, assessments=(cows(-1, 10), cows(3, 2)), doses=(dose(0, 4),))
    assert ids(evaluate(protocol, f, dose(4, 4))) == ["bup.below_cows_threshold"]


def test_bup_rule_ignores_other_arms_and_held_doses():
    assert evaluate(KMC_P, facts(arm="KMC"), dose(0, 1, arm="KMC", unit="capsule")) == []
    assert evaluate(KMC_P, facts(), dose(0, 4, given=False)) == []


# --- alpha-2 hold --------------------------------------------------------------------------


def lfx(**kw) -> ParticipantFacts:
    return facts(LFX_P, "LFX288", **kw)


@pytest.mark.parametrize(
    ("sbp", "dbp", "hr", "symptomatic", "fragment"),
    [
        (89, 70, 70, False, "SBP 89 < 90"),
        (120, 49, 70, False, "DBP 49 < 50"),
        (120, 70, 49, False, "HR 49 < 50"),
        (120, 70, 70, True, "symptomatic"),
    ],
)
def test_alpha2_hold_on_vitals(sbp, dbp, hr, symptomatic, fragment):
    alerts = evaluate(LFX_P, lfx(), VitalsFact(h(0), sbp, dbp, hr, symptomatic))
    assert ids(alerts) == ["alpha2.hold_vitals"]
    assert fragment in alerts[0].message and "hold the next dose" in alerts[0].message
    assert alerts[0].severity == "warning"


def test_alpha2_quiet_at_limits_and_with_missing_values():
    assert evaluate(LFX_P, lfx(), VitalsFact(h(0), 90, 50, 50, False)) == []
    assert evaluate(LFX_P, lfx(), VitalsFact(h(0), None, None, None, False)) == []


def test_alpha2_rule_only_for_alpha2_arms():
    assert evaluate(LFX_P, facts(LFX_P, "PBO"), VitalsFact(h(0), 80, 40, 40, True)) == []
    assert evaluate(LFX_P, facts(LFX_P, None), VitalsFact(h(0), 80, 40, 40, True)) == []


def test_alpha2_dose_given_after_hold_vitals_is_urgent():
    f = lfx(vitals=(VitalsFact(h(-1), 85, 60, 60),))
    alerts = evaluate(LFX_P, f, dose(0, 4, arm="LFX288", unit="tablet"))
    assert ids(alerts) == ["alpha2.hold_vitals"] and alerts[0].severity == "urgent"


def test_alpha2_dose_after_recovered_vitals_is_quiet():
    f = lfx(vitals=(VitalsFact(h(-2), 85, 60, 60), VitalsFact(h(-0.5), 110, 70, 64)))
    assert evaluate(LFX_P, f, dose(0, 4, arm="LFX288", unit="tablet")) == []
    # a held dose is what the rule asks for
    f2 = lfx(vitals=(VitalsFact(h(-1), 85, 60, 60),))
    assert evaluate(LFX_P, f2, dose(0, 4, arm="LFX288", unit="tablet", given=False)) == []


# --- dose limits ---------------------------------------------------------------------------


def test_max_single_fires_above_limit():
    f = facts(assessments=(cows(-1, 12),))
    alerts = evaluate(KMC_P, f, dose(0, 8.5))
    assert ids(alerts) == ["dose.max_single"] and alerts[0].severity == "urgent"
    assert evaluate(KMC_P, f, dose(0, 8)) == []


def test_max_daily_rolling_24h():
    f = facts(assessments=(cows(-1, 12),), doses=(dose(-20, 8), dose(-10, 4)))
    alerts = evaluate(KMC_P, f, dose(0, 6))  # 18 > 16 in 24 h
    assert ids(alerts) == ["dose.max_daily"] and "rolling 24 h" in alerts[0].message
    assert evaluate(KMC_P, f, dose(0, 4)) == []  # exactly 16


def test_max_daily_rolling_window_excludes_doses_24h_ago():
    f = facts(assessments=(cows(-30, 12),), doses=(dose(-24, 8), dose(-10, 4)))
    assert evaluate(KMC_P, f, dose(0, 8)) == []  # the dose at -24 h is outside (t-24h, t]


def test_max_daily_calendar_day_option():
    protocol = KMC_P.model_copy(
        update={"safety": KMC_P.safety.model_copy(update={"dose_daily_window": "calendar_day"})}
    )
    # T0 is 08:00: a dose at -10 h (22:00 the day before) is another calendar day
    f = facts(protocol, assessments=(cows(-20, 12),), doses=(dose(-10, 8), dose(-1, 4)))
    assert evaluate(protocol, f, dose(0, 8)) == []
    f2 = facts(protocol, assessments=(cows(-20, 12),), doses=(dose(-7, 8), dose(-1, 4)))
    alerts = evaluate(protocol, f2, dose(0, 8))
    assert ids(alerts) == ["dose.max_daily"] and "calendar day" in alerts[0].message


def test_held_doses_do_not_count_toward_daily_total():
    f = facts(assessments=(cows(-1, 12),), doses=(dose(-5, 8, given=False), dose(-3, 8)))
    assert evaluate(KMC_P, f, dose(0, 8)) == []


def test_frequency_and_min_interval():
    f = facts(arm="KMC", doses=tuple(dose(t, 1, "KMC", "capsule") for t in (-16, -12, -8, -2)))
    alerts = evaluate(KMC_P, f, dose(0, 1, "KMC", "capsule"))
    assert ids(alerts) == ["dose.frequency", "dose.min_interval"]
    f_ok = facts(arm="KMC", doses=(dose(-5, 1, "KMC", "capsule"),))
    assert evaluate(KMC_P, f_ok, dose(0, 1, "KMC", "capsule")) == []


def test_unit_mismatch_is_reported_instead_of_limits():
    alerts = evaluate(KMC_P, facts(arm="KMC"), dose(0, 500, "KMC", "mg"))
    assert ids(alerts) == ["dose.unit_mismatch"]


# --- GI confound -----------------------------------------------------------------------------


def test_gi_flag_fires_for_positive_gi_item_in_magnesium_study():
    ev = cows(0, 6, items={"gi_upset": 2, "pulse": 1})
    alerts = evaluate(KMC_P, facts(arm="KMC"), ev)
    assert ids(alerts) == ["gi.confound_magnesium"] and alerts[0].severity == "info"
    assert "gi_upset=2" in alerts[0].message


def test_gi_flag_fires_for_attribution_flag_and_sows_gossop_items():
    ev = AssessmentFact(h(0), "sows_gossop", 5, True, {"feeling_sick": 1}, False)
    assert ids(evaluate(KMC_P, facts(arm="KMC"), ev)) == ["gi.confound_magnesium"]
    ev2 = cows(0, 3, items={"gi_upset": 0}, gi_attr=True)
    assert ids(evaluate(KMC_P, facts(arm="KMC"), ev2)) == ["gi.confound_magnesium"]


def test_gi_flag_quiet_without_gi_symptoms_or_without_magnesium_arm():
    assert evaluate(KMC_P, facts(arm="KMC"), cows(0, 6, items={"gi_upset": 0, "pulse": 2})) == []
    assert evaluate(LFX_P, facts(LFX_P, "PBO"), cows(0, 6, items={"gi_upset": 3})) == []


def test_gi_flag_all_arms_keeps_blinding_and_can_be_switched_off():
    ev = cows(0, 6, items={"gi_upset": 2})
    assert ids(evaluate(KMC_P, facts(arm="PBO"), ev)) == ["gi.confound_magnesium"]
    protocol = KMC_P.model_copy(
        update={"safety": KMC_P.safety.model_copy(update={"gi_flag_all_arms": False})}
    )
    assert evaluate(protocol, facts(protocol, arm="PBO"), ev) == []
    assert ids(evaluate(protocol, facts(protocol, arm="KMC"), ev)) == ["gi.confound_magnesium"]


# --- enrolment rules ------------------------------------------------------------------------


def test_magnesium_renal_fires_on_low_egfr_or_flag():
    alerts = evaluate(KMC_P, facts(arm=None, egfr=25), None)
    assert ids(alerts) == ["magnesium.renal"] and "eGFR 25 < 30" in alerts[0].message
    assert ids(evaluate(KMC_P, facts(arm=None, renal_impairment=True), None)) == ["magnesium.renal"]


def test_magnesium_renal_quiet():
    assert evaluate(KMC_P, facts(arm=None, egfr=30), None) == []
    assert evaluate(LFX_P, facts(LFX_P, None, egfr=10, renal_impairment=True), None) == []
    # randomised to an arm without magnesium
    assert evaluate(KMC_P, facts(arm="BUP", egfr=10), None) == []


def test_kratom_cyp3a4_fires_for_listed_comedication():
    f = facts(arm=None, comedications=("Methadone 80 mg", "Xanax 0.5 mg prn", "paracetamol"))
    alerts = evaluate(KMC_P, f, None)
    assert ids(alerts) == ["kratom.cyp3a4_comedication"]
    assert "alprazolam, methadone" in alerts[0].message
    assert "80" not in alerts[0].message  # free text is not echoed


def test_kratom_cyp3a4_quiet():
    assert evaluate(KMC_P, facts(arm=None, comedications=("paracetamol", "ibuprofen")), None) == []
    assert evaluate(LFX_P, facts(LFX_P, None, comedications=("methadone",)), None) == []
    assert evaluate(KMC_P, facts(arm="PBO", comedications=("methadone",)), None) == []


def test_enrolment_rules_only_run_without_an_event():
    f = facts(arm="KMC", egfr=10, comedications=("methadone",))
    assert evaluate(KMC_P, f, cows(0, 3)) == []


# --- adverse events ----------------------------------------------------------------------


def ae(term: str, grade: int, serious: bool = False) -> AdverseEventFact:
    return AdverseEventFact(h(0), term, grade, serious)


@pytest.mark.parametrize("term", ["Seizure", "generalised tonic-clonic seizures", "Convulsion"])
def test_seizure_is_urgent_at_any_grade(term):
    alerts = evaluate(KMC_P, facts(), ae(term, 1))
    assert ids(alerts) == ["ae.seizure"] and alerts[0].severity == "urgent"


def test_grade_3_is_urgent_grade_2_is_not():
    assert ids(evaluate(KMC_P, facts(), ae("Diarrhoea", 3))) == ["ae.grade_ge3"]
    assert evaluate(KMC_P, facts(), ae("Diarrhoea", 2)) == []


def test_serious_ae_is_urgent():
    assert ids(evaluate(KMC_P, facts(), ae("Syncope", 2, serious=True))) == ["ae.serious"]


def test_grade_5_says_death():
    alerts = evaluate(KMC_P, facts(), ae("Cardiac arrest", 5, serious=True))
    assert ids(alerts) == ["ae.grade_ge3", "ae.serious"] and "death" in alerts[0].message


# --- messages --------------------------------------------------------------------------------

_DOSE_ADVICE = re.compile(r"\b(give|increase|decrease|reduce|titrate|administer)\b", re.I)


def _all_alerts():
    yield from evaluate(KMC_P, facts(assessments=(cows(-6, 20),)), cows(0, 40))
    yield from evaluate(KMC_P, facts(assessments=(cows(-1, 3),)), dose(0, 9))
    yield from evaluate(KMC_P, facts(doses=(dose(-2, 8), dose(-1, 8))), dose(0, 8))
    yield from evaluate(LFX_P, lfx(), VitalsFact(h(0), 80, 40, 40, True))
    yield from evaluate(
        LFX_P, lfx(vitals=(VitalsFact(h(-1), 80, 40, 40),)), dose(0, 4, "LFX288", "tablet")
    )
    yield from evaluate(KMC_P, facts(arm="KMC"), cows(0, 6, items={"gi_upset": 2}, gi_attr=True))
    yield from evaluate(KMC_P, facts(arm=None, egfr=20, comedications=("methadone",)), None)
    yield from evaluate(KMC_P, facts(), ae("seizure at home of John Smith", 4, True))


def test_messages_name_only_the_participant_and_never_propose_a_dose():
    alerts = list(_all_alerts())
    assert len({a.rule_id for a in alerts}) >= 12
    for a in alerts:
        assert a.message.startswith("P-014: ")
        assert a.severity in {"info", "warning", "urgent"}
        assert not _DOSE_ADVICE.search(a.message), a.message
        assert "John" not in a.message


def test_naive_and_aware_times_can_be_mixed():
    aware = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
    f = facts(assessments=(AssessmentFact(aware, "cows", 3, True, {}),))
    alerts = evaluate(KMC_P, f, cows(0, 20))  # naive 08:00 taken as UTC
    assert ids(alerts) == ["cows.rise_24h"]


def test_gi_flag_raised_once_per_participant_in_24h():
    earlier = cows(-23, 6, items={"gi_upset": 2})
    again = cows(0, 6, items={"gi_upset": 1})
    assert evaluate(KMC_P, facts(arm="KMC", assessments=(earlier,)), again) == []
    older = cows(-25, 6, items={"gi_upset": 2})
    assert ids(evaluate(KMC_P, facts(arm="KMC", assessments=(older,)), again)) == [
        "gi.confound_magnesium"
    ]
    quiet = cows(-2, 6, items={"gi_upset": 0})
    assert ids(evaluate(KMC_P, facts(arm="KMC", assessments=(quiet,)), again)) == [
        "gi.confound_magnesium"
    ]


def test_gi_flag_repeats_daily_for_persistent_symptoms():
    history = (cows(-48, 6, items={"gi_upset": 2}), cows(-24, 6, items={"gi_upset": 2}))
    # flagged at -48 and again at -24 (24 h later); the next daily form is flagged again
    assert ids(
        evaluate(KMC_P, facts(arm="KMC", assessments=history), cows(0, 6, items={"gi_upset": 1}))
    ) == ["gi.confound_magnesium"]
    # a form 2 h after the -24 h flag is not flagged, and does not reset the 24 h clock
    extra = (*history, cows(-22, 6, items={"gi_upset": 1}))
    assert (
        evaluate(KMC_P, facts(arm="KMC", assessments=history), cows(-22, 6, items={"gi_upset": 1}))
        == []
    )
    assert ids(
        evaluate(KMC_P, facts(arm="KMC", assessments=extra), cows(0, 6, items={"gi_upset": 1}))
    ) == ["gi.confound_magnesium"]
