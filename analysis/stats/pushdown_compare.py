"""Compare visits per arm computed inside the database: only aggregates leave the engine.

One query pairs each patient's value at ``before`` (any visit, not only the baseline) with the
value at ``after`` inside the engine and returns, per arm × change bin, the count, the sums of
before, after and the change's residual from its bin (analysis.stats.pushdown's bins), the
centred sums of squares and cross-products of before and after (two passes in the engine: the
arm's means by a window, then sums of products of deviations, so nothing cancels), and counts
of changes above, below and beyond the MCID. A second query counts who was left out and why;
on an outcome recorded on a grid a third returns each arm's value-count histogram at the two
visits. Arms with fewer pairs than ``min_cell`` are dropped in the engine.

From these (analysis.stats.paired's definitions throughout):
- moments: means, SDs, mean change with its t interval and paired t-test, Cohen's d_z, Pearson's
  pre-post r = S_ba / sqrt(S_bb S_aa);
- on the outcome's grid (every change within GRID_TOLERANCE of it, checked as pushdown's
  ``_cell_row``): the histogram of changes is the multiset of changes, so the Wilcoxon
  signed-rank test, Hodges-Lehmann estimate and interval (R's wilcox.test), the median change
  and Shapiro-Wilk (order-free, Royston 1995) are those of analysis.stats.paired exactly; above
  SHAPIRO_MAX pairs the rank statistics come from analysis.stats.summary's histogram path.
  Medians and quartiles at each visit come from exact value-count histograms (np.percentile's
  linear rule);
- off every grid: moments and counts only. The rank statistics, medians, quartiles and
  Shapiro-Wilk need each patient's values there: they are None, marked undefined, and the
  result is flagged (``exact_ranks`` False). ``pairs`` is always empty: no row leaves;
- between arms: Welch's difference in mean change from each arm's mean, SE and n
  (welch_from_summaries; Welch 1947) and the ANCOVA of after ~ before + arm from each arm's n,
  means and centred sums (classical pooled within-group slope b = sum S_ba / sum S_bb;
  adjusted difference = diff(mean after) - b diff(mean before), residual variance
  (sum S_aa - b sum S_ba) / (n - 3), SE^2 = s^2 (1/n_1 + 1/n_0 + diff(mean before)^2 / sum S_bb);
  Snedecor & Cochran 1989, Statistical Methods, 8th ed., ch. 18), the same least-squares
  estimate analysis.stats.subgroups.ancova fits by OLS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.ingest.engine import EngineCohort
from analysis.instruments import Direction, Instrument, Scale, lookup
from analysis.stats import rank_tests as rt
from analysis.stats.arms import ArmDesign, welch_from_summaries
from analysis.stats.compare import Comparison
from analysis.stats.paired import (
    CHANGE_DECIMALS,
    CONF_LEVEL,
    ORDINAL_MAX_LEVELS,
    SHAPIRO_MAX,
    SMALL_N,
    PairedResult,
    hodges_lehmann_values,
    mark_too_few_for_sd,
    no_variation_in_change,
    paired_statistics,
    recommend_test,
    shapiro_part,
    wilcoxon_part,
    zero_changes_note,
)
from analysis.stats.pushdown import NO_ARM, outcome_steps
from analysis.stats.summary import GRID_TOLERANCE, GridRanks, grid_normal_ci

# |change| at or below this is no change: paired.rounded_change rounds to 12 decimals.
_ZERO = 0.5 * 10.0**-CHANGE_DECIMALS
_MCID_SLACK = 1e-9  # as paired._counts
NEED_ROWS = (
    "median_before", "median_after", "q1_before", "q3_before", "q1_after", "q3_after",
    "median_change", "wilcoxon_v", "p_value_wilcoxon", "wilcoxon_method", "wilcoxon_smallest_p",
    "hodges_lehmann", "hl_ci_low", "hl_ci_high", "hl_ci_level", "hl_ci_coverage", "shapiro_w",
    "shapiro_p",
)  # fmt: skip
_OFF_GRID = "the changes lie on no recording grid, so this needs each patient's values"
_PAIR_COLUMNS = ["patient_id", "before", "after", "change", "status"]


@dataclass
class EngineComparison(Comparison):
    """compare_visits' Comparison from aggregates: no pairs (no row left), excluded as counts."""

    excluded_counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        return int(sum(self.excluded_counts.values()))

    def exclusion_counts(self) -> dict[str, int]:
        return dict(self.excluded_counts)


@dataclass
class PushdownComparison:
    """compare_by_arm computed in the engine: per arm, between arms, and what was held back."""

    design: ArmDesign
    outcome: str
    before: str
    after: str
    per_arm: dict[str, EngineComparison]  # design.levels order ({"": ...} without arms)
    between: pd.DataFrame  # ArmComparison.between's columns
    suppressed_arms: list[str]  # arms with fewer than min_cell pairs, dropped in the engine
    min_cell: int
    exact_ranks: bool  # False: off every grid, rank statistics not computed


def pushdown_compare(
    cohort: EngineCohort,
    design: ArmDesign,
    outcome: str,
    before: str,
    after: str,
    min_cell: int = 0,
    direction: Direction | None = None,
) -> PushdownComparison:
    """compare_by_arm (per-arm paired statistics, Welch and ANCOVA between arms) from aggregates
    computed in the engine; ValueError for an unknown outcome or visit, as compare_visits."""
    if outcome not in cohort.outcomes:
        raise ValueError(
            f"Outcome {outcome!r} is not in the data; outcomes: {', '.join(cohort.outcomes)}"
        )
    for visit in (before, after):
        if visit not in cohort.visits:
            raise ValueError(
                f"Visit {visit!r} is not in the data; visits: {', '.join(cohort.visits)}"
            )
    if before == after:
        raise ValueError("Choose two different visits to compare.")
    instrument = lookup(outcome, direction)
    steps, on_grid = outcome_steps(cohort, [outcome])
    step = steps[outcome]
    values_on_grid = cohort.profiles[outcome].step is not None
    bins = (
        compare_bins_expression(cohort, design, outcome, before, after, step, instrument, min_cell)
        .to_pandas()
        .assign(arm=lambda f: f["arm"].astype(str))
    )
    counts = exclusion_expression(cohort, design, outcome, before, after, min_cell).to_pandas()
    counts["arm"] = counts["arm"].astype(str)
    levels = list(design.levels) if design.has_arms else [NO_ARM]
    kept = set(bins["arm"])
    histograms = (
        value_histograms_expression(cohort, design, outcome, before, after, min_cell).to_pandas()
        if values_on_grid and kept
        else pd.DataFrame(columns=["arm", "which", "v", "n"])
    )
    histograms["arm"] = histograms["arm"].astype(str)
    scales = _scales(cohort, design, outcome, instrument)
    per_arm: dict[str, EngineComparison] = {}
    moments: dict[str, dict[str, float]] = {}
    exact = True
    for level in levels:
        row = counts.loc[counts["arm"] == level]
        n_pairs = int(row["n_both"].iloc[0]) if len(row) else 0
        if min_cell > 0 and not len(row):
            continue  # fewer than min_cell pairs: suppressed in the engine
        cell = bins.loc[bins["arm"] == level]
        if n_pairs:
            stats, cell_exact, moments[level] = _paired_from_bins(
                cell, histograms.loc[histograms["arm"] == level], step, on_grid[outcome],
                instrument, scales.get(level, instrument.scale),
            )  # fmt: skip
            exact &= cell_exact
        else:
            stats = paired_statistics(
                np.empty(0), np.empty(0), instrument.direction, instrument.mcid_abs,
                scales.get(level, instrument.scale),
            )  # fmt: skip
        per_arm[level] = EngineComparison(
            outcome, instrument, before, after, pd.DataFrame(columns=_PAIR_COLUMNS),
            pd.DataFrame(columns=["patient_id", "reason"]), stats,
            _excluded(row, before, after),
        )  # fmt: skip
    suppressed = [level for level in levels if level not in per_arm]
    between = _between(design, per_arm, moments) if design.has_arms else pd.DataFrame()
    return PushdownComparison(
        design, outcome, before, after, per_arm, between, suppressed, min_cell, exact
    )


def _arm_rows(cohort: EngineCohort, design: ArmDesign) -> Any:
    """The validated rows with an ``arm`` column, patients without a design arm left out."""
    import ibis

    rows = cohort.clean()
    arm = design.attribute if design.has_arms else None
    rows = rows.mutate(arm=rows[arm] if arm is not None else ibis.literal(NO_ARM))
    if arm is not None:
        every_level = set(design.levels) == set(cohort.attribute_levels.get(arm, []))
        rows = rows.filter(rows.arm.notnull() if every_level else rows.arm.isin(design.levels))
    return rows


def _pairs(cohort: EngineCohort, design: ArmDesign, outcome: str, before: str, after: str) -> Any:
    """patient, arm, before, after for patients with ``outcome`` at both visits (in the engine)."""
    rows = _arm_rows(cohort, design)
    rows = rows.filter(rows.outcome == outcome)
    first = rows.filter(rows.visit == before).select("patient_id", "arm", b=rows.v)
    second = rows.filter(rows.visit == after).select("patient_id", a=rows.v)
    return first.join(second, "patient_id")


def compare_bins_expression(
    cohort: EngineCohort,
    design: ArmDesign,
    outcome: str,
    before: str,
    after: str,
    step: float,
    instrument: Instrument,
    min_cell: int,
) -> Any:
    """Per arm × change bin: n, sums (pushdown's bins), centred sums of squares and products of
    before/after (two-pass) and the counts of changes up, down and past ± the MCID."""
    import ibis

    pairs = _pairs(cohort, design, outcome, before, after)
    d = pairs.a - pairs.b
    pairs = pairs.mutate(
        d=d,
        mb=pairs.b.mean().over(group_by="arm"),
        ma=pairs.a.mean().over(group_by="arm"),
        cell_n=pairs.count().over(group_by="arm"),
    )
    q = (pairs.d / step).round().cast("int64")
    mcid = instrument.mcid_abs if instrument.mcid_abs is not None else math.inf
    pairs = pairs.filter(pairs.cell_n >= min_cell).mutate(
        q=q, r=pairs.d - q.cast("float64") * step, cb=pairs.b - pairs.mb, ca=pairs.a - pairs.ma
    )
    grouped = pairs.group_by(["arm", "q"]).aggregate(
        n=pairs.count(),
        sum_before=pairs.b.sum(),
        sum_after=pairs.a.sum(),
        sum_r=pairs.r.sum(),
        sum_rr=(pairs.r * pairs.r).sum(),
        max_r=pairs.r.abs().max(),
        s_bb=(pairs.cb * pairs.cb).sum(),
        s_aa=(pairs.ca * pairs.ca).sum(),
        s_ba=(pairs.cb * pairs.ca).sum(),
        n_up=(pairs.d > _ZERO).ifelse(1, 0).sum(),
        n_down=(pairs.d < -_ZERO).ifelse(1, 0).sum(),
        n_up_mcid=(pairs.d >= ibis.literal(mcid - _MCID_SLACK)).ifelse(1, 0).sum(),
        n_down_mcid=(pairs.d <= ibis.literal(-mcid + _MCID_SLACK)).ifelse(1, 0).sum(),
    )
    return grouped.order_by(["arm", "q"])


def exclusion_expression(
    cohort: EngineCohort,
    design: ArmDesign,
    outcome: str,
    before: str,
    after: str,
    min_cell: int,
) -> Any:
    """Per arm: patients, and those with ``outcome`` at ``before``, at ``after`` and at both
    (counted in the engine; arms with fewer than ``min_cell`` pairs dropped there)."""
    rows = _arm_rows(cohort, design)
    is_outcome = rows.outcome == outcome
    per_patient = rows.group_by(["patient_id", "arm"]).aggregate(
        hb=(is_outcome & (rows.visit == before)).ifelse(1, 0).max(),
        ha=(is_outcome & (rows.visit == after)).ifelse(1, 0).max(),
    )
    counts = per_patient.group_by("arm").aggregate(
        n=per_patient.count(),
        n_before=per_patient.hb.sum(),
        n_after=per_patient.ha.sum(),
        n_both=(per_patient.hb * per_patient.ha).sum(),
    )
    return counts.filter(counts.n_both >= min_cell)


def value_histograms_expression(
    cohort: EngineCohort,
    design: ArmDesign,
    outcome: str,
    before: str,
    after: str,
    min_cell: int,
) -> Any:
    """Per arm × visit (0: before, 1: after) × distinct value: the count, over the pairs (for
    exact medians and quartiles of an outcome recorded on a grid)."""
    import ibis

    pairs = _pairs(cohort, design, outcome, before, after)
    pairs = pairs.mutate(cell_n=pairs.count().over(group_by="arm"))
    pairs = pairs.filter(pairs.cell_n >= min_cell)
    stacked = pairs.select("arm", which=ibis.literal(0), v=pairs.b).union(
        pairs.select("arm", which=ibis.literal(1), v=pairs.a), distinct=False
    )
    return stacked.group_by(["arm", "which", "v"]).aggregate(n=stacked.count())


def _scales(
    cohort: EngineCohort, design: ArmDesign, outcome: str, instrument: Instrument
) -> dict[str, Scale]:
    """compare.outcome_scale per arm: the registry's, else from the arm's values (whole numbers
    with few levels: ordinal), counted in the engine."""
    if lookup(outcome).known:
        return {}
    rows = _arm_rows(cohort, design)
    rows = rows.filter(rows.outcome == outcome)
    found = (
        rows.group_by("arm")
        .aggregate(
            n_levels=rows.v.nunique(), n_fraction=(rows.v != rows.v.round()).ifelse(1, 0).sum()
        )
        .to_pandas()
    )
    return {
        str(row.arm): (
            "ordinal"
            if int(row.n_fraction) == 0 and int(row.n_levels) <= ORDINAL_MAX_LEVELS
            else "continuous"
        )
        for row in found.itertuples(index=False)
    }


def _excluded(row: pd.DataFrame, before: str, after: str) -> dict[str, int]:
    """compare_visits' exclusion reasons, as counts (largest first, as value_counts)."""
    if not len(row):
        return {}
    n, nb, na, both = (int(row[c].iloc[0]) for c in ("n", "n_before", "n_after", "n_both"))
    found = {
        f"no value at {after}": nb - both,
        f"no value at {before}": na - both,
        f"no value at {before} or {after}": n - nb - na + both,
    }
    return dict(sorted(((k, v) for k, v in found.items() if v), key=lambda kv: -kv[1]))


def _percentile(values: np.ndarray, counts: np.ndarray, p: float) -> float:
    """np.percentile(np.repeat(values, counts), p) (linear rule) from sorted values' counts."""
    n = int(counts.sum())
    h = (n - 1) * p / 100
    low = math.floor(h)
    cumulative = np.cumsum(counts)
    x0 = values[int(np.searchsorted(cumulative, low + 1))]
    x1 = values[int(np.searchsorted(cumulative, min(low + 2, n)))]
    return float(x0 + (h - low) * (x1 - x0))


def _paired_from_bins(
    cell: pd.DataFrame,
    histograms: pd.DataFrame,
    step: float,
    on_grid: bool,
    instrument: Instrument,
    scale: Scale,
) -> tuple[PairedResult, bool, dict[str, float]]:
    """paired_statistics of one arm from its bins, step by step as paired_statistics runs."""
    from scipy import stats as sps

    direction, mcid = instrument.direction, instrument.mcid_abs
    q = cell["q"].to_numpy(dtype=np.int64)
    counts = cell["n"].to_numpy(dtype=np.int64)
    n = int(counts.sum())
    total = {c: float(cell[c].sum()) for c in ("sum_before", "sum_after", "s_bb", "s_aa", "s_ba")}
    centres = q.astype(float) * step
    sum_r = cell["sum_r"].to_numpy(dtype=float)
    mean_d = float((counts * centres).sum() + sum_r.sum()) / n
    offset = centres - mean_d
    ss_d = float((cell["sum_rr"].to_numpy(dtype=float) + 2 * offset * sum_r
                  + counts * offset**2).sum())  # fmt: skip
    exact = on_grid and float(cell["max_r"].max()) < GRID_TOLERANCE
    result = PairedResult(n_pairs=n, direction=direction, mcid=mcid)
    result.mean_before, result.mean_after = total["sum_before"] / n, total["sum_after"] / n
    result.mean_change = mean_d
    moments = {"n": float(n), "mean_before": result.mean_before,
               "mean_after": result.mean_after, "mean_change": mean_d, "ss_change": ss_d,
               "s_bb": total["s_bb"], "s_aa": total["s_aa"], "s_ba": total["s_ba"]}  # fmt: skip
    values = np.round(q * step, CHANGE_DECIMALS)  # the doubles paired_statistics ranks
    change = np.repeat(values, counts) if exact and _reconstruct(q, counts) else None
    if exact:
        result.median_change = _percentile(values, counts, 50)
    for which, when in ((0, "before"), (1, "after")):
        part = histograms.loc[histograms["which"] == which].sort_values("v")
        if len(part):
            v, k = part["v"].to_numpy(dtype=float), part["n"].to_numpy(dtype=np.int64)
            setattr(result, f"median_{when}", _percentile(v, k, 50))
            setattr(result, f"q1_{when}", _percentile(v, k, 25))
            setattr(result, f"q3_{when}", _percentile(v, k, 75))
    _direction_counts(result, cell, n, direction, mcid)
    if n < 2:
        mark_too_few_for_sd(result)
    else:
        result.sd_before = math.sqrt(total["s_bb"] / (n - 1))
        result.sd_after = math.sqrt(total["s_aa"] / (n - 1))
        result.sd_change = math.sqrt(ss_d / (n - 1))
        if not no_variation_in_change(result, n):
            # scipy.stats.ttest_rel's statistic, p and interval from the moments
            se = result.sd_change / math.sqrt(n)
            t = mean_d / se
            half = float(sps.t.ppf(0.5 + CONF_LEVEL / 2, n - 1)) * se
            result.t_statistic, result.df = t, n - 1
            result.p_value_t = float(2 * sps.t.sf(abs(t), n - 1))
            result.change_ci_low, result.change_ci_high = mean_d - half, mean_d + half
            result.cohens_dz = mean_d / result.sd_change
        if n < 3 or result.sd_before == 0 or result.sd_after == 0:
            why = (
                "a correlation needs at least 3 pairs"
                if n < 3
                else "all values at one visit are identical"
            )
            result.mark_undefined(why, "pre_post_r")
        else:
            result.pre_post_r = total["s_ba"] / math.sqrt(total["s_bb"] * total["s_aa"])
    if change is not None:  # the multiset of changes: paired_statistics' own code
        wilcoxon_part(result, change)
        shapiro_part(result, change)
    elif exact:
        _wilcoxon_large(result, q, counts, step)
        shapiro_part(result, np.zeros(SHAPIRO_MAX + 1))  # n > SHAPIRO_MAX: R's limit
    else:
        n_zero = n - int(cell["n_up"].sum()) - int(cell["n_down"].sum())
        result.wilcoxon_n, result.wilcoxon_n_zero = n - n_zero, n_zero
        names = [k for k in NEED_ROWS if getattr(result, k) is None]
        result.mark_undefined(_OFF_GRID, *names)
    recommend_test(result, scale, np.empty(0), np.empty(0))
    if 0 < n < SMALL_N:
        result.warn(
            "small_n",
            f"Only {n} patient(s) have both values: estimates are imprecise and the tests have "
            "little power to detect a change.",
        )
    return result, exact, moments


def _reconstruct(q: np.ndarray, counts: np.ndarray) -> bool:
    """Whether paired_statistics' own rank code runs on the changes (as cohort_summary: up to
    SHAPIRO_MAX pairs, or fewer than EXACT_LIMIT non-zero changes)."""
    n = int(counts.sum())
    return n <= SHAPIRO_MAX or int(counts[q != 0].sum()) < rt.EXACT_LIMIT


def _direction_counts(
    result: PairedResult, cell: pd.DataFrame, n: int, direction, mcid: float | None
) -> None:
    """paired._counts from the engine's counts of changes up, down and past ± the MCID."""
    up, down = int(cell["n_up"].sum()), int(cell["n_down"].sum())
    result.n_increased, result.n_decreased, result.n_unchanged = up, down, n - up - down
    if direction is None:
        result.mark_undefined(
            "the direction of improvement is not known for this outcome",
            "n_improved", "n_worsened", "n_improved_mcid", "n_worsened_mcid",
            "pct_improved", "pct_worsened", "pct_improved_mcid",
        )  # fmt: skip
        return
    lower = direction == "lower"
    result.n_improved, result.n_worsened = (down, up) if lower else (up, down)
    result.pct_improved = 100 * result.n_improved / n
    result.pct_worsened = 100 * result.n_worsened / n
    if mcid is None:
        why = "no clinically important difference is established for this instrument"
        result.mark_undefined(why, "n_improved_mcid", "n_worsened_mcid", "pct_improved_mcid")
        return
    past_up, past_down = int(cell["n_up_mcid"].sum()), int(cell["n_down_mcid"].sum())
    result.n_improved_mcid, result.n_worsened_mcid = (
        (past_down, past_up) if lower else (past_up, past_down)
    )
    result.pct_improved_mcid = 100 * result.n_improved_mcid / n


def _wilcoxon_large(result: PairedResult, q: np.ndarray, counts: np.ndarray, step: float) -> None:
    """paired.wilcoxon_part from the histogram of more than SHAPIRO_MAX changes with at least
    EXACT_LIMIT non-zero ones (normal approximation; summary's grid path, R's numbers)."""
    zero = q == 0
    n_zero = int(counts[zero].sum())
    q, counts = q[~zero], counts[~zero]
    n_used = int(counts.sum())
    ranks = GridRanks(q, counts, step)
    v, n, tie_sum = ranks.exact_parts(0.0)
    result.wilcoxon_n, result.wilcoxon_n_zero = n_used, n_zero
    result.wilcoxon_v = v
    result.p_value_wilcoxon = rt.two_sided_normal_p(rt.signed_rank_z(v, n, tie_sum, True)[0])
    result.wilcoxon_method = rt.METHOD_NORMAL_CC
    result.wilcoxon_smallest_p = rt.smallest_attainable_p(n_used)
    values, undefined = hodges_lehmann_values(*grid_normal_ci(ranks, CONF_LEVEL), None, n_used)
    for name, value in values.items():
        setattr(result, name, value)
    for name, reason in undefined.items():
        result.mark_undefined(reason, name)
    if n_zero:
        result.warn("zero_changes", zero_changes_note(n_zero, n_used))
    if tie_sum > 0:
        result.warn(
            "ties",
            "Some changes are tied, so the Wilcoxon p-value uses the normal approximation with "
            "continuity correction (as R does); an exact p-value is not available with ties.",
        )


def ancova_from_moments(arm: dict[str, float], ref: dict[str, float]) -> dict[str, float] | None:
    """after ~ before + arm by pooled within-arm least squares from each arm's n, means and
    centred sums (Snedecor & Cochran 1989, ch. 18): adjusted difference, t interval and p."""
    from scipy import stats as sps

    n1, n0 = arm["n"], ref["n"]
    s_bb, s_ba = arm["s_bb"] + ref["s_bb"], arm["s_ba"] + ref["s_ba"]
    s_aa = arm["s_aa"] + ref["s_aa"]
    gap_b = arm["mean_before"] - ref["mean_before"]
    gap_a = arm["mean_after"] - ref["mean_after"]
    spread = max(abs(arm["mean_before"]), abs(ref["mean_before"]), 1.0)
    if s_bb + n1 * n0 / (n1 + n0) * gap_b**2 <= (1e-12 * spread) ** 2 * (n1 + n0):
        slope, df, extra = 0.0, n1 + n0 - 2, 0.0  # one baseline value: subgroups.ancova drops it
    elif s_bb <= 0:
        return None  # baseline constant within arms but not between: no within-arm slope
    else:
        slope, df, extra = s_ba / s_bb, n1 + n0 - 3, gap_b**2 / s_bb
    if df < 1:
        return None
    estimate = gap_a - slope * gap_b
    residual = max(s_aa - slope * s_ba, 0.0) / df
    se = math.sqrt(residual * (1 / n1 + 1 / n0 + extra))
    half = float(sps.t.ppf(0.5 + CONF_LEVEL / 2, df)) * se
    p = float(2 * sps.t.sf(abs(estimate / se), df)) if se > 0 else math.nan
    return {
        "adjusted_difference": estimate,
        "adjusted_ci_low": estimate - half,
        "adjusted_ci_high": estimate + half,
        "adjusted_p_value": p,
    }


def _between(
    design: ArmDesign, per_arm: dict[str, EngineComparison], moments: dict[str, dict[str, float]]
) -> pd.DataFrame:
    """ArmComparison.between: Welch from each arm's summaries, ANCOVA from its moments."""
    reference = design.comparator
    if reference not in per_arm:
        return pd.DataFrame()
    ref = per_arm[reference].stats
    rows = []
    for level in design.treated:
        if level not in per_arm:
            continue
        s = per_arm[level].stats
        row: dict[str, object] = {
            "arm": level, "comparator": reference, "n_arm": s.n_pairs, "n_comparator": ref.n_pairs,
        }  # fmt: skip
        row.update(
            welch_from_summaries(
                s.mean_change or math.nan, _se(s), s.n_pairs,
                ref.mean_change or math.nan, _se(ref), ref.n_pairs,
            )
        )  # fmt: skip
        if s.n_pairs >= 2 and ref.n_pairs >= 2:
            adjusted = ancova_from_moments(moments[level], moments[reference])
            if adjusted is not None:
                row.update(adjusted)
        rows.append(row)
    return pd.DataFrame(rows)


def _se(s: PairedResult) -> float:
    """The SE of a mean change (NaN below 2 pairs)."""
    if s.sd_change is None or s.n_pairs < 2:
        return math.nan
    return s.sd_change / math.sqrt(s.n_pairs)


# ---- the CLI: python -m analysis compare <database URL> ... --------------------------------
