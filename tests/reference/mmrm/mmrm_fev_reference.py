"""Reference numbers for the MMRM engine on mmrm's ``fev_data`` (shared/reference-data/mmrm).

Sources (copied from ../shared/reference/stats-anchors.md §4, which cites them):
- R package mmrm 0.3.18 (openpharma/mmrm, commit ec290b2695b25057b31bc98e27c39d3f498cd0d6):
  ``tests/testthat/_snaps/tmb-methods.md`` (main model, full precision), ``_snaps/interop-car.md``
  (Type II/III), ``_snaps/kenwardroger.md`` and ``test-kenwardroger.R`` (Kenward-Roger),
  ``test-tmb.R`` (SAS-anchored deviances), ``test-mmrm-methods.R`` (grouped model).
- SAS PROC MIXED listings in mmrm's ``design/SAS/`` (``sas_log_reml.txt``, ``sas_log.txt``).

Tolerances (stats-anchors.md §5, and why):
- DEV_REL = 1e-8: -2 log L relative; SAS stops up to ~1e-5 (absolute) above the true minimum,
  so a deviance may also sit below SAS by at most DEV_BELOW_ABS.
- PAR_REL = 1e-4: estimates, SEs, Satterthwaite/KR df, LS means vs SAS/mmrm (what mmrm itself
  asserts; neither SAS nor mmrm is converged beyond this, §0 finding 4).
- F_REL = 2e-4: F statistics are quadratic in the estimates, so a 1e-4 relative parameter
  difference from mmrm's early stop becomes ~2e-4 in F (measured: ARMCD Type III 1.0e-4).
- Multi-row Satterthwaite den df (Type II/III): 2E / (E - r) with E = sum nu_i / (nu_i - 2)
  amplifies relative differences of the one-row df nu_i by up to E / (E - r) (reported as
  ``df_amplification``, ~75-83 here); the tolerance is PAR_REL x that factor.
- KR_US_REL = 1e-3: mmrm's own tolerance for us Kenward-Roger vs SAS (test-kenwardroger.R).
- Printed 4-dp values (SAS, LS means) are compared at half a unit in the last printed digit.
"""

DEV_REL = 1e-8
DEV_BELOW_ABS = 1e-5
PAR_REL = 1e-4
F_REL = 2e-4
KR_US_REL = 1e-3

MAIN_FORMULA = "FEV1 ~ RACE + SEX + ARMCD*AVISIT + us(AVISIT | USUBJID)"
MAIN_LEVELS = {"SEX": ["Male", "Female"]}

# §4.1 mmrm full precision: term -> (estimate, se, Satterthwaite df)
MAIN_REML = {
    "RACEBlack or African American": (1.5304997707921, 0.624475361804821, 168.665718047674),
    "RACEWhite": (5.64356534807883, 0.665609345806726, 157.138215602096),
    "SEXFemale": (0.326061922040439, 0.531950363284883, 166.132390274815),
    "ARMCDTRT": (3.77423004340742, 1.07414697568452, 145.551961966958),
    "AVISITVIS2": (4.83958845465698, 0.80171672401867, 143.875836395446),
    "AVISITVIS3": (10.3421128832467, 0.822693114357083, 155.557518226365),
    "AVISITVIS4": (15.0538982626895, 1.31281331020802, 138.470779333042),
    "ARMCDTRT:AVISITVIS2": (-0.0419262502437297, 1.12931807081669, 138.564258914368),
    "ARMCDTRT:AVISITVIS3": (-0.693685370012233, 1.18764553104087, 158.165143267807),
    "ARMCDTRT:AVISITVIS4": (0.624227032468209, 1.85085235375357, 129.720430941981),
}
MAIN_INTERCEPT = 30.7774754828939
MAIN_INTERCEPT_SAS = (30.7774, 0.8865, 219)  # SAS est, se, df (4 dp / rounded df)
MAIN_DEVIANCE_SAS = 3386.44987722
MAIN_LOGLIK = -1693.22494  # mmrm, tol 1e-3 in its test
MAIN_AIC = 3406.44988
MAIN_BIC = 3439.28191  # log(197 subjects)
MAIN_SIGMA_SAS = [  # VIS1..VIS4, 4 dp
    [40.5509, 14.3982, 4.9744, 13.3731],
    [14.3982, 26.5692, 2.7851, 7.4790],
    [4.9744, 2.7851, 14.8970, 0.9017],
    [13.3731, 7.4790, 0.9017, 95.5528],
]
# Independent full convergence (stats-anchors §4.5): -2 REML log L at |grad| < 1e-12
MAIN_DEVIANCE_CONVERGED = 3386.44987116
MAIN_ML_DEVIANCE_SAS = 3397.57220025

# LS means (SAS LSMEANS AVISIT*ARMCD, 4 dp): visit -> (PBO mean, se), (TRT mean, se), (diff, se)
LSMEANS_SAS = {
    "VIS1": ((33.3318, 0.7554), (37.1063, 0.7626), (3.7745, 1.0741)),
    "VIS2": ((38.1715, 0.6117), (41.9037, 0.6023), (3.7322, 0.8588)),
    "VIS3": ((43.6740, 0.4617), (46.7546, 0.5086), (3.0806, 0.6896)),
    "VIS4": ((48.3855, 1.1886), (52.7841, 1.1877), (4.3985, 1.6805)),
}

# Type II (car::Anova via mmrm, FP): term -> (num df, den df, F)
TYPE2 = {
    "RACE": (2, 165.555271036152, 36.9114313439291),
    "SEX": (1, 166.132390274796, 0.375714493693753),
    "ARMCD": (1, 169.118081341052, 31.4209157299747),
    "AVISIT": (3, 148.651576899468, 142.822149813409),
    "ARMCD:AVISIT": (3, 147.914553164601, 0.258059683823141),
}
# Type III F (FP, mmrm) and den df (SAS, rounded)
TYPE3_F = {
    "RACE": 36.9114313439291,
    "SEX": 0.375714493693753,
    "ARMCD": 31.6630556880263,
    "AVISIT": 142.112225163936,
    "ARMCD:AVISIT": 0.258059683823142,
}
TYPE3_DEN_DF = {  # mmrm FP (car::Anova type III)
    "RACE": 165.663091950489,
    "SEX": 166.132390274796,
    "ARMCD": 168.517347862674,
    "AVISIT": 150.27935903331,
    "ARMCD:AVISIT": 150.218537341506,
}
# SAS III den df (rounded). SAS's 148 for the 3-df terms comes from a different contrast basis
# (multi-row Satterthwaite df depend on the basis; the treatment-coded basis gives 148.1 / 147.9,
# mmrm's sum-to-zero basis 150.2); only the 1-2 df terms are basis-free enough to compare.
TYPE3_DEN_DF_SAS = {"RACE": 166, "SEX": 166, "ARMCD": 169}

# §4.2 SAS-anchored deviances, intercept-only models: cov -> (ML, REML, b0 ML, b0 REML, se ML, se REML)
DEVIANCES = {
    "us": (3700.68707570, 3700.94648570, 42.8367, 42.8338, 0.3499, 0.3509),
    "ar1": (3875.95352406, 3875.49945459, 42.3252, 42.3255, 0.5000, 0.5013),
    "cs": (3918.12214544, 3917.98183508, 42.2897, 42.2896, 0.4273, 0.4285),
    "toep": (3857.00777313, 3856.68995273, 42.3717, 42.3721, 0.4669, 0.4684),
}
GROUPED_AR1 = (3873.08507919, 3872.65212395, 41.9560, 41.9576, 0.4947, 0.4960)

# §4.3 Kenward-Roger, FEV1 ~ ARMCD + cov(AVISIT | USUBJID), REML, ARMCD TRT
KR_AR1 = {
    "estimate": 4.22574283798881,
    "se_kr": 0.958582835484051,
    "se_kr_linear": 0.96058142305176,
    "df": 188.469542953831,
    "t": 4.40832308024267,
    "p": 1.74717113178929e-05,
    "f2_den_df": 188.648444482487,
    "f2_F": 3913.7241325595,
    "vcov_kr": (0.442311524488976, -0.442311524488976, 0.918881052484644),
    "vcov_kr_linear": (0.444119599330238, -0.444119599330238, 0.922715039314076),
}
KR_US_SAS = {"se": 0.66124382270307, "df": 160.733266403768}

# §4.4 FEV1 ~ ARMCD + SEX + us(AVISIT | USUBJID), REML (SAS): term -> (est, se, lower, upper)
ARMCD_SEX_US_REML = {
    "deviance": 3666.96698281,
    "(Intercept)": (41.0762, 0.5504, 39.9890, 42.1634),
    "ARMCDTRT": (3.8265, 0.6421, 2.5584, 5.0945),
    "SEXFemale": (-0.1404, 0.6434, -1.4108, 1.1301),
}
# Grouped us by ARMCD, REML (mmrm): F tests and fit criteria
GROUPED_US = {
    "intercept_F": 10170.36271,
    "intercept_den_df": 93.50361,
    "armcd_F": 30.09819,
    "armcd_den_df": 146.55428,
    "aic": 3702.7,
    "bic": 3768.3,
    "deviance": 3662.7,
}
# Between-within df (mmrm test-between-within.R)
BETWEEN_WITHIN = {"between": 192, "within": 334}

# §4.5 independent fully converged REML fit of the main model (|grad| < 1e-12), 7-8 significant
# digits as printed there; coefficient order as in MAIN_REML with the intercept first.
MAIN_BETA_CONVERGED = (
    30.7774066,
    1.5305949,
    5.6435679,
    0.3260273,
    3.7744141,
    4.8396039,
    10.3421671,
    15.0537863,
    -0.0420901,
    -0.6938069,
    0.6241227,
)
MAIN_SIGMA_CONVERGED_UPPER = (
    40.5544,
    14.3960,
    4.9760,
    13.3779,
    26.5714,
    2.7836,
    7.4773,
    14.8980,
    0.9036,
    95.5565,
)

# Empirical (CR0 sandwich) SE of ARMCDTRT in FEV1 ~ ARMCD + cov(...), REML, df "Residual",
# unweighted and with weights = WEIGHT; SAS values asserted by mmrm at 1e-4 in
# tests/testthat/test-empirical.R ("empirical covariance are the same with SAS result for ...").
# sp_exp uses coordinates (VISITN, VISITN2).
EMPIRICAL_SE = {
    "ar1": 0.82581291651503,
    "ar1h": 0.67973236317634,
    "cs": 0.79354667955483,
    "csh": 0.67851405488729,
    "toep": 0.87390988854018,
    "toeph": 0.68088497850656,
    "adh": 0.64461343431037,
    "us": 0.63959860090712,
    "sp_exp": 0.80974821922674,
}
EMPIRICAL_SE_WEIGHTED = {
    "ar1": 0.9766083014759,
    "ar1h": 0.77913503559498,
    "cs": 0.90291936438319,
    "csh": 0.76200584549261,
    "toep": 1.00281379688484,
    "toeph": 0.77628714727105,
    "adh": 0.73422273273261,
    "us": 0.73089269734199,
    "sp_exp": 0.93828496200941,
}

# Main model by ML (SAS sas_log.txt, 4 dp): term -> (estimate, se)
MAIN_ML_SAS = {
    "(Intercept)": (30.7748, 0.8767),
    "ARMCDTRT": (3.7751, 1.0641),
    "AVISITVIS2": (4.8376, 0.7948),
    "AVISITVIS3": (10.3459, 0.8156),
    "AVISITVIS4": (15.0480, 1.3027),
    "ARMCDTRT:AVISITVIS2": (-0.03937, 1.1195),
    "ARMCDTRT:AVISITVIS3": (-0.6923, 1.1773),
    "ARMCDTRT:AVISITVIS4": (0.6250, 1.8367),
    "RACEBlack or African American": (1.5361, 0.6146),
    "RACEWhite": (5.6436, 0.6548),
    "SEXFemale": (0.3275, 0.5235),
}
MAIN_ML_SIGMA_UPPER_SAS = (
    39.7740,
    14.0451,
    4.7227,
    12.9820,
    25.9989,
    2.5419,
    7.2159,
    14.4620,
    0.6609,
    93.9227,
)
# Main fixed effects with cs(AVISIT | USUBJID), REML (mmrm test-mmrm-methods.R, tol 1e-3)
MAIN_CS_REML = {"loglik": -1761.02147, "aic": 3526.04295, "bic": 3532.60936}
# Between-within F tests on the main model (mmrm test-between-within.R): rows -> (F, den df)
BW_F = {"RACE": (36.91, 192), "VIS2,VIS3": (80.96, 334)}

# _snaps/kenwardroger.md "intercept" row of the ar1 KR model (stats-anchors §4.3): these values
# are the KR test of (Intercept) + ARMCDTRT, i.e. the TRT-arm mean (the intercept when TRT is
# the reference level): est, se, df.
KR_AR1_TRT_MEAN = (44.5138538316888, 0.690340153834085, 183.109526300275)
