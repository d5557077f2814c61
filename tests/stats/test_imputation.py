"""Multiple imputation: Rubin's rules by hand, the conditional-mean identity with the MMRM,
reference-based means by hand, LOCF/BOCF by hand, the tipping point, and the entry point on the
demo cohort (reproducible, strict JSON, fast)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from analysis.ingest.dataset import Dataset
from analysis.ingest.pipeline import load_demo
from analysis.instruments import lookup
from analysis.stats.arms import ArmDesign, resolve_arms
from analysis.stats.imputation import (
    CIR,
    CR,
    J2R,
    MAR,
    GLSCells,
    ImputationData,
    ParameterDraw,
    analysis_model,
    barnard_rubin_df,
    build_imputation_data,
    carried_forward,
    delta_grid,
    draw_parameters,
    estimate_draw,
    impute_visit,
    mi_responder_rates,
    pool,
    rubin,
    sensitivity_analysis,
    single_imputation,
    tipping_points,
)
from analysis.stats.imputation.tipping import (
    BETTER_THAN_PLACEBO,
    CI_EXCLUDES_0,
    NOT_SIGNIFICANT,
    SIGNIFICANT_BENEFIT,
)
from analysis.stats.longitudinal import MMRMSpec, fit_outcome_mmrm, mmrm_frame


@pytest.fixture(scope="module")
def demo() -> Dataset:
    dataset = load_demo().dataset
    assert dataset is not None
    return dataset


# ---- Rubin's rules (Rubin 1987) and Barnard-Rubin df (Barnard & Rubin 1999) --------------------


def test_rubin_rules_against_hand_computation() -> None:
    q = [1.0, 1.2, 0.8]
    u = [0.04, 0.05, 0.06]
    r = rubin(q, u, df_complete=20)
    # by hand, in exact fractions: Qbar = 1, Ubar = 1/20, B = (0 + 0.04 + 0.04) / 2 = 1/25
    m, ubar, b, nu_com = 3, Fraction(1, 20), Fraction(1, 25), Fraction(20)
    total = ubar + (1 + Fraction(1, m)) * b  # 31/300
    lam = (1 + Fraction(1, m)) * b / total  # 16/31
    nu_old = (m - 1) / lam**2  # 961/128
    nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - lam)  # 6300/713
    nu = 1 / (1 / nu_old + 1 / nu_obs)
    assert total == Fraction(31, 300) and lam == Fraction(16, 31)
    assert nu_old == Fraction(961, 128) and nu_obs == Fraction(6300, 713)
    assert r.estimate == pytest.approx(1.0, abs=1e-15)
    assert r.within == pytest.approx(0.05, abs=1e-15)
    assert r.between == pytest.approx(0.04, abs=1e-15)
    assert r.total == pytest.approx(float(total), rel=1e-14)
    assert r.se == pytest.approx(float(total) ** 0.5, rel=1e-14)
    assert r.df == pytest.approx(float(nu), rel=1e-12)
    assert r.df == pytest.approx(4.058949, abs=1e-6)
    riv = float((1 + Fraction(1, m)) * b / ubar)  # 16/15
    assert r.riv == pytest.approx(riv, rel=1e-14)
    assert r.fmi == pytest.approx((riv + 2 / (float(nu) + 3)) / (1 + riv), rel=1e-12)
    # t-based interval and p with those df
    from scipy import stats

    half = stats.t.ppf(0.975, float(nu)) * float(total) ** 0.5
    assert r.ci_low == pytest.approx(1.0 - half, rel=1e-12)
    assert r.p == pytest.approx(2 * stats.t.sf(1.0 / float(total) ** 0.5, float(nu)), rel=1e-10)


def test_barnard_rubin_limits() -> None:
    # Rubin's (1987) df without a complete-data df, and B-R's never exceed the complete-data df
    assert float(barnard_rubin_df(3, 0.05, 0.04, None)) == pytest.approx(961 / 128, rel=1e-14)
    for nu_com in (5.0, 20.0, 200.0):
        assert float(barnard_rubin_df(10, 1.0, 0.3, nu_com)) < nu_com
    # large complete-data df: Barnard-Rubin tends to Rubin's
    assert float(barnard_rubin_df(10, 1.0, 0.3, 1e9)) == pytest.approx(
        float(barnard_rubin_df(10, 1.0, 0.3, None)), rel=1e-6
    )
    # nothing imputed (B = 0): the observed-data df (nu_com + 1) / (nu_com + 3) * nu_com
    r = rubin([2.0, 2.0, 2.0], [0.5, 0.5, 0.5], df_complete=30)
    assert r.between == 0 and r.fmi == 0
    assert r.df == pytest.approx(31 / 33 * 30, rel=1e-14)
    assert r.se == pytest.approx(0.5**0.5)


def test_pool_is_elementwise() -> None:
    q = np.array([[1.0, 1.2, 0.8], [2.0, 2.0, 2.0]])
    u = np.array([[0.04, 0.05, 0.06], [0.5, 0.5, 0.5]])
    pooled = pool(q, u, 20.0)
    assert pooled.estimate.tolist() == pytest.approx([1.0, 2.0])
    assert pooled.df[0] == pytest.approx(rubin(q[0], u[0], 20.0).df)


# ---- the conditional-mean identity ---------------------------------------------------------------


def _model(dataset: Dataset, design: ArmDesign, outcome: str = "pain_nrs"):
    spec = MMRMSpec(outcome, baseline_by_visit=True)
    fit = fit_outcome_mmrm(dataset, design, spec)
    frame = mmrm_frame(dataset, design, spec)
    arm = "arm" if design.has_arms else None
    return fit, build_imputation_data(frame, fit, arm=arm)


@pytest.mark.parametrize("outcome", ["pain_nrs", "tcss", "peroneal_mcv"])
def test_conditional_mean_imputation_reproduces_the_mmrm_contrast(
    demo: Dataset, outcome: str
) -> None:
    """Completing the data by E[y_mis | y_obs] at (theta_hat, beta_hat) and fitting ANCOVA
    (change ~ baseline + arm) at a visit gives the MMRM's LS-mean contrast there exactly, when the
    MMRM has baseline-by-visit (see analysis.stats.imputation.analysis)."""
    fit, data = _model(demo, resolve_arms(demo), outcome)
    assert fit.converged
    model = analysis_model(data)
    draw = estimate_draw(fit)
    for visit in fit.visits:
        completed = impute_visit(data, [draw], str(visit), None)
        est, _ = model.fit(completed.values[MAR])
        row = fit.contrasts.loc[fit.contrasts["visit"] == visit].iloc[0]
        assert est[0, 0] == pytest.approx(row["estimate"], abs=1e-8)


def test_conditional_mean_identity_without_arms(demo: Dataset) -> None:
    """Without arms the completed-data mean change is the MMRM's prediction at the analysis
    set's mean baseline (the LS mean with the baseline at that value)."""
    fit, data = _model(demo, ArmDesign(None))
    model = analysis_model(data)
    for visit in fit.visits:
        completed = impute_visit(data, [estimate_draw(fit)], str(visit), None)
        est, _ = model.fit(completed.values[MAR])
        row = pd.DataFrame({"visit": [visit], "baseline_value": [data.baseline.mean()]})
        expected = fit.contrast(fit.design.matrix(row)[0]).estimate
        assert est[0, 0] == pytest.approx(expected, abs=1e-8)


def test_gls_from_pattern_statistics_matches_the_fit(demo: Dataset) -> None:
    fit, data = _model(demo, resolve_arms(demo))
    beta, vcov = GLSCells.from_data(data).gls(fit.covariance_from_theta(fit.theta))
    kept = np.isfinite(fit.beta)
    assert np.max(np.abs(beta - fit.beta[kept])) < 1e-10
    model_vcov = fit.beta_vcov_model[np.ix_(kept, kept)]
    assert np.max(np.abs(vcov - model_vcov)) < 1e-10


# ---- reference-based means by hand (Carpenter, Roger & Kenward 2013) -----------------------------

SIGMA = np.array([[1.0, 0.5], [0.5, 2.0]])
MU_REF = np.array([-1.0, -1.5])
MU_TRT = np.array([-2.0, -3.0])


def _toy(y: list[list[float]], arm: list[int]) -> tuple[ImputationData, ParameterDraw]:
    """Two visits, two arms; design columns = comparator mean per visit, arm effect per visit."""
    ya = np.asarray(y, dtype=float)
    n = len(ya)
    a = np.asarray(arm, dtype=np.int64)
    x_ref = np.zeros((n, 2, 4))
    x_ref[:, 0, 0] = x_ref[:, 1, 1] = 1.0
    x_own = x_ref.copy()
    x_own[:, 0, 2] = x_own[:, 1, 3] = a
    data = ImputationData(
        patient_ids=np.asarray([f"p{i}" for i in range(n)], dtype=object),
        visits=("v1", "v2"),
        y=ya,
        baseline=np.full(n, 6.0),
        arm=a,
        arms=("reference", "treated"),
        x_own=x_own,
        x_ref=x_ref,
        group=np.zeros(n, dtype=np.int64),
        n_groups=1,
        covariates=np.zeros((n, 0)),
        covariate_names=(),
    )
    beta = np.concatenate([MU_REF, MU_TRT - MU_REF])
    return data, ParameterDraw(beta, (SIGMA,))


def test_reference_based_conditional_means_by_hand() -> None:
    nan = np.nan
    data, draw = _toy(
        [[-2.5, nan], [nan, nan], [-0.5, nan], [-1.0, -2.0]],  # treated, treated, comparator, done
        [1, 1, 0, 1],
    )
    methods = (MAR, J2R, CR, CIR)
    out = impute_visit(data, [draw], "v2", None, methods)
    slope = SIGMA[0, 1] / SIGMA[0, 0]  # 0.5
    resid = -2.5 - MU_TRT[0]  # -0.5 from the treated arm's mean at v1
    # treated patient with v1 = -2.5, v2 missing
    assert out.values[MAR][0, 0] == pytest.approx(MU_TRT[1] + slope * resid)  # -3.25
    assert out.values[J2R][0, 0] == pytest.approx(MU_REF[1] + slope * resid)  # -1.75
    assert out.values[CR][0, 0] == pytest.approx(MU_REF[1] + slope * (-2.5 - MU_REF[0]))  # -2.25
    cir_mean = MU_TRT[0] + (MU_REF[1] - MU_REF[0])  # -2.5: own v1 mean plus the reference's step
    assert out.values[CIR][0, 0] == pytest.approx(cir_mean + slope * resid)  # -2.75
    assert [out.values[k][0, 0] for k in methods] == pytest.approx([-3.25, -1.75, -2.25, -2.75])
    # treated patient with nothing after baseline: the comparator's mean under J2R, CR and CIR
    assert out.values[MAR][1, 0] == pytest.approx(MU_TRT[1])
    for k in (J2R, CR, CIR):
        assert out.values[k][1, 0] == pytest.approx(MU_REF[1])
    # comparator patient: MAR under every assumption
    for k in methods:
        assert out.values[k][2, 0] == pytest.approx(MU_REF[1] + slope * (-0.5 - MU_REF[0]))
    # observed values are never changed
    for k in methods:
        assert out.values[k][3, 0] == -2.0
    # the conditional variance: Sigma_22 - Sigma_21^2 / Sigma_11 = 1.75
    rng = np.random.default_rng(1)
    many, draw = _toy([[-2.5, nan]] * 20000, [1] * 20000)
    drawn = impute_visit(many, [draw], "v2", rng, (J2R,)).values[J2R][:, 0]
    assert drawn.mean() == pytest.approx(-1.75, abs=0.03)
    assert drawn.var() == pytest.approx(1.75, rel=0.04)


def test_intermittent_gap_before_the_last_visit_is_imputed_under_mar_by_j2r() -> None:
    nan = np.nan
    data, draw = _toy([[nan, -2.0]], [1])  # treated, missed v1 but seen at v2: no dropout
    out = impute_visit(data, [draw], "v1", None, (MAR, J2R, CIR))
    expected = MU_TRT[0] + SIGMA[0, 1] / SIGMA[1, 1] * (-2.0 - MU_TRT[1])
    for k in (MAR, J2R, CIR):
        assert out.values[k][0, 0] == pytest.approx(expected)


def test_j2r_moves_the_treated_mean_by_the_hand_computed_amount() -> None:
    """Treated arm, 2 visits, known parameters: with conditional-mean imputation the treated
    mean at v2 is the observed values plus, for each dropout, mu_ref,2 + s12/s11 (y1 - mu_trt,1);
    the shift from MAR is the dropouts' share times (mu_ref,2 - mu_trt,2)."""
    rng = np.random.default_rng(7)
    n = 400
    y = rng.multivariate_normal(MU_TRT, SIGMA, n)
    drop = rng.random(n) < 0.3
    y[drop, 1] = np.nan
    data, draw = _toy(y.tolist(), [1] * n)
    out = impute_visit(data, [draw], "v2", None, (MAR, J2R))
    by_hand = np.where(drop, MU_REF[1] + 0.5 * (y[:, 0] - MU_TRT[0]), y[:, 1])
    assert out.values[J2R][:, 0].mean() == pytest.approx(by_hand.mean(), abs=1e-12)
    shift = out.values[J2R][:, 0].mean() - out.values[MAR][:, 0].mean()
    assert shift == pytest.approx(drop.mean() * (MU_REF[1] - MU_TRT[1]), abs=1e-12)


# ---- LOCF and BOCF -------------------------------------------------------------------------------


def test_locf_and_bocf_by_hand() -> None:
    nan = np.nan
    y = [[-1.0, nan, nan], [nan, -2.0, nan], [nan, nan, nan], [-1.0, -2.0, -3.0]]
    data, _ = _toy([r[:2] for r in y], [0, 0, 0, 0])
    three = replace(
        data,
        y=np.asarray(y),
        visits=("v1", "v2", "v3"),
        x_own=np.zeros((4, 3, 1)),
        x_ref=None,
        arms=None,
    )
    locf, n_locf = carried_forward(three, "v3", "locf")
    bocf, n_bocf = carried_forward(three, "v3", "bocf")
    assert locf.tolist() == [-1.0, -2.0, 0.0, -3.0] and n_locf == 3
    assert bocf.tolist() == [0.0, 0.0, 0.0, -3.0] and n_bocf == 3
    est = single_imputation(three, "v3", "locf")[0]
    assert est.analysis == "locf" and est.arm == "all" and est.n_imputed == 3
    assert est.estimate == pytest.approx(-1.5)
    assert est.se == pytest.approx(np.std(locf, ddof=1) / 2)
    assert est.df == 3
    assert single_imputation(three, "v3", "bocf")[0].estimate == pytest.approx(-0.75)
    # at the first visit LOCF has nothing earlier to carry: the baseline (a change of 0)
    first, n_first = carried_forward(three, "v1", "locf")
    assert first.tolist() == [-1.0, 0.0, 0.0, -1.0] and n_first == 2


# ---- delta adjustment and the tipping point ------------------------------------------------------


def test_tipping_point_interpolates_between_grid_points() -> None:
    grid = pd.DataFrame(
        {
            "arm": "MSC",
            "comparator": "control",
            "delta": [0.0, -1.0, -2.0, -3.0],
            "shift": [0.0, 1.0, 2.0, 3.0],
            "estimate": [-2.0, -1.6, -1.0, -0.5],
            "se": 0.5,
            "df": 50.0,
            "ci_low": [-3.0, -2.6, -2.0, -1.5],
            "ci_high": [-1.0, -0.5, 0.5, 1.0],
            "p": [0.001, 0.01, 0.1, 0.3],
        }
    )
    (point,) = tipping_points(grid, improve_sign=-1.0, placebo=None, has_comparator=True)
    assert point.criterion == CI_EXCLUDES_0
    assert point.conclusion_at_0 == SIGNIFICANT_BENEFIT
    assert point.tipping_delta == pytest.approx(-1.5)  # ci_high -0.5 -> 0.5 between -1 and -2
    short = tipping_points(grid.iloc[:2], -1.0, None, True)[0]
    assert short.tipping_delta is None and not short.tips and short.worst_delta == -1.0
    flat = grid.assign(ci_high=0.2)
    assert tipping_points(flat, -1.0, None, True)[0].conclusion_at_0 == NOT_SIGNIFICANT


def test_tipping_without_arms_reaches_the_placebo_change_exactly(demo: Dataset) -> None:
    """The mean change is linear in delta (shift x share imputed), so the interpolated tipping
    delta is exact: (placebo - estimate at 0) / (sign x share imputed)."""
    r = sensitivity_analysis(demo, ArmDesign(None), "pain_nrs", "m6", n_imputations=20, seed=3)
    (point,) = r.tipping.points
    assert point.criterion == BETTER_THAN_PLACEBO
    placebo = lookup("pain_nrs").placebo
    assert placebo is not None and point.reference_value == placebo.mean_change
    share = r.n.per_arm["n_imputed"].sum() / r.n.n_used
    est0 = r.mi[MAR][0].estimate
    assert r.tipping.grid.iloc[0]["estimate"] == pytest.approx(est0)
    expected = (placebo.mean_change - est0) / (-1.0 * share)
    assert point.tipping_delta == pytest.approx(expected, abs=1e-9)
    slope = np.polyfit(r.tipping.grid["delta"], r.tipping.grid["estimate"], 1)[0]
    assert slope == pytest.approx(-share, rel=1e-9)  # pain: worse = higher


def test_tipping_with_arms_finds_where_the_ci_reaches_0(demo: Dataset) -> None:
    design = resolve_arms(demo)
    fit, data = _model(demo, design, "tcss")
    rng = np.random.default_rng(11)
    draws = draw_parameters(fit, GLSCells.from_data(data), rng, 30).draws
    imps = impute_visit(data, draws, "m12", rng)
    model = analysis_model(data)
    deltas = -np.arange(0, 13) * 0.5
    grid = delta_grid(model, imps.values[MAR], imps.imputed, data.treated, deltas, -1.0)
    (point,) = tipping_points(grid, -1.0, None, True)
    assert point.conclusion_at_0 == SIGNIFICANT_BENEFIT
    assert point.tipping_delta is not None and -6 < point.tipping_delta < 0
    at_tip = delta_grid(model, imps.values[MAR], imps.imputed, data.treated,
                        [point.tipping_delta], -1.0)  # fmt: skip
    assert abs(at_tip["ci_high"].iloc[0]) < 0.01  # the CI's upper end is at 0 there
    # only treated patients' imputed values move: the comparator's completed values do not
    assert grid["estimate"].is_monotonic_increasing


# ---- responders from the imputations -------------------------------------------------------------


def test_responder_rates_without_missing_values_are_the_observed_rates() -> None:
    change = np.array([-4.0, -1.0, -3.0, 0.0, -5.0, -2.0])[:, None].repeat(5, axis=1)
    baseline = np.array([8.0, 8.0, 6.0, 5.0, 7.0, 8.0])
    arm = np.array([1, 1, 1, 0, 0, 0])
    table = mi_responder_rates(change, baseline, arm, ("control", "MSC"), lookup("pain_nrs"))
    rows = table.set_index(["threshold", "arm", "comparator"], drop=False)
    # >=30% improvement: MSC 4/8 and 3/6 yes, 1/8 no -> 2 of 3; control 0/5 no, 5/7, 2/8 no -> 1/3
    msc = table.loc[(table["threshold"] == "≥30% improvement") & (table["arm"] == "MSC")]
    assert msc["estimate"].iloc[0] == pytest.approx(200 / 3)
    assert msc["se"].iloc[0] == pytest.approx(100 * np.sqrt(2 / 3 * 1 / 3 / 3))
    diff = table.loc[(table["threshold"] == "≥30% improvement") & table["comparator"].notna()]
    assert diff["estimate"].iloc[0] == pytest.approx(100 / 3)
    assert (table["fmi"] == 0).all()
    assert len(rows) == 9  # 3 thresholds x (2 rates + 1 difference)


# ---- the entry point -----------------------------------------------------------------------------


def test_sensitivity_analysis_on_the_demo(demo: Dataset) -> None:
    design = resolve_arms(demo)
    calls: list[tuple[int, int]] = []
    start = time.process_time()
    r = sensitivity_analysis(
        demo, design, "pain_nrs", "m6", progress=lambda i, n: calls.append((i, n))
    )
    elapsed = time.process_time() - start
    assert elapsed < 5.0  # CPU s: 100 imputations, four assumptions, delta grid, responders
    assert calls[-1] == (100, 100) and len(calls) == 100
    # who was analysed
    assert r.n.n_patients == 150 and r.n.n_used == 150 and r.n.n_left_out == 0
    per_arm = r.n.per_arm.set_index("arm")
    assert per_arm.loc["MSC", "n_used"] == 108 and per_arm.loc["standard care", "n_used"] == 42
    assert (per_arm["n_observed"] + per_arm["n_imputed"] == per_arm["n_used"]).all()
    # estimates: MI under MAR close to the MMRM; J2R nearer to no difference than MAR
    mmrm, mar, j2r = r.mmrm[0], r.mi[MAR][0], r.mi[J2R][0]
    assert (mmrm.arm, mmrm.comparator) == ("MSC", "standard care")
    assert abs(mar.estimate - mmrm.estimate) < 0.25 * mmrm.se
    assert mar.se == pytest.approx(mmrm.se, rel=0.15)
    assert abs(j2r.estimate) < abs(mar.estimate)
    assert mar.m == 100 and 0 < (mar.fmi or 0) < 0.5
    assert mar.n_imputed == per_arm["n_imputed"].sum()
    table = r.estimates()
    assert table["analysis"].tolist() == [
        "mmrm", "mi_mar", "mi_j2r", "mi_cr", "mi_cir", "complete_case", "locf", "bocf",
    ]  # fmt: skip
    assert (
        table.loc[table["analysis"] == "complete_case", "n"].iloc[0] == per_arm["n_observed"].sum()
    )
    # responders two ways, and the grid
    assert set(r.responders_mi["arm"]) == {"MSC", "standard care"}
    assert set(r.responders_nri["arm"]) == {"MSC", "standard care"}
    assert r.tipping.grid["delta"].iloc[0] == 0.0
    assert r.tipping.grid["delta"].min() == pytest.approx(-3.0)  # SD of change near 2.2
    assert "mar_primary" in r.assumptions
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert '"mi_j2r"' in text and "NaN" not in text
    # reproducible with the seed, and the seed matters
    again = sensitivity_analysis(demo, design, "pain_nrs", "m6", n_imputations=10, seed=5)
    same = sensitivity_analysis(demo, design, "pain_nrs", "m6", n_imputations=10, seed=5)
    other = sensitivity_analysis(demo, design, "pain_nrs", "m6", n_imputations=10, seed=6)
    assert again.mi[MAR][0].estimate == same.mi[MAR][0].estimate
    assert again.mi[CIR][0].se == same.mi[CIR][0].se
    assert again.mi[MAR][0].estimate != other.mi[MAR][0].estimate


def test_reference_based_method_needs_arms(demo: Dataset) -> None:
    with pytest.raises(ValueError, match="comparator"):
        sensitivity_analysis(demo, ArmDesign(None), "pain_nrs", "m6", method="j2r")
    with pytest.raises(ValueError, match="follow-up visit"):
        sensitivity_analysis(demo, resolve_arms(demo), "pain_nrs", "baseline")
    r = sensitivity_analysis(
        demo, resolve_arms(demo), "pain_nrs", "m12", method="cir", n_imputations=5
    )
    assert r.tipping.method == CIR and r.method == CIR


def test_patients_left_out_are_counted_with_the_reason(demo: Dataset) -> None:
    long = demo.long.copy()
    attrs = demo.attributes.copy()
    ids = list(attrs.index.astype(str))
    no_baseline, no_arm, no_sex, no_pain = ids[:3], ids[3:5], ids[5:6], ids[6:7]
    is_pain = long["outcome"] == "pain_nrs"
    drop = (
        is_pain & long["patient_id"].astype(str).isin(no_baseline) & (long["visit"] == "baseline")
    )
    drop |= is_pain & long["patient_id"].astype(str).isin(no_pain)
    long = long.loc[~drop]
    attrs.loc[attrs.index.astype(str).isin(no_arm), "arm"] = None
    attrs.loc[attrs.index.astype(str).isin(no_sex), "sex"] = None
    changed = replace(demo, long=long, attributes=attrs)
    r = sensitivity_analysis(
        changed, resolve_arms(changed), "pain_nrs", "m6", n_imputations=5, covariates=("sex",)
    )
    assert dict(r.n.left_out) == {
        "no value of the outcome": 1,
        "no baseline value": 3,
        "missing or unknown arm": 2,
        "missing covariate": 1,
    }
    assert r.n.n_used == 150 - 7 and r.n.n_left_out == 7
    assert sorted(r.n.left_out_patients["patient_id"]) == sorted(ids[:7])
    assert "covariates_shared_across_visits_in_imputation_model" in r.assumptions
    json.dumps(r.to_dict(), allow_nan=False)
