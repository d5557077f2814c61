"""Responder rates from multiply imputed data, combined by Rubin's rules.

Each completed data set gives every patient a change at the visit, hence a responder flag for a
threshold (percent improvement >= 30% or 50%, IMMPACT: Dworkin et al. 2008, J Pain 9:105; or an
absolute improvement >= the instrument's clinically important difference). Per imputation the
rate in each arm and the difference treated minus comparator are estimated with their Wald
variances p(1 - p)/n; these are pooled by Rubin's rules on the proportion (risk-difference)
scale, with infinite complete-data df (large-sample statistics), hence Rubin's (1987) df. The
proportion scale keeps rate and difference on the scale they are read on; intervals are clipped
to 0-100% and are least accurate for rates near 0 or 100% and small arms (Marshall et al. 2009,
BMC Med Res Methodol 9:57, discuss transformations). Patients whose percent change is undefined
(baseline 0) are left out of the percent thresholds, and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.instruments import Instrument
from analysis.stats.imputation.rubin import pool
from analysis.stats.responders import IMMPACT_MODERATE, IMMPACT_SUBSTANTIAL

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

PERCENT, ABSOLUTE = "percent", "absolute"


def thresholds(instrument: Instrument) -> list[tuple[str, str, float]]:
    """(name, kind, limit) as analysis.stats.responders names them; none without a direction."""
    if instrument.direction is None:
        return []
    out = [
        (f"≥{IMMPACT_MODERATE:.0f}% improvement", PERCENT, IMMPACT_MODERATE),
        (f"≥{IMMPACT_SUBSTANTIAL:.0f}% improvement", PERCENT, IMMPACT_SUBSTANTIAL),
    ]
    if instrument.mcid_abs is not None:
        name = f"≥{instrument.mcid_abs_text()} improvement"
        out.append((name, ABSOLUTE, float(instrument.mcid_abs)))
    return out


def mi_responder_rates(
    change: Array,
    baseline: Array,
    arm: IntArray,
    arms: tuple[str, ...] | None,
    instrument: Instrument,
) -> pd.DataFrame:
    """Per threshold: the rate in each arm and each treated arm minus the comparator, in %,
    pooled over the imputations (columns of `change`)."""
    columns = [
        "threshold", "kind", "arm", "comparator", "n", "n_undefined", "estimate", "se", "df",
        "ci_low", "ci_high", "p", "fmi",
    ]  # fmt: skip
    sign = {"lower": -1.0, "higher": 1.0}.get(instrument.direction or "", np.nan)
    labels = arms if arms is not None else ("all",)
    rows = []
    for name, kind, limit in thresholds(instrument):
        if kind == PERCENT:
            with np.errstate(divide="ignore", invalid="ignore"):
                score = sign * 100.0 * change / baseline[:, None]
            defined = baseline != 0
        else:
            score = sign * change
            defined = np.ones(len(baseline), dtype=bool)
        flag = (score >= limit - 1e-9).astype(float)
        rates: dict[int, tuple[Array, Array, int]] = {}
        for j, label in enumerate(labels):
            members = (arm == j) & defined
            n = int(members.sum())
            n_undef = int(((arm == j) & ~defined).sum())
            if n == 0:
                continue
            p = flag[members].mean(axis=0)
            var = p * (1.0 - p) / n
            rates[j] = (p, var, n)
            r = pool(100 * p[None, :], 1e4 * var[None, :], None)
            rows.append(_row(name, kind, label, None, n, n_undef, r, rate=True))
        if arms is None:
            continue
        for j in range(1, len(labels)):
            if j not in rates or 0 not in rates:
                continue
            p1, v1, n1 = rates[j]
            p0, v0, n0 = rates[0]
            r = pool(100 * (p1 - p0)[None, :], 1e4 * (v1 + v0)[None, :], None)
            rows.append(_row(name, kind, labels[j], labels[0], n1 + n0, 0, r, rate=False))
    return pd.DataFrame(rows, columns=columns)


def _row(
    name: str, kind: str, arm: str, comparator: str | None, n: int, n_undef: int, r, rate: bool
) -> dict[str, object]:
    low, high = float(r.ci_low[0]), float(r.ci_high[0])
    if rate:
        low, high = max(low, 0.0), min(high, 100.0)
    else:
        low, high = max(low, -100.0), min(high, 100.0)
    return {
        "threshold": name, "kind": kind, "arm": arm, "comparator": comparator, "n": n,
        "n_undefined": n_undef, "estimate": float(r.estimate[0]), "se": float(r.se[0]),
        "df": float(r.df[0]), "ci_low": low, "ci_high": high,
        "p": float(r.p[0]) if not rate else float("nan"), "fmi": float(r.fmi[0]),
    }  # fmt: skip
