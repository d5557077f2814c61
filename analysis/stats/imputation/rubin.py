"""Rubin's rules for combining multiply imputed analyses, with the Barnard-Rubin degrees of freedom.

Rubin (1987, Multiple Imputation for Nonresponse in Surveys, ch. 3): the pooled estimate is the
mean of the m estimates, its variance T = U + (1 + 1/m) B with U the mean within-imputation
variance and B the between-imputation variance. Inference uses a t distribution whose degrees of
freedom follow Barnard & Rubin (1999, Biometrika 86:948): with lambda = (1 + 1/m) B / T,
    nu_old = (m - 1) / lambda^2                                   (Rubin 1987)
    nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - lambda)
    nu     = 1 / (1 / nu_old + 1 / nu_obs)
where nu_com is the complete-data degrees of freedom (n - p of the analysis model; infinite for a
large-sample statistic, in which case nu = nu_old). When B = 0 (nothing imputed) lambda = 0 and
nu = nu_obs. Functions work elementwise over leading axes (many contrasts or deltas at once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Array = NDArray[np.float64]


def barnard_rubin_df(
    m: int, within: ArrayLike, between: ArrayLike, df_complete: float | None
) -> Array:
    """Barnard & Rubin (1999) small-sample degrees of freedom (Rubin 1987's when df_complete is
    None or infinite)."""
    u = np.asarray(within, dtype=float)
    b = np.asarray(between, dtype=float)
    total = u + (1.0 + 1.0 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(total > 0, (1.0 + 1.0 / m) * b / total, 0.0)
        nu_old = np.where(lam > 0, (m - 1) / lam**2, np.inf)
    if df_complete is None or not np.isfinite(df_complete):
        return np.asarray(nu_old, dtype=float)
    nu_com = float(df_complete)
    nu_obs = (nu_com + 1.0) / (nu_com + 3.0) * nu_com * (1.0 - lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = np.where(np.isfinite(nu_old), nu_old * nu_obs / (nu_old + nu_obs), nu_obs)
    return np.asarray(nu, dtype=float)


@dataclass(frozen=True)
class Pooled:
    """Rubin's rules applied elementwise: arrays over the leading axes of the inputs."""

    estimate: Array
    se: Array
    df: Array
    t: Array
    p: Array
    ci_low: Array
    ci_high: Array
    within: Array  # U: mean within-imputation variance
    between: Array  # B: between-imputation variance
    total: Array  # T = U + (1 + 1/m) B
    riv: Array  # relative increase in variance due to missingness, (1 + 1/m) B / U
    fmi: Array  # fraction of missing information (Rubin 1987, eq. 3.1.10)
    m: int
    df_complete: float | None


def pool(
    estimates: ArrayLike,
    variances: ArrayLike,
    df_complete: float | None,
    level: float = 0.95,
) -> Pooled:
    """Rubin's rules over the last axis (the imputations), Barnard-Rubin df (Rubin 1987;
    Barnard & Rubin 1999)."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    if q.shape != u.shape or q.ndim == 0:
        raise ValueError("estimates and variances need the same shape, imputations last")
    m = q.shape[-1]
    qbar = q.mean(axis=-1)
    ubar = u.mean(axis=-1)
    # variance of the differences from the first imputation: the same number, but exactly 0
    # (not rounding noise) when every imputation gives the same estimate
    b = (q - q[..., :1]).var(axis=-1, ddof=1) if m > 1 else np.zeros_like(qbar)
    total = ubar + (1.0 + 1.0 / m) * b
    if m > 1:
        df = barnard_rubin_df(m, ubar, b, df_complete)
    else:  # one data set: plain complete-data inference
        df = np.full_like(qbar, np.inf if df_complete is None else float(df_complete))
    se = np.sqrt(np.maximum(total, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, qbar / se, np.nan)
        riv = np.where(ubar > 0, (1.0 + 1.0 / m) * b / ubar, np.where(b > 0, np.inf, 0.0))
        fmi = (riv + 2.0 / (df + 3.0)) / (1.0 + riv)
    valid = np.isfinite(t) & (df > 0)
    df_safe = np.where(valid, df, 1.0)
    p = np.where(valid, 2.0 * stats.t.sf(np.abs(np.where(valid, t, 0.0)), df_safe), np.nan)
    quant = np.where(df > 0, stats.t.ppf(0.5 + level / 2.0, np.where(df > 0, df, 1.0)), np.nan)
    half = quant * se
    return Pooled(
        estimate=qbar,
        se=se,
        df=df,
        t=t,
        p=p,
        ci_low=qbar - half,
        ci_high=qbar + half,
        within=ubar,
        between=b,
        total=total,
        riv=riv,
        fmi=np.where(b > 0, fmi, 0.0),
        m=m,
        df_complete=df_complete,
    )


@dataclass(frozen=True)
class RubinResult:
    """One pooled scalar: estimate, SE, Barnard-Rubin df, t test, CI and variance components."""

    estimate: float
    se: float
    df: float
    t: float
    p: float
    ci_low: float
    ci_high: float
    within: float
    between: float
    total: float
    riv: float
    fmi: float
    m: int
    df_complete: float | None


def rubin(
    estimates: ArrayLike,
    variances: ArrayLike,
    df_complete: float | None,
    level: float = 0.95,
) -> RubinResult:
    """Rubin's rules for one quantity from m imputations (Rubin 1987; Barnard & Rubin 1999)."""
    q = np.asarray(estimates, dtype=float).reshape(-1)
    u = np.asarray(variances, dtype=float).reshape(-1)
    pooled = pool(q, u, df_complete, level)
    return RubinResult(
        estimate=float(pooled.estimate),
        se=float(pooled.se),
        df=float(pooled.df),
        t=float(pooled.t),
        p=float(pooled.p),
        ci_low=float(pooled.ci_low),
        ci_high=float(pooled.ci_high),
        within=float(pooled.within),
        between=float(pooled.between),
        total=float(pooled.total),
        riv=float(pooled.riv),
        fmi=float(pooled.fmi),
        m=pooled.m,
        df_complete=df_complete,
    )
