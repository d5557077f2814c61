"""Subgroup comparisons computed inside the database: only per-group aggregates leave (#19).

analysis.stats.subgroups.compare_subgroups for an EngineCohort. One query pairs each patient's
value at ``visit`` with the baseline value inside the engine and returns, per level of ``by``:
the count, the sums of before, after and change, their centred sums of squares and products
(two passes: the level's means by a window, then sums of products of deviations, so nothing
cancels), the least and greatest baseline value and the number of distinct changes. A second
query returns, for the levels shown, the count of each distinct change (after - before as the
engine's doubles; rounded to 12 decimals here, as subgroups.change_table rounds). Those counts
are the multiset of changes, so from them:
- each group's mean change, SD, t interval and median are those of compare_subgroups;
- two groups: Welch's t-test from the means, variances and sizes (scipy's ttest_ind with
  equal_var=False), and the Mann-Whitney U test as R's wilcox.test: exact (rank_tests.
  mann_whitney on the values rebuilt from the counts) when both groups have fewer than 50
  patients and no change is tied, else mid-ranks from the pooled counts with the tie-corrected
  normal approximation and continuity correction;
- three or more: one-way ANOVA from the moments and Kruskal-Wallis (scipy's H with its tie
  correction) from the pooled counts;
- ANCOVA of after ~ before + group against the reference from each group's n, means and centred
  sums (pooled within-group slope; Snedecor & Cochran 1989, ch. 18), the least-squares estimate
  subgroups.ancova fits by OLS.
Groups with fewer than ``min_group`` patients are suppressed inside the engine: only their size
leaves it (their mean, SD, interval and median are NaN here; memory computes them and the CLI
hides them). A group with more than MAX_DISTINCT distinct changes keeps its changes in the
engine: its median and the rank tests that need it are left out (NaN, listed in
``ranks_left_out``) rather than reading rows. Every patient's mean change at the visit (the
forest plot's reference line; trajectory.change_summary) comes from one count and sum.
Continuous attributes (Spearman's rho, subgroups.continuous_association) are in
analysis.stats.pushdown_association.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.ingest.engine import EngineCohort
from analysis.stats import rank_tests as rt
from analysis.stats.cohort import MISSING, SMALL_GROUP_DEFAULT
from analysis.stats.paired import CHANGE_DECIMALS
from analysis.stats.subgroups import SubgroupComparison, forest_from_comparisons, tested_groups

MAX_DISTINCT = 200_000  # distinct changes per group brought out of the engine
CONF = 0.95
_MOMENTS = ("sum_b", "sum_a", "sum_d", "s_bb", "s_aa", "s_ba", "s_dd", "min_b", "max_b")
_LEFT_OUT = f"not computed: a group has more than {MAX_DISTINCT:,} distinct changes"


@dataclass
class PushdownSubgroups(SubgroupComparison):
    """compare_subgroups computed in the engine, with what stayed there."""

    engine: str = ""
    min_group: int = SMALL_GROUP_DEFAULT
    ranks_left_out: list[str] = field(default_factory=list)  # groups past MAX_DISTINCT


@dataclass
class _Group:
    """One level's aggregates (moments, and its change counts when they left the engine)."""

    name: str
    n: int
    moments: dict[str, float]
    values: np.ndarray | None = None  # sorted distinct changes (rounded to 12 decimals)
    counts: np.ndarray | None = None

    @property
    def mean(self) -> float:
        """Mean change: from the exact multiset when known, else the engine's sum."""
        if self.values is not None and self.counts is not None:
            return math.fsum((self.values * self.counts).tolist()) / self.n
        return self.moments["sum_d"] / self.n

    @property
    def ss(self) -> float:
        """Centred sum of squares of change."""
        if self.values is not None and self.counts is not None:
            return math.fsum((self.counts * (self.values - self.mean) ** 2).tolist())
        return self.moments["s_dd"]

    @property
    def var(self) -> float:
        """Sample variance of change (ddof 1)."""
        return self.ss / (self.n - 1) if self.n > 1 else math.nan

    def median(self) -> float:
        """Median change from the counts (pandas' median: mean of the two middle values)."""
        if self.values is None or self.counts is None:
            return math.nan
        cumulative = np.cumsum(self.counts)
        middle = [(self.n - 1) // 2, self.n // 2]
        picked = self.values[np.searchsorted(cumulative, middle, side="right")]
        return float(np.median(picked))


def check_outcome_visit(cohort: EngineCohort, outcome: str, visit: str) -> None:
    """ValueError when ``outcome`` or the follow-up ``visit`` is not in the data."""
    if outcome not in cohort.outcomes:
        raise ValueError(
            f"Outcome {outcome!r} is not in the data; outcomes: {', '.join(cohort.outcomes)}"
        )
    if visit not in cohort.follow_up_visits:
        raise ValueError(
            f"Visit {visit!r} is not a follow-up visit; visits: "
            + ", ".join(cohort.follow_up_visits)
        )


def check_request(cohort: EngineCohort, outcome: str, visit: str, by: str) -> None:
    """ValueError naming what is not in the data (as analysis.cli._check)."""
    check_outcome_visit(cohort, outcome, visit)
    if by not in categorical_attributes(cohort):
        raise ValueError(
            f"{by!r} is not a categorical attribute; choose one of: "
            + ", ".join(categorical_attributes(cohort))
        )


def categorical_attributes(cohort: EngineCohort) -> list[str]:
    """Attributes with a text column, constant within patients and with two or more levels
    (attribute_kinds' categorical ones; numeric columns are numeric there)."""
    table = cohort.source.table()
    return [
        name
        for name, levels in cohort.attribute_levels.items()
        if len(levels) >= 2
        and not (table[name].type().is_numeric() and not table[name].type().is_boolean())
    ]


def _pairs(cohort: EngineCohort, outcome: str, visit: str, by: str) -> Any:
    """g, b, a, d per patient with ``outcome`` at the baseline and ``visit`` (in the engine)."""
    rows = cohort.clean()
    rows = rows.filter(rows.outcome == outcome)
    base = rows.filter(rows.visit == cohort.baseline).select("patient_id", b=rows.v)
    follow = rows.filter(rows.visit == visit).select("patient_id", a=rows.v, g=rows[by])
    pairs = follow.join(base, "patient_id")
    return pairs.select(g=pairs.g.nullif("").fill_null(MISSING), b=pairs.b, a=pairs.a,
                        d=pairs.a - pairs.b)  # fmt: skip


def group_moments_expression(
    cohort: EngineCohort, outcome: str, visit: str, by: str, min_group: int
) -> Any:
    """Per level: n, sums, centred sums (two-pass), baseline range, distinct changes; every
    measure but n nulled in the engine for levels with fewer than ``min_group`` patients."""
    import ibis

    pairs = _pairs(cohort, outcome, visit, by)
    pairs = pairs.mutate(
        mb=pairs.b.mean().over(group_by="g"),
        ma=pairs.a.mean().over(group_by="g"),
        md=pairs.d.mean().over(group_by="g"),
    )
    pairs = pairs.mutate(cb=pairs.b - pairs.mb, ca=pairs.a - pairs.ma, cd=pairs.d - pairs.md)
    grouped = pairs.group_by("g").aggregate(
        n=pairs.count(),
        sum_b=pairs.b.sum(),
        sum_a=pairs.a.sum(),
        sum_d=pairs.d.sum(),
        s_bb=(pairs.cb * pairs.cb).sum(),
        s_aa=(pairs.ca * pairs.ca).sum(),
        s_ba=(pairs.cb * pairs.ca).sum(),
        s_dd=(pairs.cd * pairs.cd).sum(),
        min_b=pairs.b.min(),
        max_b=pairs.b.max(),
        n_distinct=pairs.d.nunique(),
    )
    big = grouped.n >= min_group
    return grouped.mutate(
        **{k: big.ifelse(grouped[k], ibis.null("float64")) for k in _MOMENTS},
        n_distinct=big.ifelse(grouped.n_distinct, ibis.null("int64")),
    )


def change_counts_expression(
    cohort: EngineCohort, outcome: str, visit: str, by: str, groups: list[str]
) -> Any:
    """Per level in ``groups`` × distinct change (after - before): the count."""
    pairs = _pairs(cohort, outcome, visit, by)
    pairs = pairs.filter(pairs.g.isin(groups))
    return pairs.group_by(["g", "d"]).aggregate(k=pairs.count())


def _rounded_counts(d: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The engine's distinct changes rounded as paired.rounded_change, equal ones merged."""
    values, inverse = np.unique(np.round(d.astype(float), CHANGE_DECIMALS), return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=k.astype(np.int64), minlength=len(values))
    return values, counts.astype(np.int64)


def _group_frame(groups: list[_Group], min_group: int) -> pd.DataFrame:
    """compare_subgroups' per-group rows (suppressed groups: their size only)."""
    from scipy import stats

    rows = []
    for g in groups:
        small = g.n < min_group
        mean = sd = low = high = median = math.nan
        if not small:
            mean = g.mean
            sd = math.sqrt(g.var) if g.n > 1 else math.nan
            if g.n > 1 and sd > 0:
                low, high = stats.t.interval(CONF, g.n - 1, mean, sd / np.sqrt(g.n))
            median = g.median()
        rows.append(dict(group=g.name, n=g.n, mean_change=mean, sd=sd, ci_low=float(low),
                         ci_high=float(high), median_change=median, small=small))  # fmt: skip
    return pd.DataFrame(rows)


def pushdown_subgroups(
    cohort: EngineCohort,
    outcome: str,
    visit: str,
    by: str,
    min_group: int = SMALL_GROUP_DEFAULT,
    reference: str | None = None,
) -> PushdownSubgroups:
    """compare_subgroups (groups, Welch/Mann-Whitney or ANOVA/Kruskal-Wallis, ANCOVA against
    ``reference``) from aggregates computed in the engine; ValueError for unknown names."""
    check_request(cohort, outcome, visit, by)
    found = group_moments_expression(cohort, outcome, visit, by, min_group).to_pandas()
    found["g"] = found["g"].astype(str)
    found = found.sort_values("g", ignore_index=True)
    groups = [
        _Group(str(r["g"]), int(r["n"]),
               {k: float(r[k]) for k in _MOMENTS} if int(r["n"]) >= min_group else {})
        for r in found.to_dict("records")
    ]  # fmt: skip
    distinct = dict(zip(found["g"], found["n_distinct"], strict=True))
    wanted = [g.name for g in groups if g.n >= min_group and int(distinct[g.name]) <= MAX_DISTINCT]
    left_out = [g.name for g in groups if g.n >= min_group and g.name not in wanted]
    if wanted:
        counts = change_counts_expression(cohort, outcome, visit, by, wanted).to_pandas()
        counts["g"] = counts["g"].astype(str)
        by_group = dict(iter(counts.groupby("g", sort=False, observed=True)))
        for g in groups:
            if g.name in by_group:
                part = by_group[g.name]
                g.values, g.counts = _rounded_counts(part["d"].to_numpy(), part["k"].to_numpy())
    result = PushdownSubgroups(
        outcome, visit, by, _group_frame(groups, min_group) if groups else pd.DataFrame(),
        engine=cohort.source.kind, min_group=min_group, ranks_left_out=left_out,
    )  # fmt: skip
    if not groups:
        result.reason = "no patient has values at both the baseline and this visit"
        return result
    result.suppressed, usable, result.reason = tested_groups(
        ((g.name, g.n < min_group) for g in groups), reference, min_group
    )
    if result.reason:
        return result
    named = {g.name: g for g in groups}
    samples = [named[name] for name in usable]
    if len(usable) == 2:
        result.tests["welch"] = _welch(samples[1], samples[0])
        result.tests["mann_whitney"] = _mann_whitney(samples[1], samples[0])
    else:
        result.tests["anova"] = _anova(samples)
        result.tests["kruskal"] = _kruskal(samples)
    result.reference = usable[0]
    result.ancova = _ancova(samples, usable[0])
    return result


def _welch(x: _Group, y: _Group) -> dict:
    """Welch's t-test of x minus y (scipy.stats.ttest_ind(equal_var=False)) from moments."""
    from scipy import stats

    vx, vy = x.var / x.n, y.var / y.n
    with np.errstate(divide="ignore", invalid="ignore"):
        se = math.sqrt(vx + vy) if vx + vy >= 0 else math.nan
        df = float(np.float64(vx + vy) ** 2 / (vx**2 / (x.n - 1) + vy**2 / (y.n - 1)))
        difference = x.mean - y.mean
        t = float(np.float64(difference) / np.float64(se))
        p = float(2 * stats.t.sf(abs(t), df))
        half = float(stats.t.ppf(0.5 + CONF / 2, df)) * se
    return dict(
        name="Welch's t-test", statistic=t, df=df, p_value=p, difference=difference,
        ci_low=difference - half, ci_high=difference + half,
        comparison=f"{x.name} minus {y.name}",
    )  # fmt: skip


def _pooled(parts: list[_Group]) -> tuple[np.ndarray, np.ndarray]:
    """Per group × distinct pooled change: the counts, and the pooled mid-ranks."""
    known = [(p.values, p.counts) for p in parts if p.values is not None and p.counts is not None]
    assert len(known) == len(parts)
    values = np.unique(np.concatenate([v for v, _ in known]))
    table = np.zeros((len(parts), len(values)), dtype=np.int64)
    for i, (v, k) in enumerate(known):
        table[i, np.searchsorted(values, v)] = k
    t = table.sum(axis=0)
    return table, np.cumsum(t) - (t - 1) / 2


def tie_correction_sum(table: np.ndarray) -> float:
    """Sum of t^3 - t over the pooled tie groups (R's sum(NTIES^3 - NTIES))."""
    t = table.sum(axis=0)
    t = t[t > 1].astype(float)
    return float((t**3 - t).sum())


def _mann_whitney(x: _Group, y: _Group) -> dict:
    """R's wilcox.test(x, y) W and p from the pooled change counts (rank_tests.mann_whitney)."""
    entry = dict(name="Mann-Whitney U test", comparison=f"{x.name} against {y.name}")
    if x.values is None or y.values is None:
        return entry | dict(statistic=math.nan, p_value=math.nan, method=_LEFT_OUT, ties=None,
                            n_x=x.n, n_y=y.n)  # fmt: skip
    table, midranks = _pooled([x, y])
    tie_sum = tie_correction_sum(table)
    if x.n < rt.EXACT_LIMIT and y.n < rt.EXACT_LIMIT and tie_sum == 0:
        # No ties: the counts are all 1 and the values are the changes themselves.
        assert x.counts is not None and y.counts is not None
        mw = rt.mann_whitney(
            np.repeat(x.values, x.counts), np.repeat(y.values, y.counts), conf_int=False
        )
        return entry | dict(statistic=float(mw.w), p_value=float(mw.p_value), method=mw.method,
                            ties=mw.has_ties, n_x=mw.n_x, n_y=mw.n_y)  # fmt: skip
    rank_sum = float((table[0] * midranks).sum())  # multiples of 1/2 below 2^53: exact
    z, _ = rt.rank_sum_z(rank_sum, x.n, y.n, tie_sum, True)
    return entry | dict(
        statistic=rank_sum - x.n * (x.n + 1) / 2, p_value=float(rt.two_sided_normal_p(z)),
        method=rt.METHOD_NORMAL_CC, ties=tie_sum > 0, n_x=x.n, n_y=y.n,
    )  # fmt: skip


def _anova(parts: list[_Group]) -> dict:
    """One-way ANOVA (scipy.stats.f_oneway) from each group's n, mean and sum of squares."""
    from scipy import stats

    n = sum(p.n for p in parts)
    grand = math.fsum(p.mean * p.n for p in parts) / n
    ssb = math.fsum(p.n * (p.mean - grand) ** 2 for p in parts)
    ssw = math.fsum(p.ss for p in parts)
    dfb, dfw = len(parts) - 1, n - len(parts)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = float(np.float64(ssb / dfb) / np.float64(ssw / dfw if dfw > 0 else math.nan))
    p_value = float(stats.f.sf(f, dfb, dfw)) if dfw > 0 else math.nan
    return dict(name="one-way ANOVA", statistic=f, df=(dfb, dfw), p_value=p_value)


def _kruskal(parts: list[_Group]) -> dict:
    """Kruskal-Wallis H with scipy.stats.kruskal's tie correction, from the pooled counts."""
    from scipy import stats

    entry = dict(name="Kruskal-Wallis test", df=len(parts) - 1)
    if any(p.values is None for p in parts):
        return entry | dict(statistic=math.nan, p_value=math.nan, method=_LEFT_OUT)
    table, midranks = _pooled(parts)
    total = float(sum(p.n for p in parts))
    ties = 1 - tie_correction_sum(table) / (total**3 - total)
    ssbn = sum(float(table[i] @ midranks) ** 2 / parts[i].n for i in range(len(parts)))
    with np.errstate(divide="ignore", invalid="ignore"):
        h = float(np.float64(12.0 / (total * (total + 1)) * ssbn - 3 * (total + 1)) / ties)
    return entry | dict(statistic=h, p_value=float(stats.chi2.sf(h, len(parts) - 1)))


def _ancova(parts: list[_Group], reference: str) -> pd.DataFrame:
    """subgroups.ancova (value ~ base + group, treatment coding) from moments: pooled
    within-group slope; a baseline with one value is dropped from the model as there."""
    from scipy import stats

    named = {p.name: p for p in parts}
    ref = named[reference]
    n = sum(p.n for p in parts)
    mean_b = {p.name: p.moments["sum_b"] / p.n for p in parts}
    mean_a = {p.name: p.moments["sum_a"] / p.n for p in parts}
    constant = all(p.moments["min_b"] == p.moments["max_b"] for p in parts)
    # A group whose baseline is one value has no spread (the engine's centred sums are noise).
    s_bb = math.fsum(p.moments["s_bb"] for p in parts if p.moments["min_b"] != p.moments["max_b"])
    s_ba = math.fsum(p.moments["s_ba"] for p in parts if p.moments["min_b"] != p.moments["max_b"])
    s_aa = math.fsum(p.moments["s_aa"] for p in parts)
    if constant and len({p.moments["min_b"] for p in parts}) == 1:
        slope, df = 0.0, n - len(parts)
    elif constant:
        return pd.DataFrame()  # baseline constant within groups but not between: singular
    else:
        slope, df = s_ba / s_bb, n - len(parts) - 1
    if df < 1:
        return pd.DataFrame()
    residual = max(s_aa - slope * s_ba, 0.0) / df
    quantile = float(stats.t.ppf(0.5 + CONF / 2, df))
    rows = []
    for name in sorted(named):
        if name == reference:
            continue
        gap_b = mean_b[name] - mean_b[reference]
        estimate = (mean_a[name] - mean_a[reference]) - slope * gap_b
        extra = 0.0 if constant else gap_b**2 / s_bb
        se = math.sqrt(residual * (1 / named[name].n + 1 / ref.n + extra))
        p = float(2 * stats.t.sf(abs(estimate / se), df)) if se > 0 else math.nan
        rows.append({"group": name, "reference": reference, "adjusted_difference": estimate,
                     "ci_low": estimate - quantile * se, "ci_high": estimate + quantile * se,
                     "p_value": p})  # fmt: skip
    return pd.DataFrame(rows)


def pushdown_forest_table(
    cohort: EngineCohort, outcome: str, visit: str, min_group: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """subgroups.forest_table from the engine: every categorical attribute's levels with one
    p per attribute (Welch for two groups, ANOVA for more), Holm and BH adjusted."""
    return forest_from_comparisons(
        (attribute, pushdown_subgroups(cohort, outcome, visit, attribute, min_group))
        for attribute in categorical_attributes(cohort)
    )


@dataclass(frozen=True)
class OverallChange:
    """Every patient's mean change at one visit (the forest plot's reference line)."""

    n: int  # patients with the baseline and the visit
    mean_change: float | None  # None: fewer than min_group patients (suppressed in the engine)


def mean_change_expression(cohort: EngineCohort, outcome: str, visit: str, min_group: int) -> Any:
    """One row: n and the sum of after - before over patients with both (the sum nulled in
    the engine below ``min_group`` patients)."""
    import ibis

    rows = cohort.clean()
    rows = rows.filter(rows.outcome == outcome)
    base = rows.filter(rows.visit == cohort.baseline).select("patient_id", b=rows.v)
    follow = rows.filter(rows.visit == visit).select("patient_id", a=rows.v)
    pairs = follow.join(base, "patient_id")
    found = pairs.aggregate(n=pairs.count(), sum_d=(pairs.a - pairs.b).sum())
    return found.mutate(sum_d=(found.n >= min_group).ifelse(found.sum_d, ibis.null("float64")))


def pushdown_mean_change(
    cohort: EngineCohort, outcome: str, visit: str, min_group: int = SMALL_GROUP_DEFAULT
) -> OverallChange:
    """trajectory.change_summary's mean_change at ``visit`` (mean of the unrounded after -
    before, as ADaM's CHG) from the engine's count and sum; ValueError for unknown names."""
    check_outcome_visit(cohort, outcome, visit)
    found = mean_change_expression(cohort, outcome, visit, min_group).to_pyarrow().to_pylist()[0]
    n = int(found["n"] or 0)
    if n < max(min_group, 1) or found["sum_d"] is None:
        return OverallChange(n, None)
    return OverallChange(n, float(found["sum_d"]) / n)


# ---- the CLI: python -m analysis subgroups <database URL> ... ------------------------------


__all__ = [
    "MAX_DISTINCT",
    "OverallChange",
    "PushdownSubgroups",
    "categorical_attributes",
    "check_outcome_visit",
    "pushdown_forest_table",
    "pushdown_mean_change",
    "pushdown_subgroups",
]
