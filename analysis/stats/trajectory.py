"""One outcome over every visit: summaries, change from baseline, attrition, and tests across
visits.

- Change from baseline as CDISC ADaM defines it (ADaM IG v1.3, BDS: CHG = AVAL - BASE, and the
  baseline record itself has no CHG), so the baseline visit shows "no change", never 0.
- Friedman test on patients complete at every chosen visit (scipy.stats.friedmanchisquare, the
  same statistic with tie correction as R's friedman.test).
- Linear mixed model (statsmodels MixedLM, REML): value ~ C(visit) with a random intercept per
  patient, using every available value (valid when values are missing at random); estimates per
  visit against baseline with 95% Wald CIs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from analysis.stats.paired import json_safe

# statsmodels is imported inside the functions that use it: loading it costs about a second,
# which the dashboard's and the CLI's start-up should not pay.


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
    table = table.sort_values(
        [*keys[:-1], "visit"], key=lambda s: s.map(order) if s.name == "visit" else s
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


@dataclass
class MixedModelResult:
    n_patients: int
    n_values: int
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame)  # visit, estimate, se, ci, p
    baseline_mean: float | None = None
    sd_patient: float | None = None
    sd_residual: float | None = None
    converged: bool = False
    reason: str = ""
    too_large: bool = False  # skipped for size (can be fitted on request)


MIXED_MODEL_MAX_PATIENTS = 5000  # past this a fit takes minutes: only on request


def mixed_model(
    dataset: Dataset, outcome: str, max_patients: int | None = MIXED_MODEL_MAX_PATIENTS
) -> MixedModelResult:
    """REML fit of value ~ C(visit, baseline as reference) + (1 | patient). Not fitted for
    more than ``max_patients`` patients (None: no limit); the reason says so."""
    data = dataset.long.loc[dataset.long["outcome"] == outcome, ["patient_id", "visit", "value"]]
    present = [v for v in dataset.visits if v in set(data["visit"])]
    result = MixedModelResult(int(data["patient_id"].nunique()), len(data))
    if max_patients is not None and result.n_patients > max_patients:
        result.reason = (
            f"not fitted automatically for more than {max_patients:,} patients: at "
            f"{result.n_patients:,} patients the fit takes minutes. With this many patients the "
            "visit means and changes above already estimate the same effects precisely."
        )
        result.too_large = True
        return result
    if dataset.baseline not in present or len(present) < 2:
        result.reason = "needs values at the baseline and at least one other visit"
        return result
    if data.groupby("patient_id", observed=True).size().max() < 2:
        result.reason = "no patient has more than one value, so patients cannot be modelled"
        return result
    codes = {v: f"v{i}" for i, v in enumerate(present)}  # labels safe for formulas
    data = data.assign(visit_code=data["visit"].map(codes))
    reference = codes[dataset.baseline]
    formula = f"value ~ C(visit_code, Treatment(reference='{reference}'))"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import statsmodels.formula.api as smf

            fit = smf.mixedlm(formula, data, groups=data["patient_id"]).fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as exc:
            result.reason = f"the model could not be fitted ({exc})"
            return result
    result.converged = bool(fit.converged) and not any(
        "converge" in str(w.message).lower() for w in caught
    )
    conf = fit.conf_int()
    rows = []
    for visit in present:
        if visit == dataset.baseline:
            continue
        name = f"C(visit_code, Treatment(reference='{reference}'))[T.{codes[visit]}]"
        rows.append(
            dict(
                visit=visit,
                estimate=float(fit.fe_params[name]),
                se=float(fit.bse_fe[name]),
                ci_low=float(conf.loc[name, 0]),
                ci_high=float(conf.loc[name, 1]),
                p_value=float(fit.pvalues[name]),
            )
        )
    result.estimates = pd.DataFrame(rows)
    result.baseline_mean = float(fit.fe_params["Intercept"])
    result.sd_patient = float(np.sqrt(max(fit.cov_re.iloc[0, 0], 0.0)))
    result.sd_residual = float(np.sqrt(fit.scale))
    if not result.converged:
        result.reason = "the fit did not fully converge; treat the estimates with caution"
    return result


def trajectories(dataset: Dataset, outcome: str) -> pd.DataFrame:
    """Each patient's values in visit order (for spaghetti plots): patient_id, visit, value."""
    table = dataset.wide(outcome)
    return table.stack().dropna().rename("value").reset_index()


def trajectory_report(dataset: Dataset, outcome: str) -> dict:
    """Everything the Over time page shows, as JSON-safe data (the CLI's trajectory output)."""
    summary = visit_summary(dataset, outcome)
    change = change_summary(dataset, outcome)[["visit", "mean_change", "ci_low", "ci_high"]]
    change = change.rename(columns={"ci_low": "change_ci_low", "ci_high": "change_ci_high"})
    per_visit = summary.merge(change, on="visit", how="left")
    visits_with_data = [v for v in dataset.visits if v in set(summary["visit"])]
    model = mixed_model(dataset, outcome)
    report = {
        "outcome": outcome,
        "outcome_label": lookup(outcome).label,
        "baseline": dataset.baseline,
        "visits": per_visit.to_dict("records"),
        "friedman": vars(friedman(dataset, outcome, visits_with_data)),
        "mixed_model": {
            "n_patients": model.n_patients,
            "n_values": model.n_values,
            "baseline_mean": model.baseline_mean,
            "sd_patient": model.sd_patient,
            "sd_residual": model.sd_residual,
            "converged": model.converged,
            "reason": model.reason,
            "estimates": model.estimates.to_dict("records"),
        },
    }
    return json_safe(report)
