"""Result records shared by the missing-data analyses (numbers only), and strict-JSON output."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats.imputation.rubin import Pooled


@dataclass(frozen=True)
class Estimate:
    """One estimate at the analysed visit: a treated arm minus the comparator (ANCOVA) or, without
    arms, the mean change; with the patients analysed and the values imputed or carried."""

    analysis: str  # mmrm, mi_mar, mi_j2r, mi_cr, mi_cir, complete_case, locf, bocf
    arm: str  # treated arm, or "all" without arms
    comparator: str | None
    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p: float
    n: int  # patients analysed
    n_imputed: int  # values at the visit imputed (MI) or carried forward (LOCF/BOCF)
    m: int | None = None  # imputations (MI only)
    fmi: float | None = None  # fraction of missing information (MI only)
    within: float | None = None  # mean within-imputation variance (MI only)
    between: float | None = None  # between-imputation variance (MI only)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-safe record."""
        return json_ready(asdict(self))


def pooled_estimates(
    analysis: str,
    pooled: Pooled,
    labels: tuple[str, ...],
    comparator: str | None,
    n: int,
    n_imputed: int,
) -> tuple[Estimate, ...]:
    """Estimate records from Rubin's rules over contrasts (first axis of `pooled`)."""
    out = []
    for i, label in enumerate(labels):
        out.append(
            Estimate(
                analysis=analysis,
                arm=label,
                comparator=comparator,
                estimate=float(pooled.estimate[i]),
                se=float(pooled.se[i]),
                df=float(pooled.df[i]),
                ci_low=float(pooled.ci_low[i]),
                ci_high=float(pooled.ci_high[i]),
                p=float(pooled.p[i]),
                n=n,
                n_imputed=n_imputed,
                m=pooled.m,
                fmi=float(pooled.fmi[i]),
                within=float(pooled.within[i]),
                between=float(pooled.between[i]),
            )
        )
    return tuple(out)


def estimates_frame(estimates: tuple[Estimate, ...] | list[Estimate]) -> pd.DataFrame:
    """Estimates as a table (one row each)."""
    columns = list(Estimate.__dataclass_fields__)
    return pd.DataFrame([asdict(e) for e in estimates], columns=columns)


def json_ready(value: Any) -> Any:
    """Plain Python for strict JSON: numpy scalars and arrays converted, NaN/inf -> None,
    tuples -> lists, DataFrames -> lists of records, dataclasses with to_dict() -> dicts."""
    if hasattr(value, "to_dict") and not isinstance(value, (pd.DataFrame, pd.Series)):
        return json_ready(value.to_dict())
    if isinstance(value, pd.DataFrame):
        return [json_ready(r) for r in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return json_ready(value.tolist())
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)
