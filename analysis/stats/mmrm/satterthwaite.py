"""Satterthwaite degrees of freedom for contrasts of the fixed effects.

For a contrast l, v(theta) = l' C(theta) l with C = (X' V^-1 X)^-1 and
df = 2 v^2 / (g' W g), g = dv/dtheta, W = inverse Hessian of the (RE)ML objective
(Satterthwaite 1946, Biometrics Bull 2:110; Giesbrecht & Burns 1985, Biometrics 41:477;
the same formulation as Christensen's lmerTest and mmrm: dC/dtheta_r = -C P_r C with
P_r = X' dV^-1/dtheta_r X).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def gradient(contrast: Array, vcov: Array, p_mats: Array) -> Array:
    """d(l' C l)/dtheta_r = -l' C P_r C l for every covariance parameter r."""
    cl = vcov @ contrast
    return -((p_mats @ cl) @ cl)


def df_1d(contrast: Array, vcov: Array, p_mats: Array, theta_vcov: Array) -> float:
    """Satterthwaite df of one contrast (Satterthwaite 1946; Giesbrecht & Burns 1985)."""
    v = float(contrast @ vcov @ contrast)
    g = gradient(contrast, vcov, p_mats)
    denom = float(g @ theta_vcov @ g)
    if not np.isfinite(denom) or denom <= 0.0:
        return float("nan")
    return 2.0 * v * v / denom


def df_md(contrasts: Array, vcov: Array, p_mats: Array, theta_vcov: Array) -> tuple[int, float]:
    """Numerator rank and denominator df of an F test (Fai & Cornelius 1996, JSCS 54:363).

    The contrast covariance is diagonalised; each rotated 1-df contrast gets its
    Satterthwaite df nu_m, and E = sum nu_m / (nu_m - 2) gives df = 2E / (E - q).
    """
    cov = contrasts @ vcov @ contrasts.T
    vals, vecs = np.linalg.eigh(cov)
    idx = np.argsort(vals)[::-1]
    vals, vecs = vals[idx], vecs[:, idx]
    tol = max(np.sqrt(np.finfo(float).eps) * vals[0], 0.0)
    rank = int(np.sum(vals > tol))
    rotated = vecs[:, :rank].T @ contrasts
    if rank == 1:
        return 1, df_1d(rotated[0], vcov, p_mats, theta_vcov)
    nus = np.array([df_1d(r, vcov, p_mats, theta_vcov) for r in rotated])
    if np.all(np.abs(np.diff(nus)) < np.sqrt(np.finfo(float).eps)):
        return rank, float(np.mean(nus))
    if np.any(nus <= 2.0):
        return rank, 2.0
    e = float(np.sum(nus / (nus - 2.0)))
    return rank, 2.0 * e / (e - rank)
