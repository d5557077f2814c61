"""Imputing the value at one visit from the conditional normal given each patient's observed
visits, vectorised by missingness pattern.

Only the analysed visit is drawn: the analysis (ANCOVA or mean change at that visit) uses no
other imputed value, and the conditional distribution of y_t given the observed values is the
margin of the joint conditional of all missing visits, so other missing visits need no draw.
For a pattern with observed visits o: a = Sigma_oo^-1 Sigma_ot, v = Sigma_tt - Sigma_to a, and
    y_t* = m_t + (y_o - m_o)' a + sqrt(v) z,   z ~ N(0, 1),
with m the patient's joint mean under the chosen assumption (reference_based.joint_means). The
same z serves every assumption within an imputation (common random numbers), so differences
between MAR, J2R, CR and CIR reflect the assumptions, not simulation noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.stats.imputation.data import ImputationData
from analysis.stats.imputation.draws import ParameterDraw
from analysis.stats.imputation.reference_based import MAR, joint_means

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class VisitImputations:
    """Completed values at one visit: observed where present, one column per imputation."""

    visit: str
    visit_index: int
    values: dict[str, Array]  # assumption -> (n, M)
    imputed: BoolArray  # (n,) missing at the visit, so imputed
    m: int


@dataclass(frozen=True, eq=False)
class _Pattern:
    rows: IntArray  # positions among the patients missing at the visit
    group: int
    visits: IntArray  # observed visits


def _patterns(data: ImputationData, missing: IntArray) -> list[_Pattern]:
    obs = data.observed[missing]
    t = obs.shape[1]
    code = obs.astype(np.int64) @ (1 << np.arange(t, dtype=np.int64))
    key = data.group[missing] * (1 << t) + code
    out = []
    for k in np.unique(key):
        rows = np.flatnonzero(key == k)
        out.append(_Pattern(rows, int(data.group[missing][rows[0]]), np.flatnonzero(obs[rows[0]])))
    return out


def impute_visit(
    data: ImputationData,
    draws: Sequence[ParameterDraw],
    visit: str,
    rng: np.random.Generator | None,
    methods: Sequence[str] = (MAR,),
    *,
    progress: Progress | None = None,
) -> VisitImputations:
    """Completed values at `visit` for each assumption and draw. rng None: conditional-mean
    imputation (no random term; with the estimates as the only draw, deterministic)."""
    t = data.visit_index(visit)
    imputed = ~data.observed[:, t]
    missing = np.flatnonzero(imputed)
    m = len(draws)
    # (M, n) while filling, so that each imputation writes one contiguous row; returned as the
    # (n, M) transposed view
    values = {method: np.repeat(data.y[None, :, t], m, axis=0) for method in methods}
    if len(missing) == 0:
        if progress is not None:
            progress(m, m)
        return VisitImputations(str(visit), t, {k: v.T for k, v in values.items()}, imputed, m)
    patterns = _patterns(data, missing)
    x_own = data.x_own[missing]
    x_ref = data.x_ref[missing] if data.x_ref is not None else None
    y_miss = data.y[missing]
    last = data.last_observed[missing]
    treated = data.treated[missing]
    for k, draw in enumerate(draws):
        mu_own = x_own @ draw.beta
        mu_ref = x_ref @ draw.beta if x_ref is not None else None
        means = {method: joint_means(mu_own, mu_ref, last, treated, method) for method in methods}
        out = {method: np.empty(len(missing)) for method in methods}
        for pat in patterns:
            sigma = draw.sigmas[pat.group]
            o = pat.visits
            if len(o):
                a = np.linalg.solve(sigma[np.ix_(o, o)], sigma[o, t])
                var = float(sigma[t, t] - sigma[t, o] @ a)
            else:
                a = np.zeros(0)
                var = float(sigma[t, t])
            noise = (
                np.sqrt(max(var, 0.0)) * rng.standard_normal(len(pat.rows))
                if rng is not None
                else 0.0
            )
            y_o = y_miss[np.ix_(pat.rows, o)]
            for method in methods:
                mu = means[method]
                resid = y_o - mu[np.ix_(pat.rows, o)]
                out[method][pat.rows] = mu[pat.rows, t] + resid @ a + noise
        for method in methods:
            values[method][k, missing] = out[method]
        if progress is not None:
            progress(k + 1, m)
    return VisitImputations(str(visit), t, {k: v.T for k, v in values.items()}, imputed, m)
