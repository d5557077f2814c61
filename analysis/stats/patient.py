"""One patient's view: every outcome over time against the cohort, and responder status.

Only the pseudonymous patient ID and the attributes in the data are shown."""

from __future__ import annotations

from collections.abc import Mapping
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
    outcomes = [o for o in dataset.outcomes if o in set(own["outcome"])]
    bands = {o: visit_summary(dataset, o)[BAND_COLUMNS] for o in outcomes}
    attributes = {}
    if patient_id in dataset.attributes.index:
        attributes = {k: v for k, v in dataset.attributes.loc[patient_id].items() if pd.notna(v)}
    return profile_from_parts(
        patient_id, own, bands, outcomes, dataset.baseline, dataset.follow_up_visits, attributes
    )


STATUS_COLUMNS = [
    "outcome", "baseline", "last visit", "last value", "change", "% change", "status"
]  # fmt: skip
# The cohort's reference at each visit, as analysis.stats.trajectory.visit_summary names it.
BAND_COLUMNS = ["visit", "n", "median", "q1", "q3"]


def profile_from_parts(
    patient_id: str,
    own: pd.DataFrame,
    bands: Mapping[str, pd.DataFrame],
    outcomes: list[str],
    baseline: str,
    follow_up_visits: list[str],
    attributes: dict[str, object],
) -> PatientProfile:
    """patient_profile from its parts: the patient's rows (outcome, visit, value), each
    outcome's cohort reference per visit (BAND_COLUMNS, visits in time order, as visit_summary)
    and the attributes; the in-memory and the database (pushdown_patient) paths both build here."""
    frames, status_rows = [], []
    for outcome in outcomes:
        cohort = bands[outcome]
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
        status_rows.append(
            _status(outcome, mine.set_index("visit")["value"], baseline, follow_up_visits)
        )
    # Columns named, not taken from the first row: an outcome without follow-up has no values.
    status = pd.DataFrame(status_rows, columns=STATUS_COLUMNS)
    return PatientProfile(patient_id, attributes, pd.concat(frames, ignore_index=True), status)


def _status(outcome: str, values: pd.Series, baseline: str, follow_up_visits: list[str]) -> dict:
    inst = lookup(outcome)
    base = values.get(baseline)
    follow = [v for v in follow_up_visits if v in values.index and pd.notna(values[v])]
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
