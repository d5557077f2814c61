"""Least-squares means per arm and visit, and treated-minus-comparator contrasts per visit.

As emmeans computes `emmeans(fit, ~ arm | visit)` by default (Lenth 2016, J Stat Softw 69(1);
Searle, Speed & Milliken 1980, Am Stat 34:216): the reference grid crosses all factor levels,
other factors are averaged with equal weights, numeric covariates sit at their mean over the
observations used; each LS mean is l'beta for the averaged grid row, with the fit's df method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.stats.mmrm.design import Design
from analysis.stats.mmrm.result import ContrastResult

Array = NDArray[np.float64]

LSMEAN_COLUMNS = ["arm", "visit", "estimate", "se", "df", "ci_low", "ci_high"]
CONTRAST_COLUMNS = [
    "arm",
    "comparator",
    "visit",
    "estimate",
    "se",
    "df",
    "t",
    "p",
    "ci_low",
    "ci_high",
]


def lsmean_rows(
    design: Design, visit: str, visits: Sequence[object], arm: str | None, arms: Sequence[object]
) -> tuple[list[tuple[object, object]], Array]:
    """(arm, visit) labels and their reference-grid rows, visit by visit (arm None: no arm)."""
    labels: list[tuple[object, object]] = []
    fixed: list[dict[str, object]] = []
    for v in visits:
        if arm is None:
            labels.append((None, v))
            fixed.append({visit: v})
            continue
        for a in arms:
            labels.append((a, v))
            fixed.append({visit: v, arm: a})
    return labels, design.reference_rows(fixed)


def lsmeans_tables(
    design: Design,
    visit: str,
    visits: Sequence[object],
    arm: str | None,
    arms: Sequence[object],
    contrast: Callable[[Array], ContrastResult],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LS means (arm x visit) and each arm minus the first arm (comparator) per visit."""
    labels, rows = lsmean_rows(design, visit, visits, arm, arms)
    ls_records = []
    for (a, v), row in zip(labels, rows, strict=True):
        r = contrast(row)
        ls_records.append(
            {
                "arm": a,
                "visit": v,
                "estimate": r.estimate,
                "se": r.se,
                "df": r.df,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
        )
    lsm = pd.DataFrame.from_records(ls_records, columns=LSMEAN_COLUMNS)
    ct_records = []
    if arm is not None and len(arms) > 1:
        index = {lab: i for i, lab in enumerate(labels)}
        comparator = arms[0]
        for v in visits:
            base = rows[index[(comparator, v)]]
            for a in arms[1:]:
                r = contrast(rows[index[(a, v)]] - base)
                ct_records.append(
                    {
                        "arm": a,
                        "comparator": comparator,
                        "visit": v,
                        "estimate": r.estimate,
                        "se": r.se,
                        "df": r.df,
                        "t": r.t,
                        "p": r.p,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                    }
                )
    ctr = pd.DataFrame.from_records(ct_records, columns=CONTRAST_COLUMNS)
    return lsm, ctr
