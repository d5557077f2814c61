"""Generate the synthetic demo cohort (data/demo_cohort.csv). Seeded: the same file every run.

150 synthetic patients treated with mesenchymal stem cells for painful diabetic peripheral
neuropathy, followed at baseline, 1, 3, 6 and 12 months. Calibrated to published figures:
- TCSS 12.6 ± 2.2 at baseline, about 9.7 at 1 month and 8.5 at 3 months, and motor conduction
  velocity from 38.2 to about 41.0 m/s by 12 months (Mao et al. 2019, Chin Med J: 168 patients,
  intramuscular autologous bone-marrow cells);
- pain NRS about 6 ± 1.6 at baseline falling by about 2 points, the size of the placebo
  response in painful DPN trials.
Pain and sleep scores vary from day to day (SD 1 point around each patient's usual level) and
patients are enrolled only with a baseline pain score of 4 or more, as in trials: so, as in
real cohorts, those who enrol on a bad day score lower later (regression to the mean).
About 110 patients received MSC and about 40 form a synthetic standard-care comparator arm
(attribute `arm`). Patients fall into three latent classes (responders, non-responders, and
some who worsen; far fewer responders under standard care);
dropout grows with time and some visits are missed. Nerve conduction is measured at baseline,
6 and 12 months only; HbA1c at baseline, 3, 6 and 12 months.

Run: python data/make_demo_cohort.py  (writes data/demo_cohort.csv)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261123
N_PATIENTS = 150
VISITS = ("baseline", "m1", "m3", "m6", "m12")
NOMINAL_DAY = {"baseline": -7, "m1": 30, "m3": 91, "m6": 182, "m12": 365}
DAY_JITTER = {"baseline": 7, "m1": 4, "m3": 7, "m6": 10, "m12": 14}
# Probability of dropping out before each follow-up visit (conditional on still being followed).
DROPOUT = {"m1": 0.03, "m3": 0.05, "m6": 0.08, "m12": 0.12}
MISSED_VISIT = 0.05
MISSED_ITEM = 0.02
DAY_TO_DAY_SD = {"pain_nrs": 1.0, "sleep_interference": 1.0}  # patient-reported, noisy
ENROL_MIN_PAIN = 4  # inclusion criterion on the observed baseline pain score
CLASSES = ("responder", "non-responder", "worsens")
CLASS_P = {"MSC": (0.60, 0.28, 0.12), "standard care": (0.15, 0.70, 0.15)}
ARM_P = {"MSC": 0.73, "standard care": 0.27}  # a synthetic comparator arm, about 40 patients

# outcome: (baseline mean, baseline SD, lower bound, upper bound, decimals, visits measured,
#           mean change by visit for each class, residual SD of change)
OUTCOMES: dict[str, dict] = {
    "pain_nrs": dict(
        mean=6.0, sd=1.6, low=0, high=10, decimals=0, visits=VISITS,
        change={"responder": (-3.0, -3.9, -3.8, -3.4), "non-responder": (-0.5, -0.4, -0.3, -0.2),
                "worsens": (0.6, 1.0, 1.2, 1.4)},
        noise=1.0,
    ),
    "sleep_interference": dict(
        mean=5.4, sd=2.0, low=0, high=10, decimals=0, visits=VISITS,
        change={"responder": (-1.8, -2.5, -2.5, -2.2), "non-responder": (-0.3, -0.3, -0.2, 0.0),
                "worsens": (0.5, 0.8, 1.0, 1.0)},
        noise=1.1,
    ),
    "tcss": dict(
        mean=12.6, sd=2.2, low=0, high=19, decimals=0, visits=VISITS,
        change={"responder": (-5.0, -7.2, -6.8, -5.8), "non-responder": (-0.8, -1.2, -1.0, -0.6),
                "worsens": (0.5, 1.0, 1.4, 1.8)},
        noise=1.3,
    ),
    "mnsi_exam": dict(
        mean=5.6, sd=1.5, low=0, high=10, decimals=1, visits=VISITS,
        change={"responder": (-0.8, -1.4, -1.5, -1.3), "non-responder": (-0.1, -0.2, -0.1, 0.0),
                "worsens": (0.3, 0.5, 0.7, 0.9)},
        noise=0.6,
    ),
    "monofilament": dict(
        mean=5.2, sd=2.0, low=0, high=10, decimals=0, visits=VISITS,
        change={"responder": (0.8, 1.6, 1.8, 1.6), "non-responder": (0.1, 0.2, 0.1, 0.0),
                "worsens": (-0.4, -0.7, -0.9, -1.1)},
        noise=0.9,
    ),
    "vpt": dict(
        mean=28.0, sd=8.0, low=0, high=50, decimals=1, visits=VISITS,
        change={"responder": (-2.0, -4.0, -4.6, -4.2), "non-responder": (-0.4, -0.6, -0.4, 0.0),
                "worsens": (1.0, 2.0, 2.6, 3.2)},
        noise=2.5,
    ),
    "peroneal_mcv": dict(
        mean=38.2, sd=4.0, low=0, high=100, decimals=1, visits=("baseline", "m6", "m12"),
        change={"responder": (3.0, 4.5), "non-responder": (0.5, 0.8), "worsens": (-0.6, -1.0)},
        noise=1.5,
    ),
    "sural_snap": dict(
        mean=5.5, sd=2.5, low=0, high=100, decimals=1, visits=("baseline", "m6", "m12"),
        change={"responder": (0.9, 1.3), "non-responder": (0.1, 0.2), "worsens": (-0.3, -0.5)},
        noise=0.8,
    ),
    "norfolk_qol": dict(
        mean=46.0, sd=15.0, low=-4, high=136, decimals=0, visits=VISITS,
        change={"responder": (-8.0, -13.0, -13.0, -11.0), "non-responder": (-2.0, -2.0, -1.0, 0.0),
                "worsens": (3.0, 5.0, 6.0, 7.0)},
        noise=6.0,
    ),
    "hba1c": dict(
        mean=None, sd=None, low=3, high=20, decimals=1, visits=("baseline", "m3", "m6", "m12"),
        change={c: (-0.1, -0.2, -0.2) for c in CLASSES},
        noise=0.5,
    ),
}  # fmt: skip


def _attributes(rng: np.random.Generator) -> pd.DataFrame:
    n = N_PATIENTS
    arm = rng.choice(list(ARM_P), size=n, p=list(ARM_P.values()))
    control = arm == "standard care"
    source = rng.choice(["autologous bone marrow", "umbilical cord"], size=n, p=[0.6, 0.4])
    route = rng.choice(["intramuscular", "intra-arterial"], size=n, p=[0.75, 0.25])
    dose = rng.choice([20, 50, 100], size=n, p=[0.3, 0.45, 0.25])
    source = np.where(control, "none (standard care)", source)
    route = np.where(control, "none (standard care)", route)
    dose = np.where(control, 0, dose)
    age = rng.normal(61, 9, size=n).clip(35, 84)
    age_band = pd.cut(age, [0, 49, 59, 69, 120], labels=["<50", "50-59", "60-69", "70+"])
    dm_type = rng.choice(["type 2", "type 1"], size=n, p=[0.9, 0.1])
    duration = rng.gamma(4.0, 3.2, size=n).clip(1, 40).round(0)
    hba1c = rng.normal(8.0, 1.2, size=n).clip(5.6, 12.5).round(1)
    return pd.DataFrame(
        {
            "patient_id": [f"SYN-{i:03d}" for i in range(1, n + 1)],
            "arm": arm,
            "cell_source": source,
            "route": route,
            "dose_million_cells": dose,
            "diabetes_type": dm_type,
            "sex": rng.choice(["female", "male"], size=n, p=[0.45, 0.55]),
            "age_band": age_band.astype(str),
            "diabetes_duration_years": duration,
            "baseline_hba1c": hba1c,
            "data_origin": "SYNTHETIC demo - not real patients",
        }
    )


def _last_visit_index(rng: np.random.Generator) -> np.ndarray:
    """Index of the last visit each patient attends before dropping out (0 = baseline only)."""
    last = np.full(N_PATIENTS, len(VISITS) - 1)
    still_in = np.ones(N_PATIENTS, dtype=bool)
    for i, visit in enumerate(VISITS[1:], start=1):
        drops = still_in & (rng.random(N_PATIENTS) < DROPOUT[visit])
        last[drops] = i - 1
        still_in &= ~drops
    return last


def generate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    attributes = _attributes(rng)
    latent = np.array(
        [rng.choice(CLASSES, p=CLASS_P[arm]) for arm in attributes["arm"]], dtype=object
    )
    last = _last_visit_index(rng)
    attended = np.zeros((N_PATIENTS, len(VISITS)), dtype=bool)
    for i in range(len(VISITS)):
        attended[:, i] = (last >= i) & ((i == 0) | (rng.random(N_PATIENTS) > MISSED_VISIT))
    days = {
        v: np.round(NOMINAL_DAY[v] + rng.uniform(-DAY_JITTER[v], DAY_JITTER[v], N_PATIENTS))
        for v in VISITS
    }
    days["baseline"] = np.minimum(days["baseline"], 0)
    # A patient-level tendency shared by all outcomes: who improves does so across measures.
    tendency = rng.normal(1.0, 0.25, N_PATIENTS).clip(0.3, 1.7)

    rows = []
    for outcome, spec in OUTCOMES.items():
        noise_sd = DAY_TO_DAY_SD.get(outcome, 0.0)
        if outcome == "hba1c":
            usual = attributes["baseline_hba1c"].to_numpy()
        else:
            # The usual level has the spread left after day-to-day variation.
            usual = rng.normal(spec["mean"], np.sqrt(spec["sd"] ** 2 - noise_sd**2), N_PATIENTS)
        observed = usual + rng.normal(0, noise_sd, N_PATIENTS)
        if outcome == "pain_nrs":
            # Enrolment on the observed score: redraw the day until it meets the criterion.
            while (low := observed < ENROL_MIN_PAIN - 0.5).any():
                usual[low] = rng.normal(spec["mean"], np.sqrt(spec["sd"] ** 2 - 1), low.sum())
                observed[low] = usual[low] + rng.normal(0, noise_sd, low.sum())
        base = np.round(observed.clip(spec["low"], spec["high"]), spec["decimals"])
        follow_visits = spec["visits"][1:]
        for visit in spec["visits"]:
            col = VISITS.index(visit)
            if visit == "baseline":
                values = base
            else:
                mean_change = np.array(
                    [spec["change"][c][follow_visits.index(visit)] for c in latent]
                )
                values = (
                    usual
                    + mean_change * tendency
                    + rng.normal(0, np.hypot(spec["noise"], noise_sd), N_PATIENTS)
                )
                values = np.round(values.clip(spec["low"], spec["high"]), spec["decimals"])
            present = attended[:, col] & (rng.random(N_PATIENTS) > MISSED_ITEM)
            if visit == "baseline":
                present = np.ones(N_PATIENTS, dtype=bool)  # everyone is assessed before treatment
            for p in np.flatnonzero(present):
                rows.append(
                    (attributes.at[p, "patient_id"], visit, days[visit][p], outcome, values[p])
                )
    long = pd.DataFrame(rows, columns=["patient_id", "visit", "day", "outcome", "value"])
    long["day"] = long["day"].astype(int)
    long = long.merge(attributes, on="patient_id")
    long["visit_order"] = long["visit"].map(VISITS.index)
    long["outcome_order"] = long["outcome"].map(list(OUTCOMES).index)
    long = long.sort_values(["patient_id", "visit_order", "outcome_order"], kind="stable")
    long = long.drop(columns=["visit_order", "outcome_order"])
    return long.reset_index(drop=True)


def main() -> None:
    path = Path(__file__).resolve().parent / "demo_cohort.csv"
    generate().to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
