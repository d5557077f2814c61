"""Simulation checks of multiple imputation from the MMRM (seeded, so deterministic).

Slow by the standards of this suite: about 25 s of CPU together (each test asserts its own budget
in CPU time, which other processes on the machine do not inflate). Data: two arms, change from
baseline at three visits, baseline as covariate, and dropout that depends on the last observed
change (MAR).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from analysis.stats.imputation import (
    J2R,
    MAR,
    GLSCells,
    analysis_model,
    build_imputation_data,
    complete_case,
    draw_parameters,
    impute_visit,
    pool,
)
from analysis.stats.mmrm import MMRMResult, fit_mmrm

VISITS = ["v1", "v2", "v3"]
EFFECT = (-0.5, -1.0, -1.5)  # treated minus control, per visit
SD = np.array([1.5, 1.7, 2.0])
CORR = np.array([[1.0, 0.6, 0.4], [0.6, 1.0, 0.6], [0.4, 0.6, 1.0]])


def simulate(
    rng: np.random.Generator, n_per_arm: int, dropout: str = "mar", visits: list[str] = VISITS
) -> pd.DataFrame:
    """Long frame: patient_id, visit, change, baseline_value, arm. dropout: "mar" (after each
    visit, more likely the worse the change just observed), "mcar" (30% after v1) or "none"."""
    k = len(visits)
    n = 2 * n_per_arm
    arm = np.repeat(["control", "treated"], n_per_arm)
    treated = (arm == "treated").astype(float)
    base = rng.normal(6.0, 1.5, n)
    cov = (CORR * np.outer(SD, SD))[:k, :k]
    mean = (
        np.array([-0.5, -0.8, -1.0])[None, :k]
        + 0.3 * (base - 6.0)[:, None]
        + np.outer(treated, EFFECT[:k])
    )
    y = mean + rng.multivariate_normal(np.zeros(k), cov, n)
    observed = np.ones((n, k), dtype=bool)
    if dropout == "mar":
        for t in range(k - 1):
            leave = observed[:, t] & (rng.random(n) < 1 / (1 + np.exp(1.6 - 0.6 * y[:, t])))
            observed[leave, t + 1 :] = False
    elif dropout == "mcar":
        observed[rng.random(n) < 0.3, 1:] = False
    return pd.DataFrame(
        {
            "patient_id": np.repeat([f"p{i}" for i in range(n)], k),
            "visit": np.tile(visits, n),
            "change": np.where(observed, y, np.nan).ravel(),
            "baseline_value": np.repeat(base, k),
            "arm": np.repeat(arm, k),
        }
    )


def fit(frame: pd.DataFrame, visits: list[str] = VISITS) -> MMRMResult:
    return fit_mmrm(
        frame, response="change", subject="patient_id", visit="visit", visit_levels=visits,
        arm="arm", arm_levels=["control", "treated"], baseline="baseline_value",
        baseline_by_visit=True,
    )  # fmt: skip


def mi(frame: pd.DataFrame, rng: np.random.Generator, m: int, visit: str = "v3"):
    """Pooled MAR MI contrast at `visit`, and the complete-case ANCOVA there."""
    model_fit = fit(frame)
    data = build_imputation_data(frame, model_fit)
    draws = draw_parameters(model_fit, GLSCells.from_data(data), rng, m).draws
    imps = impute_visit(data, draws, visit, rng)
    model = analysis_model(data)
    est, var = model.fit(imps.values[MAR])
    return pool(est, var, float(model.df_complete)), complete_case(data, visit)[0], model_fit


def test_mar_mi_is_unbiased_and_covers_at_the_nominal_rate() -> None:
    """500 trials of 40 patients per arm, about 25% missing at v3 by a MAR mechanism, 10
    imputations each: bias within Monte-Carlo error, 95% CIs cover the truth 93-97% of the time
    (Monte-Carlo SE of a 95% coverage over 500 replicates: 1 percentage point)."""
    start = time.process_time()
    rng = np.random.default_rng(2024)
    truth = EFFECT[2]
    estimates, covered = [], []
    for _ in range(500):
        pooled, _, _ = mi(simulate(rng, 40), rng, m=10)
        estimates.append(pooled.estimate[0])
        covered.append(pooled.ci_low[0] <= truth <= pooled.ci_high[0])
    est = np.asarray(estimates)
    mcse = est.std(ddof=1) / np.sqrt(len(est))
    assert abs(est.mean() - truth) < 3 * mcse
    assert 0.93 <= np.mean(covered) <= 0.97
    assert time.process_time() - start < 60


def test_complete_data_mi_equals_the_complete_case_analysis() -> None:
    """Nothing to impute: every imputation is the data, B = 0, and Rubin's rules return the
    complete-data ANCOVA (df: Barnard-Rubin's observed-data df, (nu+1)/(nu+3) nu)."""
    rng = np.random.default_rng(1)
    pooled, cc, _ = mi(simulate(rng, 30, dropout="none"), rng, m=5)
    assert pooled.estimate[0] == pytest.approx(cc.estimate, abs=1e-12)
    assert pooled.se[0] == pytest.approx(cc.se, abs=1e-12)
    # Zero up to rounding: numpy 1.26 leaves ~1e-32 in the variance of identical estimates.
    assert pooled.between[0] == pytest.approx(0.0, abs=1e-24)
    nu = cc.df
    assert pooled.df[0] == pytest.approx((nu + 1) / (nu + 3) * nu)


def test_mcar_mi_agrees_with_complete_cases_within_monte_carlo_error() -> None:
    """Under MCAR both analyses are unbiased: their mean difference over 150 trials is within
    Monte-Carlo error of 0, and both are within Monte-Carlo error of the truth."""
    start = time.process_time()
    rng = np.random.default_rng(99)
    mi_est, cc_est = [], []
    for _ in range(150):
        pooled, cc, _ = mi(simulate(rng, 40, dropout="mcar"), rng, m=10)
        mi_est.append(pooled.estimate[0])
        cc_est.append(cc.estimate)
    a, b = np.asarray(mi_est), np.asarray(cc_est)
    diff = a - b
    assert abs(diff.mean()) < 3 * diff.std(ddof=1) / np.sqrt(len(diff))
    for x in (a, b):
        assert abs(x.mean() - EFFECT[2]) < 3 * x.std(ddof=1) / np.sqrt(len(x))
    assert time.process_time() - start < 25


def test_j2r_moves_the_treated_arm_towards_the_comparator_by_the_expected_amount() -> None:
    """Two visits, 1500 patients per arm, 40% of treated patients missing at v2 completely at
    random. Under J2R their v2 mean is the comparator's plus the correlation-weighted residual at
    v1 (0 on average), so the contrast at v2 is about (1 - share missing) x the true effect; and
    exactly, per imputation, J2R minus MAR is the ANCOVA weight of the imputed patients times
    minus the drawn effect at v2."""
    rng = np.random.default_rng(17)
    visits = ["v1", "v2"]
    frame = simulate(rng, 1500, dropout="none", visits=visits)
    treated_ids = frame.loc[frame["arm"] == "treated", "patient_id"].unique()
    gone = rng.choice(treated_ids, size=int(0.4 * len(treated_ids)), replace=False)
    frame.loc[frame["patient_id"].isin(gone) & (frame["visit"] == "v2"), "change"] = np.nan
    model_fit = fit(frame, visits)
    data = build_imputation_data(frame, model_fit)
    draws = draw_parameters(model_fit, GLSCells.from_data(data), rng, 20).draws
    imps = impute_visit(data, draws, "v2", rng, (MAR, J2R))
    model = analysis_model(data)
    est_mar, var_mar = model.fit(imps.values[MAR])
    est_j2r, var_j2r = model.fit(imps.values[J2R])
    j2r = pool(est_j2r, var_j2r, float(model.df_complete))
    share = len(gone) / len(treated_ids)
    expected = (1 - share) * EFFECT[1]
    assert abs(j2r.estimate[0] - expected) < 4 * j2r.se[0]
    mar = pool(est_mar, var_mar, float(model.df_complete))
    assert abs(mar.estimate[0] - EFFECT[1]) < 4 * mar.se[0]
    # exact decomposition per imputation
    names = model_fit.design.columns
    kept = [c for c, b in zip(names, np.isfinite(model_fit.beta), strict=True) if b]
    # treated minus control at v2: the arm column plus the arm-by-v2 interaction column
    cols = [kept.index("armtreated")]
    cols += [i for i, c in enumerate(kept) if set(c.split(":")) == {"armtreated", "visitv2"}]
    assert len(cols) == 2
    effect_v2 = np.array([d.beta[cols].sum() for d in draws])
    mask = (imps.imputed & data.treated).astype(float)
    weight = (model.xtx_inv @ model.x.T @ mask)[model.targets[0]]
    assert weight == pytest.approx(share, abs=0.02)  # about the share imputed, by ANCOVA weights
    assert est_j2r[0] - est_mar[0] == pytest.approx(-weight * effect_v2, abs=1e-10)
