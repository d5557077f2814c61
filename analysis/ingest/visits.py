"""Visit labels: the time they name, which labels are one visit, their order and the baseline.

Nominal time (``parse_label``, ``nominal_day``)
    "baseline", "screening", "pre", "day 0", "m0", ... are day 0. A number with a unit before or
    after it is that many days, weeks, months (365.25 / 12 days) or years (365.25 days): "m6",
    "M6", "month 6", "Month 06", "6 months", "6 mo", "6m", "6-month"; "week 26", "w26", "wk 26";
    "day 14", "d14"; "year 1", "1 year". A visit number without a unit ("VIS1", "Visit 2",
    "V3", "T2") orders the visits but names no time.

One visit (``visit_key``, ``propose_visit_mapping``)
    Labels are proposed as one visit when they differ only in case, spaces, hyphens or
    underscores; when they name the same number of days ("m6" = "6 months" = "Month 06",
    "12 months" = "year 1" (365.25 days by definition), "day 14" = "week 2", "baseline" =
    "day 0"; screening and pre-treatment labels stay apart from baseline); or when they carry
    the same visit number ("VIS3" = "Visit 3" = "V3"). Across units, a label joins a label in
    the unit most of the values use when their times differ by at most 5%: in a file labelled
    in weeks "6 months" (182.6 days) joins "week 26" (182 days), in one labelled in months
    "week 26" joins "m6". Kept apart on purpose: "12 weeks" (84 days) and "m3" (91.3 days),
    two labels in the same unit ("week 26" and "week 27"), and units used equally often.
    Each group becomes the label that holds the most values (the first seen on a tie).

Probable typos (``probable_typos``)
    A label held by at most 2 patients or fewer than 5% of them, and by at most a third as many
    patients as a label held by at least half of them, is a probable typo of that label when
    both are one visit by the rule above (across units too), or when their texts are at most 2
    edits apart (and at most a third of the longer text) and they do not both name a time or a
    visit number ("basline" and "baseline", not "m3" and "m6").

Order (``order_visits``)
    By the median ``day`` of each visit when every visit has days; otherwise by the nominal
    time when every label names one; otherwise by the visit number when every label carries
    one (baseline-like labels first); otherwise in order of first appearance in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

_BASELINE = re.compile(
    r"^(baseline|base|bl|screening|screen|pre|pre[-_ ]?treatment|pre[-_ ]?op|before|"
    r"enrol(l)?ment|day[-_ ]?0|d0|week[-_ ]?0|w0|month[-_ ]?0|m0|v0|visit[-_ ]?0|t0)$"
)
# Baseline-like labels that are the time of treatment itself (one visit with "day 0");
# screening, pre-treatment, enrolment, ... may be separate visits before it.
_TIME_ZERO = re.compile(r"^(baseline|base|bl|day[-_ ]?0|d0|week[-_ ]?0|w0|month[-_ ]?0|m0)$")
_SCREENING = re.compile(r"^(screening|screen)$")
_UNITS = {"d": "day", "w": "week", "m": "month", "y": "year"}
_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}
_NUMBERED = (
    # "month 6", "month_6", "months 6", "mo6", "m6", "w12", "week 12", "d90", "day 90", "y1"
    re.compile(r"^(?P<unit>day|d|week|wk|w|month|mon|mo|m|year|yr|y)s?[-_ ]?(?P<n>\d+(\.\d+)?)$"),
    # "6 months", "6-month", "6m", "12 weeks", "90 days", "1 year"
    re.compile(
        r"^(?P<n>\d+(\.\d+)?)[-_ ]?(?P<unit>day|d|week|wk|w|month|mon|mo|m|year|yr|y)s?"
        r"([-_ ]?(follow[-_ ]?up|fu|visit))?$"
    ),
)
# Visit numbers without a unit: "VIS1", "Visit 2", "visit_10", "V3", "T2", "timepoint 4".
_ORDINAL = re.compile(r"^(visit|vis|v|time[-_ ]?point|tp|t)[-_ ]?(?P<n>\d+)$")
_CROSS_UNIT_TOLERANCE = 0.05
_TYPO_EDITS = 2


@dataclass(frozen=True)
class LabelTime:
    """What a visit label says about its time."""

    days: float | None = None  # nominal days since treatment; None when the label names none
    unit: str | None = None  # "day", "week", "month" or "year" for a number with a unit
    number: float | None = None  # that number, or the visit number of "VIS3", "Visit 2", "V3"


def normalise_label(label: object) -> str:
    """Key under which labels that differ only in case or spaces are one visit."""
    return " ".join(str(label).split()).casefold()


def _squashed(label: object) -> str:
    """The label without case, spaces, hyphens or underscores."""
    return re.sub(r"[\s_\-]+", "", str(label)).casefold()


def parse_label(label: object) -> LabelTime:
    """The nominal time, unit and number a visit label carries (all None when none)."""
    key = normalise_label(label)
    ordinal = _ORDINAL.match(key)
    number = float(ordinal.group("n")) if ordinal else None
    if _BASELINE.match(key):
        return LabelTime(days=0.0, number=number)
    for pattern in _NUMBERED:
        match = pattern.match(key)
        if match:
            unit = _UNITS[match.group("unit")[0]]
            n = float(match.group("n"))
            return LabelTime(days=n * _UNIT_DAYS[unit], unit=unit, number=n)
    return LabelTime(number=number)


def nominal_day(label: object) -> float | None:
    """Days since treatment implied by a visit label, or None when the label is not recognised.

    >>> nominal_day("m6"), nominal_day("Baseline"), nominal_day("12 weeks")
    (182.625, 0.0, 84.0)
    """
    return parse_label(label).days


def is_baseline_label(label: object) -> bool:
    """Whether the label says baseline (baseline, screening, pre-treatment, day 0, ...)."""
    return bool(_BASELINE.match(normalise_label(label)))


def visit_key(label: object) -> tuple[str, float | str]:
    """Labels with the same key name the same visit (see the module's rule)."""
    key = normalise_label(label)
    if _SCREENING.match(key):
        return ("screening", 0.0)
    time = parse_label(label)
    if time.days is not None and (time.unit is not None or _TIME_ZERO.match(key)):
        return ("day", round(time.days, 6))
    if time.number is not None:
        return ("visit", time.number)
    return ("label", _squashed(label))


def _same_visit_groups(counts: Mapping[str, int]) -> dict[str, str]:
    """Each label's group: the label of the group that holds the most values."""
    labels = list(counts)
    keys = {label: visit_key(label) for label in labels}
    units = {label: parse_label(label).unit for label in labels}
    unit_values: dict[str, int] = {}
    for label in labels:
        unit = units[label]
        if unit is not None:
            unit_values[unit] = unit_values.get(unit, 0) + counts[label]
    members: dict[tuple[str, float | str], list[str]] = {}
    for label in labels:
        members.setdefault(keys[label], []).append(label)

    def group_unit(key: tuple[str, float | str]) -> str | None:
        """The unit that holds most of the group's values (None: no label has a unit)."""
        held: dict[str, int] = {}
        for label in members[key]:
            unit = units[label]
            if unit is not None:
                held[unit] = held.get(unit, 0) + counts[label]
        return max(held, key=lambda u: held[u]) if held else None

    timed = {
        key: unit
        for key in members
        if key[0] == "day" and float(key[1]) > 0 and (unit := group_unit(key)) is not None
    }
    parent = {key: key for key in members}
    for key, unit in sorted(timed.items(), key=lambda item: unit_values[item[1]]):
        days = float(key[1])
        candidates = [
            other
            for other, other_unit in timed.items()
            if unit_values[other_unit] > unit_values[unit]
            and abs(float(other[1]) - days) <= _CROSS_UNIT_TOLERANCE * float(other[1])
        ]
        if candidates:
            parent[key] = max(
                candidates,
                key=lambda o: (unit_values[timed[o]], -abs(float(o[1]) - days)),
            )

    def final_group(key: tuple[str, float | str]) -> tuple[str, float | str]:
        """The group a group was joined into, following the joins."""
        while parent[key] != key:
            key = parent[key]
        return key

    merged: dict[tuple[str, float | str], list[str]] = {}
    for label in labels:
        merged.setdefault(final_group(keys[label]), []).append(label)
    target: dict[str, str] = {}
    for group in merged.values():
        chosen = max(group, key=lambda label: counts[label])  # the first on a tie
        target.update({label: chosen for label in group})
    return target


def propose_visit_mapping(labels_with_counts: Mapping[str, int]) -> dict[str, str]:
    """Every label mapped to the visit it is proposed as (itself when nothing else is the same
    visit); ``labels_with_counts`` gives the values each label holds, in file order."""
    return _same_visit_groups(labels_with_counts)


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def near_identical(a: str, b: str) -> bool:
    """Whether two labels are one visit, or texts a typo apart that do not both name a time."""
    if visit_key(a) == visit_key(b):
        return True
    time_a, time_b = parse_label(a), parse_label(b)
    both_numbered = (time_a.days is not None or time_a.number is not None) and (
        time_b.days is not None or time_b.number is not None
    )
    if both_numbered:
        return False
    text_a, text_b = _squashed(a), _squashed(b)
    edits = _edit_distance(text_a, text_b)
    return edits <= _TYPO_EDITS and 3 * edits <= max(len(text_a), len(text_b))


def probable_typos(
    patients_per_label: Mapping[str, int],
    n_patients: int,
    same_visit: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(rare label, the label held by most it probably misspells), by the module's rule;
    labels that ``same_visit`` (e.g. ``propose_visit_mapping``) puts together count as
    near-identical too."""
    groups = same_visit or {}
    common = sorted(
        (label for label, n in patients_per_label.items() if 2 * n >= n_patients),
        key=lambda label: -patients_per_label[label],
    )
    pairs = []
    for label, n in patients_per_label.items():
        if n > 2 and n >= 0.05 * n_patients:
            continue
        for other in common:
            if other == label or 3 * n > patients_per_label[other]:
                continue
            together = label in groups and groups.get(label) == groups.get(other)
            if together or near_identical(label, other):
                pairs.append((label, other))
                break
    return pairs


def match_visit(given: str, visits: Sequence[str]) -> str | None:
    """The visit among ``visits`` that ``given`` (typed on the command line or in a link)
    names, matched as the loader matches labels; None when none or several match."""
    if given in visits:
        return given
    key = normalise_label(given)
    same = [visit for visit in visits if normalise_label(visit) == key]
    if same:
        return same[0] if len(same) == 1 else None
    counts = {visit: 1 for visit in visits}
    counts[given] = 0  # never the group's label while a visit is in the group
    groups = _same_visit_groups(counts)
    matches = [visit for visit in visits if groups[visit] == groups[given]]
    return matches[0] if len(matches) == 1 else None


def order_visits(
    labels_in_file_order: Sequence[str], median_day: Mapping[str, float] | None = None
) -> tuple[list[str], str]:
    """Order visit labels; returns (ordered labels, rule used in plain words)."""
    labels = list(dict.fromkeys(labels_in_file_order))
    appearance = {label: i for i, label in enumerate(labels)}
    if median_day and all(pd.notna(median_day.get(label)) for label in labels):
        ordered = sorted(labels, key=lambda v: (median_day[v], appearance[v]))
        return ordered, "by the median day since treatment recorded for each visit"
    times = {label: parse_label(label) for label in labels}
    nominal = {label: time.days for label, time in times.items()}
    if all(d is not None for d in nominal.values()):
        ordered = sorted(labels, key=lambda v: (nominal[v], appearance[v]))
        return ordered, "by the time in the visit labels (baseline, weeks, months)"
    numbers = {  # visit numbers; baseline-like labels without one come first
        label: -1.0 if time.number is None else time.number
        for label, time in times.items()
        if (time.days is None and time.number is not None) or (time.days == 0 and not time.unit)
    }
    if len(numbers) == len(labels):
        ordered = sorted(labels, key=lambda v: (numbers[v], appearance[v]))
        return ordered, "by the visit number in the labels (VIS1, Visit 2, V3, ...)"
    return labels, "in order of first appearance in the file (labels not recognised)"


def detect_baseline(ordered: Sequence[str], median_day: Mapping[str, float] | None = None) -> str:
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
