"""Subgroup and between-arm comparisons of change from baseline at one visit.

- Two groups: Welch's t-test on change with the difference in mean change and its 95% CI
  (scipy.stats.ttest_ind(equal_var=False), as R's t.test default) and the Wilcoxon rank-sum
  (Mann-Whitney) test exactly as R's wilcox.test(x, y) (analysis.stats.rank_tests): exact when
  both groups have fewer than 50 patients and no change is tied, otherwise the normal
  approximation with tie and continuity corrections; the method that ran is reported.
- Three or more: one-way ANOVA and Kruskal-Wallis (scipy.stats.f_oneway, kruskal; as R's
  anova(lm()) and kruskal.test), with each group's mean change and 95% CI.
- ANCOVA: follow-up value ~ baseline value + group (statsmodels OLS), the adjusted difference of
  each group from the reference group with its 95% CI. Preferred to comparing raw changes
  because it compares patients at the same baseline, so baseline imbalance and regression to the
  mean do not bias it, and it is more precise (Vickers & Altman 2001, BMJ 323:1123).
- Many subgroups: Holm and Benjamini-Hochberg adjusted p-values (statsmodels multipletests).
- Continuous attributes: Spearman's rho with R's p-value (cor.test(method = "spearman"): exact
  for n <= 9, AS 89 up to 1290 patients without ties, else the t approximation; the method
  that ran is reported) and a least-squares line.
Changes are after - before rounded to 12 decimals, as for the paired statistics, so that float
noise of decimal inputs does not break ties between equal changes.
Groups smaller than the small-group threshold are flagged and their statistics suppressed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.stats.cohort import MISSING, SMALL_GROUP_DEFAULT, attribute_kinds
from analysis.stats.paired import rounded_change
from analysis.stats.rank_tests import mann_whitney, spearman

# statsmodels is imported inside the functions that use it: loading it costs about a second,
# which the dashboard's and the CLI's start-up should not pay.

ARM_NAMES = re.compile(r"^(arm|study_?arm|treatment_?arm|treatment_?group|trial_?arm)$", re.I)
SUBGROUP_WARNING = (
    "Subgroup findings are exploratory: with many comparisons some will look different by chance, "
    "and groups were not randomised, so they differ in more than the attribute shown."
)


def arm_attribute(dataset: Dataset) -> str | None:
    """The attribute that names a comparator arm (arm, treatment_arm, ...), if any."""
    for column in dataset.attributes.columns:
        if ARM_NAMES.match(str(column)) and dataset.attributes[column].nunique() >= 2:
            return str(column)
    return None


def change_table(dataset: Dataset, outcome: str, visit: str, by: str) -> pd.DataFrame:
    """patient_id, group, base, value, chg for patients with baseline and visit values."""
    wide = dataset.wide(outcome).reindex(columns=[dataset.baseline, visit])
    both = wide.dropna()
    groups = dataset.attributes[by].reindex(both.index).astype(object)
    return pd.DataFrame(
        {
            "patient_id": both.index.astype(str),
            "group": groups.where(groups.notna(), MISSING).astype(str).to_numpy(),
            "base": both[dataset.baseline].to_numpy(),
            "value": both[visit].to_numpy(),
            "chg": rounded_change(both[dataset.baseline].to_numpy(), both[visit].to_numpy()),
        }
    )


def _group_rows(table: pd.DataFrame, min_group: int) -> pd.DataFrame:
    from scipy import stats  # here, not at import: the dashboard's start-up never needs it

    rows = []
    for group, part in table.groupby("group", sort=True, observed=True):
        n = len(part)
        mean = float(part["chg"].mean())
        sd = float(part["chg"].std()) if n > 1 else float("nan")
        low = high = float("nan")
        if n > 1 and sd > 0:
            low, high = stats.t.interval(0.95, n - 1, mean, sd / np.sqrt(n))
        median = float(part["chg"].median())
        rows.append(dict(group=group, n=n, mean_change=mean, sd=sd, ci_low=low, ci_high=high,
                         median_change=median, small=n < min_group))  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class SubgroupComparison:
    """Change compared between the levels of an attribute: groups, tests, ANCOVA."""

    outcome: str
    visit: str
    by: str
    groups: pd.DataFrame  # group, n, mean_change, sd, ci, median_change, small
    tests: dict[str, dict] = field(default_factory=dict)
    ancova: pd.DataFrame = field(default_factory=pd.DataFrame)  # group vs reference
    reference: str = ""
    suppressed: list[str] = field(default_factory=list)
    reason: str = ""


def tested_groups(
    groups: Iterable[tuple[str, bool]], reference: str | None, min_group: int
) -> tuple[list[str], list[str], str]:
    """From (group, too small) pairs: the suppressed groups, the groups tested (the reference
    first), and why nothing is tested when fewer than two remain ("" otherwise)."""
    pairs = list(groups)
    suppressed = [name for name, small in pairs if small]
    usable = [name for name, small in pairs if not small]
    if reference in usable:
        usable.remove(reference)
        usable.insert(0, reference)
    if len(usable) < 2:
        why = f"fewer than two groups have at least {min_group} patients, so groups are not tested"
        return suppressed, usable, why
    return suppressed, usable, ""


def compare_subgroups(
    dataset: Dataset,
    outcome: str,
    visit: str,
    by: str,
    min_group: int = SMALL_GROUP_DEFAULT,
    reference: str | None = None,
) -> SubgroupComparison:
    """Change from baseline at ``visit`` compared between the levels of ``by``; differences are
    each group minus ``reference`` (default: the first level in sorted order)."""
    from scipy import stats

    table = change_table(dataset, outcome, visit, by)
    groups = _group_rows(table, min_group) if len(table) else pd.DataFrame()
    result = SubgroupComparison(outcome, visit, by, groups)
    if groups.empty:
        result.reason = "no patient has values at both the baseline and this visit"
        return result
    result.suppressed, usable, result.reason = tested_groups(
        zip(groups["group"], groups["small"], strict=True), reference, min_group
    )
    if result.reason:
        return result
    table = table.loc[table["group"].isin(usable)]
    samples = [table.loc[table["group"] == g, "chg"].to_numpy() for g in usable]
    if len(usable) == 2:
        welch = stats.ttest_ind(samples[1], samples[0], equal_var=False)
        ci = welch.confidence_interval()
        result.tests["welch"] = dict(
            name="Welch's t-test", statistic=float(welch.statistic), df=float(welch.df),
            p_value=float(welch.pvalue), difference=float(samples[1].mean() - samples[0].mean()),
            ci_low=float(ci.low), ci_high=float(ci.high),
            comparison=f"{usable[1]} minus {usable[0]}",
        )  # fmt: skip
        # R: wilcox.test(x, y) with x the second group, y the first (the reference); W is the
        # Mann-Whitney U of x.
        mw = mann_whitney(samples[1], samples[0], conf_int=False)
        result.tests["mann_whitney"] = dict(
            name="Mann-Whitney U test", statistic=float(mw.w), p_value=float(mw.p_value),
            method=mw.method, ties=mw.has_ties, n_x=mw.n_x, n_y=mw.n_y,
            comparison=f"{usable[1]} against {usable[0]}",
        )  # fmt: skip
    else:
        anova = stats.f_oneway(*samples)
        result.tests["anova"] = dict(
            name="one-way ANOVA", statistic=float(anova.statistic), df=(len(usable) - 1,
            len(table) - len(usable)), p_value=float(anova.pvalue),
        )  # fmt: skip
        kw = stats.kruskal(*samples)
        result.tests["kruskal"] = dict(
            name="Kruskal-Wallis test", statistic=float(kw.statistic), df=len(usable) - 1,
            p_value=float(kw.pvalue),
        )  # fmt: skip
    result.reference = usable[0]
    result.ancova = ancova(table, usable[0])
    return result


def ancova(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """OLS of value ~ base + group (treatment coding, ``reference`` as the intercept group);
    adjusted difference of each group from ``reference``. The design matrix is built directly
    (patsy's formula parsing loops over rows in Python, slow for a registry)."""
    others = [g for g in sorted(table["group"].unique()) if g != reference]
    group = table["group"].to_numpy()
    columns = [np.ones(len(table))]
    # A baseline that is the same for everyone carries no information (and would make the
    # design singular): the model then compares follow-up values directly.
    if table["base"].nunique() > 1:
        columns.append(table["base"].to_numpy(dtype=float))
    first_group = len(columns)
    columns += [(group == g).astype(float) for g in others]
    import statsmodels.api as sm

    fit = sm.OLS(table["value"].to_numpy(dtype=float), np.column_stack(columns)).fit()
    conf = fit.conf_int()
    rows = []
    for i, name in enumerate(others, start=first_group):
        rows.append(
            {
                "group": name,
                "reference": reference,
                "adjusted_difference": float(fit.params[i]),
                "ci_low": float(conf[i, 0]),
                "ci_high": float(conf[i, 1]),
                "p_value": float(fit.pvalues[i]),
            }
        )
    return pd.DataFrame(rows)


def forest_table(
    dataset: Dataset, outcome: str, visit: str, min_group: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Mean change with 95% CI for every level of every categorical attribute, one p per
    attribute (Welch for two groups, ANOVA for more) with Holm and BH adjustments."""
    return forest_from_comparisons(
        (attribute, compare_subgroups(dataset, outcome, visit, attribute, min_group))
        for attribute, kind in attribute_kinds(dataset).items()
        if kind == "categorical"
    )


def overall_mean_change(dataset: Dataset, outcome: str, visit: str) -> float:
    """Every patient's mean change from baseline at ``visit``: the forest plot's reference
    line (trajectory.change_summary's value; pushdown_mean_change computes it in a database)."""
    from analysis.stats.trajectory import change_summary

    summary = change_summary(dataset, outcome).set_index("visit")
    return float(summary.loc[visit, "mean_change"]) if visit in summary.index else float("nan")


def forest_from_comparisons(
    comparisons: Iterable[tuple[str, SubgroupComparison]],
) -> pd.DataFrame:
    """The forest table from each attribute's subgroup comparison (in memory or computed in a
    database): its levels, one p per attribute, Holm and BH adjusted (Holm 1979;
    Benjamini & Hochberg 1995)."""
    rows = []
    p_rows = []
    for attribute, comparison in comparisons:
        if comparison.groups.empty:
            continue
        test = comparison.tests.get("welch") or comparison.tests.get("anova")
        p = test["p_value"] if test else float("nan")
        for row in comparison.groups.itertuples():
            rows.append(dict(attribute=attribute, level=row.group, n=row.n,
                             mean_change=row.mean_change, ci_low=row.ci_low,
                             ci_high=row.ci_high, small=row.small))  # fmt: skip
        p_rows.append(dict(attribute=attribute, p_value=p, test=test["name"] if test else ""))
    table = pd.DataFrame(rows)
    p_table = pd.DataFrame(p_rows)
    if p_table.empty:
        return table
    tested = p_table["p_value"].notna()
    p_table["p_holm"] = np.nan
    p_table["p_bh"] = np.nan
    if tested.any():
        holm, bh = adjust_p_values(list(p_table.loc[tested, "p_value"]))
        p_table.loc[tested, "p_holm"] = holm
        p_table.loc[tested, "p_bh"] = bh
    return table.merge(p_table, on="attribute", how="left")


def adjust_p_values(p_values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Holm and Benjamini-Hochberg adjusted p-values (as R's p.adjust)."""
    from statsmodels.stats.multitest import multipletests  # loaded when needed (cold start)

    return (
        multipletests(p_values, method="holm")[1],
        multipletests(p_values, method="fdr_bh")[1],
    )


@dataclass
class Association:
    """Change against a numeric attribute: Spearman's rho, its p and method, the line."""

    attribute: str
    n: int
    rho: float | None
    p_value: float | None
    slope: float | None
    intercept: float | None
    points: pd.DataFrame  # patient_id, attribute value, chg
    method: str | None = None  # how the p-value was computed (rank_tests.METHOD_SPEARMAN_*)


def continuous_association(
    dataset: Dataset, outcome: str, visit: str, attribute: str
) -> Association:
    """Spearman's rho between a numeric attribute and change, with a least-squares line."""
    from scipy import stats

    wide = dataset.wide(outcome).reindex(columns=[dataset.baseline, visit]).dropna()
    values = dataset.attributes[attribute].reindex(wide.index)
    points = pd.DataFrame(
        {"patient_id": wide.index.astype(str), "x": values.to_numpy(),
         "chg": rounded_change(wide[dataset.baseline].to_numpy(), wide[visit].to_numpy())}
    ).dropna()  # fmt: skip
    result = Association(attribute, len(points), None, None, None, None, points)
    if len(points) >= 3 and points["x"].nunique() > 1 and points["chg"].nunique() > 1:
        rho = spearman(points["x"].to_numpy(dtype=float), points["chg"].to_numpy())
        fit = stats.linregress(points["x"], points["chg"])
        result.rho, result.p_value, result.method = rho.rho, rho.p_value, rho.method
        result.slope, result.intercept = float(fit.slope), float(fit.intercept)
    return result
