"""Responders at one visit: percent change, thresholds, rates with exact CIs, and regression to
the mean.

- Percent change from baseline = 100 × (value − baseline) / baseline; undefined when the
  baseline is 0 or below (counted and shown, never divided by zero). Below zero (scales that reach
  negative values, such as the Norfolk QOL-DN, −4 to 136) the ratio exists but misleads: from −2
  to −4 the score improved (lower is better), yet 100 × (−2) / (−2) = +100% reads as a doubling,
  and the same 1-point fall from a baseline of 0.1 or of −0.1 gives −1000% or +1000%.
- Thresholds: IMMPACT 30% (moderately important) and 50% (substantially important) improvement
  (Dworkin et al. 2008, J Pain 9:105-121), and the instrument's absolute clinically important
  difference, all in the instrument's direction of improvement.
- Rates with exact Clopper-Pearson 95% CIs (scipy.stats.binomtest(...).proportion_ci("exact"),
  as R's binom.test), computed two ways: completers only, and every treated patient (everyone
  with a baseline value) with missing follow-up counted as a non-responder.
- Placebo benchmarks live in the instrument registry (``Instrument.placebo``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ingest.dataset import Dataset
from analysis.instruments import Direction, Instrument, lookup
from analysis.stats.paired import json_safe

IMMPACT_MODERATE, IMMPACT_SUBSTANTIAL = 30.0, 50.0


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    """Exact binomial CI for k of n, in percent (R: binom.test(k, n)$conf.int)."""
    if n == 0:
        return None, None
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return 100 * ci.low, 100 * ci.high


@dataclass
class ResponderAnalysis:
    """Responders at one visit: per-patient changes, rates with exact CIs, regression to mean."""

    outcome: str
    instrument: Instrument
    visit: str
    patients: pd.DataFrame  # patient_id, base, value, chg, pchg, improvement_pct, responder flags
    n_itt: int  # patients with a baseline value
    n_evaluable: int  # with baseline and follow-up values
    n_zero_baseline: int  # follow-up present, baseline exactly 0: percent change undefined
    n_negative_baseline: int  # follow-up present, baseline below 0: percent change undefined
    rates: pd.DataFrame  # threshold, responders, rate/CI completers and with a baseline (ITT)
    rtm_r: float | None
    rtm_slope: float | None
    rtm_intercept: float | None

    @property
    def n_percent_undefined(self) -> int:
        """Patients with a follow-up value whose percent change is undefined (baseline <= 0)."""
        return self.n_zero_baseline + self.n_negative_baseline

    @property
    def mean_change(self) -> float | None:
        """Mean change among patients with both values (None when there are none)."""
        changes = self.patients["chg"].dropna()
        return float(changes.mean()) if len(changes) else None

    def to_dict(self) -> dict:
        """JSON-safe summary (the CLI's responders output)."""
        return json_safe(
            {
                "outcome": self.outcome,
                "visit": self.visit,
                "direction": self.instrument.direction,
                "n_itt": self.n_itt,
                "n_evaluable": self.n_evaluable,
                "n_missing_follow_up": self.n_itt - self.n_evaluable,
                "n_percent_change_undefined": self.n_percent_undefined,
                "n_zero_baseline": self.n_zero_baseline,
                "n_negative_baseline": self.n_negative_baseline,
                "rates": self.rates.to_dict("records"),
                "regression_to_mean_r": self.rtm_r,
            }
        )


def responder_analysis(
    dataset: Dataset, outcome: str, visit: str, direction: Direction | None = None
) -> ResponderAnalysis:
    """Responders at ``visit`` against the baseline for one outcome."""
    instrument = lookup(outcome, direction)
    if visit == dataset.baseline:
        raise ValueError("Choose a follow-up visit: the baseline cannot be compared with itself.")
    if visit not in dataset.visits:
        raise ValueError(f"Visit {visit!r} is not in the data; visits: {', '.join(dataset.visits)}")
    table = dataset.wide(outcome).reindex(columns=[dataset.baseline, visit])
    treated = table.loc[table[dataset.baseline].notna()]
    patients = pd.DataFrame(
        {
            "patient_id": treated.index.astype(str),
            "base": treated[dataset.baseline].to_numpy(),
            "value": treated[visit].to_numpy(),
        }
    )
    patients["chg"] = patients["value"] - patients["base"]
    patients["pchg"] = percent_change(patients["base"], patients["chg"])
    sign = {"lower": -1.0, "higher": 1.0, None: np.nan}[instrument.direction]
    patients["improvement_pct"] = sign * patients["pchg"]
    patients["improvement_abs"] = sign * patients["chg"]
    evaluable = patients["value"].notna()
    thresholds = responder_thresholds(instrument)
    rows = []
    for name, column, limit in thresholds:
        meets = patients[column] >= limit - 1e-9
        defined = patients[column].notna()
        responders = int((meets & defined).sum())
        n_comp = int(defined.sum())
        low_c, high_c = clopper_pearson(responders, n_comp)
        low_t, high_t = clopper_pearson(responders, len(patients))
        patients[f"responder: {name}"] = np.where(defined, meets, np.nan)
        rows.append(
            dict(
                threshold=name,
                responders=responders,
                n_completers=n_comp,
                rate_completers=100 * responders / n_comp if n_comp else None,
                ci_low_completers=low_c,
                ci_high_completers=high_c,
                n_itt=len(patients),
                rate_itt=100 * responders / len(patients) if len(patients) else None,
                ci_low_itt=low_t,
                ci_high_itt=high_t,
            )
        )
    rtm = patients.loc[evaluable]
    r = slope = intercept = None
    if len(rtm) >= 3 and rtm["base"].nunique() > 1 and rtm["chg"].nunique() > 1:
        fit = stats.linregress(rtm["base"], rtm["chg"])
        r, slope, intercept = float(fit.rvalue), float(fit.slope), float(fit.intercept)
    return ResponderAnalysis(
        outcome=outcome,
        instrument=instrument,
        visit=visit,
        patients=patients,
        n_itt=len(patients),
        n_evaluable=int(evaluable.sum()),
        n_zero_baseline=int((evaluable & (patients["base"] == 0)).sum()),
        n_negative_baseline=int((evaluable & (patients["base"] < 0)).sum()),
        rates=pd.DataFrame(rows),
        rtm_r=r,
        rtm_slope=slope,
        rtm_intercept=intercept,
    )


def percent_change(base: pd.Series, change: pd.Series) -> pd.Series:
    """100 × change / baseline, NaN where the baseline is 0 or below (undefined there)."""
    positive = base > 0
    return (100 * change / base.where(positive)).where(positive)


def responder_thresholds(instrument: Instrument) -> list[tuple[str, str, float]]:
    """(name, column, limit) of each responder threshold: 30% and 50% improvement (IMMPACT,
    Dworkin 2008) and the instrument's clinically important difference in points."""
    if instrument.direction is None:
        return []
    thresholds = [
        (f"≥{IMMPACT_MODERATE:.0f}% improvement", "improvement_pct", IMMPACT_MODERATE),
        (f"≥{IMMPACT_SUBSTANTIAL:.0f}% improvement", "improvement_pct", IMMPACT_SUBSTANTIAL),
    ]
    if instrument.mcid_abs is not None:
        thresholds.append(
            (f"≥{instrument.mcid_abs_text()} improvement", "improvement_abs", instrument.mcid_abs)
        )
    return thresholds
