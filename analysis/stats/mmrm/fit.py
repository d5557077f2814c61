"""Fitting the MMRM: data preparation, (RE)ML optimisation and assembly of the result.

The model and its conventions are those of the R package mmrm (Sabanes Bove et al. 2024,
mmrm: Mixed Models for Repeated Measures, CRAN): marginal model y_i ~ N(X_i beta, Sigma_i)
with Sigma_i the rows/columns of the visit covariance for the visits patient i has; beta is
profiled out by GLS, theta is found by a trust-region Newton method with the analytic
gradient and Hessian (Nocedal & Wright 2006, ch. 4) and polished by Newton steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize

from analysis.stats.mmrm import kenward_roger
from analysis.stats.mmrm.covariance import (
    DESCRIPTIONS,
    STRUCTURES,
    CovarianceStructure,
    simpler_structures,
)
from analysis.stats.mmrm.data import prepare
from analysis.stats.mmrm.design import build_design
from analysis.stats.mmrm.likelihood import Evaluation, Likelihood, build_cells, cell_layout
from analysis.stats.mmrm.lsmeans import lsmeans_tables
from analysis.stats.mmrm.result import (
    KENWARD_ROGER,
    SATTERTHWAITE,
    ContrastResult,
    MMRMResult,
)

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

DF_METHODS = (SATTERTHWAITE, KENWARD_ROGER)

# Convergence: the Newton decrement g' H^-1 g (twice the predicted remaining decrease of the
# objective) must be tiny at the reported optimum.
_DECREMENT_TOL = 1e-8
_MAX_ITER = 200
# A covariance whose correlation matrix has an eigenvalue below this (e.g. a correlation above
# 1 - 1e-6), or a standard deviation this small relative to the largest, counts as singular:
# the likelihood is unbounded towards such boundaries and no estimate there is meaningful.
_SINGULAR_TOL = 1e-6


def _aliased_columns(x: Array) -> tuple[IntArray, Array]:
    """Columns kept after dropping linearly dependent ones in order (as R's lm / mmrm do),
    and a basis of the null space of X (one column per dropped column) for estimability."""
    gram = x.T @ x
    p = gram.shape[0]
    kept: list[int] = []
    null: list[Array] = []
    for j in range(p):
        gjj = gram[j, j]
        if kept:
            gkk = gram[np.ix_(kept, kept)]
            gkj = gram[kept, j]
            coef = np.linalg.solve(gkk, gkj)
            resid = gjj - float(gkj @ coef)
        else:
            coef = np.zeros(0)
            resid = gjj
        if gjj <= 0.0 or resid <= 1e-9 * gjj:
            vec = np.zeros(p)
            vec[j] = 1.0
            vec[kept] = -coef
            null.append(vec)
        else:
            kept.append(j)
    basis = np.column_stack(null) if null else np.zeros((p, 0))
    return np.asarray(kept, dtype=np.int64), basis


def _start_covariance(
    resid: Array, patient: IntArray, visit: IntArray, n_visits: int, members: Array
) -> Array:
    """Pairwise-complete covariance of OLS residuals over visits, made positive definite."""
    n_pat = int(patient.max()) + 1
    r = np.zeros((n_pat, n_visits))
    m = np.zeros((n_pat, n_visits))
    r[patient, visit] = resid
    m[patient, visit] = 1.0
    r, m = r[members], m[members]
    counts = m.T @ m
    total_var = float(np.sum(r * r) / max(np.sum(m), 1.0))
    if not np.isfinite(total_var) or total_var <= 0.0:
        total_var = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (r.T @ r) / counts
    var = np.diag(cov).copy()
    bad_var = ~np.isfinite(var) | (np.diag(counts) < 2) | (var <= 1e-8 * total_var)
    var[bad_var] = total_var
    sd = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr) | (counts < 3)] = 0.0
    corr = np.clip(corr, -0.95, 0.95)
    np.fill_diagonal(corr, 1.0)
    # shrink towards independence until comfortably positive definite
    for _ in range(60):
        if np.linalg.eigvalsh(corr)[0] > 0.05:
            break
        corr = 0.8 * corr + 0.2 * np.eye(n_visits)
    return corr * np.outer(sd, sd)


class _Objective:
    """Caches the last evaluation so that scipy's fun / jac / hess share one computation."""

    def __init__(self, lik: Likelihood) -> None:
        self.lik = lik
        self.key: bytes | None = None
        self.order = -1
        self.ev: Evaluation | None = None

    def get(self, theta: Array, order: int = 2) -> Evaluation | None:
        """Evaluation at theta with derivatives up to `order`; None where not defined."""
        key = np.asarray(theta, dtype=float).tobytes()
        if key != self.key or self.order < order:
            self.key = key
            self.order = order
            with np.errstate(all="ignore"):
                ev = self.lik.evaluate(np.asarray(theta, dtype=float), order)
            parts = [] if ev is None else [ev.value, ev.gradient, ev.hessian]
            finite = all(np.all(np.isfinite(v)) for v in parts if v is not None)
            self.ev = ev if ev is not None and finite else None
        return self.ev

    def fun(self, theta: Array) -> float:
        ev = self.get(theta)
        return float("inf") if ev is None else ev.value

    def fun_grad(self, theta: Array) -> tuple[float, Array]:
        """Objective and gradient only (quasi-Newton); a huge value where undefined."""
        ev = self.get(theta, 1)
        if ev is None or ev.gradient is None:
            return 1e300, np.zeros_like(theta)
        return ev.value, ev.gradient

    def jac(self, theta: Array) -> Array:
        ev = self.get(theta)
        if ev is None or ev.gradient is None:
            return np.zeros_like(theta)
        return ev.gradient

    def hess(self, theta: Array) -> Array:
        ev = self.get(theta)
        if ev is None or ev.hessian is None:
            return np.eye(len(theta))
        return ev.hessian


def _singular_covariance(lik: Likelihood, theta: Array) -> bool:
    """Whether Sigma(theta) is (numerically) singular: the optimiser is heading to a boundary."""
    for s, _, _ in lik.sigmas(np.asarray(theta, dtype=float), 0):
        sd = np.sqrt(np.diag(s))
        if not np.all(np.isfinite(sd)) or sd.min() <= _SINGULAR_TOL * sd.max():
            return True
        if np.linalg.eigvalsh(s / np.outer(sd, sd))[0] < _SINGULAR_TOL:
            return True
    return False


def _newton_decrement(ev: Evaluation) -> float:
    """g' H^-1 g if H is positive definite, else inf."""
    assert ev.gradient is not None and ev.hessian is not None
    try:
        chol = np.linalg.cholesky(ev.hessian)
    except np.linalg.LinAlgError:
        return float("inf")
    z = np.linalg.solve(chol, ev.gradient)
    return float(z @ z)


def _polish(obj: _Objective, theta: Array, steps: int = 8) -> Array:
    """Full Newton steps while they decrease the objective (quadratic convergence near optimum)."""
    for _ in range(steps):
        ev = obj.get(theta)
        if ev is None or ev.hessian is None or ev.gradient is None:
            break
        dec = _newton_decrement(ev)
        if not np.isfinite(dec) or dec < 1e-24:
            break
        step = np.linalg.solve(ev.hessian, ev.gradient)
        trial = theta - step
        ev_t = obj.get(trial)
        if ev_t is None or ev_t.value > ev.value + 1e-12 * max(1.0, abs(ev.value)):
            obj.get(theta)
            break
        theta = trial
    return theta


def _optimise(lik: Likelihood, starts: Sequence[Array]) -> tuple[Array, bool, int, str]:
    """Minimise the objective from the given starts; (theta, converged, iterations, message).

    Trust-region Newton with the exact Hessian first; if that does not end at a strict local
    minimum, L-BFGS-B from the same start and Newton again. Runs towards a singular covariance
    (the likelihood is unbounded there) are stopped early and reported.
    """
    obj = _Objective(lik)
    gtol = 1e-9 * max(1.0, float(lik.n_obs))
    best: tuple[float, Array, int] | None = None
    reason = "the optimiser did not reach a stationary point"
    singular = "the covariance matrix becomes singular (a correlation of +-1 or a zero variance)"

    def stop_if_singular(xk: Array, *args: object) -> None:
        if _singular_covariance(lik, xk):
            raise StopIteration

    def newton(x0: Array) -> tuple[Array, int]:
        res = optimize.minimize(
            obj.fun,
            x0,
            jac=obj.jac,
            hess=obj.hess,
            method="trust-exact",
            callback=stop_if_singular,
            options={"gtol": gtol, "maxiter": _MAX_ITER},
        )
        return _polish(obj, np.asarray(res.x, dtype=float)), int(res.nit)

    iterations = 0
    for start in starts:
        if obj.get(start) is None:
            continue
        theta, nit = newton(start)
        iterations += nit
        for attempt in range(2):
            ev = obj.get(theta)
            if ev is None:
                break
            if best is None or ev.value < best[0]:
                best = (ev.value, theta, iterations)
            dec = _newton_decrement(ev)
            if dec <= _DECREMENT_TOL:
                return theta, True, iterations, "converged"
            if _singular_covariance(lik, theta):
                return best[1], False, iterations, singular
            if not np.isfinite(dec):
                reason = "the Hessian of the objective is not positive definite at the solution"
            if attempt == 1:
                break
            # second chance from the same start: quasi-Newton first, then Newton again
            res = optimize.minimize(
                obj.fun_grad,
                start,
                jac=True,
                method="L-BFGS-B",
                callback=stop_if_singular,
                options={"maxiter": 500, "ftol": 1e-15, "gtol": 1e-10},
            )
            iterations += int(res.nit)
            theta, nit = newton(np.asarray(res.x, dtype=float))
            iterations += nit
    if best is None:
        raise RuntimeError("no starting value gives a positive-definite covariance")
    return best[1], False, best[2], reason


def _degenerate(lik: Likelihood, theta: Array, hessian: Array | None) -> str | None:
    """Why a stationary point is not an acceptable fit (singular covariance), or None."""
    if _singular_covariance(lik, theta):
        return (
            "the estimated covariance matrix is singular (a correlation of +-1 or a zero variance)"
        )
    if hessian is None or not np.all(np.isfinite(hessian)):
        return "the Hessian of the objective is not finite"
    hev = np.linalg.eigvalsh(hessian)
    if hev[0] <= 1e-10 * max(abs(hev[-1]), 1e-300):
        return "the Hessian of the objective is singular (covariance parameters not identified)"
    return None


def _failure_message(structure: str, why: str) -> str:
    """Message for a failed fit, suggesting simpler structures."""
    simpler = simpler_structures(structure)
    hint = (
        "; try a simpler covariance structure: "
        + ", ".join(f"{s} ({DESCRIPTIONS[s]})" for s in simpler)
        if simpler
        else "; the model may be over-parameterised for these data"
    )
    return f"the {DESCRIPTIONS.get(structure, structure)} covariance fit failed: {why}{hint}"


def fit_mmrm(
    data: pd.DataFrame,
    *,
    response: str,
    subject: str,
    visit: str,
    visit_levels: Sequence[object],
    arm: str | None = None,
    arm_levels: Sequence[object] | None = None,
    covariates: Sequence[str] = (),
    baseline: str | None = None,
    baseline_by_visit: bool = False,
    covariance: str = "us",
    reml: bool = True,
    df_method: str = SATTERTHWAITE,
    group_covariance: bool = False,
    theta: Sequence[float] | Array | None = None,
) -> MMRMResult:
    """Fit `response ~ covariates + baseline (+ baseline:visit) + arm * visit` with a
    `covariance`-structured visit covariance per patient (mmrm's MMRM; REML by default).

    Long data: one row per patient and visit. `visit_levels` orders the visits (rows at other
    visits are left out); the first of `arm_levels` is the comparator. Rows with a missing
    response, arm or covariate are left out and counted. df_method: "satterthwaite" or
    "kenward-roger" (REML only). group_covariance: a separate covariance per arm.
    theta: evaluate the model at these covariance parameters instead of estimating them
    (e.g. a draw for multiple imputation; same layout as `MMRMResult.theta`).
    """
    covariance = covariance.lower()
    if covariance not in STRUCTURES:
        raise ValueError(f"covariance must be one of {STRUCTURES}")
    df_method = df_method.lower().replace("_", "-")
    if df_method in ("kr", "kenward-roger", "kenwardroger"):
        df_method = KENWARD_ROGER
    elif df_method in ("satterthwaite", "satt"):
        df_method = SATTERTHWAITE
    else:
        raise ValueError(f"df_method must be one of {DF_METHODS}")
    if df_method == KENWARD_ROGER and not reml:
        raise ValueError("Kenward-Roger degrees of freedom need a REML fit")
    covariates = list(covariates)
    prep = prepare(
        data,
        response=response,
        subject=subject,
        visit=visit,
        visit_levels=list(visit_levels),
        arm=arm,
        arm_levels=arm_levels,
        covariates=covariates,
        baseline=baseline,
        group_covariance=group_covariance,
    )
    design = build_design(
        visit=visit,
        visit_levels=prep.visits,
        arm=arm,
        arm_levels=prep.arms,
        covariates=covariates,
        covariate_levels=prep.covariate_levels,
        baseline=baseline,
        baseline_by_visit=baseline_by_visit,
        numeric_means=prep.numeric_means,
    )
    n_visits = len(prep.visits)
    notes = list(prep.notes)
    structure_name = covariance
    if n_visits == 1 and covariance != "us":
        structure_name = "us"
        notes.append("one visit: the covariance is a single variance")
    structure = CovarianceStructure(structure_name, n_visits)
    n_groups = len(prep.groups) if prep.groups is not None else 1
    n_obs = len(prep.y)
    n_patients = len(prep.patient_ids)

    # Z = [X, y] written once, directly in the row order that groups patients by visit pattern
    layout = cell_layout(prep.patient, prep.visit, prep.patient_group, n_visits)
    order = layout.order
    p_full = design.n_columns
    z = np.empty((n_obs, p_full + 1))
    design.matrix_from_codes(
        {k: v[order] for k, v in prep.codes.items()},
        {k: v[order] for k, v in prep.numerics.items()},
        out=z[:, :p_full],
    )
    z[:, p_full] = prep.y[order]
    kept, null_basis = _aliased_columns(z[:, :p_full])
    if len(kept) < p_full:
        z = np.ascontiguousarray(z[:, [*kept.tolist(), p_full]])
    p = len(kept)
    if n_obs - p <= 0:
        raise ValueError("fewer values than fixed-effect parameters")
    cells, beta0 = build_cells(z, layout)
    lik = Likelihood(cells, beta0, structure, n_groups, n_obs, reml)

    # starting values: moments of the OLS residuals per group, then a plain start as fallback
    resid = z[:, -1]  # y centred by OLS in build_cells
    start_parts = []
    plain_parts = []
    for g in range(n_groups):
        members = prep.patient_group == g
        cov0 = _start_covariance(resid, prep.patient[order], prep.visit[order], n_visits, members)
        start_parts.append(structure.start(cov0))
        plain = np.eye(n_visits) * float(np.mean(np.diag(cov0)))
        plain_parts.append(structure.start(plain))
    starts = [np.concatenate(start_parts), np.concatenate(plain_parts)]
    if theta is None:
        theta_hat, converged, iterations, message = _optimise(lik, starts)
    else:
        theta_hat = np.asarray(theta, dtype=float).reshape(-1)
        if theta_hat.shape != (lik.n_theta,):
            raise ValueError(f"theta needs {lik.n_theta} values for this model")
        converged, iterations = True, 0
        message = "covariance parameters fixed at the given theta (not estimated)"

    ev = lik.evaluate(theta_hat, 2)
    if ev is None:
        raise ValueError("the covariance is not positive definite at the given theta")
    assert ev.hessian is not None and ev.p_mats is not None
    sigmas = [s[0] for s in lik.sigmas(theta_hat, 0)]
    if converged and theta is None:
        why = _degenerate(lik, theta_hat, ev.hessian)
        if why is not None:
            converged = False
            message = why
    if not converged:
        message = _failure_message(structure_name, message)
    elif notes:
        message = message + "; " + "; ".join(notes)
    try:
        theta_vcov = np.linalg.inv(ev.hessian)
        if not np.all(np.isfinite(theta_vcov)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        theta_vcov = np.full_like(ev.hessian, np.nan)
    theta_vcov = 0.5 * (theta_vcov + theta_vcov.T)

    vcov_model = ev.xtvx_inv
    if df_method == KENWARD_ROGER and np.all(np.isfinite(theta_vcov)):
        vcov_use = kenward_roger.adjusted_vcov(
            vcov_model, ev.p_mats, theta_vcov, lik.kr_middle(theta_hat, theta_vcov)
        )
    elif df_method == KENWARD_ROGER:
        vcov_use = np.full_like(vcov_model, np.nan)
    else:
        vcov_use = vcov_model

    p_full = design.n_columns
    beta_full = np.full(p_full, np.nan)
    beta_full[kept] = ev.beta
    vcov_full = np.full((p_full, p_full), np.nan)
    vcov_full[np.ix_(kept, kept)] = vcov_use
    vcov_model_full = np.full((p_full, p_full), np.nan)
    vcov_model_full[np.ix_(kept, kept)] = vcov_model

    log_lik = -ev.value
    n_theta = lik.n_theta
    aic = -2.0 * log_lik + 2.0 * n_theta
    bic = -2.0 * log_lik + n_theta * float(np.log(n_patients))
    cov0 = sigmas[0]
    sd0 = np.sqrt(np.diag(cov0))
    group_labels: tuple[object, ...] = prep.groups if prep.groups is not None else ("all",)

    result = MMRMResult(
        n_patients=n_patients,
        n_values=n_obs,
        n_patients_excluded=len(prep.excluded_patients),
        n_values_excluded=int(sum(prep.exclusions.values())),
        exclusions=prep.exclusions,
        excluded_patients=prep.excluded_patients,
        converged=converged,
        message=message,
        covariance_structure=structure_name,
        reml=reml,
        df_method=df_method,
        group_covariance=group_covariance,
        log_likelihood=log_lik,
        aic=aic,
        bic=bic,
        n_theta=n_theta,
        visits=prep.visits,
        arms=prep.arms,
        groups=prep.groups,
        covariance=cov0,
        correlation=cov0 / np.outer(sd0, sd0),
        covariances=dict(zip(group_labels, sigmas, strict=True)),
        theta=theta_hat,
        theta_vcov=theta_vcov,
        coefficients=pd.DataFrame(),
        beta=beta_full,
        beta_vcov=vcov_full,
        beta_vcov_model=vcov_model_full,
        lsmeans=pd.DataFrame(),
        contrasts=pd.DataFrame(),
        design=design,
        aliased=tuple(c for i, c in enumerate(design.columns) if i not in set(kept.tolist())),
        iterations=iterations,
        _kept=kept,
        _null_basis=null_basis,
        _p_mats=ev.p_mats,
        _structure=structure,
    )
    coef_rows = []
    for i, name in enumerate(design.columns):
        if i in set(kept.tolist()):
            unit = np.zeros(p_full)
            unit[i] = 1.0
            r = result.contrast(unit)
        else:
            nan = float("nan")
            r = ContrastResult(nan, nan, nan, nan, nan, nan, nan)
        coef_rows.append({"name": name, **r._asdict()})
    coefficients = pd.DataFrame.from_records(
        coef_rows, columns=["name", "estimate", "se", "df", "t", "p", "ci_low", "ci_high"]
    )
    lsm, ctr = lsmeans_tables(design, visit, prep.visits, arm, prep.arms or (), result.contrast)
    return dataclasses.replace(result, coefficients=coefficients, lsmeans=lsm, contrasts=ctr)
