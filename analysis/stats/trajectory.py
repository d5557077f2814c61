"""One outcome over every visit: summaries, change from baseline, attrition, and tests across
visits.

- Change from baseline as CDISC ADaM defines it (ADaM IG v1.3, BDS: CHG = AVAL - BASE, and the
  baseline record itself has no CHG), so the baseline visit shows "no change", never 0.
- Friedman test on patients complete at every chosen visit (scipy.stats.friedmanchisquare, the
  same statistic with tie correction as R's friedman.test).
- The longitudinal model is the MMRM (analysis.stats.longitudinal, analysis.stats.mmrm); the
  statsmodels random-intercept model it replaced assumed equal correlation between all visits
  and gave Wald z tests without small-sample degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from analysis.stats.arms import ArmDesign
from analysis.stats.cohort import MISSING, CohortFilter, apply_filter
from analysis.stats.mmrm import MMRMResult
from analysis.stats.paired import json_safe


def _t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """95% t-interval for a mean, vectorised; undefined (NaN) when n < 2."""
    half = stats.t.ppf(0.975, (n - 1).where(n > 1)) * sd / np.sqrt(n)
    return mean - half, mean + half


def visit_summary(dataset: Dataset, outcome: str, by: str | None = None) -> pd.DataFrame:
    """Per visit (and per level of ``by``): n, mean, SD, 95% CI, median, quartiles."""
    data = dataset.long.loc[dataset.long["outcome"] == outcome, ["patient_id", "visit", "value"]]
    keys = ["visit"]
    if by is not None:
        column = dataset.attributes[by].astype(object)
        groups = column.where(column.notna(), "missing").astype(str)
        data = data.assign(group=data["patient_id"].map(groups))
        keys = ["group", "visit"]
    grouped = data.groupby(keys, sort=False, observed=True)["value"]
    table = grouped.agg(n="count", mean="mean", sd="std", median="median").reset_index()
    quartiles = grouped.quantile([0.25, 0.75]).unstack()
    table["q1"] = quartiles[0.25].to_numpy()
    table["q3"] = quartiles[0.75].to_numpy()
    table["ci_low"], table["ci_high"] = _t_interval(table["mean"], table["sd"], table["n"])
    order = {v: i for i, v in enumerate(dataset.visits)}
    # By position in dataset.visits: the long table's visit categories are in the order the
    # file first met them, which is not time order when the first outcome skips a visit.
    table = table.sort_values(
        [*keys[:-1], "visit"],
        key=lambda s: s.astype(str).map(order) if s.name == "visit" else s,
    )
    present = set(table["visit"].astype(str))
    # Ordered by visit, not by label, so that a chart or a sort puts m12 after m6.
    table["visit"] = pd.Categorical(
        table["visit"].astype(str),
        categories=[v for v in dataset.visits if v in present],
        ordered=True,
    )
    return table.reset_index(drop=True)


def change_from_baseline(dataset: Dataset, outcome: str) -> pd.DataFrame:
    """ADaM-style rows: patient_id, visit, value (AVAL), base (BASE), chg (CHG), pchg (PCHG).

    The baseline visit has no change (NaN), not a change of 0; PCHG is undefined when BASE = 0."""
    table = dataset.wide(outcome)
    if dataset.baseline not in table.columns:
        return pd.DataFrame(columns=["patient_id", "visit", "value", "base", "chg", "pchg"])
    base = table[dataset.baseline]
    rows = table.stack().dropna().rename("value").reset_index()
    rows["base"] = rows["patient_id"].map(base)
    is_baseline = rows["visit"] == dataset.baseline
    rows["chg"] = (rows["value"] - rows["base"]).where(~is_baseline)
    rows["pchg"] = (100 * rows["chg"] / rows["base"]).where(rows["base"] != 0)
    return rows


BASELINE_NOTE = "baseline: no change by definition"


def change_summary(dataset: Dataset, outcome: str) -> pd.DataFrame:
    """Per visit: patients with a change, mean change with 95% CI (NaN where undefined).

    The baseline row counts the patients with a baseline value and has no change."""
    rows = change_from_baseline(dataset, outcome)
    stats_by_visit = rows.groupby("visit", observed=True)["chg"].agg(
        n="count", mean_change="mean", sd="std"
    )
    table = stats_by_visit.reindex(dataset.visits)
    table["n"] = table["n"].fillna(0).astype(int)
    table.loc[dataset.baseline, "n"] = int((rows["visit"] == dataset.baseline).sum())
    low, high = _t_interval(table["mean_change"], table["sd"], table["n"])
    varies = table["sd"] > 0
    table["ci_low"], table["ci_high"] = low.where(varies), high.where(varies)
    table["note"] = np.where(table["n"] == 0, "no patient has baseline and this visit", "")
    table.loc[dataset.baseline, "note"] = BASELINE_NOTE
    return table.drop(columns="sd").rename_axis("visit").reset_index()


def attrition(dataset: Dataset, outcome: str) -> pd.DataFrame:
    """Patients with a value at each visit, and as a share of those with a baseline value."""
    counts = dataset.wide(outcome).notna().sum().reindex(dataset.visits, fill_value=0)
    n_base = int(counts.get(dataset.baseline, 0))
    return pd.DataFrame(
        {
            "visit": dataset.visits,
            "patients": counts.to_numpy().astype(int),
            "% of baseline": (100 * counts / n_base).round(0).to_numpy() if n_base else np.nan,
        }
    )


@dataclass
class FriedmanResult:
    """The Friedman test across visits on patients complete at every chosen visit."""

    visits: list[str]
    n_complete: int
    n_excluded: int
    statistic: float | None = None
    df: int | None = None
    p_value: float | None = None
    reason: str = ""


def friedman(dataset: Dataset, outcome: str, visits: list[str]) -> FriedmanResult:
    """Friedman test across ``visits`` on patients with a value at every one of them."""
    table = dataset.wide(outcome).reindex(columns=visits)
    complete = table.dropna()
    n_any = int(table.notna().any(axis=1).sum())
    result = FriedmanResult(visits, len(complete), n_any - len(complete))
    if len(visits) < 3:
        result.reason = "the Friedman test needs at least 3 visits (for 2, use Compare visits)"
    elif len(complete) < 2:
        result.reason = "fewer than 2 patients have a value at every chosen visit"
    elif (complete.max(axis=1) == complete.min(axis=1)).all():
        result.reason = "every complete patient has the same value at all visits"
    else:
        test = stats.friedmanchisquare(*(complete[v].to_numpy() for v in visits))
        result.statistic, result.p_value = float(test.statistic), float(test.pvalue)
        result.df = len(visits) - 1
    return result


def trajectories(dataset: Dataset, outcome: str) -> pd.DataFrame:
    """Each patient's values in visit order (for spaghetti plots): patient_id, visit, value."""
    table = dataset.wide(outcome)
    return table.stack().dropna().rename("value").reset_index()


def trajectory_report(dataset: Dataset, outcome: str, design: ArmDesign | None = None) -> dict:
    """Everything the Over time page shows, as JSON-safe data (the CLI's trajectory output):
    per-visit summaries, change from baseline, Friedman and the MMRM (per arm when there are
    arms)."""
    from analysis.stats.longitudinal import MMRMSpec, fit_outcome_model

    design = design or ArmDesign(None)
    summary = visit_summary(dataset, outcome)
    change = change_summary(dataset, outcome)[["visit", "mean_change", "ci_low", "ci_high"]]
    change = change.rename(columns={"ci_low": "change_ci_low", "ci_high": "change_ci_high"})
    per_visit = summary.merge(change, on="visit", how="left")
    visits_with_data = [v for v in dataset.visits if v in set(summary["visit"])]
    report = {
        "outcome": outcome,
        "outcome_label": lookup(outcome).label,
        "baseline": dataset.baseline,
        "visits": per_visit.to_dict("records"),
        "friedman": vars(friedman(dataset, outcome, visits_with_data)),
    }
    try:
        model = fit_outcome_model(dataset, design, MMRMSpec(outcome))
    except ValueError as exc:
        report["mmrm"] = {"error": str(exc)}
    else:
        report["mmrm"] = mmrm_record(model.result)
    return json_safe(report)


def mmrm_record(result: MMRMResult) -> dict:
    """An MMRM result as the JSON the CLI writes (the fields R users look for)."""
    visits = [str(v) for v in result.visits]
    return json_safe(
        {
            "n_patients": result.n_patients,
            "n_values": result.n_values,
            "n_patients_excluded": result.n_patients_excluded,
            "values_not_used": dict(result.exclusions),
            "converged": result.converged,
            "message": result.message,
            "covariance_structure": result.covariance_structure,
            "reml": result.reml,
            "df_method": result.df_method,
            "log_likelihood": result.log_likelihood,
            "aic": result.aic,
            "bic": result.bic,
            "covariance": {
                "visits": visits,
                "matrix": np.asarray(result.covariance, dtype=float).tolist(),
            },
            "coefficients": result.coefficients.to_dict("records"),
            "lsmeans": _records(result.lsmeans),
            "contrasts": _records(result.contrasts),
        }
    )


def _records(frame: pd.DataFrame) -> list[dict]:
    shown = frame.copy()
    for column in ("arm", "comparator", "visit"):
        if column in shown:
            shown[column] = shown[column].astype(str)
    return shown.to_dict("records")


def change_summary_by(dataset: Dataset, outcome: str, by: str) -> pd.DataFrame:
    """``change_summary`` for each level of the attribute ``by``
    (patients without a value form the group 'missing'), stacked with a ``group`` column:
    the input of a per-group ``change_over_time``."""
    values = dataset.attributes[by].astype(object)
    levels = sorted(set(values.where(values.notna(), MISSING).astype(str)))
    frames = [
        change_summary(apply_filter(dataset, CohortFilter({by: (level,)})), outcome).assign(
            group=level
        )
        for level in levels
    ]
    return pd.concat(frames, ignore_index=True)
