"""Cohort filters: which patients every page analyses, said in one plain sentence.

Categorical attributes filter by a set of levels, numeric ones by a closed range. A patient with
no value for a filtered attribute is left out (and the sentence says so). Filters travel in the
page URL as query parameters: ``f.<attribute>=<level>`` (repeated) and
``r.<attribute>=<low>..<high>``; parameters that no longer fit the data are dropped with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from analysis.ingest.codes import label_codes
from analysis.ingest.dataset import Dataset

MISSING = "(missing)"
SMALL_GROUP_DEFAULT = 5


def attribute_kinds(dataset: Dataset) -> dict[str, str]:
    """'numeric' or 'categorical' for each attribute that varies between patients."""
    kinds = {}
    for column in dataset.attributes.columns:
        values = dataset.attributes[column].dropna()
        if values.nunique() < 2:
            continue  # constant (e.g. a data-origin label): nothing to filter or compare
        numeric = pd.api.types.is_numeric_dtype(dataset.attributes[column])
        kinds[column] = "numeric" if numeric else "categorical"
    return kinds


def levels(dataset: Dataset, attribute: str) -> list[str]:
    """The levels of a categorical attribute, sorted, with 'missing' last when any is blank."""
    column = dataset.attributes[attribute]
    found = sorted(column.dropna().astype(str).unique())
    return [*found, MISSING] if column.isna().any() else found


@dataclass(frozen=True)
class CohortFilter:
    """The cohort filter: chosen levels per categorical attribute, ranges per numeric one."""

    categorical: dict[str, tuple[str, ...]] = field(default_factory=dict)
    numeric: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.categorical or self.numeric)

    def key(self) -> str:
        """A stable text key (for caches)."""
        cats = ";".join(f"{k}={'|'.join(v)}" for k, v in sorted(self.categorical.items()))
        nums = ";".join(f"{k}={a:g}..{b:g}" for k, (a, b) in sorted(self.numeric.items()))
        return f"{cats}#{nums}"


def patient_mask(dataset: Dataset, cohort: CohortFilter) -> pd.Series:
    """True for patients kept by the filter (indexed by patient_id, every patient in the data)."""
    attributes = dataset.attributes.reindex(dataset.patients)
    keep = pd.Series(True, index=attributes.index)
    for attribute, chosen in cohort.categorical.items():
        values = attributes[attribute].astype(object)
        values = values.where(values.notna(), MISSING).astype(str)
        keep &= values.isin(chosen)
    for attribute, (low, high) in cohort.numeric.items():
        values = attributes[attribute]
        keep &= values.between(low, high) & values.notna()
    return keep


def apply_filter(dataset: Dataset, cohort: CohortFilter) -> Dataset:
    """The same dataset restricted to the filtered patients."""
    if not cohort.active:
        return dataset
    keep = patient_mask(dataset, cohort)
    codes, labels = label_codes(dataset.long["patient_id"])
    kept_label = keep.reindex(pd.Index(labels).astype(str), fill_value=False).to_numpy(bool)
    return replace(
        dataset,
        long=dataset.long.loc[kept_label[codes]].reset_index(drop=True),
        attributes=dataset.attributes.loc[keep.reindex(dataset.attributes.index, fill_value=False)],
    )


def describe(cohort: CohortFilter, n_shown: int, n_total: int) -> str:
    """'Showing 84 of 150 patients: umbilical cord; baseline_hba1c 7 to 12.5.'"""
    if not cohort.active:
        return f"Showing all {n_total} patients (no filter)."
    parts = [
        f"{attribute} {' or '.join(chosen)}" if len(chosen) <= 3 else
        f"{attribute}: {len(chosen)} levels"
        for attribute, chosen in cohort.categorical.items()
    ]  # fmt: skip
    parts += [
        f"{attribute} {low:g} to {high:g}" for attribute, (low, high) in cohort.numeric.items()
    ]
    return f"Showing {n_shown} of {n_total} patients: " + "; ".join(parts) + "."


def to_query_params(cohort: CohortFilter) -> dict[str, list[str] | str]:
    """The filter as link parameters (f.attribute=level, r.attribute=low..high)."""
    params: dict[str, list[str] | str] = {f"f.{k}": list(v) for k, v in cohort.categorical.items()}
    params.update({f"r.{k}": f"{a:g}..{b:g}" for k, (a, b) in cohort.numeric.items()})
    return params


def from_query_params(
    dataset: Dataset, params: dict[str, list[str]]
) -> tuple[CohortFilter, list[str]]:
    """A filter from URL parameters; returns (filter, notes about parameters that were dropped)."""
    kinds = attribute_kinds(dataset)
    categorical: dict[str, tuple[str, ...]] = {}
    numeric: dict[str, tuple[float, float]] = {}
    notes: list[str] = []
    for name, values in params.items():
        if not name.startswith(("f.", "r.")):
            continue
        attribute = name[2:]
        if kinds.get(attribute) is None:
            notes.append(f"the link filters on {attribute!r}, which this data does not have")
            continue
        if name.startswith("f.") and kinds[attribute] == "categorical":
            known = levels(dataset, attribute)
            chosen = tuple(v for v in values if v in known)
            unknown = [v for v in values if v not in known]
            if unknown:
                notes.append(f"{attribute} has no level {', '.join(map(repr, unknown))}")
            if chosen:
                categorical[attribute] = chosen
        elif name.startswith("r.") and kinds[attribute] == "numeric":
            try:
                low_text, high_text = values[-1].split("..")
                low, high = float(low_text), float(high_text)
                if low > high:
                    raise ValueError
                numeric[attribute] = (low, high)
            except ValueError:
                notes.append(f"the range for {attribute} ({values[-1]!r}) is not low..high")
        else:
            notes.append(f"the filter on {attribute!r} does not fit its kind of values")
    return CohortFilter(categorical, numeric), notes


def small_groups(sizes: pd.Series, minimum: int = SMALL_GROUP_DEFAULT) -> list[str]:
    """Group labels with fewer than ``minimum`` patients (flagged, statistics suppressed)."""
    return [str(label) for label, n in sizes.items() if n < minimum]
