"""The analysis applied to each completed data set, vectorised over imputations.

With arms: ANCOVA of the change at the visit on the baseline value, the arm (treatment coding,
comparator as reference) and the covariates; the estimate is each treated arm's coefficient, its
variance s^2 (X'X)^-1 and the complete-data df n - p (Vickers & Altman 2001, BMJ 323:1123).
Without arms: the mean change at the visit, variance s^2 / n, df n - 1.

Why this analysis: when the imputation model is the MMRM with baseline-by-visit and no other
covariates, conditional-mean imputation makes the completed-data ANCOVA contrast equal to the
MMRM's LS-mean contrast at that visit exactly. Completing the data by E[y_mis | y_obs] leaves the
MMRM's GLS estimating equations unchanged (Sigma^-1 applied to a conditionally completed residual
vector is zero on the missing visits), and with complete data a multivariate regression whose
regressors (1, baseline, arm) are the same at every visit has GLS = OLS visit by visit (Zellner
1962, J Am Stat Assoc 57:348). With covariates whose effects the MMRM shares across visits, the
two differ by sampling noise only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.stats.imputation.data import ImputationData

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

ANCOVA, MEAN = "ancova", "mean"


def independent_columns(x: Array, tol: float = 1e-9) -> list[int]:
    """Columns kept in order after dropping those linearly dependent on earlier ones."""
    kept: list[int] = []
    q = np.zeros((x.shape[0], 0))
    for j in range(x.shape[1]):
        col = x[:, j]
        norm = float(np.linalg.norm(col))
        if norm == 0.0:
            continue
        resid = col - q @ (q.T @ col)
        rn = float(np.linalg.norm(resid))
        if rn > tol * norm:
            kept.append(j)
            q = np.column_stack([q, resid / rn])
    return kept


@dataclass(frozen=True, eq=False)
class AnalysisModel:
    """The complete-data analysis at one visit: its design and the coefficients of interest."""

    kind: str  # ANCOVA or MEAN
    x: Array  # (n, q) design (ANCOVA) or a column of ones (MEAN)
    xtx_inv: Array
    targets: tuple[int, ...]  # coefficient per contrast
    labels: tuple[str, ...]  # treated arm per contrast, or ("all",)
    comparator: str | None
    df_complete: int
    columns: tuple[str, ...]

    def fit(self, y: Array) -> tuple[Array, Array]:
        """Estimates and variances, (k, M), for completed values y (n, M)."""
        y2 = y.reshape(y.shape[0], -1)
        n = y2.shape[0]
        if self.kind == MEAN:
            est = y2.mean(axis=0)[None, :]
            var = (y2.var(axis=0, ddof=1) / n)[None, :] if n > 1 else np.full_like(est, np.nan)
            return est, var
        # (y'X)' rather than X'y: imputations arrive as the transpose of an (M, n) array, and
        # BLAS is two orders of magnitude slower on X'y with that memory layout
        xty = (y2.T @ self.x).T
        coef = self.xtx_inv @ xty
        # RSS = y'y - coef'X'y: no n x M residual matrix (a product with an inner dimension of
        # 3 is slow in BLAS and, with 10,000 patients x 100 imputations, memory-bound)
        rss = np.einsum("im,im->m", y2, y2) - np.einsum("jm,jm->m", xty, coef)
        rss = np.maximum(rss, 0.0)
        s2 = rss / self.df_complete if self.df_complete > 0 else np.full(y2.shape[1], np.nan)
        idx = list(self.targets)
        diag = np.diag(self.xtx_inv)[idx]
        return coef[idx], diag[:, None] * np.asarray(s2)[None, :]


def analysis_model(data: ImputationData, *, covariates: bool = True) -> AnalysisModel:
    """ANCOVA (change ~ baseline + arm + covariates) with arms, else the mean change."""
    n = data.n
    if data.arms is None or len(data.arms) < 2:
        ones = np.ones((n, 1))
        inv = np.array([[1.0 / n]]) if n else np.full((1, 1), np.nan)
        return AnalysisModel(MEAN, ones, inv, (0,), ("all",), None, n - 1, ("(Intercept)",))
    cols = [np.ones(n), data.baseline]
    names = ["(Intercept)", "baseline"]
    arm_cols = []
    for j, level in enumerate(data.arms[1:], start=1):
        arm_cols.append(len(cols))
        cols.append((data.arm == j).astype(float))
        names.append(f"arm{level}")
    if covariates and data.covariates.shape[1]:
        cols.extend(data.covariates.T)
        names.extend(data.covariate_names)
    x = np.column_stack(cols)
    kept = independent_columns(x)
    missing_arm = [data.arms[j] for j, c in enumerate(arm_cols, start=1) if c not in kept]
    if missing_arm:
        raise ValueError(f"no patients to estimate the arm effect of {', '.join(missing_arm)}")
    x = x[:, kept]
    pos = {c: i for i, c in enumerate(kept)}
    inv = np.linalg.inv(x.T @ x)
    return AnalysisModel(
        ANCOVA,
        x,
        0.5 * (inv + inv.T),
        tuple(pos[c] for c in arm_cols),
        tuple(data.arms[1:]),
        data.arms[0],
        n - len(kept),
        tuple(names[c] for c in kept),
    )
