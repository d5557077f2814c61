"""analysis.stats.rank_tests against R 4.2.2 (wilcox.test, cor.test): R's values hard-coded.

Every row of R_CHECKED holds the R call, the Python value and R's value as printed by
``print(..., digits = 17)``. The R objects named in a call hold the same numbers as the
constants below (a literal list ``NAME`` is ``NAME <- c(...)`` in R; R_DEFINITIONS gives the R
code of the others). R itself is not needed to run these tests.

Asserted tolerance: relative 1e-9 (absolute 1e-12 near zero) for every value, including the
interval ends and estimates that R finds with uniroot(tol = 1e-4): the module runs the same
Brent iterations as R, so it lands on the same point inside R's tolerance band (observed
agreement: relative 2e-14 or better).
"""

import math
import time
from functools import cache

import numpy as np
import pytest

from analysis.stats.rank_tests import (
    METHOD_EXACT,
    METHOD_NORMAL,
    METHOD_NORMAL_CC,
    METHOD_SPEARMAN_EDGEWORTH,
    METHOD_SPEARMAN_ENUMERATION,
    METHOD_SPEARMAN_T,
    RankSumResult,
    SignedRankResult,
    SpearmanResult,
    mann_whitney,
    smallest_attainable_p,
    smallest_attainable_p_rank_sum,
    spearman,
    spearman_p_value,
    wilcoxon_signed_rank,
)

REL, ABS = 1e-9, 1e-12

# ---------------------------------------------------------------------------------------------
# Data. The issue's two samples (no ties; x - y has float noise, -3.0999999999999996 vs
# -3.1000000000000005, which R ranks as distinct because digits.rank = Inf).
ISSUE_X = [0.8, 1.9, 2.7, 3.1, 4.6, 5.2, 6.3, 7.5, 8.4]
ISSUE_Y = [3.3, 4.1, 5.7, 6.6, 7.2, 8.9, 9.4, 10.8, 11.5]
# Hollander & Wolfe (1973) p. 29, Hamilton depression scale: the example in R's ?wilcox.test.
HW_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
HW_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
N3 = [1.5, -0.7, 2.2]
N4 = [1.2, -0.4, 2.5, 3.1]
N5 = [0.9, 2.3, -0.6, 1.7, 3.4]
# 51 changes without ties or zeros (numpy seed 20240601, rounded to 2 decimals).
N51 = [
    1.63, 1.84, 0.1, 2.6, 1.08, 1.1, 1.92, 0.54, 1.4, 0.61, -1.56, 1.35, 0.78, 1.34, 2.78, 1.36,
    0.09, -0.42, -1.26, -0.52, 1.37, 2.83, -2.01, -0.64, -4.29, -0.85, 0.87, 1.68, -3.25, 1.19,
    0.35, 3.21, 0.21, -0.7, -0.63, 1.29, -0.66, 0.39, -1.91, 0.17, -0.12, -0.56, -0.2, -0.45,
    2.54, 0.96, 0.29, -0.76, -1.53, -3.04, 1.69,
]  # fmt: skip
# 49 changes without ties or zeros; N50 adds one more (R: N50 <- c(N49, 3.44)).
N49 = [
    1.32, 1.47, -2.13, 0.78, -0.89, 1.84, 0.08, 0.96, -0.47, 0.79, 0.67, 0.59, 1.13, -0.1, 2.28,
    0.33, 1.53, 1.63, -1.78, -0.86, -1.12, 1.81, -0.58, 0.03, -0.94, 1.62, 1.28, -0.31, -0.09,
    0.87, 0.73, 0.24, 2.12, 0.75, -0.32, -0.34, -2.79, 1.45, 0.99, 0.07, 0.92, 0.25, 3.07, 1.57,
    -0.13, -0.12, 0.17, 0.74, -0.22,
]  # fmt: skip
N50 = [*N49, 3.44]
# 60 pain-score changes -3..+1 (8 zeros, heavy ties); order does not matter to the test.
PAIN60 = [-3.0] * 8 + [-2.0] * 17 + [-1.0] * 21 + [0.0] * 8 + [1.0] * 6
DEC_TIES12 = [0.5, -0.3, 1.2, 0.5, 2.1, -0.3, 0.8, 1.2, 1.7, -0.9, 0.4, 2.5]
DEC_ZERO10 = [0.5, -0.3, 1.2, 0.0, 2.1, -0.7, 0.8, 1.4, 1.7, -0.9]
TIED_TWO_LEVELS = [1.0, 1.0, 3.0, 3.0, 3.0]
TWO_VALUES = [2.0, 2.0, 0.0, 2.0]
_i = np.arange(1, 100_001)
BIG_TIES = ((_i * 7919) % 201 - 100) / 10 + (_i % 7 == 0) * 0.1  # 100k changes, ties, zeros

MW_6 = [3.98, 4.82, 1.57, 7.73, 8.07, 8.31]
MW_60 = [
    5.17, 5.64, 4.51, 4.43, 4.47, 3.36, 4.94, 5.95, 4.68, 6.02, 4.56, 2.67, 2.41, 5.74, 3.4,
    2.69, 4.48, 2.08, 3.31, 2.48, 6.04, 3.9, 4.04, 1.9, 3.59, 4.12, 1.36, 1.51, 4.32, 6.25, 6.08,
    0.63, 4.81, 2.27, 6.5, 5.6, 3.96, 0.41, 2.38, 6.21, 4.5, 4.3, 7.48, 3.66, 3.39, 8.04, 3.18,
    7.14, 3.73, 2.79, 2.68, 0.96, 4.25, 7.38, 4.64, 6.79, 4.05, 1.17, 3.85, 3.01,
]  # fmt: skip
MW_12 = [0.7, 1.11, 0.17, 0.95, 0.96, 0.21, 0.77, -0.58, 1.14, 1.76, 0.74, 0.61]
MW_15 = [-1.79, 0.12, 1.38, -0.45, 0.23, 0.28, 0.84, 0.34, -0.15, 1.61, -0.18, -0.74, -0.12,
         0.49, 0.19]  # fmt: skip
MW_2 = [1.1, 2.5]
MW_3 = [0.3, 3.7, 4.2]
TIES_A = [3.0, 5.0, 4.0, 6.0, 5.0, 7.0, 4.0, 8.0]
TIES_B = [2.0, 3.0, 3.0, 4.0, 5.0, 2.0, 1.0, 4.0, 3.0]
BIG_X = ((np.arange(1, 1001) * 7919) % 1009) / 100
BIG_Y = ((np.arange(1, 1201) * 104729) % 1201) / 100 - 0.5

SP8_X = [1.2, 2.3, 2.9, 3.8, 4.4, 5.1, 6.7, 7.5]
SP8_Y = [12.0, 10.1, 11.4, 14.5, 13.2, 16.8, 17.9, 15.3]  # ranks 3 1 2 5 4 7 8 6: S = 14
SP5_X = [3.1, 1.2, 4.5, 2.2, 5.0]
SP5_Y = [2.0, 1.1, 2.9, 3.5, 4.4]
SP9_Y = [2.1, 1.4, 3.9, 3.3, 6.2, 4.8, 5.1, 9.7, 7.7]
SP9_NEG_Y = [9.1, 6.4, 7.9, 5.3, 6.2, 4.8, 3.1, 1.7, 2.7]
SP10_Y = [*SP9_Y, 8.8]
SP25_X = [0.38, -0.53, -0.55, 0.26, -0.09, 0.9, 0.29, 1.74, 0.37, -1.4, 0.69, 2.23, 0.77, 1.38,
          1.82, -0.26, 0.08, -0.43, -0.2, -1.26, -1.71, 0.94, 0.47, 1.23, -2.03]  # fmt: skip
SP25_Y = [0.06, 0.55, 0.14, 0.6, -0.73, 1.52, -1.4, -0.58, 0.85, -0.76, 0.48, 2.48, -0.27, 1.57,
          1.47, -0.6, 0.54, -0.5, 1.93, -0.26, -0.98, 1.06, -0.53, 0.75, -2.53]  # fmt: skip
TIES20_X = [1, 2, 2, 3, 4, 4, 4, 5, 6, 7, 7, 8, 9, 9, 10, 11, 12, 12, 13, 14]
TIES20_Y = [3, 1, 4, 4, 5, 2, 6, 6, 5, 8, 7, 9, 7, 10, 12, 9, 11, 13, 12, 14]
TIES5_X = [1, 2, 2, 3, 4]
TIES5_Y = [2, 1, 3, 3, 5]


def _formula_pair(n: int, slope: float) -> tuple[np.ndarray, np.ndarray]:
    a = np.arange(1, n + 1)
    return a.astype(float), (a * 7919) % 10007 + a * slope


SP30_X, SP30_Y = _formula_pair(30, 120)
SP200_X, SP200_Y = _formula_pair(200, 8)
SP1290_X, SP1290_Y = _formula_pair(1290, 0.4)
SP1291_X, SP1291_Y = _formula_pair(1291, 0.4)

# R code for the constants that are not a plain c(...) of the list above.
R_DEFINITIONS = {
    "N50": "N50 <- c(N49, 3.44)",
    "PAIN60": "PAIN60 <- rep(c(-3, -2, -1, 0, 1), c(8, 17, 21, 8, 6))",
    "BIG_TIES": "i <- 1:100000; BIG_TIES <- ((i * 7919) %% 201 - 100) / 10 + (i %% 7 == 0) * 0.1",
    "BIG_X": "BIG_X <- ((1:1000 * 7919) %% 1009) / 100",
    "BIG_Y": "BIG_Y <- ((1:1200 * 104729) %% 1201) / 100 - 0.5",
    "SP9_X": "SP9_X <- 1:9",
    "SP9_NEG_X": "SP9_NEG_X <- 1:9",
    "SP10_X": "SP10_X <- 1:10",
    "SP10_Y": "SP10_Y <- c(SP9_Y, 8.8)",
    "SP30": "a <- 1:30; SP30_X <- a; SP30_Y <- (a * 7919) %% 10007 + a * 120",
    "SP200": "a <- 1:200; SP200_X <- a; SP200_Y <- (a * 7919) %% 10007 + a * 8",
    "SP1290": "a <- 1:1290; SP1290_X <- a; SP1290_Y <- (a * 7919) %% 10007 + a * 0.4",
    "SP1291": "a <- 1:1291; SP1291_X <- a; SP1291_Y <- (a * 7919) %% 10007 + a * 0.4",
}
SP9_X = SP9_NEG_X = list(range(1, 10))
SP10_X = list(range(1, 11))


@cache
def sr(name: str, correct: bool = True, conf_level: float = 0.95) -> SignedRankResult:
    data = {"ISSUE": np.subtract(ISSUE_X, ISSUE_Y), "HW": np.subtract(HW_X, HW_Y)}.get(name)
    if data is None:
        data = globals()[name]
    return wilcoxon_signed_rank(data, correct=correct, conf_level=conf_level)


@cache
def mw(x: str, y: str, correct: bool = True) -> RankSumResult:
    return mann_whitney(globals()[x], globals()[y], correct=correct)


@cache
def sp(name: str) -> SpearmanResult:
    return spearman(globals()[f"{name}_X"], globals()[f"{name}_Y"])


NAN = math.nan
SR_ISSUE = "wilcox.test(ISSUE_X, ISSUE_Y, paired = TRUE, conf.int = TRUE)"
SR_HW = "wilcox.test(HW_X, HW_Y, paired = TRUE, conf.int = TRUE)"

# (R call, value computed here, R's value)
R_CHECKED = [
    # --- signed rank, exact (n < 50, no ties, no zeros)
    (f"{SR_ISSUE}$statistic", lambda: sr("ISSUE").v, 0),
    (f"{SR_ISSUE}$p.value", lambda: sr("ISSUE").p_value, 0.00390625),
    (f"{SR_ISSUE}$estimate", lambda: sr("ISSUE").estimate, -3.0499999999999998),
    (f"{SR_ISSUE}$conf.int[1]", lambda: sr("ISSUE").ci_low, -3.4000000000000004),
    (f"{SR_ISSUE}$conf.int[2]", lambda: sr("ISSUE").ci_high, -2.5999999999999996),
    (f"{SR_HW}$statistic", lambda: sr("HW").v, 40),
    (f"{SR_HW}$p.value", lambda: sr("HW").p_value, 0.0390625),
    (f"{SR_HW}$estimate", lambda: sr("HW").estimate, 0.46000000000000008),
    (f"{SR_HW}$conf.int[1]", lambda: sr("HW").ci_low, 0.010000000000000009),
    (f"{SR_HW}$conf.int[2]", lambda: sr("HW").ci_high, 0.78600000000000003),
    # small n: R reports the achieved level when the requested one is out of reach
    ('attr(wilcox.test(N3, conf.int = TRUE)$conf.int, "conf.level")',
     lambda: sr("N3").ci_level_achieved, 0.75),
    ("wilcox.test(N3, conf.int = TRUE)$p.value", lambda: sr("N3").p_value, 0.50000000000000011),
    ("wilcox.test(N3, conf.int = TRUE)$estimate", lambda: sr("N3").estimate, 1.125),
    ("wilcox.test(N3, conf.int = TRUE)$conf.int[1]", lambda: sr("N3").ci_low, -0.7),
    ("wilcox.test(N3, conf.int = TRUE)$conf.int[2]", lambda: sr("N3").ci_high, 2.2),
    ('attr(wilcox.test(N4, conf.int = TRUE)$conf.int, "conf.level")',
     lambda: sr("N4").ci_level_achieved, 0.88),
    ("wilcox.test(N4, conf.int = TRUE)$estimate", lambda: sr("N4").estimate, 1.6),
    ("wilcox.test(N4, conf.int = TRUE)$conf.int[1]", lambda: sr("N4").ci_low, -0.4),
    ("wilcox.test(N4, conf.int = TRUE)$conf.int[2]", lambda: sr("N4").ci_high, 3.1),
    ('attr(wilcox.test(N4, conf.int = TRUE, conf.level = 0.9)$conf.int, "conf.level")',
     lambda: sr("N4", conf_level=0.9).ci_level_achieved, 0.9),
    ('attr(wilcox.test(N5, conf.int = TRUE)$conf.int, "conf.level")',
     lambda: sr("N5").ci_level_achieved, 0.95),
    ("wilcox.test(N5, conf.int = TRUE)$p.value", lambda: sr("N5").p_value, 0.125),
    ("wilcox.test(N5, conf.int = TRUE)$conf.int[1]", lambda: sr("N5").ci_low, -0.6),
    ("wilcox.test(N5, conf.int = TRUE)$conf.int[2]", lambda: sr("N5").ci_high, 3.4),
    ("wilcox.test(N49, conf.int = TRUE)$statistic", lambda: sr("N49").v, 872),
    ("wilcox.test(N49, conf.int = TRUE)$p.value", lambda: sr("N49").p_value,
     0.0091296155135083285),
    ("wilcox.test(N49, conf.int = TRUE)$estimate", lambda: sr("N49").estimate, 0.47),
    ("wilcox.test(N49, conf.int = TRUE)$conf.int[1]", lambda: sr("N49").ci_low, 0.1399999999999999),
    ("wilcox.test(N49, conf.int = TRUE)$conf.int[2]", lambda: sr("N49").ci_high,
     0.77499999999999991),
    # --- signed rank, normal approximation: n >= 50
    ("wilcox.test(N50, conf.int = TRUE)$statistic", lambda: sr("N50").v, 922),
    ("wilcox.test(N50, conf.int = TRUE)$p.value", lambda: sr("N50").p_value,
     0.0061153563140399691),
    ("wilcox.test(N50, conf.int = TRUE)$estimate", lambda: sr("N50").estimate,
     0.49996957653399515),
    ("wilcox.test(N50, conf.int = TRUE)$conf.int[1]", lambda: sr("N50").ci_low,
     0.17503436292954047),
    ("wilcox.test(N50, conf.int = TRUE)$conf.int[2]", lambda: sr("N50").ci_high,
     0.82994461029383249),
    ("wilcox.test(N51, conf.int = TRUE)$statistic", lambda: sr("N51").v, 827),
    ("wilcox.test(N51, conf.int = TRUE)$p.value", lambda: sr("N51").p_value, 0.12538385157477366),
    ("wilcox.test(N51, conf.int = TRUE)$estimate", lambda: sr("N51").estimate,
     0.35507726472001522),
    ("wilcox.test(N51, conf.int = TRUE)$conf.int[1]", lambda: sr("N51").ci_low,
     -0.1100578870604766),
    ("wilcox.test(N51, conf.int = TRUE)$conf.int[2]", lambda: sr("N51").ci_high,
     0.78005235716728272),
    ("wilcox.test(N51, conf.int = TRUE, correct = FALSE)$p.value",
     lambda: sr("N51", correct=False).p_value, 0.12423245139859511),
    ("wilcox.test(N51, conf.int = TRUE, correct = FALSE)$conf.int[1]",
     lambda: sr("N51", correct=False).ci_low, -0.10998699731959886),
    ("wilcox.test(N51, conf.int = TRUE, correct = FALSE)$conf.int[2]",
     lambda: sr("N51", correct=False).ci_high, 0.78006338979120959),
    ("wilcox.test(N51, conf.int = TRUE, conf.level = 0.9)$conf.int[1]",
     lambda: sr("N51", conf_level=0.9).ci_low, -0.034977420627305883),
    ("wilcox.test(N51, conf.int = TRUE, conf.level = 0.9)$conf.int[2]",
     lambda: sr("N51", conf_level=0.9).ci_high, 0.7149510135179411),
    # --- signed rank with zeros and ties (normal approximation, zeros dropped)
    ("wilcox.test(PAIN60, conf.int = TRUE)$statistic", lambda: sr("PAIN60").v, 84),
    ("wilcox.test(PAIN60, conf.int = TRUE)$p.value", lambda: sr("PAIN60").p_value,
     1.8198266738301737e-08),
    ("wilcox.test(PAIN60, conf.int = TRUE)$estimate", lambda: sr("PAIN60").estimate,
     -1.4999917191731436),
    ("wilcox.test(PAIN60, conf.int = TRUE)$conf.int[1]", lambda: sr("PAIN60").ci_low,
     -1.9999532942424629),
    ("wilcox.test(PAIN60, conf.int = TRUE)$conf.int[2]", lambda: sr("PAIN60").ci_high,
     -1.0000038777675639),
    ("wilcox.test(PAIN60, conf.int = TRUE, correct = FALSE)$p.value",
     lambda: sr("PAIN60", correct=False).p_value, 1.7713595088771944e-08),
    ("wilcox.test(PAIN60, conf.int = TRUE, correct = FALSE)$conf.int[1]",
     lambda: sr("PAIN60", correct=False).ci_low, -1.9999729669333735),
    ("wilcox.test(PAIN60, conf.int = TRUE, correct = FALSE)$conf.int[2]",
     lambda: sr("PAIN60", correct=False).ci_high, -1.0000059283467828),
    ("wilcox.test(PAIN60, conf.int = TRUE, conf.level = 0.9)$conf.int[1]",
     lambda: sr("PAIN60", conf_level=0.9).ci_low, -1.5000038048055009),
    ("wilcox.test(DEC_TIES12, conf.int = TRUE)$statistic", lambda: sr("DEC_TIES12").v, 68),
    ("wilcox.test(DEC_TIES12, conf.int = TRUE)$p.value", lambda: sr("DEC_TIES12").p_value,
     0.025200970560915466),
    ("wilcox.test(DEC_TIES12, conf.int = TRUE)$estimate", lambda: sr("DEC_TIES12").estimate, 0.8),
    ("wilcox.test(DEC_TIES12, conf.int = TRUE)$conf.int[1]", lambda: sr("DEC_TIES12").ci_low,
     0.099980215748755777),
    ("wilcox.test(DEC_TIES12, conf.int = TRUE)$conf.int[2]", lambda: sr("DEC_TIES12").ci_high,
     1.4500121675262854),
    ("wilcox.test(DEC_ZERO10, conf.int = TRUE)$statistic", lambda: sr("DEC_ZERO10").v, 36),
    ("wilcox.test(DEC_ZERO10, conf.int = TRUE)$p.value", lambda: sr("DEC_ZERO10").p_value,
     0.12353425375256949),
    ("wilcox.test(DEC_ZERO10, conf.int = TRUE)$estimate", lambda: sr("DEC_ZERO10").estimate,
     0.64994221748545122),
    ("wilcox.test(DEC_ZERO10, conf.int = TRUE)$conf.int[1]", lambda: sr("DEC_ZERO10").ci_low,
     -0.30001764347854915),
    ("wilcox.test(DEC_ZERO10, conf.int = TRUE)$conf.int[2]", lambda: sr("DEC_ZERO10").ci_high,
     1.5500271863123816),
    # the normal-approximation interval cannot reach 95 %: R widens alpha and says so
    ('attr(wilcox.test(TIED_TWO_LEVELS, conf.int = TRUE)$conf.int, "conf.level")',
     lambda: sr("TIED_TWO_LEVELS").ci_level_achieved, 0.59999999999999964),
    ("wilcox.test(TIED_TWO_LEVELS, conf.int = TRUE)$p.value",
     lambda: sr("TIED_TWO_LEVELS").p_value, 0.053336852829139844),
    ("wilcox.test(TIED_TWO_LEVELS, conf.int = TRUE)$estimate",
     lambda: sr("TIED_TWO_LEVELS").estimate, 2.0000348466783322),
    ("wilcox.test(TIED_TWO_LEVELS, conf.int = TRUE)$conf.int[1]",
     lambda: sr("TIED_TWO_LEVELS").ci_low, 1.9999625682515485),
    ("wilcox.test(TIED_TWO_LEVELS, conf.int = TRUE)$conf.int[2]",
     lambda: sr("TIED_TWO_LEVELS").ci_high, 3),
    # all non-zero changes equal: no interval, the estimate is the midrange
    ("wilcox.test(TWO_VALUES, conf.int = TRUE)$p.value", lambda: sr("TWO_VALUES").p_value,
     0.14891467317876567),
    ("wilcox.test(TWO_VALUES, conf.int = TRUE)$estimate", lambda: sr("TWO_VALUES").estimate, 2),
    ("wilcox.test(TWO_VALUES, conf.int = TRUE)$conf.int[1]", lambda: sr("TWO_VALUES").ci_low, NAN),
    ('attr(wilcox.test(TWO_VALUES, conf.int = TRUE)$conf.int, "conf.level")',
     lambda: sr("TWO_VALUES").ci_level_achieved, 0),
    ("wilcox.test(BIG_TIES, conf.int = TRUE)$statistic", lambda: sr("BIG_TIES").v, 2481913207),
    ("wilcox.test(BIG_TIES, conf.int = TRUE)$p.value", lambda: sr("BIG_TIES").p_value,
     0.46120045887294187),
    ("wilcox.test(BIG_TIES, conf.int = TRUE)$estimate", lambda: sr("BIG_TIES").estimate,
     1.9887293005755165e-05),
    ("wilcox.test(BIG_TIES, conf.int = TRUE)$conf.int[1]", lambda: sr("BIG_TIES").ci_low,
     -2.9573775297300178e-05),
    ("wilcox.test(BIG_TIES, conf.int = TRUE)$conf.int[2]", lambda: sr("BIG_TIES").ci_high,
     5.0064278962535319e-02),
    # --- rank sum, exact (both samples < 50, no ties)
    ("wilcox.test(ISSUE_X, ISSUE_Y, conf.int = TRUE)$statistic",
     lambda: mw("ISSUE_X", "ISSUE_Y").w, 17),
    ("wilcox.test(ISSUE_X, ISSUE_Y, conf.int = TRUE)$p.value",
     lambda: mw("ISSUE_X", "ISSUE_Y").p_value, 0.039983545865898806),
    ("wilcox.test(ISSUE_X, ISSUE_Y, conf.int = TRUE)$estimate",
     lambda: mw("ISSUE_X", "ISSUE_Y").estimate, -3.0999999999999996),
    ("wilcox.test(ISSUE_X, ISSUE_Y, conf.int = TRUE)$conf.int[1]",
     lambda: mw("ISSUE_X", "ISSUE_Y").ci_low, -6.2000000000000011),
    ("wilcox.test(ISSUE_X, ISSUE_Y, conf.int = TRUE)$conf.int[2]",
     lambda: mw("ISSUE_X", "ISSUE_Y").ci_high, -0.19999999999999973),
    ("wilcox.test(MW_12, MW_15, conf.int = TRUE)$statistic", lambda: mw("MW_12", "MW_15").w, 132),
    ("wilcox.test(MW_12, MW_15, conf.int = TRUE)$p.value", lambda: mw("MW_12", "MW_15").p_value,
     0.041438322674020624),
    ("wilcox.test(MW_12, MW_15, conf.int = TRUE)$estimate",
     lambda: mw("MW_12", "MW_15").estimate, 0.61999999999999988),
    ("wilcox.test(MW_12, MW_15, conf.int = TRUE)$conf.int[1]",
     lambda: mw("MW_12", "MW_15").ci_low, 0.050000000000000017),
    ("wilcox.test(MW_12, MW_15, conf.int = TRUE)$conf.int[2]",
     lambda: mw("MW_12", "MW_15").ci_high, 1.0699999999999998),
    ('attr(wilcox.test(MW_2, MW_3, conf.int = TRUE)$conf.int, "conf.level")',
     lambda: mw("MW_2", "MW_3").ci_level_achieved, 0.8),
    ("wilcox.test(MW_2, MW_3, conf.int = TRUE)$p.value", lambda: mw("MW_2", "MW_3").p_value, 0.8),
    ("wilcox.test(MW_2, MW_3, conf.int = TRUE)$conf.int[1]", lambda: mw("MW_2", "MW_3").ci_low,
     -3.1),
    # --- rank sum, normal approximation: a sample of 50 or more, or ties
    ("wilcox.test(MW_6, MW_60, conf.int = TRUE)$statistic", lambda: mw("MW_6", "MW_60").w, 256),
    ("wilcox.test(MW_6, MW_60, conf.int = TRUE)$p.value", lambda: mw("MW_6", "MW_60").p_value,
     0.09217654626342392),
    ("wilcox.test(MW_6, MW_60, conf.int = TRUE)$estimate", lambda: mw("MW_6", "MW_60").estimate,
     1.8169120834809189),
    ("wilcox.test(MW_6, MW_60, conf.int = TRUE)$conf.int[1]", lambda: mw("MW_6", "MW_60").ci_low,
     -0.4999757156941988),
    ("wilcox.test(MW_6, MW_60, conf.int = TRUE)$conf.int[2]", lambda: mw("MW_6", "MW_60").ci_high,
     3.9499530295799055),
    ("wilcox.test(MW_6, MW_60, conf.int = TRUE, correct = FALSE)$p.value",
     lambda: mw("MW_6", "MW_60", correct=False).p_value, 0.090041469446306754),
    ("wilcox.test(MW_6, MW_60, conf.int = TRUE, correct = FALSE)$conf.int[2]",
     lambda: mw("MW_6", "MW_60", correct=False).ci_high, 3.8800058264941422),
    ("wilcox.test(TIES_A, TIES_B, conf.int = TRUE)$statistic", lambda: mw("TIES_A", "TIES_B").w,
     62.5),
    ("wilcox.test(TIES_A, TIES_B, conf.int = TRUE)$p.value",
     lambda: mw("TIES_A", "TIES_B").p_value, 0.011051068608521711),
    ("wilcox.test(TIES_A, TIES_B, conf.int = TRUE)$estimate",
     lambda: mw("TIES_A", "TIES_B").estimate, 2.0000910977877489),
    ("wilcox.test(TIES_A, TIES_B, conf.int = TRUE)$conf.int[1]",
     lambda: mw("TIES_A", "TIES_B").ci_low, 0.99999737359239804),
    ("wilcox.test(TIES_A, TIES_B, conf.int = TRUE)$conf.int[2]",
     lambda: mw("TIES_A", "TIES_B").ci_high, 3.9999460277336674),
    ("wilcox.test(BIG_X, BIG_Y, conf.int = TRUE)$statistic", lambda: mw("BIG_X", "BIG_Y").w,
     554546),
    ("wilcox.test(BIG_X, BIG_Y, conf.int = TRUE)$p.value", lambda: mw("BIG_X", "BIG_Y").p_value,
     0.0021856039992552943),
    ("wilcox.test(BIG_X, BIG_Y, conf.int = TRUE)$estimate", lambda: mw("BIG_X", "BIG_Y").estimate,
     -0.45002276441729477),
    ("wilcox.test(BIG_X, BIG_Y, conf.int = TRUE)$conf.int[1]", lambda: mw("BIG_X", "BIG_Y").ci_low,
     -0.7499571197574082),
    ("wilcox.test(BIG_X, BIG_Y, conf.int = TRUE)$conf.int[2]",
     lambda: mw("BIG_X", "BIG_Y").ci_high, -0.1600005810558035),
    # --- Spearman: exact permutation distribution (n <= 9)
    ('cor.test(SP8_X, SP8_Y, method = "spearman")$p.value', lambda: sp("SP8").p_value,
     0.015376984126984126),
    ('cor.test(SP8_X, SP8_Y, method = "spearman")$estimate', lambda: sp("SP8").rho,
     0.83333333333333348),
    ('cor.test(SP8_X, SP8_Y, method = "spearman")$statistic', lambda: sp("SP8").s,
     13.999999999999988),
    ('cor.test(SP5_X, SP5_Y, method = "spearman")$p.value', lambda: sp("SP5").p_value,
     0.23333333333333334),
    ('cor.test(SP9_X, SP9_Y, method = "spearman")$p.value', lambda: sp("SP9").p_value,
     0.0020282186948853615),
    ('cor.test(SP9_NEG_X, SP9_NEG_Y, method = "spearman")$p.value', lambda: sp("SP9_NEG").p_value,
     0.00035273368606701942),
    ('cor.test(SP9_NEG_X, SP9_NEG_Y, method = "spearman")$estimate', lambda: sp("SP9_NEG").rho,
     -0.94999999999999996),
    # --- Spearman: AS 89 Edgeworth series (10 <= n <= 1290)
    ('cor.test(SP10_X, SP10_Y, method = "spearman")$p.value', lambda: sp("SP10").p_value,
     0.0008802249947541434),
    ('cor.test(SP25_X, SP25_Y, method = "spearman")$p.value', lambda: sp("SP25").p_value,
     0.0027801218681521335),
    ('cor.test(SP25_X, SP25_Y, method = "spearman")$estimate', lambda: sp("SP25").rho,
     0.58076923076923082),
    ('cor.test(SP30_X, SP30_Y, method = "spearman")$p.value', lambda: sp("SP30").p_value,
     0.017101151959033424),
    ('cor.test(SP200_X, SP200_Y, method = "spearman")$p.value', lambda: sp("SP200").p_value,
     0.037230543600564395),
    ('cor.test(SP1290_X, SP1290_Y, method = "spearman")$p.value', lambda: sp("SP1290").p_value,
     0.087319887477052896),
    # --- Spearman: t approximation (n > 1290, or ties)
    ('cor.test(SP1291_X, SP1291_Y, method = "spearman")$p.value', lambda: sp("SP1291").p_value,
     0.083063645340863052),
    ('cor.test(TIES20_X, TIES20_Y, method = "spearman")$p.value', lambda: sp("TIES20").p_value,
     4.4035496360669597e-10),
    ('cor.test(TIES20_X, TIES20_Y, method = "spearman")$estimate', lambda: sp("TIES20").rho,
     0.94368885612047537),
    ('cor.test(TIES5_X, TIES5_Y, method = "spearman")$p.value', lambda: sp("TIES5").p_value,
     0.13333911953180613),
    ('cor.test(TIES5_X, TIES5_Y, method = "spearman")$statistic', lambda: sp("TIES5").s,
     4.7368421052631549),
    # --- smallest attainable p of the exact signed-rank test
    ("2 * psignrank(0, 5)", lambda: smallest_attainable_p(5), 0.0625),
    ("2 * psignrank(0, 12)", lambda: smallest_attainable_p(12), 0.0004882812500000003),
    ("2 * pwilcox(0, 3, 4)", lambda: smallest_attainable_p_rank_sum(3, 4), 0.057142857142857141),
]  # fmt: skip


@pytest.mark.parametrize(
    ("r_call", "computed", "r_value"), R_CHECKED, ids=[r[0] for r in R_CHECKED]
)
def test_matches_r(r_call, computed, r_value):
    value = computed()
    if math.isnan(r_value):
        assert value is not None and math.isnan(value)
    else:
        assert value == pytest.approx(r_value, rel=REL, abs=ABS)


# ---------------------------------------------------------------------------------------------
# Which method R chooses, and its warnings


def test_signed_rank_methods_follow_r():
    # R prints "Wilcoxon signed rank exact test" for N49 and "... with continuity correction" for
    # N50: the exact rule is n < 50 non-zero changes, no ties, no zeros.
    assert sr("N49").method == METHOD_EXACT
    assert sr("N50").method == METHOD_NORMAL_CC
    assert sr("N51", correct=False).method == METHOD_NORMAL
    # The issue's differences differ by float noise only and are not tied (R: exact test too).
    assert sr("ISSUE").method == METHOD_EXACT and not sr("ISSUE").has_ties


def test_zeros_and_ties_below_50_fall_back_with_rs_warnings():
    # R: wilcox.test(DEC_ZERO10, conf.int = TRUE) warns "cannot compute exact p-value with
    # zeroes" and "cannot compute exact confidence interval with zeroes"
    result = sr("DEC_ZERO10")
    assert result.method == METHOD_NORMAL_CC and result.n == 9 and result.n_zero_dropped == 1
    assert result.warnings == ("zeros_no_exact_p", "zeros_no_exact_ci")
    # R: wilcox.test(DEC_TIES12, conf.int = TRUE) warns about ties twice
    assert sr("DEC_TIES12").warnings == ("ties_no_exact_p", "ties_no_exact_ci")
    # R: wilcox.test(PAIN60, conf.int = TRUE) has 52 non-zero changes (>= 50): no warning
    pain = sr("PAIN60")
    assert (pain.n, pain.n_zero_dropped, pain.has_ties, pain.warnings) == (52, 8, True, ())


def test_unattainable_levels_for_three_to_five_pairs():
    # R warns "requested conf.level not achievable" for 3 and 4 pairs, reporting
    # 1 - signif(achieved alpha, 2); with 5 pairs (achieved alpha 1/16) it keeps 0.95 silently.
    assert sr("N3").warnings == ("conf_level_not_achievable",)
    assert sr("N4").warnings == ("conf_level_not_achievable",)
    assert sr("N5").warnings == ()
    # true coverage of the exact interval: 1 - 2 * psignrank(0, n)
    assert [sr(n).ci_coverage for n in ("N3", "N4", "N5")] == [0.75, 0.875, 0.9375]


def test_normal_estimate_is_rs_root_not_the_walsh_median():
    # R: wilcox.test(PAIN60, conf.int = TRUE)$estimate is -1.4999917191731436; the median of the
    # Walsh averages of the 52 non-zero changes is exactly -1.5.
    assert sr("PAIN60").estimate != -1.5
    nonzero = np.array([v for v in PAIN60 if v != 0])
    walsh = np.add.outer(nonzero, nonzero)[np.triu_indices(len(nonzero))] / 2
    assert np.median(walsh) == -1.5


def test_rank_sum_methods_and_warnings():
    assert mw("ISSUE_X", "ISSUE_Y").method == METHOD_EXACT
    # R: wilcox.test(MW_6, MW_60) "Wilcoxon rank sum test with continuity correction", no ties
    six_sixty = mw("MW_6", "MW_60")
    assert six_sixty.method == METHOD_NORMAL_CC and not six_sixty.has_ties
    assert six_sixty.warnings == ()
    # R: "cannot compute exact p-value with ties", "... exact confidence intervals with ties"
    assert mw("TIES_A", "TIES_B").warnings == ("ties_no_exact_p", "ties_no_exact_ci")
    # R: "Requested conf.level not achievable"; level 1 - 2 * pwilcox(0, 2, 3) = 0.8
    assert mw("MW_2", "MW_3").warnings == ("conf_level_not_achievable",)


def test_spearman_methods():
    assert sp("SP8").method == METHOD_SPEARMAN_ENUMERATION
    assert sp("SP10").method == METHOD_SPEARMAN_EDGEWORTH
    assert sp("SP1290").method == METHOD_SPEARMAN_EDGEWORTH  # R: n <= 1290 uses AS 89
    assert sp("SP1291").method == METHOD_SPEARMAN_T
    # R: cor.test(TIES20_X, TIES20_Y, method = "spearman") warns "Cannot compute exact p-value
    # with ties" and uses the t approximation
    assert sp("TIES20").method == METHOD_SPEARMAN_T
    assert sp("TIES20").warnings == ("ties_no_exact_p",)
    # R: cor.test(SP1290_X, SP1290_Y, method = "spearman", exact = FALSE)$p.value is
    # 0.087320924586698837, so the AS 89 value above really is the one R uses by default.
    assert sp("SP1290").p_value != pytest.approx(0.087320924586698837, rel=1e-7)


# ---------------------------------------------------------------------------------------------
# Degenerate input, speed, result objects


def test_degenerate_inputs_give_nan_like_r():
    # R: wilcox.test(c(0, 0, 0), conf.int = TRUE): V = 0, p NA, interval NaN at level 0
    zeros = wilcoxon_signed_rank([0.0, 0.0, 0.0])
    assert zeros.v == 0 and math.isnan(zeros.p_value) and math.isnan(zeros.estimate)
    assert zeros.ci_level_achieved == 0 and zeros.n_zero_dropped == 3
    # R: cor.test(c(1, 1, 1), c(1, 2, 3), method = "spearman"): rho NA, p NA
    flat = spearman([1, 1, 1], [1, 2, 3])
    assert math.isnan(flat.rho) and math.isnan(flat.p_value)
    # R: wilcox.test(c(1, 1), c(1, 1), conf.int = TRUE) stops in uniroot; here: NaN interval
    tied = mann_whitney([1, 1], [1, 1])
    assert math.isnan(tied.p_value) and math.isnan(tied.ci_low) and math.isnan(tied.estimate)
    # missing values are dropped, as R drops NA
    assert wilcoxon_signed_rank([*N5, np.nan]).p_value == 0.125
    with pytest.raises(ValueError):
        wilcoxon_signed_rank(N5, conf_level=1.0)


def test_large_samples_stay_fast():
    rng = np.random.default_rng(7)
    changes = rng.normal(0.05, 1.0, 100_000)
    start = time.perf_counter()
    result = wilcoxon_signed_rank(changes)
    spearman(changes, rng.normal(size=100_000))
    mann_whitney(changes[:50_000], changes[50_000:])
    assert time.perf_counter() - start < 5.0
    assert result.ci_low < result.estimate < result.ci_high


def test_results_are_frozen_and_interval_can_be_skipped():
    result = wilcoxon_signed_rank(N51, conf_int=False)
    assert result.estimate is None and result.ci_low is None
    assert result.p_value == pytest.approx(0.12538385157477366, rel=REL)
    with pytest.raises(AttributeError):
        result.p_value = 0.5  # type: ignore[misc]


@pytest.mark.parametrize("name", ["SP5", "SP8", "SP10", "SP1290", "SP1291", "TIES20", "TIES5"])
def test_spearman_p_value_from_rho_is_spearmans(name):
    # The p a database's rho gets (analysis.stats.pushdown_association) is spearman()'s own,
    # for every method: enumeration, AS 89, t beyond 1290 and t with ties.
    result = sp(name)
    assert spearman_p_value(result.rho, result.n, result.has_ties) == (
        result.p_value,
        result.method,
    )
