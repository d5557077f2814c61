"""Paired before/after statistics for one outcome, checked against R.

Methods and sources:
- paired t-test and its 95% CI: scipy.stats.ttest_rel (= R ``t.test(after, before, paired=TRUE)``);
- Wilcoxon signed-rank test as R's ``wilcox.test(after, before, paired=TRUE)`` by default:
  zero changes dropped; exact p when n < 50 with no ties and no zeros, otherwise the normal
  approximation with tie-corrected variance and continuity correction. scipy's own defaults
  differ (no continuity correction, other exact rule), so every argument is set explicitly.
  V is the sum of the ranks of positive changes (R's statistic);
- Hodges-Lehmann estimate: median of all n(n+1)/2 Walsh averages of the changes, with the
  distribution-free CI from their order statistics (Hollander & Wolfe, Nonparametric
  Statistical Methods, 2nd ed. 1999, section 3.2). Order statistics are selected in
  O(n log n) without building the n^2 array;
- Shapiro-Wilk on the changes: scipy.stats.shapiro (Royston 1995, as R's shapiro.test);
- Cohen's d_z = mean change / SD of changes (Lakens 2013, Front Psychol 4:863, eq. 6);
- pre-post correlation: Pearson's r.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from analysis.instruments import Direction, Scale

SMALL_N = 10  # below this, normality cannot be judged and estimates are imprecise
EXACT_LIMIT = 50  # R's wilcox.test: exact p-value for n < 50 without ties or zeros
SHAPIRO_MAX = 5000  # R's shapiro.test accepts 3..5000 values


@dataclass
class PairedResult:
    n_pairs: int
    mean_before: float | None = None
    mean_after: float | None = None
    sd_before: float | None = None
    sd_after: float | None = None
    median_before: float | None = None
    median_after: float | None = None
    q1_before: float | None = None
    q3_before: float | None = None
    q1_after: float | None = None
    q3_after: float | None = None
    mean_change: float | None = None
    sd_change: float | None = None
    median_change: float | None = None
    change_ci_low: float | None = None
    change_ci_high: float | None = None
    t_statistic: float | None = None
    df: int | None = None
    p_value_t: float | None = None
    wilcoxon_v: float | None = None
    wilcoxon_n: int | None = None
    wilcoxon_method: str | None = None
    p_value_wilcoxon: float | None = None
    wilcoxon_smallest_p: float | None = None  # the smallest p the exact test can reach at this n
    hodges_lehmann: float | None = None
    hl_ci_low: float | None = None
    hl_ci_high: float | None = None
    shapiro_w: float | None = None
    shapiro_p: float | None = None
    cohens_dz: float | None = None
    pre_post_r: float | None = None
    direction: Direction | None = None
    n_improved: int | None = None
    n_unchanged: int | None = None
    n_worsened: int | None = None
    n_increased: int | None = None
    n_decreased: int | None = None
    mcid: float | None = None
    n_improved_mcid: int | None = None
    n_worsened_mcid: int | None = None
    pct_improved: float | None = None  # percent of n_pairs
    pct_worsened: float | None = None
    pct_improved_mcid: float | None = None
    recommended_test: str | None = None
    recommended_reason: str = ""
    p_value_recommended: float | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)
    undefined: dict[str, str] = field(default_factory=dict)

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})

    def mark_undefined(self, reason: str, *names: str) -> None:
        for name in names:
            setattr(self, name, None)
            self.undefined[name] = reason

    def to_dict(self) -> dict:
        """JSON-safe: undefined numbers are None, numpy scalars become Python numbers."""
        return {k: json_safe(v) for k, v in asdict(self).items()}


def json_safe(value):
    """Python scalars for JSON: numpy numbers converted, NaN and infinities become None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def _f(x) -> float:
    return float(x)


def walsh_order_statistic(sorted_changes: np.ndarray, k: int) -> float:
    """The k-th smallest (1-based) of the n(n+1)/2 Walsh averages (d_i + d_j)/2, i <= j.

    Bisection on the value of the pair sum d_i + d_j, counting sums below it with a vectorised
    searchsorted (O(n log n) per step), until at most 4n sums lie in the bracket; those are
    then listed and sorted. So 100k pairs need no 5·10^9-element array.
    """
    d = sorted_changes
    n = len(d)
    index = np.arange(n)

    def first_above(two_theta: float) -> np.ndarray:
        # for each i: the first j >= i with d_i + d_j > two_theta
        return np.maximum(np.searchsorted(d, two_theta - d, side="right"), index)

    def count_at_most(two_theta: float) -> int:
        return int((first_above(two_theta) - index).sum())

    lo, hi = 2 * d[0] - 1.0, 2 * d[-1]  # count(lo) = 0 < k <= count(hi) = n(n+1)/2
    count_lo, count_hi = 0, n * (n + 1) // 2
    while count_hi - count_lo > 4 * n:
        mid = lo + (hi - lo) / 2
        if mid <= lo or mid >= hi:  # many tied sums: all in (lo, hi] share one value
            first = first_above(lo)
            valid = first < n
            return float((d[valid] + d[first[valid]]).min() / 2)
        count_mid = count_at_most(mid)
        if count_mid >= k:
            hi, count_hi = mid, count_mid
        else:
            lo, count_lo = mid, count_mid
    # List the (at most 4n) sums in (lo, hi] and pick the (k - count_lo)-th smallest.
    start, stop = first_above(lo), first_above(hi)
    lengths = stop - start
    rows = np.repeat(index, lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    sums = np.sort(d[rows] + d[np.repeat(start, lengths) + offsets])
    return float(sums[k - count_lo - 1] / 2)


def _signrank_cdf(n: int) -> np.ndarray:
    """P(V <= v), v = 0..n(n+1)/2, for the signed-rank statistic without ties (exact)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return np.cumsum(counts) / 2.0**n


def hodges_lehmann(changes: np.ndarray, exact: bool, level: float = 0.95):
    """Estimate and distribution-free CI (Hollander & Wolfe 1999, 3.2). Returns (est, lo, hi)."""
    d = np.sort(np.asarray(changes, dtype=float))
    n = len(d)
    total = n * (n + 1) // 2
    if total % 2:
        estimate = walsh_order_statistic(d, (total + 1) // 2)
    else:
        estimate = (
            walsh_order_statistic(d, total // 2) + walsh_order_statistic(d, total // 2 + 1)
        ) / 2
    alpha = 1 - level
    if exact:
        # R: qu <- qsignrank(alpha/2, n); lower = W[qu], upper = W[M - qu + 1]
        cdf = _signrank_cdf(n)
        qu = int(np.searchsorted(cdf, alpha / 2 - 1e-12))
        qu = max(qu, 1)
    else:
        z = stats.norm.ppf(1 - alpha / 2)
        qu = math.floor(total / 2 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24))
        qu = max(qu, 1)
    if qu > total - qu + 1:
        return estimate, None, None
    return estimate, walsh_order_statistic(d, qu), walsh_order_statistic(d, total - qu + 1)


def wilcoxon_r(
    changes: np.ndarray,
) -> tuple[float | None, float | None, str | None, int, bool, int]:
    """R's default paired Wilcoxon signed-rank test on changes (after - before).

    Returns (V, p, method, n used, ties, n zeros)."""
    d = np.asarray(changes, dtype=float)
    zeros = int((d == 0).sum())
    nonzero = d[d != 0]
    n = len(nonzero)
    if n == 0:
        return None, None, None, 0, False, zeros
    ranks = stats.rankdata(np.abs(nonzero))
    v = float(ranks[nonzero > 0].sum())
    ties = len(np.unique(ranks)) != len(ranks)
    exact = n < EXACT_LIMIT and not ties and zeros == 0
    if exact:
        result = stats.wilcoxon(nonzero, zero_method="wilcox", method="exact")
        method = "exact"
    else:
        result = stats.wilcoxon(nonzero, zero_method="wilcox", correction=True, method="asymptotic")
        method = "normal approximation with continuity correction"
    return v, float(result.pvalue), method, n, ties, zeros


def paired_statistics(
    before: np.ndarray,
    after: np.ndarray,
    direction: Direction | None = None,
    mcid: float | None = None,
    scale: Scale | None = None,
) -> PairedResult:
    """Every paired statistic for aligned before/after arrays (same patient at each index)."""
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)
    n = len(before)
    result = PairedResult(n_pairs=n, direction=direction, mcid=mcid)
    numeric = [
        "mean_before", "mean_after", "sd_before", "sd_after", "median_before", "median_after",
        "q1_before", "q3_before", "q1_after", "q3_after", "mean_change", "sd_change",
        "median_change", "change_ci_low", "change_ci_high", "t_statistic", "df", "p_value_t",
        "wilcoxon_v", "p_value_wilcoxon", "hodges_lehmann", "hl_ci_low", "hl_ci_high",
        "shapiro_w", "shapiro_p", "cohens_dz", "pre_post_r",
    ]  # fmt: skip
    if n == 0:
        result.mark_undefined("no patient has values at both visits", *numeric)
        result.warn("no_pairs", "No patient has values at both visits, so nothing can be compared.")
        _counts(result, np.array([]), direction, mcid)
        return result

    # Rounded so that float noise (27.3 - 25.1 = 2.1999999999999993) neither breaks ties nor
    # turns a zero change into a non-zero one; 12 decimals is far below any clinical unit.
    change = np.round(after - before, 12)
    result.mean_before, result.mean_after = _f(before.mean()), _f(after.mean())
    result.median_before, result.median_after = _f(np.median(before)), _f(np.median(after))
    result.q1_before, result.q3_before = (_f(q) for q in np.percentile(before, [25, 75]))
    result.q1_after, result.q3_after = (_f(q) for q in np.percentile(after, [25, 75]))
    result.mean_change, result.median_change = _f(change.mean()), _f(np.median(change))
    _counts(result, change, direction, mcid)

    if n < 2:
        result.mark_undefined(
            "a standard deviation needs at least 2 pairs",
            "sd_before", "sd_after", "sd_change", "change_ci_low", "change_ci_high",
            "t_statistic", "df", "p_value_t", "cohens_dz", "pre_post_r",
        )  # fmt: skip
    else:
        result.sd_before, result.sd_after = _f(before.std(ddof=1)), _f(after.std(ddof=1))
        result.sd_change = _f(change.std(ddof=1))
        # A spread at rounding-error size is no spread: the t statistic would be noise.
        if result.sd_change <= 1e-9 * max(1.0, abs(result.mean_change)):
            result.mark_undefined(
                "every patient changed by exactly the same amount (no variation in change)",
                "change_ci_low", "change_ci_high", "t_statistic", "p_value_t", "cohens_dz",
            )  # fmt: skip
            result.df = n - 1
            result.warn(
                "zero_variance",
                "Every patient changed by exactly the same amount, so the t-test, its "
                "confidence interval and Cohen's d_z are undefined.",
            )
        else:
            test = stats.ttest_rel(after, before)
            ci = test.confidence_interval(0.95)
            result.t_statistic, result.p_value_t = _f(test.statistic), _f(test.pvalue)
            result.df = int(test.df)
            result.change_ci_low, result.change_ci_high = _f(ci.low), _f(ci.high)
            result.cohens_dz = result.mean_change / result.sd_change
        if n < 3 or result.sd_before == 0 or result.sd_after == 0:
            why = (
                "a correlation needs at least 3 pairs"
                if n < 3
                else "all values at one visit are identical"
            )
            result.mark_undefined(why, "pre_post_r")
        else:
            result.pre_post_r = _f(stats.pearsonr(before, after).statistic)

    _wilcoxon_part(result, change)
    _shapiro_part(result, change)
    _recommend(result, scale, before, after)
    if 0 < n < SMALL_N:
        result.warn(
            "small_n",
            f"Only {n} patient(s) have both values: estimates are imprecise and the tests have "
            "little power to detect a change.",
        )
    return result


def _counts(result: PairedResult, change: np.ndarray, direction, mcid) -> None:
    result.n_increased = int((change > 0).sum())
    result.n_decreased = int((change < 0).sum())
    result.n_unchanged = int((change == 0).sum())
    if direction is None:
        why = "the direction of improvement is not known for this outcome"
        result.mark_undefined(
            why, "n_improved", "n_worsened", "n_improved_mcid", "n_worsened_mcid",
            "pct_improved", "pct_worsened", "pct_improved_mcid",
        )  # fmt: skip
        return
    n = len(change)
    better = -change if direction == "lower" else change
    result.n_improved = int((better > 0).sum())
    result.n_worsened = int((better < 0).sum())
    if n:
        result.pct_improved = 100 * result.n_improved / n
        result.pct_worsened = 100 * result.n_worsened / n
    if mcid is None:
        why = "no clinically important difference is established for this instrument"
        result.mark_undefined(why, "n_improved_mcid", "n_worsened_mcid", "pct_improved_mcid")
    else:
        # A tiny tolerance so that e.g. 6.1 -> 4.1 counts as a 2-point improvement.
        result.n_improved_mcid = int((better >= mcid - 1e-9).sum())
        result.n_worsened_mcid = int((better <= -mcid + 1e-9).sum())
        if n:
            result.pct_improved_mcid = 100 * result.n_improved_mcid / n


def _wilcoxon_part(result: PairedResult, change: np.ndarray) -> None:
    v, p, method, n_used, ties, zeros = wilcoxon_r(change)
    result.wilcoxon_n = n_used
    if v is None:
        result.mark_undefined(
            "no patient's value changed, so there are no ranks to test",
            "wilcoxon_v", "p_value_wilcoxon",
        )  # fmt: skip
    else:
        result.wilcoxon_v, result.p_value_wilcoxon, result.wilcoxon_method = v, p, method
        # Two-sided exact signed-rank: all n signs alike is the most extreme outcome, so no
        # result at this n can go below 2 / 2^n (0.0625 at 5 pairs), whatever method ran.
        result.wilcoxon_smallest_p = min(1.0, math.ldexp(1.0, 1 - n_used))
    if zeros:
        result.warn(
            "zero_changes",
            f"{zeros} patient(s) had exactly the same value at both visits; the Wilcoxon test "
            f"leaves them out (R's default) and used {n_used} pair(s).",
        )
    if ties:
        result.warn(
            "ties",
            "Some changes are tied, so the Wilcoxon p-value uses the normal approximation with "
            "continuity correction (as R does); an exact p-value is not available with ties.",
        )
    exact_hl = len(change) < EXACT_LIMIT and not ties and zeros == 0
    estimate, low, high = hodges_lehmann(change, exact=exact_hl)
    result.hodges_lehmann, result.hl_ci_low, result.hl_ci_high = estimate, low, high
    if low is None:
        result.mark_undefined("too few pairs for a 95% interval", "hl_ci_low", "hl_ci_high")


def _shapiro_part(result: PairedResult, change: np.ndarray) -> None:
    """Shapiro-Wilk on the changes, as a description only: it does not choose the test."""
    n = len(change)
    if n < 3:
        result.mark_undefined("Shapiro-Wilk needs at least 3 pairs", "shapiro_w", "shapiro_p")
    elif n > SHAPIRO_MAX:
        result.mark_undefined(
            f"Shapiro-Wilk is defined for 3 to {SHAPIRO_MAX} values (R's limit)",
            "shapiro_w", "shapiro_p",
        )  # fmt: skip
    elif np.ptp(change) == 0:
        result.mark_undefined("all changes are identical", "shapiro_w", "shapiro_p")
    else:
        test = stats.shapiro(change)
        result.shapiro_w, result.shapiro_p = _f(test.statistic), _f(test.pvalue)


ORDINAL_MAX_LEVELS = 21  # an unknown outcome recorded in whole numbers with <= 21 levels


def scale_of_values(before: np.ndarray, after: np.ndarray) -> Scale:
    """For an outcome not in the registry: whole numbers with few levels read as ordinal."""
    values = np.concatenate([before, after])
    whole = bool(np.all(np.round(values) == values))
    return "ordinal" if whole and len(np.unique(values)) <= ORDINAL_MAX_LEVELS else "continuous"


def primary_test(scale: Scale, t_defined: bool, wilcoxon_defined: bool) -> str | None:
    """The primary paired test from the scale, fixed before the data are seen.

    No normality pre-test: a two-stage choice by Shapiro-Wilk distorts error rates (Rochon,
    Gondan & Kieser 2012, BMC Med Res Methodol 12:81). Ordinal scores with few levels get the
    signed-rank test, continuous measurements the paired t-test; both are always reported."""
    if not t_defined and not wilcoxon_defined:
        return None
    if scale == "ordinal" or not t_defined:
        return "wilcoxon" if wilcoxon_defined else "t"
    return "t"


def _recommend(result: PairedResult, scale: Scale | None, before, after) -> None:
    n = result.n_pairs
    result.recommended_test, result.p_value_recommended = None, None
    if n < 2:
        result.recommended_reason = "At least 2 patients with values at both visits are needed."
        return
    known = scale is not None
    scale = scale if scale is not None else scale_of_values(before, after)
    choice = primary_test(scale, result.p_value_t is not None, result.p_value_wilcoxon is not None)
    if choice is None:
        result.recommended_reason = "No test is possible: nobody's value changed."
        return
    if result.p_value_t is None:
        why = "every patient changed by the same amount, so the t-test is undefined"
    elif scale == "ordinal":
        why = (
            "the outcome is a score with few possible values (an ordinal scale)"
            if known
            else "the values are whole numbers with few possible levels (read as an ordinal scale)"
        ) + ", so the test that compares ranks fits it; the paired t-test is shown beside it"
    else:
        why = (
            (
                "the outcome is a continuous measurement"
                if known
                else "the values are measurements on a continuous scale"
            )
            + ", so the mean change and the paired t-test fit it; the Wilcoxon test is shown "
            + "beside it"
        )
    if choice == "wilcoxon":
        result.recommended_test = "Wilcoxon signed-rank test"
        result.p_value_recommended = result.p_value_wilcoxon
    else:
        result.recommended_test = "paired t-test"
        result.p_value_recommended = result.p_value_t
    result.recommended_reason = (
        f"The {result.recommended_test} is the primary test because {why}. It was chosen from "
        "the kind of scale, before looking at the data, not by a normality pre-test."
    )
