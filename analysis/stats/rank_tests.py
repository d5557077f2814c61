"""Rank tests reproducing R 4.x numerically: ``wilcox.test``, ``cor.test(method = "spearman")``.

Pure computation: plain numbers in frozen dataclasses, no text for display. Each function follows
the documented behaviour of R's ``stats`` package (R 4.2, ``?wilcox.test`` and ``?cor.test``):

- ``wilcoxon_signed_rank``: one-sample signed-rank test of the changes against 0 with the
  Hodges-Lehmann (pseudo-median) estimate and confidence interval, ``wilcox.test(x,
  conf.int = TRUE)``. Hollander, Wolfe & Chicken (2014), Nonparametric Statistical Methods,
  3rd ed., sections 3.1-3.3; Bauer (1972), JASA 67:687 for the interval.
- ``mann_whitney``: two-sample rank-sum test with the shift estimate and interval,
  ``wilcox.test(x, y, conf.int = TRUE)``. Hollander, Wolfe & Chicken (2014), sections 4.1-4.3.
- ``spearman``: Spearman's rho with R's p-value, ``cor.test(x, y, method = "spearman")``:
  exact permutation distribution for n <= 9, the Edgeworth series of Best & Roberts (1975),
  Algorithm AS 89, Appl Stat 24:377, for n <= 1290, else Student's t with n - 2 df.

Values are ranked as given (R's default ``digits.rank = Inf``): callers that want float noise
such as 2.1999999999999993 vs 2.2 to tie must round before calling. Missing values (NaN) are
dropped, as R drops NA. Only the two-sided alternative is implemented.

Checked against R 4.2.2 (tests/stats/test_rank_tests.py). R 4.6.0 changed wilcox.test for tied
data (exact conditional inference by the Streitberg-Roehmel shift algorithm); with ties this
module follows the earlier R 4.x behaviour: normal approximation with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

EXACT_LIMIT = 50  # wilcox.test: exact when n < 50 (each sample < 50 for two samples)
SPEARMAN_EXACT_MAX = 1290  # cor.test: AS 89 used for n <= 1290 without ties
SPEARMAN_ENUMERATE_MAX = 9  # prho.c (n_small): full permutation distribution for n <= 9
TOL_ROOT = 1e-4  # wilcox.test's default tol.root (R 4.2): tolerance of its uniroot() searches
MAXITER_ROOT = 1000  # uniroot()'s default maxiter
DBL_EPSILON = float(np.finfo(float).eps)
DBL_MAX = float(np.finfo(float).max)

METHOD_EXACT = "exact"
METHOD_NORMAL_CC = "normal approximation with continuity correction"
METHOD_NORMAL = "normal approximation"
METHOD_SPEARMAN_ENUMERATION = "exact permutation distribution"
METHOD_SPEARMAN_EDGEWORTH = "Edgeworth series approximation (AS 89)"
METHOD_SPEARMAN_T = "t approximation"

# Warning codes, each with the message R gives in the same situation.
R_WARNINGS = {
    "ties_no_exact_p": "cannot compute exact p-value with ties",
    "ties_no_exact_ci": "cannot compute exact confidence interval with ties",
    "zeros_no_exact_p": "cannot compute exact p-value with zeroes",
    "zeros_no_exact_ci": "cannot compute exact confidence interval with zeroes",
    "conf_level_not_achievable": "requested conf.level not achievable",
    "ci_all_tied": "cannot compute confidence interval when all observations are zero or tied",
    "no_root": "f() values at end points not of opposite sign (uniroot stops)",
    "root_not_converged": "_NOT_ converged in 1000 iterations",
    "too_few_observations": "not enough (non-missing) observations (R stops with an error)",
    "zero_sd": "the standard deviation is zero",
}

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SignedRankResult:
    """R's wilcox.test(changes, conf.int = TRUE): one-sample signed-rank test against 0."""

    v: float  # sum of the ranks of |change| over positive changes (R's V)
    p_value: float  # two-sided
    method: str  # METHOD_EXACT, METHOD_NORMAL_CC or METHOD_NORMAL
    n: int  # non-zero changes used
    n_zero_dropped: int
    has_ties: bool  # tied |change| among the non-zero changes
    z: float | None  # the (corrected) normal deviate; None for the exact test
    estimate: float | None  # (pseudo)median; None when conf_int=False
    ci_low: float | None
    ci_high: float | None
    conf_level: float  # requested
    ci_level_achieved: float | None  # R's attr(conf.int, "conf.level")
    ci_coverage: float | None  # exact coverage 1 - achieved alpha (exact method only)
    warnings: tuple[str, ...]  # keys of R_WARNINGS


@dataclass(frozen=True)
class RankSumResult:
    """R's wilcox.test(x, y, conf.int = TRUE): two-sample rank-sum (Mann-Whitney) test."""

    w: float  # sum of the ranks of x in the pooled sample minus n_x (n_x + 1) / 2 (R's W)
    p_value: float  # two-sided
    method: str
    n_x: int
    n_y: int
    has_ties: bool  # tied values in the pooled sample
    z: float | None
    estimate: float | None  # difference in location (x - y); None when conf_int=False
    ci_low: float | None
    ci_high: float | None
    conf_level: float
    ci_level_achieved: float | None
    ci_coverage: float | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class SpearmanResult:
    """R's cor.test(x, y, method = "spearman"), two-sided."""

    rho: float
    s: float  # R's S = (n^3 - n) (1 - rho) / 6
    p_value: float
    method: str
    n: int  # complete pairs
    has_ties: bool
    warnings: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Exact null distributions


@lru_cache(maxsize=64)
def _signrank_counts(n: int) -> tuple[int, ...]:
    """Number of sign patterns of ranks 1..n with each V = 0..n(n+1)/2 (Hollander et al. 3.1)."""
    counts = [0] * (n * (n + 1) // 2 + 1)
    counts[0] = 1
    top = 0
    for rank in range(1, n + 1):  # add rank `rank` to the positive set or not
        top += rank
        for v in range(top, rank - 1, -1):
            counts[v] += counts[v - rank]
    return tuple(counts)


@lru_cache(maxsize=64)
def _ranksum_counts(m: int, n: int) -> tuple[int, ...]:
    """Number of rank arrangements with each Mann-Whitney U = 0..mn (Hollander et al. 4.1).

    These are the coefficients of the Gaussian binomial [m + n choose m](q), built as the
    product over i = 1..m of (1 - q^(n+i)) / (1 - q^i); every partial product is a polynomial,
    so each division by (1 - q^i) is exact. Python integers: C(98, 49) overflows int64."""
    coef = [1] + [0] * (m * n + m + n)  # room for the product before each division
    degree = 0
    for i in range(1, m + 1):
        k = n + i
        for j in range(degree + k, k - 1, -1):  # multiply by (1 - q^k)
            coef[j] -= coef[j - k]
        # divide by (1 - q^i): c'[j] = c[j] + c'[j - i]; terms above the new degree cancel
        for j in range(i, degree + k + 1):
            coef[j] += coef[j - i]
        degree += n
    return tuple(coef[: m * n + 1])


def _lower_tail(counts: tuple[int, ...], q: int) -> float:
    """P(statistic <= q) from exact counts, as an exactly rounded float."""
    if q < 0:
        return 0.0
    return sum(counts[: q + 1]) / sum(counts)


def _upper_tail(counts: tuple[int, ...], q: int) -> float:
    """P(statistic >= q) from exact counts."""
    if q <= 0:
        return 1.0
    return sum(counts[q:]) / sum(counts)


def _quantile(counts: tuple[int, ...], p: float) -> int:
    """Smallest q with P(statistic <= q) >= p, R's qsignrank/qwilcox rule (10 eps of fuzz)."""
    target = (p - 10 * DBL_EPSILON) * sum(counts)
    cumulative = 0
    for q, count in enumerate(counts):
        cumulative += count
        if cumulative >= target:
            return q
    return len(counts) - 1


def smallest_attainable_p(n: int) -> float:
    """Smallest two-sided p of the exact signed-rank test with n non-zero pairs: 2 / 2^n."""
    # All n signs alike is the most extreme outcome: P = 2 * P(V = 0) (Hollander et al. 3.1).
    return min(1.0, math.ldexp(1.0, 1 - n)) if n > 0 else 1.0


def smallest_attainable_p_rank_sum(n_x: int, n_y: int) -> float:
    """Smallest two-sided p of the exact rank-sum test: 2 / C(n_x + n_y, n_x)."""
    if n_x <= 0 or n_y <= 0:
        return 1.0
    return min(1.0, 2 / math.comb(n_x + n_y, n_x))


def _signif2(x: float) -> float:
    """R's signif(x, 2): two significant digits, halves to even (signif(0.125, 2) == 0.12)."""
    return float(f"{x:.2g}")


# --------------------------------------------------------------------------------------------
# Ranks and the normal-approximation statistics


def _tie_groups(sorted_values: FloatArray) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Start index and size of each run of equal values in a sorted array."""
    n = len(sorted_values)
    if n == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, n))
    return starts, sizes


def _midranks(values: FloatArray) -> FloatArray:
    """Average ranks (1-based, ties get the mean rank), R's rank(ties.method = "average")."""
    order = np.argsort(values, kind="stable")
    starts, sizes = _tie_groups(values[order])
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(starts + (sizes + 1) / 2, sizes)
    return ranks


def tie_correction_sum(sizes: NDArray[np.intp]) -> float:
    """Sum of t^3 - t over tie groups, as R's sum(NTIES^3 - NTIES)."""
    t = sizes[sizes > 1].astype(float)
    return float((t**3 - t).sum())


def _signed_rank_parts(sorted_x: FloatArray, d: float) -> tuple[float, int, float]:
    """V, n and tie sum for x - d with zeros dropped; sorted_x ascending, O(n) after the sort."""
    a = sorted_x - d  # still ascending: IEEE subtraction of a constant is monotone
    first_zero = int(np.searchsorted(a, 0.0, side="left"))
    after_zero = int(np.searchsorted(a, 0.0, side="right"))
    # |a| of the negatives reversed and of the positives are two ascending runs, which the
    # stable sort (timsort) merges in linear time.
    magnitudes = np.concatenate((-a[:first_zero][::-1], a[after_zero:]))
    n_neg = first_zero
    order = np.argsort(magnitudes, kind="stable")
    starts, sizes = _tie_groups(magnitudes[order])
    positive = (order >= n_neg).astype(np.intp)
    positives_per_group = np.add.reduceat(positive, starts) if len(starts) else positive
    # Ranks are multiples of 1/2 and their sum stays below 2^53: this float sum is exact.
    v = float((positives_per_group * (starts + (sizes + 1) / 2)).sum())
    return v, len(magnitudes), tie_correction_sum(sizes)


def signed_rank_z(v: float, n: int, tie_sum: float, correct: bool) -> tuple[float, bool]:
    """(V - E V - cc) / SD as R computes it; also whether the SD is zero."""
    # In doubles and in R's operation order, so that the value is the same double even when
    # n (n + 1) (2n + 1) exceeds 2^53.
    nf = float(n)
    centred = v - nf * (nf + 1) / 4
    sigma = math.sqrt(nf * (nf + 1) * (2 * nf + 1) / 24 - tie_sum / 48)
    correction = math.copysign(0.5, centred) if correct and centred != 0 else 0.0
    return _divide(centred - correction, sigma), sigma == 0


def _rank_sum_parts(sorted_x: FloatArray, sorted_y: FloatArray, d: float) -> tuple[float, float]:
    """Sum of the ranks of x - d in the pooled sample, and the tie sum; inputs ascending."""
    pooled = np.concatenate((sorted_x - d, sorted_y))  # two ascending runs: a linear merge
    order = np.argsort(pooled, kind="stable")
    starts, sizes = _tie_groups(pooled[order])
    from_x = (order < len(sorted_x)).astype(np.intp)
    x_per_group = np.add.reduceat(from_x, starts) if len(starts) else from_x
    rank_sum = float((x_per_group * (starts + (sizes + 1) / 2)).sum())
    return rank_sum, tie_correction_sum(sizes)


def rank_sum_z(
    rank_sum_x: float, n_x: int, n_y: int, tie_sum: float, correct: bool
) -> tuple[float, bool]:
    """(W - E W - cc) / SD with the tie-corrected SD, as R computes it."""
    nx, ny = float(n_x), float(n_y)  # doubles in R's operation order, as above
    centred = rank_sum_x - nx * (nx + 1) / 2 - nx * ny / 2
    total = nx + ny
    sigma = math.sqrt((nx * ny / 12) * ((total + 1) - tie_sum / (total * (total - 1))))
    correction = math.copysign(0.5, centred) if correct and centred != 0 else 0.0
    return _divide(centred - correction, sigma), sigma == 0


def _divide(numerator: float, denominator: float) -> float:
    """IEEE division (x/0 is +-inf, 0/0 is NaN), as in R."""
    if denominator != 0:
        return numerator / denominator
    return math.nan if numerator == 0 else math.copysign(math.inf, numerator)


def two_sided_normal_p(z: float) -> float:
    """2 min(Phi(z), 1 - Phi(z)), R's two-sided p of the normal approximation."""
    if math.isnan(z):
        return math.nan
    from scipy import stats  # imported when used: start-up stays light

    return float(2 * stats.norm.sf(abs(z)))


# --------------------------------------------------------------------------------------------
# Root finding exactly as R's uniroot()


class NoRootError(Exception):
    """uniroot() would stop with an error (end values NA or of the same sign)."""


def _zeroin(
    f: Callable[[float], float],
    a: float,
    b: float,
    fa: float,
    fb: float,
    tol: float,
    maxiter: int = MAXITER_ROOT,
) -> tuple[float, bool]:
    """Brent's root finder (Brent 1973, Algorithms for Minimization without Derivatives, ch. 4).

    Returns (root, converged). The statistics searched here are step functions of the shift,
    so where inside a jump the search stops depends on every iterate; the steps below follow
    Brent's published algorithm operation by operation, which is also what R's uniroot() runs,
    so the same points are visited and the same root is returned."""
    c, fc = a, fa
    if fa == 0:
        return a, True
    if fb == 0:
        return b, True
    for _ in range(maxiter + 1):
        previous_step = b - a
        if abs(fc) < abs(fb):  # keep b the best approximation so far
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * DBL_EPSILON * abs(b) + tol / 2
        step = (c - b) / 2
        if abs(step) <= tol_act or fb == 0:
            return b, True
        if abs(previous_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # two points: secant step
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # three points: inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            # accept the interpolation only if it stays well inside [b, c] and shrinks fast
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(previous_step * q / 2):
                step = p / q
        if abs(step) < tol_act:
            step = tol_act if step > 0 else -tol_act
        a, fa = b, fb
        b += step
        fb = _finite_for_root(f(b))
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa  # keep the root bracketed between b and c
    return b, False


def _finite_for_root(value: float) -> float:
    """uniroot() replaces NaN/Inf by the largest double keeping -Inf's sign."""
    if math.isfinite(value):
        return value
    return -DBL_MAX if value == -math.inf else DBL_MAX


def uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    f_lower: float,
    f_upper: float,
    tol: float,
    warnings: list[str],
) -> float:
    """R's uniroot(f, lower = , upper = , f.lower = , f.upper = , tol = ) without extendInt."""
    if not lower < upper or math.isnan(f_lower) or math.isnan(f_upper):
        raise NoRootError
    if np.sign(f_lower) * np.sign(f_upper) > 0:
        raise NoRootError
    root, converged = _zeroin(f, lower, upper, f_lower, f_upper, tol)
    if not converged:
        warnings.append("root_not_converged")
    return root


# --------------------------------------------------------------------------------------------
# Public functions


def _clean(values: ArrayLike) -> FloatArray:
    """Values as a flat float array without NaN (R drops NA before testing)."""
    a = np.asarray(values, dtype=float).ravel()
    return a[~np.isnan(a)]


def wilcoxon_signed_rank(
    changes: ArrayLike,
    *,
    correct: bool = True,
    conf_level: float = 0.95,
    conf_int: bool = True,
    tol_root: float = TOL_ROOT,
) -> SignedRankResult:
    """Signed-rank test and Hodges-Lehmann estimate/CI as R's wilcox.test(changes, conf.int=TRUE).

    Exact p and interval (Walsh-average order statistics at qsignrank) when fewer than 50
    non-zero changes with no tied |change| and no zero change; otherwise the normal
    approximation with tie-corrected variance (and continuity correction if ``correct``), whose
    interval ends and estimate are roots of the standardised statistic of ``changes - d``."""
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must lie strictly between 0 and 1")
    x_all = _clean(changes)
    warnings: list[str] = []
    n_zero = int((x_all == 0).sum())
    x = np.sort(x_all[x_all != 0])  # R drops zeros before ranking
    n = len(x)
    if len(x_all) == 0:  # R stops: not enough (non-missing) 'x' observations
        missing = math.nan if conf_int else None
        return SignedRankResult(
            v=math.nan, p_value=math.nan, method=METHOD_NORMAL, n=0, n_zero_dropped=0,
            has_ties=False, z=None, estimate=missing, ci_low=missing, ci_high=missing,
            conf_level=conf_level, ci_level_achieved=None, ci_coverage=None,
            warnings=("too_few_observations",),
        )  # fmt: skip
    v, _, tie_sum = _signed_rank_parts(x, 0.0)
    has_ties = tie_sum > 0
    exact_allowed = n < EXACT_LIMIT  # R: exact <- (n < 50), n counted after dropping zeros

    if exact_allowed and not has_ties and n_zero == 0:
        counts = _signrank_counts(n)
        half = n * (n + 1) / 4
        tail = _upper_tail(counts, int(v)) if v > half else _lower_tail(counts, int(v))
        p = min(1.0, 2 * tail)
        estimate, low, high, level, coverage = (None, None, None, None, None)
        if conf_int:
            estimate, low, high, level, coverage = _signed_rank_exact_ci(
                x, counts, conf_level, warnings
            )
        return SignedRankResult(
            v=v, p_value=p, method=METHOD_EXACT, n=n, n_zero_dropped=n_zero, has_ties=has_ties,
            z=None, estimate=estimate, ci_low=low, ci_high=high, conf_level=conf_level,
            ci_level_achieved=level, ci_coverage=coverage, warnings=tuple(warnings),
        )  # fmt: skip

    z, _ = signed_rank_z(v, n, tie_sum, correct)
    p = two_sided_normal_p(z)
    method = METHOD_NORMAL_CC if correct else METHOD_NORMAL
    estimate = low = high = level = None
    if conf_int:
        estimate, low, high, level = _signed_rank_normal_ci(
            x, correct, conf_level, tol_root, warnings
        )
    # R warns after the interval, in this order, only when the exact test was asked for.
    if exact_allowed and has_ties:
        warnings += ["ties_no_exact_p"] + (["ties_no_exact_ci"] if conf_int else [])
    if exact_allowed and n_zero:
        warnings += ["zeros_no_exact_p"] + (["zeros_no_exact_ci"] if conf_int else [])
    return SignedRankResult(
        v=v, p_value=p, method=method, n=n, n_zero_dropped=n_zero, has_ties=has_ties, z=z,
        estimate=estimate, ci_low=low, ci_high=high, conf_level=conf_level,
        ci_level_achieved=level, ci_coverage=None, warnings=tuple(dict.fromkeys(warnings)),
    )  # fmt: skip


def _signed_rank_exact_ci(
    x: FloatArray, counts: tuple[int, ...], conf_level: float, warnings: list[str]
) -> tuple[float, float, float, float, float]:
    """Exact HL estimate and CI from the Walsh averages (Hollander et al. 2014, 3.3)."""
    n = len(x)
    upper = np.triu_indices(n)
    walsh = np.sort(np.add.outer(x, x)[upper]) / 2  # R halves after summing and sorting
    estimate = float(np.median(walsh))
    alpha = 1 - conf_level
    qu = max(_quantile(counts, alpha / 2), 1)  # R: if (qu == 0) qu <- 1
    ql = n * (n + 1) // 2 - qu
    achieved_alpha = 2 * _lower_tail(counts, qu - 1)
    level = conf_level
    if achieved_alpha - alpha > alpha / 2:
        warnings.append("conf_level_not_achievable")
        level = 1 - _signif2(achieved_alpha)  # R reports the achieved level to 2 digits
    return estimate, float(walsh[qu - 1]), float(walsh[ql]), level, 1 - achieved_alpha


def _signed_rank_normal_ci(
    x: FloatArray, correct: bool, conf_level: float, tol: float, warnings: list[str]
) -> tuple[float, float, float, float]:
    """Asymptotic HL estimate and CI: roots of the standardised statistic of x - d (as R).

    The interval inverts the continuity-corrected statistic; the estimate is the root of the
    uncorrected one (R sets correct <- FALSE before its last uniroot), which can differ from
    the median of the Walsh averages. Each evaluation is O(n log n): no Walsh averages."""

    def w(d: float, corrected: bool) -> float:
        v, nx, tie_sum = _signed_rank_parts(x, d)
        z, sd_zero = signed_rank_z(v, nx, tie_sum, corrected)
        if sd_zero:
            warnings.append("ci_all_tied")
        return z

    if len(x) == 0:  # every change is zero: R gives NaN throughout
        return math.nan, math.nan, math.nan, 0.0
    mumin, mumax = float(x[0]), float(x[-1])
    w_min = w(mumin, correct)
    w_max = w(mumax, correct) if math.isfinite(w_min) else math.nan
    if not math.isfinite(w_max):  # e.g. all changes equal: R gives NaN and the midrange
        return (mumin + mumax) / 2, math.nan, math.nan, 0.0

    alpha = 1 - conf_level
    level = conf_level
    # R widens the interval (doubles alpha) until both ends are inside [min, max].
    while w_min - z_upper(alpha / 2) < 0 or w_max - z_lower(alpha / 2) > 0:
        alpha *= 2
    if alpha >= 1 or 1 - conf_level < alpha * 0.75:
        level = 1 - min(1.0, alpha)
        warnings.append("conf_level_not_achievable")

    def root(zq: float) -> float:
        # R's root(zq): where the corrected statistic crosses the normal quantile zq
        return uniroot(
            lambda d: w(d, correct) - zq, mumin, mumax, w_min - zq, w_max - zq, tol, warnings
        )

    try:
        if alpha < 1:
            low, high = root(z_upper(alpha / 2)), root(z_lower(alpha / 2))
        else:
            low = high = float(np.median(x))
    except NoRootError:
        warnings.append("no_root")
        low = high = math.nan
    try:
        estimate = uniroot(
            lambda d: w(d, False), mumin, mumax, w(mumin, False), w(mumax, False), tol, warnings
        )
    except NoRootError:
        warnings.append("no_root")
        estimate = math.nan
    return estimate, low, high, level


def z_upper(p: float) -> float:
    """qnorm(p, lower.tail = FALSE)."""
    return _qnorm(p, lower_tail=False)


def z_lower(p: float) -> float:
    """qnorm(p)."""
    return _qnorm(p, lower_tail=True)


# Wichura (1988), Algorithm AS 241 (PPND16), Appl Stat 37:477, Horner coefficients from the
# highest power down: central region |p - 0.5| <= 0.425, then the tails r = sqrt(-log p) <= 5
# and r > 5.
_AS241_CENTRAL = (
    (2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
     13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608),
    (5226.495278852854561, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
     5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1.0),
)  # fmt: skip
_AS241_NEAR = (
    (7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177,
     1.27045825245236838258, 3.64784832476320460504, 5.7694972214606914055,
     4.6303378461565452959, 1.42343711074968357734),
    (1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966,
     0.14810397642748007459, 0.68976733498510000455, 1.6763848301838038494,
     2.05319162663775882187, 1.0),
)  # fmt: skip
_AS241_FAR = (
    (2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386,
     0.026532189526576123093, 0.29656057182850489123, 1.7848265399172913358,
     5.4637849111641143699, 6.6579046435011037772),
    (2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5,
     7.868691311456132591e-4, 0.0148753612908506148525, 0.13692988092273580531,
     0.59983220655588793769, 1.0),
)  # fmt: skip


def _horner_ratio(
    coefficients: tuple[tuple[float, ...], tuple[float, ...]], r: float, factor: float = 1.0
) -> float:
    """factor * P(r) / Q(r), multiplying before dividing as AS 241 does (same rounding)."""
    numerator, denominator = coefficients
    top = numerator[0]
    for c in numerator[1:]:
        top = top * r + c
    bottom = denominator[0]
    for c in denominator[1:]:
        bottom = bottom * r + c
    return factor * top / bottom


def _qnorm(p: float, lower_tail: bool = True) -> float:
    """Normal quantile by AS 241, as R's qnorm (R 4.2), to the last bit for 0 < p < 1.

    The interval ends are roots of a step function found by Brent's method, so a quantile one
    ulp away from R's (scipy's ndtri differs by an ulp or two) can move a root by ~1e-10; using
    R's algorithm, with R's handling of the upper tail, keeps the search on R's path."""
    if not 0 < p < 1:
        if p == 0:
            return -math.inf if lower_tail else math.inf
        if p == 1:
            return math.inf if lower_tail else -math.inf
        return math.nan
    p_lower = p if lower_tail else 0.5 - p + 0.5  # R_DT_qIv
    q = p_lower - 0.5
    if abs(q) <= 0.425:
        return _horner_ratio(_AS241_CENTRAL, 0.180625 - q * q, factor=q)
    # the smaller tail probability, taken from p itself where possible (no 1 - p rounding)
    tail = (0.5 - p + 0.5 if lower_tail else p) if q > 0 else p_lower
    r = math.sqrt(-math.log(tail))
    value = _horner_ratio(_AS241_NEAR, r - 1.6) if r <= 5 else _horner_ratio(_AS241_FAR, r - 5)
    return -value if q < 0 else value


def mann_whitney(
    x: ArrayLike,
    y: ArrayLike,
    *,
    correct: bool = True,
    conf_level: float = 0.95,
    conf_int: bool = True,
    tol_root: float = TOL_ROOT,
) -> RankSumResult:
    """Rank-sum test and HL shift estimate/CI as R's wilcox.test(x, y, conf.int = TRUE).

    Exact when both samples have fewer than 50 values and the pooled sample has no ties,
    otherwise the normal approximation with tie-corrected variance (and continuity correction
    if ``correct``). The estimate is for x - y."""
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must lie strictly between 0 and 1")
    xs, ys = np.sort(_clean(x)), np.sort(_clean(y))
    n_x, n_y = len(xs), len(ys)
    warnings: list[str] = []
    if n_x == 0 or n_y == 0:  # R stops with an error
        missing = math.nan if conf_int else None
        return RankSumResult(
            w=math.nan, p_value=math.nan, method=METHOD_NORMAL, n_x=n_x, n_y=n_y, has_ties=False,
            z=None, estimate=missing, ci_low=missing, ci_high=missing, conf_level=conf_level,
            ci_level_achieved=None, ci_coverage=None, warnings=("too_few_observations",),
        )  # fmt: skip
    rank_sum, tie_sum = _rank_sum_parts(xs, ys, 0.0)
    w_stat = rank_sum - n_x * (n_x + 1) / 2
    has_ties = tie_sum > 0
    exact_allowed = n_x < EXACT_LIMIT and n_y < EXACT_LIMIT

    if exact_allowed and not has_ties:
        counts = _ranksum_counts(n_x, n_y)
        u = round(w_stat)
        tail = _upper_tail(counts, u) if w_stat > n_x * n_y / 2 else _lower_tail(counts, u)
        p = min(1.0, 2 * tail)
        estimate = low = high = level = coverage = None
        if conf_int:
            diffs = np.sort(np.subtract.outer(xs, ys).ravel())
            estimate = float(np.median(diffs))
            alpha = 1 - conf_level
            qu = max(_quantile(counts, alpha / 2), 1)
            ql = n_x * n_y - qu
            achieved_alpha = 2 * _lower_tail(counts, qu - 1)
            level = conf_level
            if achieved_alpha - alpha > alpha / 2:
                warnings.append("conf_level_not_achievable")
                level = 1 - achieved_alpha  # not rounded here, unlike the signed-rank case
            low, high, coverage = float(diffs[qu - 1]), float(diffs[ql]), 1 - achieved_alpha
        return RankSumResult(
            w=w_stat, p_value=p, method=METHOD_EXACT, n_x=n_x, n_y=n_y, has_ties=has_ties,
            z=None, estimate=estimate, ci_low=low, ci_high=high, conf_level=conf_level,
            ci_level_achieved=level, ci_coverage=coverage, warnings=tuple(warnings),
        )  # fmt: skip

    z, _ = rank_sum_z(rank_sum, n_x, n_y, tie_sum, correct)
    p = two_sided_normal_p(z)
    estimate = low = high = level = None
    if conf_int:
        estimate, low, high = _rank_sum_normal_ci(xs, ys, correct, conf_level, tol_root, warnings)
        level = conf_level
    if exact_allowed and has_ties:
        warnings += ["ties_no_exact_p"] + (["ties_no_exact_ci"] if conf_int else [])
    return RankSumResult(
        w=w_stat, p_value=p, method=METHOD_NORMAL_CC if correct else METHOD_NORMAL, n_x=n_x,
        n_y=n_y, has_ties=has_ties, z=z, estimate=estimate, ci_low=low, ci_high=high,
        conf_level=conf_level, ci_level_achieved=level, ci_coverage=None,
        warnings=tuple(dict.fromkeys(warnings)),
    )  # fmt: skip


def _rank_sum_normal_ci(
    xs: FloatArray,
    ys: FloatArray,
    correct: bool,
    conf_level: float,
    tol: float,
    warnings: list[str],
) -> tuple[float, float, float]:
    """Asymptotic shift estimate and CI: roots of the standardised rank sum of x - d and y."""
    n_x, n_y = len(xs), len(ys)

    def w(d: float, corrected: bool) -> float:
        rank_sum, tie_sum = _rank_sum_parts(xs, ys, d)
        z, sd_zero = rank_sum_z(rank_sum, n_x, n_y, tie_sum, corrected)
        if sd_zero:
            warnings.append("ci_all_tied")
        return z

    mumin, mumax = float(xs[0] - ys[-1]), float(xs[-1] - ys[0])
    w_min, w_max = w(mumin, correct), w(mumax, correct)
    alpha = 1 - conf_level

    def root(zq: float) -> float:
        # R returns an end of the search range when the statistic does not cross zq inside it.
        if w_min - zq <= 0:
            return mumin
        if w_max - zq >= 0:
            return mumax
        return uniroot(
            lambda d: w(d, correct) - zq, mumin, mumax, w_min - zq, w_max - zq, tol, warnings
        )

    try:
        low, high = root(z_upper(alpha / 2)), root(z_lower(alpha / 2))
    except NoRootError:
        warnings.append("no_root")
        low = high = math.nan
    try:
        estimate = uniroot(
            lambda d: w(d, False), mumin, mumax, w(mumin, False), w(mumax, False), tol, warnings
        )
    except NoRootError:
        warnings.append("no_root")
        estimate = math.nan
    return estimate, low, high


# --------------------------------------------------------------------------------------------
# Spearman


@lru_cache(maxsize=16)
def _spearman_s_counts(n: int) -> tuple[int, ...]:
    """Number of permutations with each S = sum (i - pi(i))^2, by dynamic programming over the
    set of used ranks (2^n states), instead of AS 89's listing of all n! permutations."""
    max_s = (n**3 - n) // 3
    table = np.zeros((1 << n, max_s + 1), dtype=np.int64)
    table[0, 0] = 1
    for mask in range(1 << n):  # masks in increasing order: every subset before its supersets
        row = table[mask]
        if not row.any():
            continue
        i = mask.bit_count()  # position i gets one of the ranks not used yet
        for j in range(n):
            if not mask >> j & 1:
                shift = (i - j) ** 2
                target = table[mask | 1 << j]
                target[shift:] += row[: max_s + 1 - shift]
    return tuple(int(c) for c in table[-1])


def _prho(n: int, s_is: float, lower_tail: bool) -> float:
    """AS 89 (Best & Roberts 1975): P(S >= is), or P(S < is) if lower_tail, S as above."""
    if n <= 1:
        return 0.0 if lower_tail else 1.0
    if s_is <= 0:
        return 0.0 if lower_tail else 1.0
    max_s = n * (n * n - 1.0) / 3.0
    if s_is > max_s:
        return 1.0 if lower_tail else 0.0
    if n <= SPEARMAN_ENUMERATE_MAX:
        counts = _spearman_s_counts(n)
        at_least = sum(c for s, c in enumerate(counts) if s >= s_is)
        total = math.factorial(n)
        return (total - at_least) / total if lower_tail else at_least / total
    # Edgeworth series: x = rho' sqrt(n - 1) from S with a continuity shift of 1 (S steps by 2).
    c1, c2, c3, c4, c5, c6 = 0.2274, 0.2531, 0.1745, 0.0758, 0.1033, 0.3932
    c7, c8, c9, c10, c11, c12 = 0.0879, 0.0151, 0.0072, 0.0831, 0.0131, 4.6e-4
    y = float(n)
    b = 1 / y
    x = (6.0 * (s_is - 1) * b / (y * y - 1) - 1) * math.sqrt(y - 1)
    y = x * x
    u = (
        x * b * (c1 + b * (c2 + c3 * b)
        + y * (-c4 + b * (c5 + c6 * b) - y * b * (c7 + c8 * b - y * (c9 - c10 * b
        + y * b * (c11 - c12 * y)))))
    )  # fmt: skip
    y = u / math.exp(y / 2)
    from scipy import stats

    normal = stats.norm.cdf(x) if lower_tail else stats.norm.sf(x)
    p = (-y if lower_tail else y) + float(normal)
    return min(1.0, max(0.0, p))


def spearman_p_value(rho: float, n: int, has_ties: bool) -> tuple[float, str]:
    """Two-sided p and its method for Spearman's rho of ``n`` complete pairs, as R's
    cor.test(method = "spearman"): AS 89 without ties for n <= 1290 (exact for n <= 9), else
    Student's t with n - 2 df. Takes rho alone so that a rho computed elsewhere (inside a
    database, analysis.stats.pushdown_association) gets the same p as ``spearman``."""
    nf = float(n)  # R computes n^3 - n in doubles
    q = (nf**3 - nf) * (1 - rho) / 6  # R's S
    lower = not q > (nf**3 - nf) / 6  # R takes the tail on the side of the observed S
    if not has_ties and n <= SPEARMAN_EXACT_MAX:
        # R's call: prho(round(q) + 2 * lower.tail, n, lower.tail); S is even, so P(S < q + 2)
        # is P(S <= q).
        tail = _prho(n, round(q) + 2 * lower, lower)
        enumerated = n <= SPEARMAN_ENUMERATE_MAX
        method = METHOD_SPEARMAN_ENUMERATION if enumerated else METHOD_SPEARMAN_EDGEWORTH
    else:
        r = 1 - q / ((nf * (nf**2 - 1)) / 6)
        t = _divide(r, math.sqrt((1 - r**2) / (n - 2))) if n > 2 else math.nan
        from scipy import stats

        tail = float(stats.t.sf(t, n - 2) if lower else stats.t.cdf(t, n - 2))
        method = METHOD_SPEARMAN_T
    return min(1.0, 2 * tail), method


def spearman(x: ArrayLike, y: ArrayLike) -> SpearmanResult:
    """Spearman's rho and two-sided p as R's cor.test(x, y, method = "spearman").

    rho is Pearson's r of the mid-ranks. Without ties and n <= 1290 the p-value comes from
    AS 89 (exact for n <= 9, Edgeworth series above); with ties R warns and uses Student's t
    with n - 2 df on rho."""
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if len(xa) != len(ya):
        raise ValueError("x and y must have the same length")
    keep = ~(np.isnan(xa) | np.isnan(ya))  # R's complete.cases
    xa, ya = xa[keep], ya[keep]
    n = len(xa)
    if n < 2:  # R stops: not enough finite observations
        return SpearmanResult(
            rho=math.nan, s=math.nan, p_value=math.nan, method=METHOD_SPEARMAN_T, n=n,
            has_ties=False, warnings=("too_few_observations",),
        )  # fmt: skip
    has_ties = min(len(np.unique(xa)), len(np.unique(ya))) < n
    rx, ry = _midranks(xa), _midranks(ya)
    rx -= rx.mean()
    ry -= ry.mean()
    denominator = math.sqrt(float((rx * rx).sum()) * float((ry * ry).sum()))
    if denominator == 0:
        return SpearmanResult(
            rho=math.nan, s=math.nan, p_value=math.nan, method=METHOD_SPEARMAN_T, n=n,
            has_ties=has_ties, warnings=("zero_sd",),
        )  # fmt: skip
    rho = float((rx * ry).sum()) / denominator
    rho = min(1.0, max(-1.0, rho))  # R's cor() clamps rounding beyond +-1
    nf = float(n)  # R computes n^3 - n in doubles
    q = (nf**3 - nf) * (1 - rho) / 6
    # R: "Cannot compute exact p-value with ties"
    warnings: tuple[str, ...] = ("ties_no_exact_p",) if has_ties else ()
    p_value, method = spearman_p_value(rho, n, has_ties)
    return SpearmanResult(
        rho=rho,
        s=q,
        p_value=p_value,
        method=method,
        n=n,
        has_ties=has_ties,
        warnings=warnings,
    )
