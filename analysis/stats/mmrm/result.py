"""Result containers of an MMRM fit (numbers only; presentation lives elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from analysis.stats.mmrm import kenward_roger, satterthwaite
from analysis.stats.mmrm.covariance import CovarianceStructure
from analysis.stats.mmrm.design import Design

Array = NDArray[np.float64]

SATTERTHWAITE = "satterthwaite"
KENWARD_ROGER = "kenward-roger"


class ContrastResult(NamedTuple):
    """One linear contrast l'beta with its t test and confidence interval."""

    estimate: float
    se: float
    df: float
    t: float
    p: float
    ci_low: float
    ci_high: float


class FTestResult(NamedTuple):
    """A multi-row contrast L beta = 0: F statistic with numerator and denominator df."""

    f: float
    num_df: int
    den_df: float
    p: float


def t_inference(estimate: float, se: float, df: float, level: float = 0.95) -> ContrastResult:
    """Two-sided t test and t-based confidence interval (Student 1908)."""
    t = estimate / se if se > 0 else float("nan")
    if np.isfinite(df) and df > 0 and np.isfinite(t):
        p = float(2.0 * stats.t.sf(abs(t), df))
        q = float(stats.t.ppf(0.5 + level / 2.0, df))
    else:
        p = q = float("nan")
    return ContrastResult(
        float(estimate), float(se), float(df), float(t), p, estimate - q * se, estimate + q * se
    )


@dataclass(frozen=True, eq=False)
class MMRMResult:
    """A fitted mixed model for repeated measures (marginal model y_i ~ N(X_i beta, Sigma_i))."""

    # data used
    n_patients: int
    n_values: int
    n_patients_excluded: int
    n_values_excluded: int
    # values left out, by reason
    exclusions: Mapping[str, int]
    # subject, reason: patients without any value used
    excluded_patients: pd.DataFrame = field(repr=False)
    # fit
    converged: bool
    message: str
    covariance_structure: str
    reml: bool
    df_method: str
    group_covariance: bool
    log_likelihood: float
    aic: float
    bic: float
    n_theta: int
    visits: tuple[object, ...]
    arms: tuple[object, ...] | None
    # covariance groups (the arms) when group_covariance
    groups: tuple[object, ...] | None
    # visit x visit; the first group's when grouped (see `covariances`)
    covariance: Array = field(repr=False)
    correlation: Array = field(repr=False)
    # per covariance group (a single entry "all" if not grouped)
    covariances: Mapping[object, Array] = field(repr=False)
    # covariance parameters (mmrm's parametrisation), groups concatenated
    theta: Array = field(repr=False)
    # inverse Hessian of the (RE)ML objective: asymptotic covariance of theta
    theta_vcov: Array = field(repr=False)
    # name, estimate, se, df, t, p, ci_low, ci_high
    coefficients: pd.DataFrame = field(repr=False)
    # NaN for aliased columns
    beta: Array = field(repr=False)
    # used for inference: Kenward-Roger adjusted when df_method is Kenward-Roger
    beta_vcov: Array = field(repr=False)
    # model-based (X' V^-1 X)^-1
    beta_vcov_model: Array = field(repr=False)
    # arm, visit, estimate, se, df, ci_low, ci_high
    lsmeans: pd.DataFrame = field(repr=False)
    # arm, comparator, visit, estimate, se, df, t, p, ci_low, ci_high
    contrasts: pd.DataFrame = field(repr=False)
    # builds X rows (e.g. for unobserved visits) with `design.matrix(frame)`
    design: Design = field(repr=False)
    # design columns dropped as linearly dependent on earlier ones
    aliased: tuple[str, ...]
    iterations: int = 0
    # internals needed for further contrasts
    _kept: NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False
    )
    _null_basis: Array = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    _p_mats: Array = field(default_factory=lambda: np.zeros((0, 0, 0)), repr=False)
    _structure: CovarianceStructure | None = field(default=None, repr=False)

    @property
    def coefficient_names(self) -> tuple[str, ...]:
        """Names of the design columns, as R's model.matrix names them."""
        return self.design.columns

    def covariance_from_theta(self, theta: Array) -> list[Array]:
        """Visit covariance matrices (per group) for a covariance parameter vector (MI draws)."""
        assert self._structure is not None
        k = self._structure.n_theta
        n_groups = len(theta) // k
        return [self._structure.matrix(theta[g * k : (g + 1) * k]) for g in range(n_groups)]

    def _reduce(self, contrast: Array) -> Array | None:
        """Contrast on the estimable (non-aliased) columns; None if not estimable."""
        lvec = np.asarray(contrast, dtype=float).reshape(-1)
        if lvec.shape[0] != self.design.n_columns:
            raise ValueError(
                f"contrast needs {self.design.n_columns} entries (one per design column)"
            )
        if self._null_basis.size:
            scale = max(float(np.max(np.abs(lvec))), 1.0)
            if np.max(np.abs(self._null_basis.T @ lvec)) > 1e-8 * scale:
                return None
        return lvec[self._kept]

    def contrast(self, contrast: Array, level: float = 0.95) -> ContrastResult:
        """Estimate, SE, df, t, p and CI of l'beta (df by the fit's method)."""
        lvec = self._reduce(contrast)
        if lvec is None:
            nan = float("nan")
            return ContrastResult(nan, nan, nan, nan, nan, nan, nan)
        kept = self._kept
        beta = self.beta[kept]
        vcov_model = self.beta_vcov_model[np.ix_(kept, kept)]
        vcov_use = self.beta_vcov[np.ix_(kept, kept)]
        estimate = float(lvec @ beta)
        se = float(np.sqrt(max(float(lvec @ vcov_use @ lvec), 0.0)))
        if self.df_method == KENWARD_ROGER:
            df, _ = kenward_roger.df_and_scale(lvec, vcov_model, self._p_mats, self.theta_vcov)
        else:
            df = satterthwaite.df_1d(lvec, vcov_model, self._p_mats, self.theta_vcov)
        return t_inference(estimate, se, df, level)

    def f_test(self, contrasts: Array) -> FTestResult:
        """F test of L beta = 0 (Kenward-Roger scaled F, or Satterthwaite as in Fai & Cornelius)."""
        lmat = np.atleast_2d(np.asarray(contrasts, dtype=float))
        rows = [self._reduce(r) for r in lmat]
        nan = float("nan")
        if any(r is None for r in rows):
            return FTestResult(nan, lmat.shape[0], nan, nan)
        lk = np.vstack([r for r in rows if r is not None])
        kept = self._kept
        beta = self.beta[kept]
        vcov_model = self.beta_vcov_model[np.ix_(kept, kept)]
        vcov_use = self.beta_vcov[np.ix_(kept, kept)]
        if self.df_method == KENWARD_ROGER:
            df, lam = kenward_roger.df_and_scale(lk, vcov_model, self._p_mats, self.theta_vcov)
            q = lk.shape[0]
            est = lk @ beta
            f = lam * float(est @ np.linalg.solve(lk @ vcov_use @ lk.T, est)) / q
            return FTestResult(f, q, df, float(stats.f.sf(f, q, df)))
        q, df = satterthwaite.df_md(lk, vcov_model, self._p_mats, self.theta_vcov)
        cov = lk @ vcov_use @ lk.T
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1][:q]
        rotated = vecs[:, order].T @ (lk @ beta)
        f = float(np.sum(rotated**2 / vals[order]) / q)
        return FTestResult(f, q, df, float(stats.f.sf(f, q, df)))
