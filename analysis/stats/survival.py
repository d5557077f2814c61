"""Kaplan-Meier, log-rank and Cox: the numbers of R's survival package, without R.

- Kaplan-Meier estimate (Kaplan & Meier 1958) with Greenwood's variance and R's default
  interval, ``conf.type = "log"``: exp(log S ± z·se(log S)), the upper limit capped at 1
  (R: ``survfit(Surv(time, status) ~ 1)``). Every distinct time is a row, censored times
  included (they carry the censor marks of the plot).
- Quantiles (the median) and their CIs by R's rule (``quantile.survfit``): the first time the
  curve reaches 1 − p; where it stays exactly at 1 − p over an interval, the middle of that
  interval; the CI is the same rule applied to the upper and lower confidence curves
  (Brookmeyer & Crowley 1982, as R does it). None where a curve never gets there.
- Survival at chosen times with the number at risk (R: ``summary(fit, times = ...)``).
- Log-rank test for k groups (R: ``survdiff``, rho = 0; Mantel 1966).
- Cox proportional-hazards model with Efron's handling of tied times (Cox 1972; Efron 1977),
  R's ``coxph`` default: coefficients, hazard ratios with Wald CIs, and the likelihood-ratio,
  Wald and score (log-rank) tests. Fitted by statsmodels ``PHReg(ties="efron")``, imported
  where it is used (statsmodels costs about a second to load).

lifelines was considered and not used: its Kaplan-Meier intervals are log-log (not R's
default log), so its median CIs differ from R's (aml, Maintained: 13 to ∞ against R's 18 to
NA), and lifelines 0.30 requires pandas < 3. Its point estimates, log-rank and Efron Cox
coefficients agree with R. tests/stats/test_survival.py holds R's values beside each call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

_TOLERANCE = float(np.sqrt(np.finfo(float).eps))  # R: sqrt(.Machine$double.eps)
ArrayLike = npt.ArrayLike


@dataclass
class KaplanMeier:
    """One Kaplan-Meier curve: a row per distinct time, with the median and its CI."""

    table: pd.DataFrame  # time, n_risk, n_event, n_censor, survival, std_err, ci_low, ci_high
    n: int
    n_events: int
    conf_level: float
    median: float | None
    median_ci: tuple[float | None, float | None]
    last_time: float | None  # the last time anyone was followed (event or censoring)
    observed_times: np.ndarray  # every patient's time, for the number at risk at any time

    def quantile(self, p: float) -> tuple[float | None, float | None, float | None]:
        """Time by which a share ``p`` had the event, with its CI (R: quantile(fit, p))."""
        return _quantiles(self.table, p)

    def at(self, times: Sequence[float]) -> pd.DataFrame:
        """Survival with its CI and the number at risk at each time (R: summary(fit,
        times = times)); survival is None past the last follow-up, as R leaves such times out."""
        rows = []
        table = self.table
        for t in times:
            n_risk = int((self.observed_times >= t).sum())
            before = table.loc[table["time"] <= t]
            beyond = self.last_time is None or t > self.last_time
            if beyond:
                s = low = high = se = None
            elif before.empty:
                s, low, high, se = 1.0, 1.0, 1.0, 0.0
            else:
                last = before.iloc[-1]
                s = float(last["survival"])
                se = float(last["std_err"])
                low = _none(last["ci_low"])
                high = _none(last["ci_high"])
            events = int(before["n_event"].sum())
            rows.append(
                {"time": float(t), "n_risk": n_risk, "n_events_by": events, "survival": s,
                 "std_err": se, "ci_low": low, "ci_high": high}
            )  # fmt: skip
        return pd.DataFrame(
            rows,
            columns=["time", "n_risk", "n_events_by", "survival", "std_err", "ci_low", "ci_high"],
        )

    def n_at_risk(self, times: Sequence[float]) -> list[int]:
        """Patients still followed and event-free at each time (time >= t)."""
        return [int((self.observed_times >= t).sum()) for t in times]


def _none(x: object) -> float | None:
    return None if x is None or pd.isna(x) else float(x)  # type: ignore[arg-type]


def kaplan_meier(time: ArrayLike, event: ArrayLike, conf_level: float = 0.95) -> KaplanMeier:
    """The Kaplan-Meier estimate with Greenwood log intervals (Kaplan & Meier 1958;
    R: survfit(Surv(time, event) ~ 1), conf.type = "log")."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    if t.shape != e.shape:
        raise ValueError("time and event must have the same length")
    if np.isnan(t).any():
        raise ValueError("time has missing values")
    times = np.unique(t)
    n_event = np.array([int(e[t == u].sum()) for u in times])
    n_all = np.array([int((t == u).sum()) for u in times])
    n_risk = np.array([int((t >= u).sum()) for u in times])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = 1.0 - n_event / n_risk
        survival = np.cumprod(factor)
        term = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        greenwood = np.cumsum(term)  # inf once everyone at risk has had the event
        se_log = np.sqrt(greenwood)
        z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
        positive = survival > 0
        low = np.where(positive, survival * np.exp(-z * se_log), np.nan)
        high = np.where(positive, np.minimum(survival * np.exp(z * se_log), 1.0), np.nan)
        std_err = np.where(positive, survival * se_log, np.nan)
    table = pd.DataFrame(
        {
            "time": times,
            "n_risk": n_risk,
            "n_event": n_event,
            "n_censor": n_all - n_event,
            "survival": survival,
            "std_err": std_err,
            "ci_low": low,
            "ci_high": high,
        }
    )
    median, lower, upper = _quantiles(table, 0.5)
    return KaplanMeier(
        table=table,
        n=len(t),
        n_events=int(e.sum()),
        conf_level=conf_level,
        median=median,
        median_ci=(lower, upper),
        last_time=float(times[-1]) if len(times) else None,
        observed_times=t,
    )


def _quantiles(table: pd.DataFrame, p: float) -> tuple[float | None, float | None, float | None]:
    """(estimate, lower, upper) of the time by which a share ``p`` had the event, by R's
    survival:::doquant (the CI from the upper and the lower confidence curves)."""
    x = table["time"].to_numpy(float)
    estimate = _findq(x, 1 - table["survival"].to_numpy(float), p)
    lower = _findq(x, 1 - table["ci_low"].to_numpy(float), p)
    upper = _findq(x, 1 - table["ci_high"].to_numpy(float), p)
    return estimate, lower, upper


def _findq(time: np.ndarray, y: np.ndarray, p: float, tol: float = _TOLERANCE) -> float | None:
    """R's survival:::findq: the time at which the cumulative curve ``y`` (1 − S) reaches ``p``,
    the middle of a flat stretch where it equals ``p`` exactly; None where it never does."""
    x = np.concatenate([[0.0], time])
    y = np.concatenate([[0.0], y])
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    xmax = x[-1]
    # duplicated(y), NaN equal to NaN: keep the first of each value
    keep, seen = [], set()
    for i, value in enumerate(y):
        key = "nan" if np.isnan(value) else value
        if key not in seen:
            seen.add(key)
            keep.append(i)
    x, y = x[keep], y[keep]
    index = np.arange(len(y))
    valid = ~np.isnan(y)

    def approx(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, method = "constant", f = 1): the first knot at or after p
        knots, at = y[valid] + shift, index[valid]
        if p < knots[0] or p > knots[-1]:
            return None
        return int(at[np.searchsorted(knots, p, side="left")])

    first, second = approx(tol), approx(-tol)
    if p == 0:
        return float(x[0])
    if first is not None and not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        return float((x[first] + xmax) / 2)
    if first is None or second is None:
        return None
    return float((x[first] + x[second]) / 2)


@dataclass
class LogRank:
    """The log-rank test of k groups (R: survdiff(Surv(time, status) ~ group))."""

    groups: list[str]
    observed: list[int]
    expected: list[float]
    chisq: float
    df: int
    p_value: float

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return {
            "groups": self.groups,
            "observed": self.observed,
            "expected": self.expected,
            "chisq": self.chisq,
            "df": self.df,
            "p_value": self.p_value,
        }


def log_rank(time: ArrayLike, event: ArrayLike, group: ArrayLike) -> LogRank | None:
    """The log-rank (Mantel-Haenszel) test across groups (Mantel 1966; R: survdiff, rho = 0);
    None with fewer than two groups or no events."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    g = np.asarray(group).astype(str)
    labels = sorted(set(g.tolist()))
    k = len(labels)
    if k < 2 or not e.any():
        return None
    observed = np.array([int(e[g == label].sum()) for label in labels])
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    for u in np.unique(t[e]):
        at_risk = t >= u
        n = at_risk.sum()
        d = (e & (t == u)).sum()
        n_g = np.array([(at_risk & (g == label)).sum() for label in labels], dtype=float)
        expected += n_g * d / n
        if n > 1:
            share = n_g / n
            variance += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    difference = observed - expected
    inverse = np.linalg.pinv(variance[:-1, :-1])
    chisq = float(difference[:-1] @ inverse @ difference[:-1])
    df = int(np.linalg.matrix_rank(variance[:-1, :-1]))
    return LogRank(
        groups=labels,
        observed=[int(v) for v in observed],
        expected=[float(v) for v in expected],
        chisq=chisq,
        df=df,
        p_value=float(stats.chi2.sf(chisq, df)) if df else float("nan"),
    )


@dataclass
class CoxModel:
    """A Cox model's coefficients and global tests (R: summary(coxph(...)))."""

    coefficients: pd.DataFrame  # term, coef, hazard_ratio, se, ci_low, ci_high, z, p_value
    n: int
    n_events: int
    likelihood_ratio: float
    score: float
    wald: float
    df: int
    ties: str = "efron"
    conf_level: float = 0.95
    warnings: list[str] = field(default_factory=list)

    @property
    def p_likelihood_ratio(self) -> float:
        """p of the likelihood-ratio test."""
        return float(stats.chi2.sf(self.likelihood_ratio, self.df))

    @property
    def p_score(self) -> float:
        """p of the score test (the log-rank test for a single two-level factor)."""
        return float(stats.chi2.sf(self.score, self.df))

    @property
    def p_wald(self) -> float:
        """p of the Wald test."""
        return float(stats.chi2.sf(self.wald, self.df))

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return {
            "coefficients": self.coefficients.to_dict("records"),
            "n": self.n,
            "n_events": self.n_events,
            "ties": self.ties,
            "likelihood_ratio": self.likelihood_ratio,
            "p_likelihood_ratio": self.p_likelihood_ratio,
            "wald": self.wald,
            "p_wald": self.p_wald,
            "score": self.score,
            "p_score": self.p_score,
            "df": self.df,
            "warnings": self.warnings,
        }


def cox_model(
    time: ArrayLike,
    event: ArrayLike,
    design: pd.DataFrame,
    conf_level: float = 0.95,
    ties: str = "efron",
) -> CoxModel:
    """A Cox proportional-hazards fit on the numeric columns of ``design`` (Cox 1972; ties by
    Efron 1977 as R's coxph default, or "breslow"); Wald CIs for the hazard ratios."""
    from statsmodels.duration.hazard_regression import PHReg

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    x = design.to_numpy(dtype=float)
    if not e.any():
        raise ValueError("There are no events: a Cox model cannot be fitted.")
    model = PHReg(t, x, status=e, ties=ties)
    warnings: list[str] = []
    import warnings as _warnings

    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        fit = model.fit()
    params = np.asarray(fit.params, dtype=float)
    covariance = np.asarray(fit.cov_params(), dtype=float)
    se = np.sqrt(np.diag(covariance))
    if caught or not np.all(np.isfinite(se)) or np.any(np.abs(params) > 15):
        warnings.append(
            "The model may not have converged (a coefficient may be infinite, as when every "
            "event falls in one group); treat its hazard ratios as unreliable."
        )
    z_crit = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        z = params / se
        coefficients = pd.DataFrame(
            {
                "term": list(design.columns),
                "coef": params,
                "hazard_ratio": np.exp(params),
                "se": se,
                "ci_low": np.exp(params - z_crit * se),
                "ci_high": np.exp(params + z_crit * se),
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
            }
        )
    zero = np.zeros(x.shape[1])
    likelihood_ratio = float(2 * (fit.llf - model.loglike(zero)))
    score_vector = model.score(zero)
    information = -model.hessian(zero)
    score = float(score_vector @ np.linalg.solve(information, score_vector))
    wald = float(params @ np.linalg.solve(covariance, params))
    return CoxModel(
        coefficients=coefficients,
        n=len(t),
        n_events=int(e.sum()),
        likelihood_ratio=likelihood_ratio,
        score=score,
        wald=wald,
        df=x.shape[1],
        ties=ties,
        conf_level=conf_level,
        warnings=warnings,
    )


def step_curve(fit: KaplanMeier, start: float = 0.0) -> pd.DataFrame:
    """The curve as plotted: (start, 1) then one point per distinct time (a step after each),
    with the confidence band; for ``line_shape="hv"`` plots."""
    table = fit.table
    head = pd.DataFrame(
        {"time": [start], "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0], "n_censor": [0]}
    )
    body = table[["time", "survival", "ci_low", "ci_high", "n_censor"]]
    return pd.concat([head, body], ignore_index=True)
