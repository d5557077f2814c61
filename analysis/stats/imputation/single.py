"""Single-imputation and complete-case analyses, kept only as labelled sensitivity results.

LOCF (last observation carried forward) and BOCF (baseline observation carried forward) fill the
visit's missing value with the patient's last earlier value or with the baseline (a change of
0). Both understate uncertainty (one data set treated as if observed) and assume a patient's
score stays frozen after leaving; neither is valid under MAR, and LOCF can favour either arm
(NRC 2010, The Prevention and Treatment of Missing Data in Clinical Trials; EMA 2010;
Gewandter et al. 2014, Pain 155:1871). The complete-case analysis uses only the patients
observed at the visit (valid only if missingness is completely at random).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analysis.stats.imputation.analysis import analysis_model
from analysis.stats.imputation.data import ImputationData
from analysis.stats.imputation.results import Estimate
from analysis.stats.mmrm.result import t_inference

Array = NDArray[np.float64]

LOCF, BOCF, COMPLETE_CASE = "locf", "bocf", "complete_case"


def carried_forward(data: ImputationData, visit: str, kind: str) -> tuple[Array, int]:
    """Change at `visit` completed by LOCF or BOCF, and how many values were carried."""
    t = data.visit_index(visit)
    y = data.y[:, t].copy()
    missing = np.isnan(y)
    if kind == BOCF:
        y[missing] = 0.0  # the baseline carried forward: no change
    elif kind == LOCF:
        # the last earlier visit with a value, else the baseline (a change of 0)
        carried = np.zeros(data.n)
        for j in range(t):
            column = data.y[:, j]
            carried = np.where(np.isnan(column), carried, column)
        y[missing] = carried[missing]
    else:
        raise ValueError("kind must be 'locf' or 'bocf'")
    return y, int(missing.sum())


def _single(data: ImputationData, y: Array, analysis: str, n_filled: int) -> tuple[Estimate, ...]:
    model = analysis_model(data)
    est, var = model.fit(y[:, None])
    out = []
    for i, label in enumerate(model.labels):
        r = t_inference(float(est[i, 0]), float(np.sqrt(var[i, 0])), float(model.df_complete))
        out.append(
            Estimate(analysis, label, model.comparator, r.estimate, r.se, r.df, r.ci_low,
                     r.ci_high, r.p, data.n, n_filled)
        )  # fmt: skip
    return tuple(out)


def single_imputation(data: ImputationData, visit: str, kind: str) -> tuple[Estimate, ...]:
    """The visit's analysis (ANCOVA or mean change) on LOCF- or BOCF-completed data."""
    y, n_filled = carried_forward(data, visit, kind)
    return _single(data, y, kind, n_filled)


def complete_case(data: ImputationData, visit: str) -> tuple[Estimate, ...]:
    """The visit's analysis on the patients observed there (today's completers analysis)."""
    t = data.visit_index(visit)
    rows = data.observed[:, t]
    sub = data.subset(rows)
    return _single(sub, sub.y[:, t], COMPLETE_CASE, 0)
