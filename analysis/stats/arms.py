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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.stats.cohort import SMALL_GROUP_DEFAULT, CohortFilter, apply_filter

if TYPE_CHECKING:
    from analysis.instruments import Direction
    from analysis.stats.compare import Comparison
    from analysis.stats.responders import ResponderAnalysis
    from analysis.stats.subgroups import SubgroupComparison

# scipy.stats, statsmodels and the modules that compute (compare, responders, subgroups,
# summary, table1) are imported inside the functions that use them: the arm design is needed
# before the dashboard's first chart, the tests only after it (tests/ui/test_cold_start.py).

ARM_CAVEAT = (
    "Only a comparison between arms can separate an effect of treatment from the placebo "
    "response and regression to the mean; within-arm changes cannot. Unless patients were "
    "randomised to the arms, the arms may still differ in other ways."
)
# Labels that name a comparator arm (placebo, sham, control, standard/usual care, SOC, ...).
_CONTROL = re.compile(
    r"\b(placebo|sham|control|controls|standard|usual|soc|untreated|comparator|no treatment)\b",
    re.I,
)
_RANDOMISED_NAMES = re.compile(r"^(randomi[sz]ed|randomi[sz]ation)$", re.I)
_TRUE = {"yes", "y", "true", "1", "1.0"}


@dataclass(frozen=True)
class ArmDesign:
    """Which attribute holds the arms, which arm is the comparator, and how it was decided."""

    attribute: str | None  # None: the data has no arms (one group)
    comparator: str | None = None
    treated: tuple[str, ...] = ()
    comparator_recognised: bool = False  # from its label (placebo, standard care, ...)
    comparator_chosen: bool = False  # set by the user
    randomised: bool = False
    pooled: bool = False  # the user asked for all patients together

    @property
    def has_arms(self) -> bool:
        """True when headlines are per arm (an arm attribute, not pooled on request)."""
        return self.attribute is not None and self.comparator is not None and not self.pooled

    @property
    def levels(self) -> tuple[str, ...]:
        """Treated arms first, then the comparator (the order of every headline)."""
        if self.comparator is None:
            return self.treated
        return (*self.treated, self.comparator)


def _arm_values(dataset: Dataset, attribute: str) -> list[str]:
    return sorted(dataset.attributes[attribute].dropna().astype(str).unique())


def match_level(levels: list[str], given: str) -> str | None:
    """The level ``given`` names, matched case- and space-insensitively."""
    key = " ".join(given.split()).casefold()
    return next((level for level in levels if " ".join(level.split()).casefold() == key), None)


def resolve_arms(
    dataset: Dataset,
    attribute: str | None = None,
    control: str | None = None,
    randomised: bool | None = None,
    pooled: bool = False,
) -> ArmDesign:
    """The arm design: the attribute given or recognised, the comparator given or recognised
    from its label (else the first level in sorted order, flagged as assumed).

    Raises ValueError when a given attribute or control label is not in the data."""
    if attribute is None:
        from analysis.stats.subgroups import arm_attribute

        attribute = arm_attribute(dataset)
    elif attribute not in dataset.attributes.columns:
        raise ValueError(f"There is no attribute {attribute!r} in the data.")
    if attribute is None:
        return ArmDesign(None, pooled=pooled)
    if randomised is None:
        randomised = _flagged_randomised(dataset)
    return design_from_levels(
        attribute, _arm_values(dataset, attribute), control, randomised, pooled
    )


def design_from_levels(
    attribute: str, levels: list[str], control: str | None, randomised: bool, pooled: bool = False
) -> ArmDesign:
    """The arm design from the sorted levels of the arm attribute (resolve_arms without the
    rows: a database source gives its levels by one query)."""
    if len(levels) < 2:
        return ArmDesign(None, pooled=pooled)
    recognised = [level for level in levels if _CONTROL.search(level)]
    if control is not None:
        comparator = match_level(levels, control)
        if comparator is None:
            raise ValueError(
                f"{control!r} is not an arm of {attribute!r}; arms: " + ", ".join(levels) + "."
            )
    else:
        comparator = recognised[0] if recognised else levels[0]
    return ArmDesign(
        attribute=attribute,
        comparator=comparator,
        treated=tuple(level for level in levels if level != comparator),
        comparator_recognised=comparator in recognised,
        comparator_chosen=control is not None,
        randomised=randomised,
        pooled=pooled,
    )


def _flagged_randomised(dataset: Dataset) -> bool:
    """True when an attribute named 'randomised' says yes for every patient."""
    for column in dataset.attributes.columns:
        if _RANDOMISED_NAMES.match(str(column)):
            values = dataset.attributes[column].dropna().astype(str).str.strip().str.casefold()
            return bool(len(values)) and bool(values.isin(_TRUE).all())
    return False


def arm_dataset(dataset: Dataset, design: ArmDesign, level: str) -> Dataset:
    """The patients of one arm."""
    assert design.attribute is not None
    return apply_filter(dataset, CohortFilter({design.attribute: (level,)}))


def control_level(dataset: Dataset, arm: str) -> str:
    """The arm to compare against: one named like a control, else the first in sorted order."""
    comparator = resolve_arms(dataset, arm).comparator
    return comparator if comparator is not None else _arm_values(dataset, arm)[0]


def arm_levels(dataset: Dataset, arm: str) -> list[str]:
    """Control arm first, then the others in sorted order."""
    reference = control_level(dataset, arm)
    others = sorted(set(dataset.attributes[arm].dropna().astype(str)) - {reference})
    return [reference, *others]


def arm_change(dataset: Dataset, outcome: str, visit: str, arm: str) -> SubgroupComparison:
    """Change from baseline at ``visit`` by arm: Welch, Mann-Whitney, ANCOVA vs the control."""
    from analysis.stats.subgroups import compare_subgroups

    reference = control_level(dataset, arm)
    return compare_subgroups(dataset, outcome, visit, arm, SMALL_GROUP_DEFAULT, reference)


def welch_difference(treated: np.ndarray, comparator: np.ndarray) -> dict[str, float | None]:
    """Difference in means (treated minus comparator) with Welch's t interval and p
    (R: t.test(treated, comparator)); None where a group has fewer than 2 values."""
    if len(treated) < 2 or len(comparator) < 2:
        return {"difference": None, "ci_low": None, "ci_high": None, "p_value": None, "df": None}
    from scipy import stats

    test = stats.ttest_ind(treated, comparator, equal_var=False)
    ci = test.confidence_interval(0.95)
    return {
        "difference": float(np.mean(treated) - np.mean(comparator)),
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "p_value": float(test.pvalue),
        "df": float(test.df),
    }


def welch_from_summaries(
    mean_1: float, se_1: float, n_1: int, mean_0: float, se_0: float, n_0: int
) -> dict[str, float | None]:
    """Welch's interval for a difference of two means from their means, SEs and ns (the same
    numbers as R's t.test on the values; Welch 1947, Biometrika 34:28)."""
    if n_1 < 2 or n_0 < 2 or not np.isfinite(se_1) or not np.isfinite(se_0):
        return {"difference": None, "ci_low": None, "ci_high": None, "p_value": None, "df": None}
    variance = se_1**2 + se_0**2
    if variance <= 0:
        return {"difference": None, "ci_low": None, "ci_high": None, "p_value": None, "df": None}
    from scipy import stats

    df = variance**2 / (se_1**4 / (n_1 - 1) + se_0**4 / (n_0 - 1))
    difference = mean_1 - mean_0
    half = float(stats.t.ppf(0.975, df)) * np.sqrt(variance)
    t = difference / np.sqrt(variance)
    return {
        "difference": float(difference),
        "ci_low": float(difference - half),
        "ci_high": float(difference + half),
        "p_value": float(2 * stats.t.sf(abs(t), df)),
        "df": float(df),
    }


@dataclass
class ArmComparison:
    """Change between two visits within each arm, and each treated arm against the comparator."""

    design: ArmDesign
    per_arm: dict[str, Comparison]  # in design.levels order
    between: pd.DataFrame  # arm, comparator, n_arm, n_comparator, difference (Welch) with CI
    # and p, adjusted_difference (ANCOVA on the first visit's value) with CI and p


def compare_by_arm(
    dataset: Dataset,
    design: ArmDesign,
    outcome: str,
    before: str,
    after: str,
    direction: Direction | None = None,
) -> ArmComparison:
    """compare_visits within every arm, then the between-arm difference in mean change."""
    from analysis.stats.compare import compare_visits
    from analysis.stats.subgroups import ancova

    per_arm = {
        level: compare_visits(
            arm_dataset(dataset, design, level), outcome, before, after, direction
        )
        for level in design.levels
    }
    rows = []
    assert design.comparator is not None
    reference = per_arm[design.comparator].pairs
    for level in design.treated:
        pairs = per_arm[level].pairs
        row: dict[str, object] = {
            "arm": level,
            "comparator": design.comparator,
            "n_arm": len(pairs),
            "n_comparator": len(reference),
        }
        row.update(welch_difference(pairs["change"].to_numpy(), reference["change"].to_numpy()))
        both = pd.concat(
            [
                pd.DataFrame({"group": level, "base": pairs["before"], "value": pairs["after"]}),
                pd.DataFrame(
                    {"group": design.comparator, "base": reference["before"],
                     "value": reference["after"]}
                ),
            ],
            ignore_index=True,
        )  # fmt: skip
        adjusted = (
            ancova(both, design.comparator)
            if len(pairs) >= 2 and len(reference) >= 2
            else pd.DataFrame()
        )
        if not adjusted.empty:
            first = adjusted.iloc[0]
            row.update(
                adjusted_difference=float(first["adjusted_difference"]),
                adjusted_ci_low=float(first["ci_low"]),
                adjusted_ci_high=float(first["ci_high"]),
                adjusted_p_value=float(first["p_value"]),
            )
        rows.append(row)
    return ArmComparison(design, per_arm, pd.DataFrame(rows))


@dataclass
class ArmResponders:
    """Responder rates within each arm, and each treated arm against the comparator."""

    design: ArmDesign
    per_arm: dict[str, ResponderAnalysis]
    between: pd.DataFrame  # threshold, arm, comparator, difference in % (completers), Newcombe CI


def responders_by_arm(
    dataset: Dataset,
    design: ArmDesign,
    outcome: str,
    visit: str,
    direction: Direction | None = None,
) -> ArmResponders:
    """responder_analysis within every arm (denominators within the arm), and differences in
    rates (completers) with Newcombe's hybrid score interval (Newcombe 1998, method 10)."""
    from analysis.stats.responders import responder_analysis

    per_arm = {
        level: responder_analysis(arm_dataset(dataset, design, level), outcome, visit, direction)
        for level in design.levels
    }
    return ArmResponders(design, per_arm, responders_between(design, per_arm))


def responders_between(design: ArmDesign, per_arm: dict[str, ResponderAnalysis]) -> pd.DataFrame:
    """Each treated arm's responder rate minus the comparator's (completers), with Newcombe's
    hybrid score interval (Newcombe 1998, method 10; statsmodels
    confint_proportions_2indep(method="newcomb")); empty when the comparator is missing
    (suppressed) or has no thresholds (no direction)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    comparator = per_arm.get(str(design.comparator))
    if comparator is None or comparator.rates.empty:
        return pd.DataFrame()
    reference = comparator.rates.set_index("threshold")
    rows = []
    for level in design.treated:
        if level not in per_arm:
            continue
        rates = per_arm[level].rates.set_index("threshold")
        for threshold in rates.index.intersection(reference.index):
            k1 = int(rates.loc[threshold, "responders"])
            n1 = int(rates.loc[threshold, "n_completers"])
            k0 = int(reference.loc[threshold, "responders"])
            n0 = int(reference.loc[threshold, "n_completers"])
            row: dict[str, object] = {
                "threshold": threshold, "arm": level, "comparator": design.comparator,
                "responders_arm": k1, "n_arm": n1, "responders_comparator": k0, "n_comparator": n0,
                "difference": None, "ci_low": None, "ci_high": None,
            }  # fmt: skip
            if n1 and n0:
                low, high = confint_proportions_2indep(
                    k1, n1, k0, n0, method="newcomb", compare="diff"
                )
                row.update(
                    difference=100 * (k1 / n1 - k0 / n0),
                    ci_low=100 * float(low),
                    ci_high=100 * float(high),
                )
            rows.append(row)
    return pd.DataFrame(rows)


def summary_by_arm(
    dataset: Dataset, design: ArmDesign, directions: dict[str, Direction] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole-cohort summary within every arm (an ``arm`` column first), and for every
    outcome x visit the difference in mean change of each treated arm from the comparator
    (Welch, from each arm's mean, SE and n)."""
    from analysis.stats.summary import cohort_summary

    frames = []
    for level in design.levels:
        frame = cohort_summary(arm_dataset(dataset, design, level), directions)
        frame.insert(0, "arm", level)
        frames.append(frame)
    summary = pd.concat(frames, ignore_index=True)
    return summary, between_arms_from_summary(summary, design)


def between_arms_from_summary(summary: pd.DataFrame, design: ArmDesign) -> pd.DataFrame:
    """For every outcome x visit, each treated arm's mean change minus the comparator's (Welch,
    from each arm's mean, SE and n in the per-arm summary)."""
    rows = []
    keyed = summary.set_index(["arm", "outcome", "visit"])
    for level in design.treated:
        for (outcome, visit), row in keyed.loc[level].iterrows():
            if (design.comparator, outcome, visit) not in keyed.index:
                continue
            ref = keyed.loc[(design.comparator, outcome, visit)]
            entry: dict[str, object] = {
                "outcome": outcome, "label": row["label"], "visit": visit, "arm": level,
                "comparator": design.comparator, "n_arm": int(row["n_pairs"]),
                "n_comparator": int(ref["n_pairs"]),
            }  # fmt: skip
            n_arm, n_ref = int(row["n_pairs"]), int(ref["n_pairs"])
            entry.update(
                welch_from_summaries(
                    row["mean_change"], _se(row), n_arm, ref["mean_change"], _se(ref), n_ref
                )
            )
            rows.append(entry)
    return pd.DataFrame(rows)


def _se(row: pd.Series) -> float:
    """The SE of a mean change, read back from its t interval (half-width / t quantile)."""
    from scipy import stats

    n = int(row["n_pairs"])
    if n < 2 or row["change_ci_high"] is None or pd.isna(row["change_ci_high"]):
        return float("nan")
    return float((row["change_ci_high"] - row["mean_change"]) / stats.t.ppf(0.975, n - 1))


def patients_with_baseline(
    dataset: Dataset, design: ArmDesign, outcome: str | None = None
) -> dict[str, int]:
    """Patients with a baseline value (of ``outcome``, or of any outcome) in each arm, or
    under "all" when there are no arms: the denominators every headline states."""
    long = dataset.long
    at_baseline = long["visit"] == dataset.baseline
    if outcome is not None:
        at_baseline &= long["outcome"] == outcome
    ids = pd.Index(long.loc[at_baseline, "patient_id"].astype(str).unique())
    if not design.has_arms:
        return {"all": len(ids)}
    assert design.attribute is not None
    arms = dataset.attributes[design.attribute].astype(object)
    arms.index = arms.index.astype(str)
    arms = arms.reindex(ids).dropna().astype(str)
    return {level: int((arms == level).sum()) for level in design.levels}


def design_record(design: ArmDesign) -> dict[str, object]:
    """The arm design as a JSON-ready record."""
    return {
        "arm_attribute": design.attribute,
        "comparator": design.comparator,
        "treated_arms": list(design.treated),
        "comparator_from": (
            "user" if design.comparator_chosen
            else "label" if design.comparator_recognised
            else "assumed (first in sorted order)" if design.comparator is not None
            else None
        ),
        "randomised": design.randomised,
        "arms_pooled": design.pooled,
    }  # fmt: skip


def largest_baseline_smd(dataset: Dataset, design: ArmDesign) -> tuple[str, float] | None:
    """The baseline characteristic (attribute or baseline score) that differs most between the
    first treated arm and the comparator, as (variable, standardised mean difference)."""
    if not design.has_arms or not design.treated:
        return None
    from analysis.stats.table1 import table_one

    assert design.attribute is not None and design.comparator is not None
    two = apply_filter(
        dataset, CohortFilter({design.attribute: (design.treated[0], design.comparator)})
    )
    table = table_one(two, design.attribute).table
    if "SMD" not in table:
        return None
    # Attributes that are constant in the comparator but vary in the treated arm describe the
    # treatment (cell source, route, dose), not the patients: they are no baseline imbalance.
    arms = two.attributes[design.attribute].astype(str)
    treatment_descriptors = {
        str(column)
        for column in two.attributes.columns
        if column != design.attribute
        and two.attributes.loc[arms == design.comparator, column].nunique() <= 1
        and two.attributes.loc[arms != design.comparator, column].nunique() > 1
    }
    names = table["variable"].astype(str).str.split(",").str[0].replace("", np.nan).ffill()
    table = table.loc[~names.isin(treatment_descriptors)]
    smd = pd.to_numeric(table["SMD"], errors="coerce")
    if smd.notna().sum() == 0:
        return None
    row = table.loc[smd.abs().idxmax()]
    return str(row["variable"]), float(smd.loc[smd.abs().idxmax()])
