"""Between-arm comparisons (e.g. MSC against standard care) on every view that has one.

With a comparator arm the difference between arms, not the change within one, is what can
separate a treatment effect from the placebo response and regression to the mean. Change is
compared by Welch's t-test and by ANCOVA adjusted for baseline (analysis.stats.subgroups); responder
rates by the difference in proportions with Newcombe's hybrid score interval (Newcombe 1998,
Stat Med 17:873, method 10; statsmodels confint_proportions_2indep(method="newcomb")).
Differences are always the treated arm minus the control arm.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.instruments import Direction
from analysis.stats.cohort import SMALL_GROUP_DEFAULT, CohortFilter, apply_filter
from analysis.stats.responders import responder_analysis
from analysis.stats.subgroups import SubgroupComparison, compare_subgroups

# statsmodels is imported inside the functions that use it: loading it costs about a second,
# which the dashboard's and the CLI's start-up should not pay.

ARM_CAVEAT = (
    "Only a comparison between arms can separate an effect of treatment from the placebo "
    "response and regression to the mean; within-arm changes cannot. Unless patients were "
    "randomised to the arms, the arms may still differ in other ways."
)
_CONTROL = re.compile(r"standard|control|placebo|usual|sham|comparator|untreated", re.I)


def control_level(dataset: Dataset, arm: str) -> str:
    """The arm to compare against: one named like a control, else the first in sorted order."""
    levels = sorted(dataset.attributes[arm].dropna().astype(str).unique())
    return next((level for level in levels if _CONTROL.search(level)), levels[0])


def arm_levels(dataset: Dataset, arm: str) -> list[str]:
    """Control arm first, then the others in sorted order."""
    reference = control_level(dataset, arm)
    others = sorted(set(dataset.attributes[arm].dropna().astype(str)) - {reference})
    return [reference, *others]


def arm_change(dataset: Dataset, outcome: str, visit: str, arm: str) -> SubgroupComparison:
    """Change from baseline at ``visit`` by arm: Welch, Mann-Whitney, ANCOVA vs the control."""
    reference = control_level(dataset, arm)
    return compare_subgroups(dataset, outcome, visit, arm, SMALL_GROUP_DEFAULT, reference)


def arm_change_by_visit(dataset: Dataset, outcome: str, arm: str) -> pd.DataFrame:
    """ANCOVA-adjusted between-arm difference at every follow-up visit."""
    frames = []
    for visit in dataset.follow_up_visits:
        ancova = arm_change(dataset, outcome, visit, arm).ancova
        if not ancova.empty:
            frames.append(ancova.assign(visit=visit))
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table[["visit", "group", "reference", "adjusted_difference", "ci_low", "ci_high",
                  "p_value"]]  # fmt: skip


def arm_responder_rates(
    dataset: Dataset, outcome: str, visit: str, arm: str, direction: Direction | None = None
) -> pd.DataFrame:
    """Responder rates (completers) per arm and, for two arms, the difference with its CI."""
    levels = arm_levels(dataset, arm)
    per_arm = {
        level: responder_analysis(
            apply_filter(dataset, CohortFilter({arm: (level,)})), outcome, visit, direction
        ).rates.set_index("threshold")
        for level in levels
    }
    rows = []
    for threshold in per_arm[levels[0]].index:
        row: dict[str, object] = {"threshold": threshold}
        counts = {}
        for level in levels:
            k = int(per_arm[level].loc[threshold, "responders"])
            n = int(per_arm[level].loc[threshold, "n_completers"])
            counts[level] = (k, n)
            row[level] = f"{k}/{n} = {100 * k / n:.0f}%" if n else "no patients"
        if len(levels) == 2 and all(n >= SMALL_GROUP_DEFAULT for _, n in counts.values()):
            (k0, n0), (k1, n1) = counts[levels[0]], counts[levels[1]]
            from statsmodels.stats.proportion import confint_proportions_2indep

            low, high = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff")
            row["difference"] = 100 * (k1 / n1 - k0 / n0)
            row["ci_low"], row["ci_high"] = 100 * float(low), 100 * float(high)
            row["comparison"] = f"{levels[1]} minus {levels[0]}"
        rows.append(row)
    return pd.DataFrame(rows)
