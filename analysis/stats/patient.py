"""One patient's view: every outcome over time against the cohort, and responder status.

Only the pseudonymous patient ID and the attributes in the data are shown."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from analysis.stats.responders import IMMPACT_MODERATE, IMMPACT_SUBSTANTIAL
from analysis.stats.trajectory import visit_summary


@dataclass
class PatientProfile:
    """One patient's values against the cohort, status per outcome, and attributes."""

    patient_id: str
    attributes: dict[str, object]
    values: pd.DataFrame  # outcome, visit, value, cohort_median, cohort_q1, cohort_q3, cohort_n
    status: pd.DataFrame  # outcome, last visit, baseline, last value, change, % change, verdicts


def patient_profile(dataset: Dataset, patient_id: str) -> PatientProfile:
    """One patient's values at every visit beside the cohort's median and quartiles."""
    if patient_id not in set(dataset.patients):
        raise ValueError(f"Patient {patient_id!r} is not in the data.")
    own = dataset.long.loc[dataset.long["patient_id"] == patient_id]
    frames, status_rows = [], []
    for outcome in [o for o in dataset.outcomes if o in set(own["outcome"])]:
        cohort = visit_summary(dataset, outcome)[["visit", "n", "median", "q1", "q3"]]
        mine = own.loc[own["outcome"] == outcome, ["visit", "value"]]
        merged = cohort.merge(mine, on="visit", how="left").rename(
            columns={
                "n": "cohort_n",
                "median": "cohort_median",
                "q1": "cohort_q1",
                "q3": "cohort_q3",
            }
        )
        merged.insert(0, "outcome", outcome)
        frames.append(merged)
        status_rows.append(_status(dataset, outcome, mine.set_index("visit")["value"]))
    attributes = {}
    if patient_id in dataset.attributes.index:
        attributes = {k: v for k, v in dataset.attributes.loc[patient_id].items() if pd.notna(v)}
    return PatientProfile(
        patient_id, attributes, pd.concat(frames, ignore_index=True), pd.DataFrame(status_rows)
    )


def _status(dataset: Dataset, outcome: str, values: pd.Series) -> dict:
    inst = lookup(outcome)
    base = values.get(dataset.baseline)
    follow = [v for v in dataset.follow_up_visits if v in values.index and pd.notna(values[v])]
    row = {"outcome": inst.label if inst.known else outcome, "baseline": base}
    if base is None or pd.isna(base) or not follow:
        row.update(
            {"last visit": follow[-1] if follow else "", "status": "no baseline or no follow-up"}
        )
        return row
    last = follow[-1]
    change = values[last] - base
    # Percent change is undefined for a baseline of 0 or below (see analysis.stats.responders).
    pct = 100 * change / base if base > 0 else None
    row.update({"last visit": last, "last value": values[last], "change": change, "% change": pct})
    if inst.direction is None:
        row["status"] = "direction unknown"
        return row
    better = -change if inst.direction == "lower" else change
    better_pct = None if pct is None else (-pct if inst.direction == "lower" else pct)
    verdicts = []
    if better_pct is not None and better_pct >= IMMPACT_SUBSTANTIAL - 1e-9:
        verdicts.append(f"≥{IMMPACT_SUBSTANTIAL:.0f}% improvement")
    elif better_pct is not None and better_pct >= IMMPACT_MODERATE - 1e-9:
        verdicts.append(f"≥{IMMPACT_MODERATE:.0f}% improvement")
    if inst.mcid_abs is not None and better >= inst.mcid_abs - 1e-9:
        verdicts.append(f"≥{inst.mcid_abs_text()} improvement")
    row["status"] = ", ".join(verdicts) or ("worse" if better < 0 else "below thresholds")
    if pct is None:
        row["status"] += f" (percent change undefined for a baseline of {_number(base)})"
    return row


def _number(x: float) -> str:
    return f"{x:g}".replace("-", "−")
