"""Visit labels: recognising, ordering and choosing the baseline.

Order rule (in this priority): the median ``day`` of each visit when days are given;
otherwise recognised labels ("baseline", "week 4", "m6", "3 months", ...); otherwise
first appearance in the file.
"""

from __future__ import annotations

import re

import pandas as pd

_BASELINE = re.compile(
    r"^(baseline|base|bl|screening|screen|pre|pre[-_ ]?treatment|pre[-_ ]?op|before|"
    r"enrol(l)?ment|day[-_ ]?0|d0|week[-_ ]?0|w0|month[-_ ]?0|m0|v0|visit[-_ ]?0|t0)$"
)
_UNIT_DAYS = {"d": 1.0, "w": 7.0, "m": 365.25 / 12, "y": 365.25}
_NUMBERED = (
    # "month 6", "month_6", "months 6", "mo6", "m6", "w12", "week 12", "d90", "day 90", "y1"
    re.compile(r"^(?P<unit>day|d|week|wk|w|month|mon|mo|m|year|yr|y)s?[-_ ]?(?P<n>\d+(\.\d+)?)$"),
    # "6 months", "6-month", "6m", "12 weeks", "90 days", "1 year"
    re.compile(
        r"^(?P<n>\d+(\.\d+)?)[-_ ]?(?P<unit>day|d|week|wk|w|month|mon|mo|m|year|yr|y)s?"
        r"([-_ ]?(follow[-_ ]?up|fu|visit))?$"
    ),
)


def normalise_label(label: str) -> str:
    """Key under which labels that differ only in case or surrounding spaces are one visit."""
    return " ".join(str(label).split()).casefold()


def nominal_day(label: str) -> float | None:
    """Days since treatment implied by a visit label, or None when the label is not recognised.

    >>> nominal_day("m6"), nominal_day("Baseline"), nominal_day("12 weeks")
    (182.625, 0.0, 84.0)
    """
    key = normalise_label(label)
    if _BASELINE.match(key):
        return 0.0
    for pattern in _NUMBERED:
        match = pattern.match(key)
        if match:
            unit = match.group("unit")[0]
            return float(match.group("n")) * _UNIT_DAYS[unit]
    return None


def is_baseline_label(label: str) -> bool:
    return bool(_BASELINE.match(normalise_label(label)))


def order_visits(
    labels_in_file_order: list[str], median_day: dict[str, float] | None = None
) -> tuple[list[str], str]:
    """Order visit labels; returns (ordered labels, rule used in plain words)."""
    labels = list(dict.fromkeys(labels_in_file_order))
    appearance = {label: i for i, label in enumerate(labels)}
    if median_day and all(pd.notna(median_day.get(label)) for label in labels):
        ordered = sorted(labels, key=lambda v: (median_day[v], appearance[v]))
        return ordered, "by the median day since treatment recorded for each visit"
    nominal = {label: nominal_day(label) for label in labels}
    if all(d is not None for d in nominal.values()):
        ordered = sorted(labels, key=lambda v: (nominal[v], appearance[v]))
        return ordered, "by the time in the visit labels (baseline, weeks, months)"
    return labels, "in order of first appearance in the file (labels not recognised)"


def detect_baseline(ordered: list[str], median_day: dict[str, float] | None = None) -> str:
    """The visit that is the baseline: a baseline-like label, else the visit closest to day 0
    at or before treatment, else the first visit."""
    for label in ordered:
        if is_baseline_label(label):
            return label
    if median_day:
        before = [v for v in ordered if pd.notna(median_day.get(v)) and median_day[v] <= 0]
        if before:
            return max(before, key=lambda v: median_day[v])
    return ordered[0]
