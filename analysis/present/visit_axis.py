"""Where each visit sits on the time axis of an over-time chart.

A visit is placed at the median ``day`` recorded for it (days since treatment) when the data
has days for that visit, else at the nominal time its label names ("m6", "week 12",
"3 months": ``analysis.ingest.visits.nominal_day``). When any visit has neither, every visit is
an evenly spaced category instead: times and categories are never mixed on one axis, since a
category has no distance to the visits around it.

When no visit has a recorded day and every label names a whole number of months, the axis is
in months ("Months since treatment"); otherwise in days. Tick labels are the visit names at
their positions, so the reader sees both the visit and where it falls in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.ingest.visits import nominal_day

_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class VisitAxis:
    """The x position of every visit, the unit of those positions and the axis title."""

    visits: tuple[str, ...]  # in visit order
    positions: dict[str, float]  # visit -> x
    unit: str  # "days", "months" or "visits" (evenly spaced categories)
    title: str
    source: dict[str, str]  # visit -> "median day", "nominal" or "category"

    @property
    def is_time(self) -> bool:
        return self.unit != "visits"

    @property
    def span(self) -> float:
        """Distance from the first to the last visit (1 with fewer than two visits)."""
        values = list(self.positions.values())
        return float(max(values) - min(values)) if len(values) > 1 else 1.0

    def step(self) -> float:
        """A small horizontal offset for dodging groups: 1.2% of the axis for times, 0.12 of a
        visit for categories (the distance between two categories is 1)."""
        return 0.012 * self.span if self.is_time else 0.12

    def only(self, visits: Sequence[str]) -> VisitAxis:
        """The axis for some of its visits (in its order); categories are renumbered 0, 1, ...
        so that a chart without some visits has no empty slots."""
        keep = set(map(str, visits))
        order = tuple(v for v in self.visits if v in keep)
        if self.is_time:
            positions = {v: self.positions[v] for v in order}
        else:
            positions = {v: float(i) for i, v in enumerate(order)}
        return VisitAxis(
            order, positions, self.unit, self.title, {v: self.source[v] for v in order}
        )

    def x(self, visits: pd.Series) -> pd.Series:
        """Positions of a column of visit labels (NaN for visits not on the axis)."""
        return visits.astype(str).map(self.positions).astype(float)

    def range(self, pad: float = 0.0) -> list[float]:
        """The axis range with room around the first and last visit (and ``pad`` more)."""
        values = list(self.positions.values()) or [0.0]
        if not self.is_time:
            return [-0.5 - pad, len(values) - 0.5 + pad]
        margin = 0.05 * self.span + pad
        return [min(values) - margin, max(values) + margin]

    def tick_text(self, visit: str) -> str:
        """The visit's name and, when it is placed at its median recorded day, that day in
        grey below it (the label's own time may differ from when patients came)."""
        if self.source.get(visit) != "median day":
            return visit
        day = f"{self.positions[visit]:.0f}".replace("-", "−")
        return f"{visit}<br><span style='color:#888;font-size:0.85em'>day {day}</span>"

    def position_text(self, visit: str) -> str:
        """Where a visit is, for hover text: 'day 30 (median)', 'month 6', '' for categories."""
        if not self.is_time or visit not in self.positions:
            return ""
        x = self.positions[visit]
        if self.unit == "months":
            return f"month {x:g}"
        return f"day {x:.0f}" + (" (median)" if self.source.get(visit) == "median day" else "")


def median_days(long: pd.DataFrame | None) -> dict[str, float]:
    """The median recorded ``day`` of each visit that has one (empty without a day column)."""
    if long is None or "day" not in long.columns or "visit" not in long.columns:
        return {}
    days = (
        long["day"]
        if pd.api.types.is_numeric_dtype(long["day"])
        else pd.to_numeric(long["day"], errors="coerce")
    )
    medians = days.groupby(long["visit"], observed=True).median()  # categorical: fast
    return {str(v): float(d) for v, d in medians.items() if pd.notna(d)}


def _whole_months(days: dict[str, float]) -> bool:
    months = np.array(list(days.values())) / _DAYS_PER_MONTH
    return bool(len(months)) and bool(np.allclose(months, np.round(months), atol=1e-6))


def _categories(order: tuple[str, ...], why: str) -> VisitAxis:
    return VisitAxis(
        order,
        {v: float(i) for i, v in enumerate(order)},
        "visits",
        f"Visit (evenly spaced: {why})",
        {v: "category" for v in order},
    )


def visit_axis(visits: Sequence[str], long: pd.DataFrame | None = None) -> VisitAxis:
    """Each visit's x position: median recorded day, else nominal time from the label, else
    (for all visits, if any has neither) evenly spaced categories. ``long`` is the dataset's
    long table (``Dataset.long``, with ``visit`` and ``day``); without it, labels only."""
    order = tuple(dict.fromkeys(str(v) for v in visits))
    recorded = median_days(long)
    days: dict[str, float] = {}
    source: dict[str, str] = {}
    for visit in order:
        if visit in recorded:
            days[visit], source[visit] = recorded[visit], "median day"
            continue
        nominal = nominal_day(visit)
        if nominal is None:
            break
        days[visit], source[visit] = float(nominal), "nominal"
    if not order or len(days) < len(order):
        return _categories(order, "not every visit has a day or a time in its label")
    if len(set(np.round(list(days.values()), 6))) < len(days):
        return _categories(order, "two visits fall on the same day")
    if not recorded and _whole_months(days):
        positions = {v: round(d / _DAYS_PER_MONTH, 6) for v, d in days.items()}
        return VisitAxis(order, positions, "months", "Months since treatment", source)
    measured = any(s == "median day" for s in source.values())
    title = "Days since treatment" + (" (visits at their median day)" if measured else "")
    return VisitAxis(order, days, "days", title, source)
