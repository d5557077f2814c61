"""Generate the synthetic demo adverse-event table (data/demo_adverse_events.csv). Seeded.

SYNTHETIC: invented events of the invented patients of data/demo_cohort.csv (SYN-001 to
SYN-150), labelled in every row (``data_origin``). Not evidence of anything.

Calibration. Each term has a risk over 12 months under standard care (an assumption of this
generator, typical of a type 2 diabetes population with neuropathy) and an odds ratio for the
MSC arm: where the meta-analysis of 62 randomised MSC trials found an association, its pooled
odds ratio (Wang, Yi & Song 2021, Stem Cell Res Ther 12:545: transient fever 3.65,
administration-site events 1.98, constipation 2.45, fatigue 2.99, sleeplessness 5.90,
arrhythmia 0.62); else 1 (no association was found for infection, thrombosis, malignancy or
death). The MSC arm's risk is the control risk moved by the odds ratio,
p1 = OR·p0 / (1 − p0 + OR·p0). Risks of events that can happen at any time scale with each
patient's follow-up (last visit day / 365); fever and administration-site events happen in
the days after the injection. Patients whose cells came from their own bone marrow may have
pain at the harvest site (a procedure-related event). Under standard care "injection site"
events are insulin injection-site reactions: the term matches the special-interest rule all
the same, as it would in real data.

Run: python data/make_demo_adverse_events.py  (reads data/demo_cohort.csv, writes
data/demo_adverse_events.csv)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261124
HERE = Path(__file__).resolve().parent
ORIGIN = "SYNTHETIC demo - not real patients"
GENERAL = "General disorders and administration site conditions"
INFECTIONS = "Infections and infestations"
GASTRO = "Gastrointestinal disorders"
CARDIAC = "Cardiac disorders"
VASCULAR = "Vascular disorders"


@dataclass(frozen=True)
class Term:
    term: str
    category: str
    risk: float  # over 12 months under standard care
    odds_ratio: float  # MSC against standard care
    onset: str  # "early" (days 0-2 after the injection) or "any" (over follow-up)
    days: tuple[int, int]  # duration range; (0, 0): ongoing, no end day
    grades: tuple[float, ...]  # probabilities of grade 1, 2, 3, 4, 5
    serious_from_grade: int = 3  # grade at or above which an event is serious
    related_msc: tuple[float, float, float] = (0.05, 0.85, 0.10)  # cells, not related, unknown
    msc_only: bool = False  # e.g. harvest-site pain: autologous bone marrow only


TERMS: tuple[Term, ...] = (
    Term("Pyrexia", GENERAL, 0.05, 3.65, "early", (1, 3), (0.7, 0.25, 0.05), 4, (0.85, 0.05, 0.10)),
    Term("Injection site pain", GENERAL, 0.03, 1.98, "early", (2, 10), (0.75, 0.25), 4),
    Term("Injection site haematoma", GENERAL, 0.01, 1.98, "early", (5, 14), (0.8, 0.2), 4),
    Term("Fatigue", GENERAL, 0.06, 2.99, "any", (3, 30), (0.7, 0.3), 4, (0.30, 0.60, 0.10)),
    Term("Constipation", GASTRO, 0.04, 2.45, "any", (3, 14), (0.8, 0.2), 4, (0.25, 0.65, 0.10)),
    Term("Insomnia", "Psychiatric disorders", 0.02, 5.90, "any", (7, 60), (0.7, 0.3), 4,
         (0.30, 0.60, 0.10)),
    Term("Nausea", GASTRO, 0.05, 1.0, "any", (1, 5), (0.8, 0.2), 4),
    Term("Headache", "Nervous system disorders", 0.08, 1.0, "any", (1, 3), (0.8, 0.2), 4),
    Term("Nasopharyngitis", INFECTIONS, 0.10, 1.0, "any", (5, 10), (0.85, 0.15), 4),
    Term("Urinary tract infection", INFECTIONS, 0.07, 1.0, "any", (5, 14), (0.5, 0.4, 0.1)),
    Term("Cellulitis", INFECTIONS, 0.04, 1.0, "any", (7, 28), (0.2, 0.5, 0.3)),
    Term("Hypoglycaemia", "Metabolism and nutrition disorders", 0.10, 1.0, "any", (1, 1),
         (0.6, 0.3, 0.1)),
    Term("Diabetic foot ulcer", "Skin and subcutaneous tissue disorders", 0.05, 1.0, "any",
         (30, 120), (0.3, 0.5, 0.2)),
    Term("Atrial fibrillation", CARDIAC, 0.03, 0.62, "any", (0, 0), (0.2, 0.5, 0.3)),
    Term("Hypertension", VASCULAR, 0.05, 1.0, "any", (0, 0), (0.5, 0.5)),
    Term("Deep vein thrombosis", VASCULAR, 0.01, 1.0, "any", (60, 180), (0.0, 0.5, 0.5)),
    Term("Basal cell carcinoma", "Neoplasms benign, malignant and unspecified", 0.01, 1.0, "any",
         (30, 90), (0.0, 0.3, 0.7), 2),
    Term("Myocardial infarction", CARDIAC, 0.015, 1.0, "any", (5, 20), (0.0, 0.0, 0.5, 0.2, 0.3)),
)  # fmt: skip
HARVEST = Term("Procedural pain (bone marrow harvest site)",
               "Injury, poisoning and procedural complications", 0.25, 1.0, "early", (2, 7),
               (0.7, 0.3), 4, msc_only=True)  # fmt: skip
PROCEDURE_TERMS = {"Injection site pain", "Injection site haematoma", HARVEST.term}


def _msc_risk(p0: float, odds_ratio: float) -> float:
    return odds_ratio * p0 / (1 - p0 + odds_ratio * p0)


def _patients() -> pd.DataFrame:
    cohort = pd.read_csv(HERE / "demo_cohort.csv", dtype={"patient_id": str})
    last = cohort.groupby("patient_id")["day"].max().clip(lower=0)
    first = cohort.groupby("patient_id")[["arm", "cell_source"]].first()
    return first.assign(last_day=last).reset_index()


def _relatedness(rng: np.random.Generator, term: Term, msc: bool) -> str:
    if term.term in PROCEDURE_TERMS:
        return "procedure" if msc else "not related"
    if not msc:
        return str(rng.choice(["not related", "unknown"], p=[0.9, 0.1]))
    return str(rng.choice(["cells", "not related", "unknown"], p=term.related_msc))


def generate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for patient in _patients().itertuples():
        msc = patient.arm == "MSC"
        follow = float(patient.last_day)
        terms = (
            [*TERMS, HARVEST]
            if msc and patient.cell_source == "autologous bone marrow"
            else (list(TERMS))
        )
        for term in terms:
            risk = _msc_risk(term.risk, term.odds_ratio) if msc else term.risk
            if term.msc_only and not msc:
                continue
            if term.onset == "any":
                risk *= min(follow / 365.0, 1.25)
            if follow <= 0 and term.onset == "any":
                continue
            if rng.random() >= risk:
                continue
            n_events = 1 + int(term.term == "Hypoglycaemia") * int(rng.poisson(0.8))
            for _ in range(n_events):
                start = (
                    int(rng.integers(0, 3))
                    if term.onset == "early"
                    else int(rng.integers(1, max(int(follow), 2)))
                )
                grades = np.array(term.grades) / sum(term.grades)
                grade = int(rng.choice(np.arange(1, len(grades) + 1), p=grades))
                fatal = grade == 5
                end: float | None
                if fatal:  # death ends follow-up: the event comes just after the last visit
                    start = int(follow) + int(rng.integers(1, 20))
                    end = float(start + rng.integers(0, 10))
                elif term.days == (0, 0):
                    end = None
                else:
                    end = float(start + rng.integers(term.days[0], term.days[1] + 1))
                ongoing = end is None or end > follow
                outcome = "fatal" if fatal else "not recovered" if ongoing else "recovered"
                serious = grade >= term.serious_from_grade
                action = "none"
                if fatal or (serious and rng.random() < 0.3):
                    action = "withdrawn from study"
                rows.append(
                    {
                        "patient_id": patient.patient_id,
                        "term": term.term,
                        "category": term.category,
                        "start_day": start,
                        "end_day": None if ongoing and not fatal else end,
                        "grade": grade,
                        "serious": "yes" if serious else "no",
                        "related": _relatedness(rng, term, msc),
                        "outcome": outcome,
                        "action": action,
                        "data_origin": ORIGIN,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["end_day"] = frame["end_day"].astype("Int64")
    return frame.sort_values(["patient_id", "start_day", "term"], kind="stable").reset_index(
        drop=True
    )


def main() -> None:
    path = HERE / "demo_adverse_events.csv"
    generate().to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
