"""Time to first response and time to loss of response, per arm (Kaplan-Meier, log-rank, Cox).

- **Response** at a follow-up visit: the outcome improved from the patient's baseline by at
  least the threshold, in the instrument's direction: 30% or 50% (IMMPACT; Dworkin et al.
  2008) or the instrument's clinically important difference in points. Percent thresholds are
  undefined for a baseline of 0 (such patients are listed as excluded, never dropped silently).
- **Time to first response**: the time of the first follow-up visit meeting the threshold;
  patients who never meet it are censored at their last visit with a value of the outcome.
- **Time to loss of response** (durability): among responders, the first later visit with a
  value where the patient no longer meets the threshold; censored at the last visit with a
  value. Measured from the first response (duration of response, the default) or from
  treatment (day 0). A missed visit is not a loss: only visits with a value count.
- **Time**: the recorded day (days since treatment) of the visit, else the time its label
  names (``analysis.ingest.visits.nominal_day``: "m6" is 182.6 days).
- **Interval censoring**: a response really happens somewhere between two visits; the
  visit-based estimate puts it at the visit where it was seen (right end of the interval), so
  times are overestimated by up to one visit interval, and patients seen at the same visits tie.
  Every patient's interval is kept (``interval_low``, ``time``) for an interval-censored
  analysis (Turnbull 1976) elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.ingest.visits import nominal_day
from analysis.instruments import Direction, Instrument, lookup
from analysis.stats.arms import ArmDesign
from analysis.stats.paired import json_safe
from analysis.stats.responders import IMMPACT_MODERATE, IMMPACT_SUBSTANTIAL
from analysis.stats.survival import (
    CoxModel,
    KaplanMeier,
    LogRank,
    cox_model,
    kaplan_meier,
    log_rank,
)

Endpoint = Literal["response", "loss of response"]
Origin = Literal["response", "treatment"]
ALL = "all patients"
DURATION_LANDMARKS = (30.0, 91.0, 182.0, 365.0)  # 1, 3, 6 and 12 months after a first response
THRESHOLD_CHOICES = (f"{IMMPACT_MODERATE:.0f}%", f"{IMMPACT_SUBSTANTIAL:.0f}%", "mcid")
INTERVAL_CENSORING_NOTE = (
    "A response (or its loss) happens somewhere between two visits; it is only seen at the "
    "visit. These estimates place each event at the visit where it was first seen (the right "
    "end of the interval, a common visit-based convention): times are overestimated by up to "
    "one visit interval, and patients seen at the same visits share a time (ties, handled as "
    "R does: Efron's method in the Cox model). The assumption is that the true time lies "
    "anywhere in the interval, independently of the arm; an interval-censored analysis "
    "(Turnbull's estimator) would use both ends of each patient's interval."
)


@dataclass(frozen=True)
class ResponseRule:
    """What counts as a response: an improvement of at least ``value`` percent or points."""

    kind: Literal["percent", "points"]
    value: float
    label: str  # "≥30% improvement"

    @property
    def amount(self) -> str:
        """'30%' or '2 points': the size of the improvement."""
        return self.label.removeprefix("≥").removesuffix(" improvement")


def response_rule(threshold: str, instrument: Instrument) -> ResponseRule:
    """The rule a threshold names: "30%", "50%", any "N%", "mcid" (the instrument's clinically
    important difference) or "N points". Raises ValueError otherwise."""
    text = threshold.strip().casefold().replace(" ", "")
    if text in {"mcid", "cid", "mid"}:
        if instrument.mcid_abs is None:
            raise ValueError(
                f"{instrument.label} has no clinically important difference in the registry; "
                "use a percent threshold (30% or 50%)."
            )
        return ResponseRule(
            "points", instrument.mcid_abs, f"≥{instrument.mcid_abs_text()} improvement"
        )
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(%|points?|pts?)", text)
    if match is None:
        raise ValueError(
            f"Threshold {threshold!r} is not understood: give a percent (30%, 50%), 'mcid' "
            "(the clinically important difference) or points ('2 points')."
        )
    value = float(match.group(1))
    if value <= 0:
        raise ValueError("The threshold must be positive.")
    if match.group(2) == "%":
        return ResponseRule("percent", value, f"≥{value:g}% improvement")
    return ResponseRule("points", value, f"≥{value:g} point{'s' if value != 1 else ''} improvement")


@dataclass
class TimeToEvent:
    """Kaplan-Meier per arm, the log-rank test and a Cox model for one endpoint."""

    outcome: str
    instrument: Instrument
    endpoint: Endpoint
    rule: ResponseRule
    origin: Origin
    time_source: str  # "recorded days", "nominal visit times" or both, in words
    design: ArmDesign
    patients: pd.DataFrame  # patient_id, arm, time, event, interval_low, first_response, ...
    excluded: pd.DataFrame  # patient_id, reason
    fits: dict[str, KaplanMeier]  # per arm (or ALL)
    medians: pd.DataFrame  # arm, n, events, censored, median, ci_low, ci_high
    landmarks: pd.DataFrame  # arm, time, n_risk, survival (event-free), ci_low, ci_high
    log_rank: LogRank | None
    cox: CoxModel | None
    cox_note: str = ""
    covariates: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def event_word(self) -> str:
        """'response' or 'loss of response'."""
        return self.endpoint

    def to_dict(self) -> dict:
        """JSON-safe record (the CLI's time-to-response output)."""
        return json_safe(
            {
                "outcome": self.outcome,
                "endpoint": self.endpoint,
                "threshold": self.rule.label,
                "threshold_kind": self.rule.kind,
                "threshold_value": self.rule.value,
                "time_origin": "treatment (day 0)"
                if self.endpoint == "response" or self.origin == "treatment"
                else "first response",
                "time_source": self.time_source,
                "arm_attribute": self.design.attribute if self.design.has_arms else None,
                "comparator": self.design.comparator if self.design.has_arms else None,
                "medians": self.medians.to_dict("records"),
                "event_free_at": self.landmarks.to_dict("records"),
                "log_rank": None if self.log_rank is None else self.log_rank.to_dict(),
                "cox": None if self.cox is None else self.cox.to_dict(),
                "cox_note": self.cox_note,
                "covariates": list(self.covariates),
                "n_patients": len(self.patients),
                "excluded": self.excluded.to_dict("records"),
                "notes": self.notes,
                "interval_censoring": INTERVAL_CENSORING_NOTE,
            }
        )


def _visit_times(dataset: Dataset, outcome: str) -> tuple[pd.DataFrame, str, int]:
    """The outcome's values with a time each: (rows, time source in words, rows without time)."""
    long = dataset.long
    rows = long.loc[(long["outcome"] == outcome) & long["value"].notna()]
    rows = pd.DataFrame(
        {
            "patient_id": rows["patient_id"].astype(str).to_numpy(),
            "visit": rows["visit"].astype(str).to_numpy(),
            "day": pd.to_numeric(rows["day"], errors="coerce").to_numpy(dtype=float),
            "value": rows["value"].to_numpy(dtype=float),
        }
    )
    nominal = {v: nominal_day(v) for v in dataset.visits}
    named = rows["visit"].map(lambda v: nominal.get(v)).astype(float)
    recorded = rows["day"].notna()
    rows["time"] = rows["day"].where(recorded, named)
    rows["order"] = rows["visit"].map({v: i for i, v in enumerate(dataset.visits)})
    used_named = int((~recorded & named.notna()).sum())
    if recorded.all():
        source = "recorded days (days since treatment)"
    elif not recorded.any():
        source = "nominal visit times from the visit labels (the file has no day)"
    else:
        source = (
            f"recorded days, and the visit label's nominal time for {used_named} value(s) "
            "without a day"
        )
    missing = int(rows["time"].isna().sum())
    return rows.loc[rows["time"].notna()], source, missing


def patient_event_times(
    dataset: Dataset,
    outcome: str,
    rule: ResponseRule,
    direction: Direction | None,
    endpoint: Endpoint = "response",
    origin: Origin = "response",
) -> tuple[pd.DataFrame, pd.DataFrame, str, list[str]]:
    """(patients, excluded, time source, notes): one row per patient with time, event and the
    interval the event lies in; every patient left out with the reason."""
    if direction is None:
        raise ValueError(
            "The direction of improvement of this outcome is unknown: set it to define a response."
        )
    rows, source, no_time = _visit_times(dataset, outcome)
    notes = []
    if no_time:
        notes.append(
            f"{no_time} value(s) have neither a recorded day nor a visit label that names a time "
            "and were not used."
        )
    sign = -1.0 if direction == "lower" else 1.0
    baseline = dataset.baseline
    base_order = dataset.visits.index(baseline)
    base = (
        rows.loc[rows["visit"] == baseline]
        .drop_duplicates("patient_id")
        .set_index("patient_id")["value"]
    )
    follow = rows.loc[rows["order"] > base_order].sort_values(["patient_id", "time", "order"])
    records, excluded = [], []
    by_patient = dict(list(follow.groupby("patient_id", sort=False, observed=True)))
    everyone = [str(p) for p in dataset.patients]
    for patient in everyone:
        if patient not in base.index:
            excluded.append((patient, f"no {baseline} value"))
            continue
        b = float(base[patient])
        visits = by_patient.get(patient)
        if visits is None or visits.empty:
            excluded.append((patient, "no follow-up value"))
            continue
        if rule.kind == "percent" and b == 0:
            excluded.append((patient, "baseline 0: percent change undefined"))
            continue
        if (visits["time"] <= 0).any():
            visits = visits.loc[visits["time"] > 0]
            if visits.empty:
                excluded.append((patient, "follow-up values only on or before day 0"))
                continue
        change = sign * (visits["value"].to_numpy() - b)
        improvement = 100 * change / abs(b) if rule.kind == "percent" else change
        meets = improvement >= rule.value - 1e-9
        times = visits["time"].to_numpy(dtype=float)
        labels = visits["visit"].to_numpy()
        hit = np.flatnonzero(meets)
        record: dict[str, object] = {"patient_id": patient, "last_assessed": float(times[-1])}
        if endpoint == "response":
            if len(hit):
                i = int(hit[0])
                record.update(
                    time=float(times[i]), event=True, visit=str(labels[i]),
                    interval_low=float(times[i - 1]) if i else 0.0,
                )  # fmt: skip
            else:
                record.update(
                    time=float(times[-1]), event=False, visit=str(labels[-1]), interval_low=None
                )
            records.append(record)
            continue
        if not len(hit):
            excluded.append((patient, "never responded (no response to lose)"))
            continue
        first = int(hit[0])
        start = float(times[first]) if origin == "response" else 0.0
        later = np.flatnonzero(~meets[first + 1 :])
        record["first_response"] = float(times[first])
        if len(later):
            i = first + 1 + int(later[0])
            record.update(
                time=float(times[i]) - start, event=True, visit=str(labels[i]),
                interval_low=float(times[i - 1]) - start,
            )  # fmt: skip
        else:
            record.update(
                time=float(times[-1]) - start, event=False, visit=str(labels[-1]),
                interval_low=None,
            )  # fmt: skip
        records.append(record)
    patients = pd.DataFrame(
        records,
        columns=[
            "patient_id", "time", "event", "visit", "interval_low", "first_response",
            "last_assessed",
        ],
    )  # fmt: skip
    patients["event"] = patients["event"].astype(bool)
    return patients, pd.DataFrame(excluded, columns=["patient_id", "reason"]), source, notes


def _arms(dataset: Dataset, design: ArmDesign, ids: pd.Series) -> pd.Series:
    """Each patient's arm (ALL without arms; None where the arm is missing)."""
    if not design.has_arms:
        return pd.Series(ALL, index=ids.index)
    assert design.attribute is not None
    arms = dataset.attributes[design.attribute].astype(object)
    arms.index = arms.index.astype(str)
    return ids.map(arms).astype(object).where(lambda s: s.notna(), None)


def default_landmarks(dataset: Dataset, outcome: str) -> list[float]:
    """Each follow-up visit's typical time (median recorded day, else the label's time)."""
    rows, _, _ = _visit_times(dataset, outcome)
    follow = rows.loc[rows["visit"] != dataset.baseline]
    typical = follow.groupby("visit", sort=False, observed=True)["time"].median()
    days = sorted({round(float(t)) for t in typical if t > 0})
    return [float(d) for d in days]


def time_to_event(
    dataset: Dataset,
    outcome: str,
    threshold: str,
    design: ArmDesign,
    *,
    endpoint: Endpoint = "response",
    direction: Direction | None = None,
    covariates: Sequence[str] = (),
    landmarks: Sequence[float] | None = None,
    origin: Origin = "response",
) -> TimeToEvent:
    """Kaplan-Meier per arm with medians (R's survfit), event-free shares at ``landmarks``,
    the log-rank test (R's survdiff) and a Cox model of arm and ``covariates`` (R's coxph)."""
    instrument = lookup(outcome, direction)
    rule = response_rule(threshold, instrument)
    patients, excluded, source, notes = patient_event_times(
        dataset, outcome, rule, instrument.direction, endpoint, origin
    )
    patients.insert(1, "arm", _arms(dataset, design, patients["patient_id"]))
    no_arm = patients["arm"].isna()
    if no_arm.any():
        excluded = pd.concat(
            [excluded, pd.DataFrame({"patient_id": patients.loc[no_arm, "patient_id"],
                                     "reason": "no arm recorded"})],
            ignore_index=True,
        )  # fmt: skip
        patients = patients.loc[~no_arm].reset_index(drop=True)
    levels = list(design.levels) if design.has_arms else [ALL]
    fits = {}
    for level in levels:
        part = patients.loc[patients["arm"] == level]
        if len(part):
            fits[level] = kaplan_meier(part["time"], part["event"])
    if landmarks is None:
        landmarks = default_landmarks(dataset, outcome)
        if endpoint == "loss of response" and origin == "response":
            longest = float(patients["time"].max()) if len(patients) else 0.0
            landmarks = [t for t in DURATION_LANDMARKS if t <= longest] or [longest]
    medians, rates = [], []
    for level, fit in fits.items():
        medians.append(
            {"arm": level, "n": fit.n, "events": fit.n_events, "censored": fit.n - fit.n_events,
             "median": fit.median, "ci_low": fit.median_ci[0], "ci_high": fit.median_ci[1]}
        )  # fmt: skip
        at = fit.at(list(landmarks))
        at.insert(0, "arm", level)
        rates.append(at)
    test = None
    if design.has_arms and patients["arm"].nunique() >= 2:
        test = log_rank(patients["time"], patients["event"], patients["arm"])
    cox, cox_note = _cox(dataset, design, patients, covariates)
    return TimeToEvent(
        outcome=outcome,
        instrument=instrument,
        endpoint=endpoint,
        rule=rule,
        origin=origin,
        time_source=source,
        design=design,
        patients=patients,
        excluded=excluded,
        fits=fits,
        medians=pd.DataFrame(
            medians, columns=["arm", "n", "events", "censored", "median", "ci_low", "ci_high"]
        ),
        landmarks=pd.concat(rates, ignore_index=True) if rates else pd.DataFrame(),
        log_rank=test,
        cox=cox,
        cox_note=cox_note,
        covariates=tuple(covariates),
        notes=notes,
    )


def cox_design(
    dataset: Dataset, design: ArmDesign, patients: pd.DataFrame, covariates: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """The Cox model's columns (arm indicators against the comparator, numeric covariates as
    they are, categorical ones as indicators against their first level in sorted order) and
    a mask of the patients with every covariate recorded."""
    columns: dict[str, pd.Series] = {}
    index = patients.index
    if design.has_arms:
        for level in design.treated:
            columns[f"{design.attribute}: {level} vs {design.comparator}"] = (
                patients["arm"] == level
            ).astype(float)
    attributes = dataset.attributes.copy()
    attributes.index = attributes.index.astype(str)
    complete = pd.Series(True, index=index)
    for name in covariates:
        if name not in attributes.columns:
            raise ValueError(f"There is no attribute {name!r} in the data.")
        values = patients["patient_id"].map(attributes[name])
        complete &= values.notna()
        numeric = pd.to_numeric(values, errors="coerce")
        if values.notna().sum() and numeric.notna().sum() == values.notna().sum():
            columns[name] = numeric.astype(float)
            continue
        text = values.astype(object).where(values.notna(), None)
        levels = sorted({str(v) for v in text.dropna()})
        for level in levels[1:]:
            columns[f"{name}: {level} vs {levels[0]}"] = (text.astype(str) == level).astype(float)
    return pd.DataFrame(columns, index=index), complete


def _cox(
    dataset: Dataset, design: ArmDesign, patients: pd.DataFrame, covariates: Sequence[str]
) -> tuple[CoxModel | None, str]:
    """The Cox model, or None with the reason it was not fitted."""
    if not design.has_arms and not covariates:
        return None, "No arms and no covariates: there is no hazard ratio to estimate."
    frame, complete = cox_design(dataset, design, patients, covariates)
    note = ""
    if (~complete).any():
        note = f"{int((~complete).sum())} patient(s) without every covariate were left out. "
    frame = frame.loc[complete]
    used = patients.loc[complete]
    constant = [c for c in frame.columns if frame[c].nunique() < 2]
    if constant:
        frame = frame.drop(columns=constant)
        note += "Left out of the model (the same for every patient): " + ", ".join(constant) + ". "
    if frame.empty or not used["event"].any():
        return None, note + "Too little information for a Cox model (no events or no contrast)."
    try:
        model = cox_model(used["time"], used["event"], frame)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return None, note + f"The Cox model could not be fitted: {exc}"
    return model, note.strip()
