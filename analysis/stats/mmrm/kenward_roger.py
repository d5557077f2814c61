"""Kenward-Roger adjusted covariance of the fixed effects and degrees of freedom.

Kenward & Roger 1997, Biometrics 53:983, eqs. (2)-(4) and section 3, in the form mmrm uses:
  C_adj = C + 2 C [sum_rt W_rt (Q_rt - P_r C P_t - R_rt / 4)] C
with P_r = X' dV^-1/dtheta_r X, Q_rt = X' V^-1 V_r V^-1 V_t V^-1 X, R_rt = X' V^-1 V_rt V^-1 X
and W the inverse Hessian of the REML objective; the df use the unadjusted C (as mmrm does).
For a single contrast the df equal the Satterthwaite df (A1 = A2 in the paper's notation).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def adjusted_vcov(vcov: Array, p_mats: Array, theta_vcov: Array, kr_middle: Array) -> Array:
    """C_adj of Kenward & Roger (1997), eq. (4); kr_middle = sum_rt W_rt (Q_rt - R_rt / 4)."""
    # sum_rt W_rt P_r C P_t = sum_r P_r C (sum_t W_rt P_t)
    wp = np.tensordot(theta_vcov, p_mats, axes=([1], [0]))
    pcp = np.sum(p_mats @ vcov @ wp, axis=0)
    middle = kr_middle - pcp
    out = vcov + 2.0 * vcov @ middle @ vcov
    return 0.5 * (out + out.T)


def df_and_scale(
    contrasts: Array, vcov: Array, p_mats: Array, theta_vcov: Array
) -> tuple[float, float]:
    """Denominator df m and F scale lambda for contrasts L (rows) (Kenward & Roger 1997, s. 3)."""
    lmat = np.atleast_2d(contrasts)
    nl = lmat.shape[0]
    theta_mat = lmat.T @ np.linalg.solve(lmat @ vcov @ lmat.T, lmat)
    mv = theta_mat @ vcov
    # tr(Theta C P_r C) and tr(Theta C P_r C Theta C P_t C)
    mats = mv @ p_mats @ vcov
    tr1 = np.trace(mats, axis1=1, axis2=2)
    a1 = float(tr1 @ theta_vcov @ tr1)
    tr2 = np.tensordot(mats, np.swapaxes(mats, 1, 2), axes=([1, 2], [1, 2]))
    a2 = float(np.sum(theta_vcov * tr2))
    b = (a1 + 6.0 * a2) / (2.0 * nl)
    e_star = 1.0 / (1.0 - a2 / nl)
    g = ((nl + 1.0) * a1 - (nl + 4.0) * a2) / ((nl + 2.0) * a2)
    denom = 3.0 * nl + 2.0 - 2.0 * g
    c1 = g / denom
    c2 = (nl - g) / denom
    c3 = (nl + 2.0 - g) / denom
    v_star = 2.0 / nl * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (nl + 2.0) / (nl * rho - 1.0)
    lam = m / (e_star * (m - 2.0))
    return float(m), float(lam)
