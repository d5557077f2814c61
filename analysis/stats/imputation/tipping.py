"""Delta adjustment and the tipping point: how much worse than the imputation model assumes must
the patients with missing values have done for the conclusion to change?

Delta-adjusted multiple imputation (Ratitch, O'Kelly & Tosiello 2013, Pharm Stat 12:337; rbmi's
delta adjustment, Carpenter et al. 2013): every imputed value at the visit of a patient in a
treated arm (all patients without arms) is shifted by delta in the instrument's worse direction,
the completed data are analysed again and pooled by Rubin's rules. The grid reuses the same
imputations for every delta (common random numbers), so the curve is smooth in delta.

Sign: delta is on the improvement scale, so a negative delta is worse; on the outcome's scale the
shift is delta for higher-is-better and -delta for lower-is-better instruments.

The tipping delta is where the conclusion at delta = 0 first changes along the grid towards worse
values, interpolated linearly between the two grid points that bracket the change:
- with a comparator: a significant difference (95% CI excluding 0) stops being significant;
- without one: the mean change stops being better than the instrument's published placebo
  response (the estimate reaches it), or, with no benchmark, its 95% CI reaches 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.stats.imputation.analysis import AnalysisModel
from analysis.stats.imputation.results import json_ready
from analysis.stats.imputation.rubin import pool

Array = NDArray[np.floating]
BoolArray = NDArray[np.bool_]

CI_EXCLUDES_0 = "ci_excludes_0"
BETTER_THAN_PLACEBO = "better_than_placebo"
# conclusions at delta = 0
SIGNIFICANT_BENEFIT = "significant_benefit"
SIGNIFICANT_HARM = "significant_harm"
NOT_SIGNIFICANT = "not_significant"
BETTER = "better_than_placebo"
NOT_BETTER = "not_better_than_placebo"

GRID_COLUMNS = ["arm", "comparator", "delta", "shift", "estimate", "se", "df", "ci_low",
                "ci_high", "p"]  # fmt: skip


@dataclass(frozen=True)
class TippingPoint:
    """Where one contrast (or the mean change) tips, or None within the grid."""

    arm: str
    comparator: str | None
    criterion: str  # CI_EXCLUDES_0 or BETTER_THAN_PLACEBO
    reference_value: float  # 0, or the placebo mean change (outcome units, signed)
    conclusion_at_0: str  # SIGNIFICANT_BENEFIT, SIGNIFICANT_HARM, NOT_SIGNIFICANT, BETTER, ...
    tipping_delta: float | None  # improvement scale (negative = worse); None: does not tip
    tips: bool
    worst_delta: float  # the worst delta examined

    def to_dict(self) -> dict[str, object]:
        """Strict-JSON-safe record."""
        return json_ready(self.__dict__)


@dataclass(frozen=True, eq=False)
class TippingAnalysis:
    """The delta grid for each contrast and where each tips."""

    method: str  # imputation the deltas are applied to (mar, j2r, cr, cir)
    improve_sign: float  # +1 higher is better, -1 lower is better
    direction_assumed: bool  # True when the instrument's direction is unknown
    grid: pd.DataFrame  # GRID_COLUMNS; delta on the improvement scale, shift in outcome units
    points: tuple[TippingPoint, ...]

    def to_dict(self) -> dict[str, object]:
        """Strict-JSON-safe record."""
        return json_ready(
            {
                "method": self.method,
                "improve_sign": self.improve_sign,
                "direction_assumed": self.direction_assumed,
                "grid": self.grid,
                "points": [p.to_dict() for p in self.points],
            }
        )


def delta_grid(
    model: AnalysisModel,
    values: Array,
    imputed: BoolArray,
    target: BoolArray,
    deltas: Sequence[float] | Array,
    improve_sign: float,
) -> pd.DataFrame:
    """Pooled analysis for each delta: imputed values of `target` patients shifted by
    improve_sign * delta (outcome units)."""
    mask = (imputed & target).astype(float)[:, None]
    rows = []
    for delta in deltas:
        shift = improve_sign * float(delta)
        est, var = model.fit(values + shift * mask)
        r = pool(est, var, float(model.df_complete))
        for i, label in enumerate(model.labels):
            rows.append(
                [label, model.comparator, float(delta), shift, r.estimate[i], r.se[i], r.df[i],
                 r.ci_low[i], r.ci_high[i], r.p[i]]
            )  # fmt: skip
    return pd.DataFrame(rows, columns=GRID_COLUMNS)


def _cross(deltas: Array, g: Array) -> float | None:
    """First delta (grid from 0 towards worse) where g falls to 0 or below, interpolated."""
    for k in range(1, len(deltas)):
        if g[k] <= 0.0 < g[k - 1]:
            frac = g[k - 1] / (g[k - 1] - g[k])
            return float(deltas[k - 1] + frac * (deltas[k] - deltas[k - 1]))
    return None


def tipping_points(
    grid: pd.DataFrame, improve_sign: float, placebo: float | None, has_comparator: bool
) -> tuple[TippingPoint, ...]:
    """Tipping delta per contrast (see the module docstring)."""
    out = []
    for (arm, comparator), part in grid.groupby(
        ["arm", "comparator"], dropna=False, sort=False, observed=True
    ):
        part = part.loc[part["delta"] <= 0].sort_values("delta", ascending=False)
        deltas = part["delta"].to_numpy(dtype=float)
        s = improve_sign
        if not has_comparator and placebo is not None:
            criterion, ref = BETTER_THAN_PLACEBO, float(placebo)
            g = s * (part["estimate"].to_numpy(dtype=float) - ref)
            conclusion = BETTER if len(g) and g[0] > 0 else NOT_BETTER
        else:
            criterion, ref = CI_EXCLUDES_0, 0.0
            low = s * part["ci_low"].to_numpy(dtype=float)
            high = s * part["ci_high"].to_numpy(dtype=float)
            g = np.minimum(low, high)  # the improvement-scale bound nearest 0
            worst = np.maximum(low, high)
            if len(g) and g[0] > 0:
                conclusion = SIGNIFICANT_BENEFIT
            elif len(g) and worst[0] < 0:
                conclusion = SIGNIFICANT_HARM
            else:
                conclusion = NOT_SIGNIFICANT
        holds = conclusion in (SIGNIFICANT_BENEFIT, BETTER)
        tip = _cross(deltas, g) if holds and len(deltas) and deltas[0] == 0.0 else None
        out.append(
            TippingPoint(
                arm=str(arm),
                comparator=None if pd.isna(comparator) else str(comparator),
                criterion=criterion,
                reference_value=ref,
                conclusion_at_0=conclusion,
                tipping_delta=tip,
                tips=tip is not None,
                worst_delta=float(deltas.min()) if len(deltas) else 0.0,
            )
        )
    return tuple(out)
