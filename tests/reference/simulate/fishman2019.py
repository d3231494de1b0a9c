"""Published marginals of the lofexidine phase 3 trial (Fishman 2019 "Study 1") used to check the
calibrated ``lofexidine-phase3`` scenario.

Sources
-------
- completion (7-day): Fishman M et al., J Addict Med 2019;13:169-176 (PMC6541556), abstract:
  placebo 27.8 %, lofexidine 2.16 mg/day 41.5 %, 2.88 mg/day 39.6 %.
- mean SOWS-Gossop over days 1-7 (SE): Alam D et al., J Drug Assess 2020;9:13-19 (FDA-label
  re-analysis of Study 1, no transformation, no imputation): 8.8 (0.47), 6.5 (0.34), 6.1 (0.35).
- discontinuation for a study-drug-related AE: Fishman 2019 Table 2 (mITT): 1.3 / 6.5 / 13.5 %.
  (All as quoted in shared/reference/trial-design.md §4.2 and domain.md §5.1-5.2.)

Tolerances (stated before testing, not tuned to pass)
------------------------------------------------------
The check is "within Monte Carlo error": |simulated mean over replicates - published| <=
3 x MCSE + CALIBRATION_TOL. CALIBRATION_TOL is the accuracy the calibration itself was run to
(60,000 participants per arm, fixed-point iteration; see taperwise.simulate.calibrate): 0.01 on a
completion proportion, 0.15 SOWS-Gossop points on a mean (a third of the published SE of 0.47),
0.01 on an AE-discontinuation proportion.
"""

ARMS = ("PBO", "LFX216", "LFX288")
N = (151, 229, 222)
COMPLETION = (0.278, 0.415, 0.396)
MEAN_SOWS_G_DAYS_1_7 = (8.8, 6.5, 6.1)
MEAN_SOWS_G_SE = (0.47, 0.34, 0.35)
AE_DISCONTINUATION = (0.013, 0.065, 0.135)

CALIBRATION_TOL = {"completion": 0.01, "mean": 0.15, "ae": 0.01}
