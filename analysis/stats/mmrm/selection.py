"""Fitting several covariance structures and comparing them by AIC and BIC.

AIC = -2 logLik + 2 k and BIC = -2 logLik + k log(n_patients) with k the number of covariance
parameters, as mmrm reports them (REML criteria compare covariance structures for the same
fixed effects; Wolfinger 1993, Comm Stat Sim Comp 22:1079).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats.mmrm.covariance import STRUCTURES
from analysis.stats.mmrm.fit import fit_mmrm
from analysis.stats.mmrm.result import MMRMResult

TABLE_COLUMNS = [
    "covariance",
    "n_theta",
    "log_likelihood",
    "aic",
    "bic",
    "delta_aic",
    "delta_bic",
    "converged",
    "message",
]


def fit_structures(
    data: pd.DataFrame, structures: Sequence[str] = STRUCTURES, **fit_args: Any
) -> dict[str, MMRMResult | str]:
    """Fit the model once per covariance structure; a string holds the error of a failed fit."""
    out: dict[str, MMRMResult | str] = {}
    for name in structures:
        try:
            out[name] = fit_mmrm(data, covariance=name, **fit_args)
        except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            out[name] = str(exc)
    return out


def structure_table(fits: Mapping[str, MMRMResult | str]) -> pd.DataFrame:
    """AIC/BIC table; deltas are relative to the best converged fit (NaN if not converged)."""
    rows = []
    for name, r in fits.items():
        if isinstance(r, str):
            rows.append({"covariance": name, "converged": False, "message": r})
            continue
        rows.append(
            {
                "covariance": name,
                "n_theta": r.n_theta,
                "log_likelihood": r.log_likelihood,
                "aic": r.aic,
                "bic": r.bic,
                "converged": r.converged,
                "message": r.message,
            }
        )
    table = pd.DataFrame.from_records(rows, columns=TABLE_COLUMNS)
    ok = table["converged"].astype(bool)
    for crit in ("aic", "bic"):
        best = table.loc[ok, crit].min() if ok.any() else np.nan
        table[f"delta_{crit}"] = np.where(ok, table[crit] - best, np.nan)
    return table


def compare_covariances(
    data: pd.DataFrame, structures: Sequence[str] = STRUCTURES, **fit_args: Any
) -> pd.DataFrame:
    """Fit every structure and return the AIC/BIC table (see `structure_table`)."""
    return structure_table(fit_structures(data, structures, **fit_args))
