"""Draws of the MMRM's parameters for proper multiple imputation (approximate Bayesian).

For imputation m: theta* ~ N(theta_hat, theta_vcov) (the large-sample posterior of the covariance
parameters in mmrm's parametrisation, theta_vcov the inverse Hessian of the REML objective;
draws whose covariance is not positive definite are rejected and redrawn), then
beta* ~ N(beta_hat(theta*), (X' V(theta*)^-1 X)^-1), the posterior of the fixed effects given
theta under a flat prior (Rubin 1987, Multiple Imputation for Nonresponse in Surveys: proper
imputations draw the parameters before the missing values; as Carpenter, Roger & Kenward 2013,
J Biopharm Stat 23:1352, but with a large-sample normal instead of an inverse-Wishart
posterior for the covariance, which also covers the structured covariances). A bootstrap
over patients would need one MMRM fit per imputation; this needs one GLS solve.

GLS is computed from sufficient statistics per (covariance group, visit pattern) cell, so each
draw costs a few small matrix products per pattern, whatever the number of patients:
X'WX = sum_ab W_ab C_ab with C_ab = sum_i x_ia x_ib' over the cell's patients (likewise X'Wy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.stats.imputation.data import ImputationData
from analysis.stats.mmrm import MMRMResult

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Draws of theta with a non-positive-definite covariance are redrawn up to this many times each.
_MAX_REJECTIONS = 200


@dataclass(frozen=True, eq=False)
class ParameterDraw:
    """One set of imputation-model parameters: fixed effects and visit covariance per group."""

    beta: Array  # over the estimable design columns (ImputationData.x_own's last axis)
    sigmas: tuple[Array, ...]


@dataclass(frozen=True, eq=False)
class _Cell:
    group: int
    visits: IntArray  # observed visit indices
    cross: Array  # (|o|, |o|, p, p): sum_i x_ia x_ib'
    cross_y: Array  # (|o|, |o|, p): sum_i x_ia y_ib


@dataclass(frozen=True, eq=False)
class GLSCells:
    """Per-pattern sufficient statistics of the observed values for GLS at any covariance."""

    cells: tuple[_Cell, ...]
    p: int

    @classmethod
    def from_data(cls, data: ImputationData) -> GLSCells:
        """Group patients with at least one value by (covariance group, observed visits)."""
        obs = data.observed
        t = obs.shape[1]
        code = obs.astype(np.int64) @ (1 << np.arange(t, dtype=np.int64))
        key = data.group * (1 << t) + code
        cells = []
        for k in np.unique(key[code > 0]):
            idx = np.flatnonzero(key == k)
            o = np.flatnonzero(obs[idx[0]])
            x = data.x_own[np.ix_(idx, o)]  # (n_c, |o|, p)
            y = data.y[np.ix_(idx, o)]
            cells.append(
                _Cell(
                    group=int(data.group[idx[0]]),
                    visits=o,
                    cross=np.einsum("iak,ibl->abkl", x, x),
                    cross_y=np.einsum("iak,ib->abk", x, y),
                )
            )
        return cls(tuple(cells), int(data.x_own.shape[2]))

    def gls(self, sigmas: tuple[Array, ...] | list[Array]) -> tuple[Array, Array]:
        """beta_hat(Sigma) and (X' V^-1 X)^-1 (Aitken 1935 generalised least squares)."""
        xtwx = np.zeros((self.p, self.p))
        xtwy = np.zeros(self.p)
        for c in self.cells:
            s = sigmas[c.group][np.ix_(c.visits, c.visits)]
            w = np.linalg.inv(s)
            xtwx += np.einsum("ab,abkl->kl", w, c.cross)
            xtwy += np.einsum("ab,abk->k", w, c.cross_y)
        xtwx = 0.5 * (xtwx + xtwx.T)
        vcov = np.linalg.inv(xtwx)
        return vcov @ xtwy, 0.5 * (vcov + vcov.T)


def estimate_draw(fit: MMRMResult) -> ParameterDraw:
    """The fit's own estimates (theta_hat, beta_hat): for conditional-mean imputation."""
    beta = fit.beta[np.isfinite(fit.beta)]
    return ParameterDraw(beta, tuple(fit.covariance_from_theta(fit.theta)))


def _positive_definite(sigmas: list[Array]) -> bool:
    """Every covariance finite and Cholesky-factorisable."""
    for s in sigmas:
        if not np.all(np.isfinite(s)):
            return False
        try:
            np.linalg.cholesky(s)
        except np.linalg.LinAlgError:
            return False
    return True


@dataclass(frozen=True, eq=False)
class DrawSummary:
    """How the parameter draws were made."""

    draws: tuple[ParameterDraw, ...]
    theta_drawn: bool  # False when theta_vcov is unusable: theta fixed at its estimate
    rejected: int  # theta draws with a non-positive-definite covariance, redrawn


def draw_parameters(
    fit: MMRMResult, cells: GLSCells, rng: np.random.Generator, n: int
) -> DrawSummary:
    """n approximate-Bayesian draws of (beta, Sigma) (see the module docstring)."""
    theta_hat = np.asarray(fit.theta, dtype=float)
    vcov = np.asarray(fit.theta_vcov, dtype=float)
    chol_theta: Array | None = None
    if np.all(np.isfinite(vcov)):
        try:
            chol_theta = np.linalg.cholesky(0.5 * (vcov + vcov.T))
        except np.linalg.LinAlgError:
            chol_theta = None
    draws: list[ParameterDraw] = []
    rejected = 0
    for _ in range(n):
        sigmas = fit.covariance_from_theta(theta_hat)
        if chol_theta is not None:
            for _attempt in range(_MAX_REJECTIONS):
                theta = theta_hat + chol_theta @ rng.standard_normal(len(theta_hat))
                candidate = fit.covariance_from_theta(theta)
                if _positive_definite(candidate):
                    sigmas = candidate
                    break
                rejected += 1
            else:
                raise ValueError("no positive-definite covariance among the parameter draws")
        beta_hat, beta_vcov = cells.gls(sigmas)
        chol_beta = np.linalg.cholesky(beta_vcov)
        beta = beta_hat + chol_beta @ rng.standard_normal(len(beta_hat))
        draws.append(ParameterDraw(beta, tuple(sigmas)))
    return DrawSummary(tuple(draws), chol_theta is not None, rejected)
