"""Reference numbers for the GPS / disproportionality engine.

Sources (all quoted in ``shared/reference/pharmacovigilance.md`` §1.6-1.7 and §2.6):

* openEBGM 0.9.1 (R; CRAN mirror cran/openEBGM, commit 6e6885cc875a4b3bd653b73cdbcff1ee74bbe0ca),
  vignettes 03-05 rendered output (``inst/doc/*.html``) and tests (``tests/testthat``), data
  ``caers`` (= shared/reference-data/caers/caers.csv).
* pvda 0.0.4 vignette (commit b2362872), pharmsignal tests (Gould 2003, Norén 2006, Singhal 2015).

Tolerances, stated beside each group: openEBGM prints EBGM/quantiles rounded to 2 dp after a
bisection of half-width 0.005, so printed quantiles are compared at abs 0.01; -LL values at 1e-6.
"""

#: vignette 04 theta (5 starts, squash count 2 bin 10 keep 50)
THETA_VIGNETTE04 = (3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557)
#: testEBGM.R theta
THETA_TESTS = (3.25280367, 0.39983376, 2.02490400, 1.90726819, 0.06536416)

N_PAIRS = 17189
N_REPORTS = 3356
#: N distribution (pharmacovigilance.md §1.7): N=1..5
N_HIST = {1: 16040, 2: 710, 3: 193, 4: 80, 5: 41}
N_PRR_INF = 1159

#: vignette 04 first rows: (var1, var2, N, E, RR, PRR, Qn, EBGM, Q05, Q95); abs tol 0.01 on printed
#: 2-dp values, E to 1e-10 relative, Qn to 5e-8 (7 significant digits printed).
FIRST_ROWS = [
    (
        "1-PHENYLALANINE",
        "HEART RATE INCREASED",
        1,
        0.0360548272,
        27.74,
        27.96,
        0.2819737,
        2.23,
        0.49,
        13.85,
    ),
    (
        "11 UNSPECIFIED VITAMINS",
        "ASTHMA",
        1,
        0.0038736591,
        258.15,
        279.58,
        0.3409653,
        2.58,
        0.52,
        15.78,
    ),
    (
        "11 UNSPECIFIED VITAMINS",
        "CARDIAC FUNCTION TEST",
        1,
        0.0002979738,
        3356.00,
        float("inf"),
        0.3482317,
        2.63,
        0.52,
        16.02,
    ),
    ("11 UNSPECIFIED VITAMINS", "CHEST PAIN", 1, None, None, None, 0.2819737, 2.23, None, None),
    (
        "11 UNSPECIFIED VITAMINS",
        "DYSPNOEA",
        1,
        0.0765792610,
        13.06,
        13.11,
        0.2226356,
        1.92,
        0.47,
        11.77,
    ),
    (
        "11 UNSPECIFIED VITAMINS",
        "HYPERSENSITIVITY",
        1,
        0.0527413588,
        18.96,
        19.06,
        0.2556670,
        2.09,
        0.48,
        12.95,
    ),
]

#: vignette 04 top 5 by QUANT_05: (var1, var2, N, E, Q05, EBGM, Q95); abs tol 0.01
TOP_EB05 = [
    ("REUMOFAN PLUS", "WEIGHT INCREASED", 16, 0.40643623, 15.68, 23.26, 33.48),
    (
        "HYDROXYCUT REGULAR RAPID RELEASE CAPLETS",
        "EMOTIONAL DISTRESS",
        19,
        0.89690107,
        11.65,
        16.78,
        23.55,
    ),
    ("REUMOFAN PLUS", "IMMOBILE", 6, 0.07866508, 10.16, 18.28, 30.83),
    (
        "HYDROXYCUT HARDCORE CAPSULES",
        "CARDIO-RESPIRATORY DISTRESS",
        8,
        0.30482718,
        9.00,
        15.25,
        24.52,
    ),
    ("HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "INJURY", 11, 0.56317044, 8.98, 14.28, 21.78),
]
#: vignette 05 top EBGM rows not in TOP_EB05: (var1 prefix, var2, N, E, EBGM); abs tol 0.01
TOP_EBGM = [
    ("EMERGEN-C", "COUGH", 6, 0.14481526, 16.03),
    ("HYDROXYCUT HARDCORE CAPSULES", "MULTIPLE INJURIES", 5, 0.09237187, 15.63),
]
#: exact values of the top pair (pharmacovigilance.md / caers README); rel tol 1e-6
TOP_EXACT = {"eb05": 15.685662, "ebgm": 23.261108, "eb95": 33.477336}
#: exact Q05 of the CARDIO-RESPIRATORY DISTRESS pair with vignette-04 theta; rel tol 1e-6
CARDIO_EB05_EXACT = 8.993320

#: vignette 04 summary(Qn); printed to 7 significant digits
QN_SUMMARY = {
    "min": 0.0001205,
    "q1": 0.2340248,
    "median": 0.3089649,
    "mean": 0.2846021,
    "q3": 0.3397685,
    "max": 0.9999997,
}
#: vignette 05 summary of EBGM / QUANT_05 / QUANT_95 (2-dp values; mean 4 digits)
EBGM_SUMMARY = {"min": 0.200, "median": 2.390, "max": 23.260}
COUNT_EB05_GE_2 = 131
COUNT_EBGM_GT_3 = 556

#: -LL at published estimates, tol 1e-6 (pharmacovigilance.md §1.7; printed values 4162.496 / 4162.456)
NLL_AT_VIGNETTE_NLM = ((3.25086926, 0.39971401, 2.02581887, 1.90806636, 0.06539159), 4162.496332583)
NLL_AT_AUTOHYPER_FULL = (
    (3.25596685, 0.39998994, 2.02376139, 1.90614108, 0.06530755),
    4162.455710380,
)

#: Maximum-likelihood -LL per data variant (pharmacovigilance.md §1.7 table); a fit must reach
#: these within 1e-6. Squash specs: list of (count, bin_size, keep_pts) applied in order.
NLL_OPTIMA = {
    "full": ([], 4162.455710379),
    "squash_default": ([(1, 50, 100)], 4162.496332582),
    "squash_twice": ([(1, 50, 100), (2, 10, 50)], 4161.930153364),
    "squash_tests": ([(1, 80, 80), (2, 12, 12)], 4161.811403421),
    "squash_hyperem": ([(1, 100, 0), (2, 12, 100)], 4163.974343042),
}
#: vignette 03 squashData defaults -> 1,568 points; + count 2 bin 10 keep 50 -> 974 points
N_SQUASHED_DEFAULT = 1568
N_SQUASHED_TWICE = 974
#: vignette 03 autoSquash weight table: {N: {weight: count}}
AUTOSQUASH_TABLE = {1: {1: 100, 6: 1, 31: 514}, 2: {1: 75, 3: 1, 8: 79}, 3: {1: 51, 2: 71}}

#: openEBGM testA_Counts.R hand calculation (dat2), digits 4; rows (A,1)...(C,3) with zeroes
DAT2 = {
    "var1": ["A", "B", "B", "B", "C", "A", "A", "B", "B", "C"],
    "var2": ["e1", "e2", "e2", "e3", "e3", "e2", "e3", "e3", "e3", "e1"],
    "strat1": ["Male"] * 5 + ["Female"] * 3 + ["Male"] * 2,
    "strat2": ["age_cat1"] * 8 + ["age_cat2"] * 2,
    "id": list(range(1, 11)),
}
DAT2_CELLS = [
    ("A", "e1"),
    ("A", "e2"),
    ("A", "e3"),
    ("B", "e1"),
    ("B", "e2"),
    ("B", "e3"),
    ("C", "e1"),
    ("C", "e2"),
    ("C", "e3"),
]
DAT2_N = [1, 1, 1, 0, 2, 3, 1, 0, 1]
DAT2_E = [0.6, 0.9, 1.5, 1, 1.5, 2.5, 0.4, 0.6, 1]
DAT2_PRR = [2.3333, 1.1667, 0.5833, 0, 2, 1.5, 4, 0, 1]
DAT2_E_STRAT = [0.2, 0.4 + 2 / 3, 0.4 + 4 / 3, 1.1, 1.2 + 1 / 3, 1.7 + 2 / 3, 0.7, 0.4, 0.9]
DAT2_RR_STRAT = [5, 0.9375, 0.5769, 0, 1.3043, 1.2676, 1.4286, 0, 1.1111]

#: pvda vignette (pharmacovigilance.md §2.6); 6 significant digits recomputed there
PVDA_PRR = {
    "a": 10,
    "b": 990,
    "c": 200,
    "d": 9800,
    "lower": 0.265826,
    "prr": 0.5,
    "upper": 0.940464,
}
PVDA_ROR = {
    "a": 10,
    "b": 20,
    "c": 200,
    "d": 10000,
    "lower": 11.55350,
    "ror": 25.0,
    "upper": 54.09617,
}
PVDA_IC = {"obs": 10, "exp": 5, "lower": -0.097257, "ic": 0.932886, "upper": 1.689457}
PVDA_DRUGZ = {"obs": 88, "exp": 55.568, "ic025": 0.341177, "ic": 0.658500}
#: pharmsignal / Gould 2003 Table 1 (BCPNN exact moments), abs tol 5e-7
GOULD = [
    {
        "n11": 1614,
        "n1": 85304,
        "n_1": 71209,
        "n": 4640498,
        "ic": 0.3015030,
        "var": 0.0013414553,
        "lo": 0.2297176,
        "hi": 0.3732884,
    },
    {
        "n11": 328,
        "n1": 85304,
        "n_1": 3001,
        "n": 4640498,
        "ic": 2.547888,
        "var": 0.007052478,
        "lo": 2.383292,
        "hi": 2.712484,
    },
]
#: pharmsignal obsexp shrink (Norén 2006 Table III strata), approximate IC025, abs tol 5e-7
NOREN = [
    {
        "n11": 25,
        "n1": 1126,
        "n_1": 87,
        "n": 572573,
        "ic": 5.247845,
        "ic025": 4.578816,
        "ic975": 5.719233,
    },
    {"n11": 203, "n1": 30068, "n_1": 508, "n": 155209, "ic": 1.040800, "ic025": 0.808782},
]
#: Singhal 2015 Table 16 (pharmsignal test) recomputed in pharmacovigilance.md §2.6; 7 significant digits
SINGHAL = [
    {
        "a": 28,
        "b": 942,
        "c": 17,
        "d": 31435,
        "prr": 53.40546,
        "prr_lo": 29.33201,
        "prr_hi": 97.23652,
        "ror": 54.96316,
        "ror_lo": 29.98083,
        "ror_hi": 100.76269,
        "chi2": 544.7096,
        "yates": 524.4647,
    },
    {
        "a": 122,
        "b": 1320,
        "c": 381,
        "d": 31341,
        "prr": 7.044175,
        "prr_lo": 5.784965,
        "prr_hi": 8.577477,
        "ror": 7.602804,
        "ror_lo": 6.155362,
        "ror_hi": 9.390613,
        "chi2": 486.6292,
        "yates": 481.7814,
    },
]
