"""Which values are missing, for whom and when: per-patient patterns, the pattern table, dropout
over time by arm, reasons for discontinuation, and the data behind the missingness map.

Patterns of one outcome over its visits (baseline included), in the terms of Little & Rubin
(2019, Statistical Analysis with Missing Data, ch. 1) and the NRC report (2010):
- complete: a value at every visit;
- dropout after <visit>: values up to that visit and none after it (monotone);
- intermittent: a visit missing before a later one with a value (a missing baseline included);
- no values: none of the outcome at any visit.
Reporting completion and reasons per arm is what CONSORT and the pain-trial recommendations ask
for (Gewandter et al. 2014, Pain 155:1871). Numbers only; figures are in
analysis.present.figures_missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.ingest.dataset import Dataset
from analysis.stats.arms import ArmDesign
from analysis.stats.imputation.results import json_ready

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

COMPLETE = "complete"
INTERMITTENT = "intermittent"
NO_VALUES = "no values"
NO_ARM = "arm not recorded"
ALL = "all"
NOT_RECORDED = "not recorded"
# Past this many patients the map shows one row per (arm, pattern) with its count.
MAP_MAX_ROWS = 2000
# Attribute names that hold the reason a patient stopped (matched ignoring case, spaces, _ and -).
REASON_NAMES = (
    "discontinuation_reason",
    "reason_for_discontinuation",
    "dropout_reason",
    "reason_for_dropout",
    "reason_for_withdrawal",
    "withdrawal_reason",
    "reason_discontinued",
    "disposition",
    "status",
)


def dropout_label(visit: str) -> str:
    """The pattern name of a monotone dropout after `visit`."""
    return f"dropout after {visit}"


@dataclass(frozen=True, eq=False)
class PatientPatterns:
    """Per patient: arm, observed visits, pattern, last visit with a value."""

    outcome: str
    visits: tuple[str, ...]
    arms: tuple[str, ...]  # display order (treated arms, comparator, then NO_ARM), or (ALL,)
    table: pd.DataFrame  # patient_id, arm, pattern, n_observed, last_observed, dropout_index
    observed: BoolArray  # (patients, visits), rows as in `table`

    @property
    def n_patients(self) -> int:
        """Patients described (everyone in the data, whether or not the outcome was measured)."""
        return len(self.table)

    def pattern_order(self) -> list[str]:
        """Patterns from most to least complete."""
        drop = [dropout_label(v) for v in reversed(self.visits[:-1])]
        return [COMPLETE, *drop, INTERMITTENT, NO_VALUES]


def _arm_labels(dataset: Dataset, design: ArmDesign | None, ids: pd.Index) -> pd.Series:
    if design is None or not design.has_arms:
        return pd.Series(ALL, index=ids, dtype=object)
    assert design.attribute is not None
    arms = dataset.attributes[design.attribute].astype(object)
    arms.index = arms.index.astype(str)
    out = arms.reindex(ids)
    return out.where(out.notna(), NO_ARM).astype(str)


def patient_patterns(
    dataset: Dataset,
    outcome: str,
    design: ArmDesign | None = None,
    visits: list[str] | None = None,
) -> PatientPatterns:
    """Missingness pattern of `outcome` for every patient in the data (visits: the outcome's
    visits, baseline included, in time order, unless given)."""
    table = dataset.wide(outcome)
    if visits is None:
        visits = [v for v in dataset.visits if v in table.columns]
    if not visits:
        raise ValueError(f"{outcome!r} has no values.")
    ids = pd.Index(dataset.long["patient_id"].astype(str).unique())
    ids = ids.union(pd.Index(dataset.attributes.index.astype(str)), sort=False)
    obs = table.reindex(index=ids, columns=visits).notna().to_numpy()
    v = obs.shape[1]
    n_obs = obs.sum(axis=1)
    last = np.where(obs.any(axis=1), v - 1 - np.argmax(obs[:, ::-1], axis=1), -1)
    dropout_index = last + 1  # visits up to and including the last one with a value
    prefix = np.arange(v)[None, :] < dropout_index[:, None]
    monotone = np.all(obs == prefix, axis=1)
    labels = np.asarray([dropout_label(x) for x in visits], dtype=object)
    pattern = np.where(
        n_obs == 0,
        NO_VALUES,
        np.where(
            n_obs == v, COMPLETE, np.where(monotone, labels[np.maximum(last, 0)], INTERMITTENT)
        ),
    )
    arm = _arm_labels(dataset, design, ids)
    if design is not None and design.has_arms:
        order = list(design.levels) + ([NO_ARM] if (arm == NO_ARM).any() else [])
    else:
        order = [ALL]
    frame = pd.DataFrame(
        {
            "patient_id": ids.astype(str),
            "arm": arm.to_numpy(),
            "pattern": pattern,
            "n_observed": n_obs.astype(int),
            "last_observed": [visits[j] if j >= 0 else None for j in last.tolist()],
            "dropout_index": dropout_index.astype(int),
        }
    )
    return PatientPatterns(outcome, tuple(visits), tuple(order), frame, obs)


def pattern_table(patterns: PatientPatterns) -> pd.DataFrame:
    """Patients per arm and pattern (every pattern listed, zeros included) with % of the arm;
    an "all" block follows the arms when there are arms."""
    order = patterns.pattern_order()
    t = patterns.table
    blocks = [(a, t.loc[t["arm"] == a]) for a in patterns.arms]
    if patterns.arms != (ALL,):
        blocks.append((ALL, t))
    rows = []
    for arm, part in blocks:
        counts = part["pattern"].value_counts()
        total = len(part)
        for pat in order:
            k = int(counts.get(pat, 0))
            rows.append(
                {"arm": arm, "pattern": pat, "n": k, "pct": 100.0 * k / total if total else None}
            )
    return pd.DataFrame(rows, columns=["arm", "pattern", "n", "pct"])


def retention_table(patterns: PatientPatterns) -> pd.DataFrame:
    """Per arm and visit: patients with a value there, and patients still in follow-up (a value
    there or at a later visit), as counts and % of the arm."""
    t = patterns.table
    rows = []
    for arm in patterns.arms:
        members = (t["arm"] == arm).to_numpy()
        total = int(members.sum())
        for j, visit in enumerate(patterns.visits):
            n_obs = int(patterns.observed[members, j].sum())
            n_ret = int((t.loc[members, "dropout_index"] > j).sum())
            rows.append(
                {
                    "arm": arm,
                    "visit": visit,
                    "n_arm": total,
                    "n_observed": n_obs,
                    "pct_observed": 100.0 * n_obs / total if total else None,
                    "n_retained": n_ret,
                    "pct_retained": 100.0 * n_ret / total if total else None,
                }
            )
    return pd.DataFrame(rows)


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).casefold()


def reason_attribute(dataset: Dataset) -> str | None:
    """The attribute holding the reason for discontinuation, by its name, or None."""
    columns = {_key(c): str(c) for c in dataset.attributes.columns}
    for name in REASON_NAMES:
        if _key(name) in columns:
            return columns[_key(name)]
    return None


def reasons_table(
    dataset: Dataset, design: ArmDesign | None = None, attribute: str | None = None
) -> pd.DataFrame | None:
    """Patients per arm and reason for discontinuation (missing reason: "not recorded"), with
    % of the arm; None when the data has no such attribute."""
    attribute = attribute or reason_attribute(dataset)
    if attribute is None:
        return None
    if attribute not in dataset.attributes.columns:
        raise ValueError(f"There is no attribute {attribute!r} in the data.")
    ids = pd.Index(dataset.attributes.index.astype(str))
    values = dataset.attributes[attribute].astype(object)
    values.index = ids
    reason = values.where(values.notna(), NOT_RECORDED).astype(str).str.strip()
    reason = reason.where(reason != "", NOT_RECORDED)
    arm = _arm_labels(dataset, design, ids)
    arms = list(design.levels) if design is not None and design.has_arms else [ALL]
    if (arm == NO_ARM).any():
        arms.append(NO_ARM)
    order = sorted(set(reason), key=lambda r: (r == NOT_RECORDED, r.casefold()))
    rows = []
    for a in arms:
        members = arm == a
        total = int(members.sum())
        counts = reason[members].value_counts()
        for r in order:
            k = int(counts.get(r, 0))
            if k:
                rows.append({"arm": a, "reason": r, "n": k, "pct": 100.0 * k / total})
    out = pd.DataFrame(rows, columns=["arm", "reason", "n", "pct"])
    out.attrs["attribute"] = attribute
    return out


@dataclass(frozen=True, eq=False)
class MissingnessMap:
    """Rows of the missingness map, top to bottom: one per patient, or per (arm, pattern) with
    its count when there are more than MAP_MAX_ROWS patients."""

    outcome: str
    visits: tuple[str, ...]
    observed: BoolArray  # (rows, visits)
    count: IntArray  # patients per row (all 1 unless aggregated)
    arm: tuple[str, ...]  # per row
    label: tuple[str, ...]  # patient id, or "<n> patients"
    pattern: tuple[str, ...]  # per row
    arms: tuple[str, ...]  # arm order
    aggregated: bool
    n_patients: int


def missingness_map(patterns: PatientPatterns, max_rows: int = MAP_MAX_ROWS) -> MissingnessMap:
    """Rows sorted by arm, then from the latest to the earliest dropout (complete first), then by
    visits observed and the pattern itself (so equal patterns sit together), then patient id."""
    t = patterns.table
    obs = patterns.observed
    v = obs.shape[1]
    # pattern code with the earliest visit as the highest bit: earlier visits observed sort first
    code = obs.astype(np.int64) @ (1 << np.arange(v - 1, -1, -1, dtype=np.int64))
    arm_rank = {a: i for i, a in enumerate(patterns.arms)}
    keys = pd.DataFrame(
        {
            "arm_rank": t["arm"].map(arm_rank).fillna(len(arm_rank)).to_numpy(dtype=int),
            "dropout": -t["dropout_index"].to_numpy(),
            "n_obs": -t["n_observed"].to_numpy(),
            "code": -code,
            "id": t["patient_id"].to_numpy(),
        }
    )
    order = keys.sort_values(["arm_rank", "dropout", "n_obs", "code", "id"], kind="stable").index
    idx = order.to_numpy()
    aggregated = len(t) > max_rows
    if not aggregated:
        return MissingnessMap(
            patterns.outcome,
            patterns.visits,
            obs[idx],
            np.ones(len(idx), dtype=np.int64),
            tuple(t["arm"].to_numpy()[idx].tolist()),
            tuple(t["patient_id"].to_numpy()[idx].tolist()),
            tuple(t["pattern"].to_numpy()[idx].tolist()),
            patterns.arms,
            False,
            len(t),
        )
    sorted_keys = keys.loc[idx]
    group = (sorted_keys[["arm_rank", "code"]].diff().abs().sum(axis=1) != 0).cumsum().to_numpy()
    first = np.flatnonzero(np.r_[True, np.diff(group) != 0])
    counts = np.diff(np.r_[first, len(idx)])
    rows = idx[first]
    return MissingnessMap(
        patterns.outcome,
        patterns.visits,
        obs[rows],
        counts.astype(np.int64),
        tuple(t["arm"].to_numpy()[rows].tolist()),
        tuple(f"{c} patient{'s' if c != 1 else ''}" for c in counts),
        tuple(t["pattern"].to_numpy()[rows].tolist()),
        patterns.arms,
        True,
        len(t),
    )


@dataclass(frozen=True, eq=False)
class MissingnessSummary:
    """Everything the missing-data page shows about the gaps in one outcome."""

    outcome: str
    visits: tuple[str, ...]
    n_patients: int
    n_by_arm: dict[str, int]
    patterns: pd.DataFrame  # pattern_table
    retention: pd.DataFrame  # retention_table
    reasons: pd.DataFrame | None  # reasons_table (None: no attribute for it)
    reason_attribute: str | None
    map: MissingnessMap
    patient_patterns: PatientPatterns

    def to_dict(self) -> dict[str, object]:
        """Strict-JSON-safe summary (without the per-patient map)."""
        return json_ready(
            {
                "outcome": self.outcome,
                "visits": list(self.visits),
                "n_patients": self.n_patients,
                "n_by_arm": self.n_by_arm,
                "patterns": self.patterns,
                "retention": self.retention,
                "reason_attribute": self.reason_attribute,
                "reasons": self.reasons if self.reasons is not None else None,
            }
        )


def missingness_summary(
    dataset: Dataset,
    outcome: str,
    design: ArmDesign | None = None,
    *,
    max_rows: int = MAP_MAX_ROWS,
) -> MissingnessSummary:
    """Patterns, retention by arm, reasons (if recorded) and the map for one outcome."""
    pp = patient_patterns(dataset, outcome, design)
    attribute = reason_attribute(dataset)
    counts = pp.table["arm"].value_counts()
    return MissingnessSummary(
        outcome=outcome,
        visits=pp.visits,
        n_patients=pp.n_patients,
        n_by_arm={a: int(counts.get(a, 0)) for a in pp.arms},
        patterns=pattern_table(pp),
        retention=retention_table(pp),
        reasons=reasons_table(dataset, design, attribute) if attribute else None,
        reason_attribute=attribute,
        map=missingness_map(pp, max_rows),
        patient_patterns=pp,
    )
