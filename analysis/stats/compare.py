"""Comparing one outcome between two visits, and the whole-cohort summary table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.instruments import Direction, Instrument, Scale, lookup
from analysis.stats.paired import PairedResult, paired_statistics, scale_of_values


@dataclass
class Comparison:
    """One outcome between two visits: the pairs, who was left out and why, the statistics."""

    outcome: str
    instrument: Instrument
    before: str
    after: str
    pairs: pd.DataFrame  # patient_id, before, after, change, status
    excluded: pd.DataFrame  # patient_id, reason
    stats: PairedResult

    @property
    def n_excluded(self) -> int:
        return len(self.excluded)

    def exclusion_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.excluded["reason"].value_counts().items()}

    def to_dict(self) -> dict:
        """Flat, JSON-safe record (the CLI's --json output)."""
        head = {
            "outcome": self.outcome,
            "outcome_label": self.instrument.label,
            "before": self.before,
            "after": self.after,
            "n_pairs": self.stats.n_pairs,
            "n_excluded": self.n_excluded,
            "excluded_reasons": self.exclusion_counts(),
        }
        body = self.stats.to_dict()
        body.pop("n_pairs")
        return {**head, **body}


def status_labels(change: np.ndarray, direction: Direction | None) -> np.ndarray:
    """'improved'/'worsened'/'unchanged' in the instrument's direction.

    With the direction unknown: 'increased'/'decreased'/'unchanged', never a judgement."""
    if direction is None:
        return np.select([change > 0, change < 0], ["increased", "decreased"], "unchanged")
    better = -change if direction == "lower" else change
    return np.select([better > 0, better < 0], ["improved", "worsened"], "unchanged")


def compare_visits(
    dataset: Dataset,
    outcome: str,
    before: str,
    after: str,
    direction: Direction | None = None,
) -> Comparison:
    """Pair patients with values at both visits; count the others with the reason.

    ``direction`` overrides the registry (a user's explicit setting)."""
    if outcome not in dataset.outcomes:
        raise ValueError(
            f"Outcome {outcome!r} is not in the data; outcomes: {', '.join(dataset.outcomes)}"
        )
    for visit in (before, after):
        if visit not in dataset.visits:
            raise ValueError(
                f"Visit {visit!r} is not in the data; visits: {', '.join(dataset.visits)}"
            )
    if before == after:
        raise ValueError("Choose two different visits to compare.")
    instrument = lookup(outcome, direction)
    table = dataset.wide(outcome).reindex(columns=[before, after])
    has_before, has_after = table[before].notna(), table[after].notna()
    paired = table.loc[has_before & has_after]
    change = (paired[after] - paired[before]).to_numpy()
    pairs = pd.DataFrame(
        {
            "patient_id": paired.index.astype(str),
            "before": paired[before].to_numpy(),
            "after": paired[after].to_numpy(),
            "change": change,
            "status": status_labels(change, instrument.direction),
        }
    )
    reasons = np.select(
        [has_before & ~has_after, ~has_before & has_after],
        [f"no value at {after}", f"no value at {before}"],
        f"no value at {before} or {after}",
    )
    keep = ~(has_before & has_after).to_numpy()
    excluded = pd.DataFrame({"patient_id": table.index[keep].astype(str), "reason": reasons[keep]})
    missing_everywhere = [p for p in dataset.patients if p not in table.index]
    if missing_everywhere:
        excluded = pd.concat(
            [
                excluded,
                pd.DataFrame(
                    {
                        "patient_id": missing_everywhere,
                        "reason": f"no value at {before} or {after}",
                    }
                ),
            ],
            ignore_index=True,
        )
    stats = paired_statistics(
        pairs["before"].to_numpy(),
        pairs["after"].to_numpy(),
        direction=instrument.direction,
        mcid=instrument.mcid_abs,
        scale=outcome_scale(dataset, outcome),
    )
    return Comparison(outcome, instrument, before, after, pairs, excluded, stats)


def default_follow_up(dataset: Dataset, outcome: str) -> str | None:
    """The latest visit at least half of the baseline patients reached (never a label held by
    one patient): Dataset.default_follow_up_visit."""
    return dataset.default_follow_up_visit(outcome)


def outcome_scale(dataset: Dataset, outcome: str) -> Scale:
    """The registry's scale, or for an unknown outcome the scale its recorded values show."""
    instrument = lookup(outcome)
    if instrument.known:
        return instrument.scale
    values = dataset.long.loc[dataset.long["outcome"] == outcome, "value"].to_numpy(dtype=float)
    return scale_of_values(values, values[:0])
