"""Reference-based imputation: the mean a treated patient is assumed to follow after dropout.

Carpenter, Roger & Kenward (2013, J Biopharm Stat 23:1352): each patient's visits are jointly
normal with the common visit covariance Sigma and a mean built from the arm means of the
imputation model; missing values are drawn from the conditional normal given the observed ones.
For a treated patient whose last value is at visit d (d = -1: none after baseline):
    MAR  mean = own arm at every visit
    J2R  jump to reference: own arm up to d, the comparator's mean after d
    CR   copy reference: the comparator's mean at every visit (before d too)
    CIR  copy increments in reference: own arm up to d, after it the own-arm mean at d plus
         the comparator's change since d (mu_ref,t - mu_ref,d); with d = -1 the arms are taken
         to agree at baseline (a change from baseline is 0 in both), so the comparator's mean
Comparator patients, and treated patients observed at the last visit (no dropout; intermittent
gaps only), are imputed under MAR. "Arm means" are each patient's own linear predictor of the
MMRM with the arm set to their arm or to the comparator (baseline and covariates as they are).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

MAR, J2R, CR, CIR = "mar", "j2r", "cr", "cir"
METHODS: tuple[str, ...] = (MAR, J2R, CR, CIR)
REFERENCE_METHODS: tuple[str, ...] = (J2R, CR, CIR)


def joint_means(
    mu_own: Array, mu_ref: Array | None, last: IntArray, treated: BoolArray, method: str
) -> Array:
    """(n, T) mean of each patient's joint normal under `method` (Carpenter et al. 2013)."""
    if method == MAR:
        return mu_own
    if method not in REFERENCE_METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if mu_ref is None:
        raise ValueError(f"{method!r} needs a comparator arm")
    n, t = mu_own.shape
    dropped = treated & (last < t - 1)
    after = dropped[:, None] & (np.arange(t)[None, :] > last[:, None])
    if method == J2R:
        return np.where(after, mu_ref, mu_own)
    if method == CR:
        return np.where(dropped[:, None], mu_ref, mu_own)
    rows = np.arange(n)
    d = np.maximum(last, 0)
    has = last >= 0
    own_d = np.where(has, mu_own[rows, d], 0.0)
    ref_d = np.where(has, mu_ref[rows, d], 0.0)
    return np.where(after, own_d[:, None] + mu_ref - ref_d[:, None], mu_own)
