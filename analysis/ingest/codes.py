"""Labels as integer codes: patient IDs, visits and outcomes repeat across millions of rows.

The canonical long table keeps ``patient_id``, ``visit`` and ``outcome`` as pandas categoricals
(text categories, integer codes). Anything done to a label (stripping, case-folding, looking up
the instrument, checking for blanks) runs once per distinct label and reaches the rows by
indexing with the codes; duplicate and presence checks run on integer keys. This is what keeps
loading a million-patient registry within seconds (see ``make bench``).

Column names are matched the same way everywhere: ``column_key`` (case, spaces and hyphens
ignored), and ``find_column`` for the names each canonical role goes by.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "patient_id",
        "patientid",
        "patient",
        "subject_id",
        "subjectid",
        "subject",
        "participant_id",
        "participant",
        "pid",
        "study_id",
    ),
    "visit": ("visit", "visit_label", "timepoint", "time_point", "visit_name"),
    "outcome": ("outcome", "measure", "parameter", "instrument", "score_name"),
    "value": ("value", "score", "result"),
    "day": ("day", "days", "study_day", "days_since_treatment"),
}


def column_key(name: object) -> str:
    """A column name or code in one spelling: trimmed, casefolded, spaces and hyphens as "_"."""
    return re.sub(r"[\s\-]+", "_", str(name).strip()).casefold()


def find_column(columns: Iterable[str], role: str) -> str | None:
    """The column that plays ``role`` (patient_id, visit, outcome, value, day), by its aliases."""
    keys = {column_key(c): c for c in columns}
    for alias in COLUMN_ALIASES[role]:
        if alias in keys:
            return keys[alias]
    return None


def as_categorical(values: pd.Series) -> pd.Series:
    """``values`` as a categorical Series (categories in order of first appearance)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    codes, uniques = pd.factorize(values)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(uniques)),
        index=values.index,
        name=values.name,
    )


def label_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(codes, labels) with every row's code pointing into ``labels``; a missing cell gets
    the label ''."""
    categorical = as_categorical(values)
    codes = categorical.cat.codes.to_numpy()
    labels = categorical.cat.categories
    if (codes < 0).any():
        labels = labels.append(pd.Index([""]))
        codes = np.where(codes < 0, len(labels) - 1, codes)
    return codes, labels


def transform_labels(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``function`` applied to the distinct labels at once (vectorised, e.g. ``str.strip``);
    a categorical of text, labels that become the same text merged into one category."""
    codes, labels = label_codes(values)
    text = pd.Series(labels) if labels.inferred_type == "string" else pd.Series(labels).astype(str)
    mapped = pd.Index(function(text), dtype="str")
    same_labels = isinstance(values.dtype, pd.CategoricalDtype) and len(labels) == len(
        values.cat.categories
    )  # no missing cell was given the label ''
    if same_labels and mapped.is_unique:
        if mapped.equals(pd.Index(labels, dtype="str")):
            return values  # nothing changed: the rows keep their codes
        return values.cat.rename_categories(mapped)
    merged, uniques = pd.factorize(mapped)
    return pd.Series(
        pd.Categorical.from_codes(merged[codes], categories=uniques),
        index=values.index,
        name=values.name,
    )


def strip_labels(values: pd.Series) -> pd.Series:
    """Labels without surrounding spaces (vectorised over the distinct labels)."""
    return transform_labels(values, lambda labels: labels.str.strip())


def map_labels(values: pd.Series, function: Callable[[object], str]) -> pd.Series:
    """``function`` applied once per distinct label (for the few visit and outcome labels)."""
    return transform_labels(values, lambda labels: [function(label) for label in labels])


def map_values(
    values: pd.Series, function: Callable[[object], object], dtype: npt.DTypeLike
) -> np.ndarray:
    """``function`` applied once per distinct label, returned per row as a numpy array."""
    codes, labels = label_codes(values)
    return np.array([function(label) for label in labels], dtype=dtype)[codes]


def keep_rows(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> pd.DataFrame:
    """``frame`` where ``mask`` holds; the same frame (no copy) when it holds everywhere."""
    mask = np.asarray(mask, dtype=bool)
    return frame if mask.all() else frame.loc[mask]


def codes_of(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Positions of ``values`` in ``categories`` (one per row, the smallest integer type that
    holds them; -1 for a value that is not among them)."""
    codes, labels = label_codes(values)
    position = {c: i for i, c in enumerate(categories)}
    dtype = np.int8 if len(categories) < 127 else np.int32 if len(categories) < 2**31 else np.int64
    return np.array([position.get(str(label), -1) for label in labels], dtype=dtype)[codes]


def combined_key(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One int64 per row that is equal exactly when the rows agree on ``columns``."""
    parts = [label_codes(frame[column]) for column in columns]
    if np.prod([float(len(labels)) for _, labels in parts]) >= 2.0**62:
        return pd.MultiIndex.from_arrays([codes for codes, _ in parts]).factorize()[0]
    key = np.zeros(len(frame), dtype=np.int64)
    for codes, labels in parts:
        key = key * len(labels) + codes
    return key


def duplicated_keys(key: np.ndarray) -> np.ndarray:
    """Rows whose key occurs more than once (all of them, like ``keep=False``)."""
    if key.size == 0:
        return np.zeros(0, dtype=bool)
    if key.max() < 4 * key.size + 1_000_000:  # dense keys: counting beats hashing
        return np.bincount(key)[key] > 1
    return pd.Series(key).duplicated(keep=False).to_numpy()
