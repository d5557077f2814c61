"""Properties of the MMRM that hold exactly, checked on simulated data.

(a) complete balanced data with compound symmetry: the treatment effect averaged over visits is
    the between-subject test of the classic repeated-measures (split-plot) ANOVA, t^2 = F with
    n - 2 df, and the arm-by-visit F test is the within-subject interaction F (Winer, Brown &
    Michels 1991, Statistical Principles in Experimental Design, ch. 7); sums of squares by hand.
(b) one visit: the model is OLS ANCOVA (estimates, SEs, df = n - p, p-values; statsmodels OLS).
(c) permuting rows and renaming patients changes nothing.
(d) a singular covariance (perfect correlation, zero variance) is reported as not converged,
    with a suggestion of simpler structures.
Also: analytic gradient/Hessian against finite differences, separate covariances per arm
against separate fits, and R's model.matrix column names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.stats.mmrm import STRUCTURES, CovarianceStructure, fit_mmrm
from analysis.stats.mmrm.likelihood import Likelihood, build_cells, cell_layout

VISITS = ["V1", "V2", "V3", "V4"]


def simulate(
    n_per_arm: int = 15,
    seed: int = 1,
    dropout: float = 0.0,
    arms: tuple[str, ...] = ("PBO", "TRT"),
    visits: list[str] = VISITS,
) -> pd.DataFrame:
    """Long data with a random patient effect (positive correlation) and visit-specific noise."""
    rng = np.random.default_rng(seed)
    rows = []
    pid = 0
    for a, arm in enumerate(arms):
        for _ in range(n_per_arm):
            pid += 1
            u = rng.normal(0.0, 2.0)
            sex = "F" if rng.random() < 0.5 else "M"
            age = rng.normal(50.0, 8.0)
            for t, visit in enumerate(visits):
                y = (
                    10.0
                    + 0.5 * t
                    + 1.5 * a * t / 3.0
                    + u
                    + 0.03 * age
                    + rng.normal(0.0, 1.0 + t / 4)
                )
                if t > 0 and rng.random() < dropout:
                    y = np.nan
                rows.append((f"P{pid:03d}", visit, arm, sex, age, y))
    return pd.DataFrame(rows, columns=["pid", "visit", "arm", "sex", "age", "y"])


def _fit(data: pd.DataFrame, **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "response": "y",
        "subject": "pid",
        "visit": "visit",
        "visit_levels": VISITS,
        "arm": "arm",
        "arm_levels": ["PBO", "TRT"],
    }
    args.update(kwargs)
    return fit_mmrm(data, **args)


def test_compound_symmetry_balanced_equals_repeated_measures_anova() -> None:
    data = simulate(n_per_arm=12, seed=3)
    r = _fit(data, covariance="cs")
    assert r.converged
    n, v = 24, 4
    wide = data.pivot(index="pid", columns="visit", values="y")[VISITS]
    arm = data.groupby("pid")["arm"].first().loc[wide.index]
    y = wide.to_numpy()
    subj_mean = y.mean(axis=1)
    grand = y.mean()
    ss_arm = ss_subj = ss_int = ss_err = 0.0
    for g in ["PBO", "TRT"]:
        yg = y[(arm == g).to_numpy()]
        ng = len(yg)
        arm_mean = yg.mean()
        ss_arm += v * ng * (arm_mean - grand) ** 2
        ss_subj += v * float(np.sum((yg.mean(axis=1) - arm_mean) ** 2))
        cell = yg.mean(axis=0)
        ss_int += ng * float(np.sum((cell - arm_mean - y.mean(axis=0) + grand) ** 2))
        resid = yg - yg.mean(axis=1, keepdims=True) - cell[None, :] + arm_mean
        ss_err += float(np.sum(resid**2))
    f_between = ss_arm / (ss_subj / (n - 2))
    df_err = (v - 1) * (n - 2)
    f_within = (ss_int / (v - 1)) / (ss_err / df_err)
    assert subj_mean.shape == (n,)

    # treatment effect averaged over visits: mean over visits of (TRT - PBO) LS means
    rows = r.design.reference_rows(
        [{"arm": a, "visit": vis} for a in ["TRT", "PBO"] for vis in VISITS]
    )
    lvec = rows[:4].mean(axis=0) - rows[4:].mean(axis=0)
    c = r.contrast(lvec)
    assert c.t**2 == pytest.approx(f_between, rel=1e-8)
    assert c.df == pytest.approx(n - 2, rel=1e-8)
    trt = wide[(arm == "TRT").to_numpy()].to_numpy().mean()
    pbo = wide[(arm == "PBO").to_numpy()].to_numpy().mean()
    assert c.estimate == pytest.approx(trt - pbo, rel=1e-10)

    names = r.coefficients["name"].tolist()
    inter = np.array(
        [[1.0 if nm == f"armTRT:visit{vis}" else 0.0 for nm in names] for vis in VISITS[1:]]
    )
    f = r.f_test(inter)
    assert f.num_df == 3
    assert f.f == pytest.approx(f_within, rel=1e-8)
    assert f.den_df == pytest.approx(df_err, rel=1e-6)


def test_one_visit_equals_ols_ancova() -> None:
    data = simulate(n_per_arm=20, seed=5)
    one = data[data["visit"] == "V3"].copy()
    r = _fit(one, visit_levels=["V3"], covariates=["sex", "age"])
    assert r.converged
    ols = smf.ols("y ~ C(sex) + age + C(arm, Treatment('PBO'))", data=one).fit()
    n, p = len(one), 4
    row = r.coefficients.set_index("name").loc["armTRT"]
    key = "C(arm, Treatment('PBO'))[T.TRT]"
    assert row["estimate"] == pytest.approx(ols.params[key], rel=1e-8)
    assert row["se"] == pytest.approx(ols.bse[key], rel=1e-8)
    assert row["df"] == pytest.approx(n - p, rel=1e-8)
    assert row["p"] == pytest.approx(ols.pvalues[key], rel=1e-7)
    assert r.covariance[0, 0] == pytest.approx(ols.scale, rel=1e-8)
    ct = r.contrasts.iloc[0]
    assert ct["estimate"] == pytest.approx(ols.params[key], rel=1e-8)
    assert ct["se"] == pytest.approx(ols.bse[key], rel=1e-8)


def test_permuting_patients_changes_nothing() -> None:
    data = simulate(n_per_arm=20, seed=7, dropout=0.15)
    rng = np.random.default_rng(11)
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    ids = shuffled["pid"].unique()
    new = dict(zip(ids, rng.permutation([f"X{i}" for i in range(len(ids))]), strict=True))
    shuffled["pid"] = shuffled["pid"].map(new)
    for cov in ["us", "toeph"]:
        a = _fit(data, covariance=cov, covariates=["sex", "age"])
        b = _fit(shuffled, covariance=cov, covariates=["sex", "age"])
        assert a.converged and b.converged
        assert a.log_likelihood == pytest.approx(b.log_likelihood, abs=1e-8)
        for col in ["estimate", "se", "df", "p"]:
            np.testing.assert_allclose(a.coefficients[col], b.coefficients[col], rtol=1e-7)
            if col != "p":
                np.testing.assert_allclose(a.lsmeans[col], b.lsmeans[col], rtol=1e-7)
            np.testing.assert_allclose(a.contrasts[col], b.contrasts[col], rtol=1e-7)
        np.testing.assert_allclose(a.covariance, b.covariance, rtol=1e-7)


@pytest.mark.parametrize(
    ("covariance", "scenario"),
    [("us", "perfect"), ("adh", "perfect"), ("us", "flat"), ("csh", "flat"), ("ar1h", "flat")],
)
def test_singular_covariance_is_not_converged(covariance: str, scenario: str) -> None:
    data = simulate(n_per_arm=15, seed=2)
    if scenario == "perfect":
        # V2 = V1 + 1 exactly: correlation 1 between the two visits
        wide = data.pivot(index="pid", columns="visit", values="y")
        v2 = data["visit"] == "V2"
        data.loc[v2, "y"] = data.loc[v2, "pid"].map(wide["V1"] + 1.0).to_numpy()
    else:
        # constant within arm at V3: the arm-by-visit means fit exactly, a zero variance
        v3 = data["visit"] == "V3"
        data.loc[v3, "y"] = np.where(data.loc[v3, "arm"] == "TRT", 12.0, 11.0)
    r = _fit(data, covariance=covariance)
    assert not r.converged
    assert "simpler covariance structure" in r.message or "over-parameterised" in r.message


def test_gradient_and_hessian_match_finite_differences() -> None:
    data = simulate(n_per_arm=10, seed=4, dropout=0.25)
    r = _fit(data, covariance="us", covariates=["sex"])
    x = r.design.matrix(data.dropna(subset=["y"]).reset_index(drop=True))
    used = data.dropna(subset=["y"]).reset_index(drop=True)
    patient = pd.factorize(used["pid"])[0].astype(np.int64)
    visit = pd.Categorical(used["visit"], categories=VISITS).codes.astype(np.int64)
    group = (
        used.groupby("pid", sort=False)["arm"].first().map({"PBO": 0, "TRT": 1}).to_numpy()
    ).astype(np.int64)
    rng = np.random.default_rng(0)
    for name in STRUCTURES:
        structure = CovarianceStructure(name, 4)
        for n_groups, grp in [(1, np.zeros_like(group)), (2, group)]:
            for reml in (True, False):
                layout = cell_layout(patient, visit, grp, 4)
                z = np.column_stack([x[layout.order], used["y"].to_numpy()[layout.order]])
                cells, beta0 = build_cells(z, layout)
                lik = Likelihood(cells, beta0, structure, n_groups, len(used), reml)
                theta = np.tile(structure.start(np.cov(rng.normal(size=(4, 40)))), n_groups)
                ev = lik.evaluate(theta, 2)
                assert ev is not None and ev.gradient is not None and ev.hessian is not None
                h = 1e-6
                for k in range(len(theta)):
                    e = np.zeros_like(theta)
                    e[k] = h
                    up, dn = lik.evaluate(theta + e, 1), lik.evaluate(theta - e, 1)
                    assert up is not None and dn is not None
                    assert up.gradient is not None and dn.gradient is not None
                    fd = (up.value - dn.value) / (2 * h)
                    assert ev.gradient[k] == pytest.approx(fd, rel=1e-5, abs=1e-6)
                    fd2 = (up.gradient - dn.gradient) / (2 * h)
                    np.testing.assert_allclose(ev.hessian[k], fd2, rtol=1e-5, atol=1e-5)


def test_covariance_per_arm_equals_separate_fits() -> None:
    data = simulate(n_per_arm=25, seed=9, dropout=0.1)
    for cov in ["us", "ar1h"]:
        grouped = _fit(data, covariance=cov, group_covariance=True)
        assert grouped.converged and grouped.groups == ("PBO", "TRT")
        total = 0.0
        for arm in ["PBO", "TRT"]:
            alone = fit_mmrm(
                data[data["arm"] == arm],
                response="y",
                subject="pid",
                visit="visit",
                visit_levels=VISITS,
                covariance=cov,
            )
            total += alone.log_likelihood
            np.testing.assert_allclose(grouped.covariances[arm], alone.covariance, rtol=1e-6)
            mine = grouped.lsmeans[grouped.lsmeans["arm"] == arm]
            np.testing.assert_allclose(mine["estimate"], alone.lsmeans["estimate"], rtol=1e-8)
            np.testing.assert_allclose(mine["se"], alone.lsmeans["se"], rtol=1e-6)
            np.testing.assert_allclose(mine["df"], alone.lsmeans["df"], rtol=1e-5)
        assert grouped.log_likelihood == pytest.approx(total, abs=1e-7)
        assert grouped.n_theta == 2 * CovarianceStructure(cov, 4).n_theta
        # Kenward-Roger: no cross-group terms, so the adjusted SEs are the separate fits' too
        kr = _fit(
            data,
            covariance=cov,
            group_covariance=True,
            df_method="kenward-roger",
            theta=grouped.theta,
        )
        for g, arm in enumerate(["PBO", "TRT"]):
            k = CovarianceStructure(cov, 4).n_theta
            alone = fit_mmrm(
                data[data["arm"] == arm],
                response="y",
                subject="pid",
                visit="visit",
                visit_levels=VISITS,
                covariance=cov,
                df_method="kenward-roger",
                theta=grouped.theta[g * k : (g + 1) * k],
            )
            mine = kr.lsmeans[kr.lsmeans["arm"] == arm]
            np.testing.assert_allclose(mine["se"], alone.lsmeans["se"], rtol=1e-9)
            np.testing.assert_allclose(mine["df"], alone.lsmeans["df"], rtol=1e-9)


def test_column_names_follow_r_model_matrix() -> None:
    """Names and order as R 4.2.2's model.matrix gives them for these formulas."""
    data = simulate(n_per_arm=6, seed=1, arms=("A", "B", "C"), visits=["V1", "V2", "V3"])
    data["sex"] = data["sex"].map({"F": "F", "M": "M"})
    common = {"visit_levels": ["V1", "V2", "V3"], "arm_levels": ["A", "B", "C"]}
    r = _fit(data, covariates=["sex"], covariance="cs", **common)
    # model.matrix(~ SEX + ARM * VIS)
    assert r.coefficients["name"].tolist() == [
        "(Intercept)",
        "sexM",
        "armB",
        "armC",
        "visitV2",
        "visitV3",
        "armB:visitV2",
        "armC:visitV2",
        "armB:visitV3",
        "armC:visitV3",
    ]
    r = _fit(data, covariates=["sex"], baseline="age", baseline_by_visit=True, **common)
    # model.matrix(~ SEX + BL + BL:VIS + ARM * VIS): the interaction becomes VIS:ARM
    assert r.coefficients["name"].tolist() == [
        "(Intercept)",
        "sexM",
        "age",
        "armB",
        "armC",
        "visitV2",
        "visitV3",
        "age:visitV2",
        "age:visitV3",
        "visitV2:armB",
        "visitV3:armB",
        "visitV2:armC",
        "visitV3:armC",
    ]
    assert len(r.contrasts) == 6  # B - A and C - A at three visits
    assert set(r.contrasts["comparator"]) == {"A"}
