"""Paired before/after statistics for one outcome, checked against R.

Methods and sources:
- paired t-test and its 95% CI: scipy.stats.ttest_rel (= R ``t.test(after, before, paired=TRUE)``);
- Wilcoxon signed-rank test, Hodges-Lehmann estimate and its interval exactly as R's
  ``wilcox.test(after - before, conf.int = TRUE)`` (analysis.stats.rank_tests): zero changes are
  left out of the test, the estimate and the interval; exact p and Walsh-average interval when
  fewer than 50 non-zero changes without ties or zeros, otherwise the normal approximation with
  tie correction and continuity correction, whose interval ends and estimate are the roots R's
  uniroot() finds. When a 95% interval is not reachable (5 or fewer non-zero changes, a few
  more with ties or zeros) the interval is R's widest one and ``hl_ci_level`` the level R reports
  for it (Hollander, Wolfe & Chicken 2014, Nonparametric Statistical Methods, 3rd ed., 3.1-3.3);
- changes are after - before rounded to 12 decimals before anything is ranked, so that the
  float noise of decimal inputs (27.3 - 25.1 = 2.1999999999999993, 3.2 - 1.0 =
  2.2000000000000002) neither breaks a tie nor turns a zero change into a non-zero one. R
  (digits.rank = Inf) ranks the unrounded doubles; on rounded changes the numbers are R's;
- Shapiro-Wilk on the changes: scipy.stats.shapiro (Royston 1995, as R's shapiro.test);
- Cohen's d_z = mean change / SD of changes (Lakens 2013, Front Psychol 4:863, eq. 6);
- pre-post correlation: Pearson's r.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analysis.instruments import Direction, Scale
from analysis.stats.rank_tests import smallest_attainable_p, wilcoxon_signed_rank

SMALL_N = 10  # below this, estimates are imprecise and the tests have little power
SHAPIRO_MAX = 5000  # R's shapiro.test accepts 3..5000 values
CHANGE_DECIMALS = 12  # changes are rounded to this many decimals before ranking (see above)
CONF_LEVEL = 0.95  # the level asked of every interval


@dataclass
class PairedResult:
    """Every paired statistic of one comparison (numbers; undefined ones with their reason)."""

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
    wilcoxon_n: int | None = None  # non-zero changes, the pairs the rank test uses
    wilcoxon_n_zero: int | None = None  # zero changes left out of the rank test, as R does
    wilcoxon_method: str | None = None
    p_value_wilcoxon: float | None = None
    wilcoxon_smallest_p: float | None = None  # the smallest p the exact test can reach at this n
    hodges_lehmann: float | None = None
    hl_ci_low: float | None = None
    hl_ci_high: float | None = None
    hl_ci_level: float | None = None  # the level reached: 0.95, or less with few pairs (as R)
    hl_ci_coverage: float | None = None  # exact coverage of an exact interval (0.9375 at n = 5)
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

    def hl_ci_label(self) -> str:
        """'95% CI', or the level reached ('88% CI') when 95% is not reachable."""
        return ci_label(self.hl_ci_level)


def ci_label(level: float | None) -> str:
    """'95% CI' for a level of 0.95; 'CI' when there is no interval."""
    if level is None:
        return "CI"
    return f"{100 * level:.4g}% CI"


def json_safe(value):
    """Python scalars for JSON: numpy numbers converted; NaN, infinities and pd.NA become None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def _f(x) -> float:
    return float(x)


def mark_too_few_for_sd(result: PairedResult) -> None:
    """Fewer than 2 pairs: every spread-based statistic is undefined, with the reason."""
    result.mark_undefined(
        "a standard deviation needs at least 2 pairs",
        "sd_before", "sd_after", "sd_change", "change_ci_low", "change_ci_high",
        "t_statistic", "df", "p_value_t", "cohens_dz", "pre_post_r",
    )  # fmt: skip


def no_variation_in_change(result: PairedResult, n: int) -> bool:
    """True (with the t-based statistics marked undefined and a warning) when the SD of the
    changes is at rounding-error size: a spread that small is no spread, t would be noise."""
    assert result.sd_change is not None and result.mean_change is not None
    if result.sd_change > 1e-9 * max(1.0, abs(result.mean_change)):
        return False
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
    return True


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
        "hl_ci_level", "shapiro_w", "shapiro_p", "cohens_dz", "pre_post_r",
    ]  # fmt: skip
    if n == 0:
        result.mark_undefined("no patient has values at both visits", *numeric)
        result.warn("no_pairs", "No patient has values at both visits, so nothing can be compared.")
        _counts(result, np.array([]), direction, mcid)
        return result

    change = rounded_change(before, after)
    result.mean_before, result.mean_after = _f(before.mean()), _f(after.mean())
    result.median_before, result.median_after = _f(np.median(before)), _f(np.median(after))
    result.q1_before, result.q3_before = (_f(q) for q in np.percentile(before, [25, 75]))
    result.q1_after, result.q3_after = (_f(q) for q in np.percentile(after, [25, 75]))
    result.mean_change, result.median_change = _f(change.mean()), _f(np.median(change))
    _counts(result, change, direction, mcid)

    if n < 2:
        mark_too_few_for_sd(result)
    else:
        result.sd_before, result.sd_after = _f(before.std(ddof=1)), _f(after.std(ddof=1))
        result.sd_change = _f(change.std(ddof=1))
        if not no_variation_in_change(result, n):
            from scipy import stats  # imported when used: start-up stays light

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
            from scipy import stats

            result.pre_post_r = _f(stats.pearsonr(before, after).statistic)

    wilcoxon_part(result, change)
    shapiro_part(result, change)
    recommend_test(result, scale, before, after)
    if 0 < n < SMALL_N:
        result.warn(
            "small_n",
            f"Only {n} patient(s) have both values: estimates are imprecise and the tests have "
            "little power to detect a change.",
        )
    return result


def rounded_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """after - before rounded to 12 decimals: float noise from decimal inputs (27.3 - 25.1 =
    2.1999999999999993 but 3.2 - 1.0 = 2.2000000000000002) neither breaks a tie nor turns a
    zero change into a non-zero one; 12 decimals is far below any clinical unit."""
    return np.round(np.asarray(after, dtype=float) - np.asarray(before, dtype=float), 12)


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


def wilcoxon_part(result: PairedResult, change: np.ndarray) -> None:
    """R's wilcox.test(change, conf.int = TRUE): V, p, method, estimate and interval."""
    test = wilcoxon_signed_rank(change, conf_level=CONF_LEVEL)
    result.wilcoxon_n, result.wilcoxon_n_zero = test.n, test.n_zero_dropped
    if test.n == 0:
        result.mark_undefined(
            "no patient's value changed, so there are no ranks to test",
            "wilcoxon_v", "p_value_wilcoxon", "hodges_lehmann", "hl_ci_low", "hl_ci_high",
            "hl_ci_level",
        )  # fmt: skip
    else:
        result.wilcoxon_v, result.p_value_wilcoxon = test.v, test.p_value
        result.wilcoxon_method = test.method
        # Two-sided exact signed-rank: all n signs alike is the most extreme outcome, so no
        # result at this n can go below 2 / 2^n (0.0625 at 5 pairs), whatever method ran.
        result.wilcoxon_smallest_p = smallest_attainable_p(test.n)
        values, undefined = hodges_lehmann_values(
            test.estimate, test.ci_low, test.ci_high, test.ci_level_achieved, test.ci_coverage,
            test.n,
        )  # fmt: skip
        for name, value in values.items():
            setattr(result, name, value)
        for name, reason in undefined.items():
            result.mark_undefined(reason, name)
    if test.n_zero_dropped:
        result.warn("zero_changes", zero_changes_note(test.n_zero_dropped, test.n))
    if test.has_ties:
        result.warn(
            "ties",
            "Some changes are tied, so the Wilcoxon p-value uses the normal approximation with "
            "continuity correction (as R does); an exact p-value is not available with ties.",
        )
    level = result.hl_ci_level
    if level is not None and level < CONF_LEVEL:
        result.warn(
            "hl_ci_level",
            f"With {test.n} non-zero change(s) a {100 * CONF_LEVEL:.0f}% interval for the "
            "Hodges-Lehmann estimate is not reachable: the interval shown is the widest there "
            f"is, at {100 * level:.4g}% (the level R reports).",
        )


def zero_changes_phrase(n_zero: int) -> str:
    """'3 patients with no change left out of the rank test, as R does'."""
    patients = "patient" if n_zero == 1 else "patients"
    return f"{n_zero:,} {patients} with no change left out of the rank test, as R does"


def zero_changes_note(n_zero: int, n_used: int) -> str:
    """The zero-change phrase, with what the other pairs are used for."""
    return (
        f"{zero_changes_phrase(n_zero)}: the Wilcoxon test, the Hodges-Lehmann estimate and "
        f"its interval use the other {n_used:,}."
    )


def hodges_lehmann_values(
    estimate: float | None,
    low: float | None,
    high: float | None,
    level: float | None,
    coverage: float | None,
    n_used: int,
) -> tuple[dict[str, float | None], dict[str, str]]:
    """The Hodges-Lehmann fields of a result from R's numbers, and the reason for each one that
    is undefined. An interval of level 0 (R's answer when no level above 0 is reachable: one
    non-zero change, every one tied, or too few with ties or zeros) is no interval: it is
    reported as undefined, with its level None."""
    values: dict[str, float | None] = {
        "hodges_lehmann": _finite(estimate), "hl_ci_low": _finite(low),
        "hl_ci_high": _finite(high), "hl_ci_level": _finite(level),
        "hl_ci_coverage": _finite(coverage),
    }  # fmt: skip
    undefined: dict[str, str] = {}
    if values["hodges_lehmann"] is None:
        undefined["hodges_lehmann"] = (
            "R's search for the estimate fails here (R stops with an error)"
        )
    no_interval = values["hl_ci_low"] is None or values["hl_ci_high"] is None
    if no_interval or not values["hl_ci_level"]:
        if n_used == 1:
            why = "one non-zero change gives no interval"
        elif level == 0 and no_interval:
            why = "the non-zero changes are all equal, so there is no interval"
        elif level == 0:
            why = f"with {n_used} non-zero changes no interval above 0% is reachable (R gives 0%)"
        else:
            why = "R's search for the interval ends fails here (R stops with an error)"
        for name in ("hl_ci_low", "hl_ci_high", "hl_ci_level", "hl_ci_coverage"):
            undefined[name] = why
            values[name] = None
    return values, undefined


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def shapiro_part(result: PairedResult, change: np.ndarray) -> None:
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
        from scipy import stats

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


def recommend_test(result: PairedResult, scale: Scale | None, before, after) -> None:
    """Set the primary test chosen from the outcome's scale (primary_test) and its p-value."""
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
