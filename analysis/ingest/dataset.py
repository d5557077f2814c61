"""The loaded cohort: canonical long table, per-patient attributes, visit order and baseline."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.ingest.codes import label_codes
from analysis.ingest.findings import ValidationReport
from analysis.ingest.visits import match_visit


@dataclass
class Dataset:
    """A validated cohort, ready for every analysis."""

    long: pd.DataFrame  # patient_id, visit, day, outcome, value, source_row, source_column
    attributes: pd.DataFrame  # index patient_id
    visits: list[str]  # in time order
    visit_order_rule: str
    baseline: str
    source_name: str
    source_format: str
    report: ValidationReport
    synthetic: bool = False
    event_map: dict[str, str] = field(default_factory=dict)  # REDCap event -> visit label
    visit_map: dict[str, str] = field(default_factory=dict)  # label in the file -> visit
    # What this cohort is: the source's SHA-256 with every load option, baseline and cohort
    # filter (set by whoever loads and filters it); the key of every cached analysis.
    fingerprint: str = ""

    @property
    def outcomes(self) -> list[str]:
        """Outcome codes in order of first appearance."""
        return [str(v) for v in pd.unique(self.long["outcome"])]

    @property
    def patients(self) -> list[str]:
        """Patient IDs in order of first appearance."""
        return [str(v) for v in pd.unique(self.long["patient_id"])]

    @property
    def n_patients(self) -> int:
        """Number of patients with at least one value."""
        return int(self.long["patient_id"].nunique())

    @property
    def follow_up_visits(self) -> list[str]:
        """Every visit but the baseline, in time order."""
        return [v for v in self.visits if v != self.baseline]

    def with_baseline(self, visit: str) -> Dataset:
        """The same data with another visit as baseline (a user's choice)."""
        if visit not in self.visits:
            raise ValueError(f"{visit!r} is not a visit in this data")
        return replace(self, baseline=visit)

    def find_visit(self, given: str) -> str | None:
        """The visit a name typed on the command line or in a link means (case, spaces and
        time-insensitive: "baseline" finds "Baseline", "6 months" finds "m6"), or None."""
        return match_visit(given, self.visits)

    def default_follow_up_visit(self, outcome: str) -> str | None:
        """The latest follow-up visit that at least half of the patients with ``outcome`` at
        baseline reached, never one where a single patient has it; None without follow-up.

        When no visit is reached by half, the visit reached by the most (the latest on a tie)
        among those held by two or more patients; with one patient, the latest visit."""
        table = self.wide(outcome)
        follow = [v for v in self.follow_up_visits if v in table.columns]
        if not follow:
            return None
        held = table[follow].notna().sum()
        if self.baseline in table.columns:
            at_baseline = table[self.baseline].notna().to_numpy()
            reached = table.loc[at_baseline, follow].notna().sum()
            n_baseline = int(at_baseline.sum())
        else:
            reached, n_baseline = held * 0, 0
        several = [v for v in follow if held[v] >= 2]
        half = [v for v in several if n_baseline and 2 * reached[v] >= n_baseline]
        if half:
            return half[-1]
        if several:
            return max(reversed(several), key=lambda v: reached[v])
        return follow[-1]

    def patients_without_visit(self, visit: str) -> list[str]:
        """Patients with some value but none at ``visit``, in order of first appearance."""
        codes, labels = label_codes(self.long["patient_id"])
        at_visit = (self.long["visit"] == visit).to_numpy()
        present = np.zeros(len(labels), dtype=bool)
        present[codes[at_visit]] = True
        missing = ~present[codes]
        return [str(labels[c]) for c in pd.unique(codes[missing])]

    def wide(self, outcome: str) -> pd.DataFrame:
        """Patients × visits for one outcome (visits in time order; NaN where not recorded)."""
        subset = self.long.loc[self.long["outcome"] == outcome]
        table = subset.pivot(index="patient_id", columns="visit", values="value")
        table.index = pd.Index(table.index.astype(str), name="patient_id")
        table.columns = pd.Index(table.columns.astype(str), name="visit")
        return table.reindex(columns=[v for v in self.visits if v in table.columns])

    def completeness(self) -> pd.DataFrame:
        """Per visit: patients with any value, and as a share of patients seen at baseline."""
        seen = self.long.groupby("visit", observed=True)["patient_id"].nunique()
        seen = seen.reindex(self.visits, fill_value=0)
        n_base = int(seen.get(self.baseline, 0))
        share = seen / n_base if n_base else seen * float("nan")
        return pd.DataFrame(
            {
                "visit": self.visits,
                "patients with data": seen.to_numpy(),
                "% of baseline": (share * 100).round(0).to_numpy(),
            }
        )

    def outcome_completeness(self) -> pd.DataFrame:
        """Outcomes × visits: number of patients with a value."""
        counts = (
            self.long.groupby(["outcome", "visit"], observed=True)["patient_id"].nunique().unstack()
        )
        return counts.reindex(index=self.outcomes, columns=self.visits).fillna(0).astype(int)
