"""Public API of the MMRM: data handling, exclusions, aliasing, helpers for imputation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.stats.mmrm import STRUCTURES, compare_covariances, fit_mmrm
from bench.mmrm import bench

VISITS = ["V1", "V2", "V3"]


def simulate(n_per_arm: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a, arm in enumerate(["ctrl", "act"]):
        for i in range(n_per_arm):
            u = rng.normal(0.0, 1.5)
            site = ["s1", "s2", "s3"][i % 3]
            base = rng.normal(20.0, 3.0)
            for t, visit in enumerate(VISITS):
                y = base * 0.4 + u + t - a * t * 0.8 + rng.normal(0.0, 1.0)
                rows.append((f"{arm}-{i}", visit, arm, site, base, y))
    return pd.DataFrame(rows, columns=["pid", "visit", "arm", "site", "base", "y"])


def _fit(data: pd.DataFrame, **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "response": "y",
        "subject": "pid",
        "visit": "visit",
        "visit_levels": VISITS,
        "arm": "arm",
        "arm_levels": ["ctrl", "act"],
        "covariates": ["site"],
        "baseline": "base",
    }
    args.update(kwargs)
    return fit_mmrm(data, **args)


def test_exclusions_are_counted_by_reason() -> None:
    data = simulate()
    data.loc[0, "y"] = np.nan  # missing response
    data.loc[1, "site"] = None  # missing covariate
    data.loc[2, "visit"] = "V9"  # not an analysed visit
    data.loc[3:5, "y"] = np.nan  # the whole of patient ctrl-1: patient excluded
    data.loc[6, "arm"] = "other"  # unknown arm
    r = _fit(data)
    assert r.converged
    assert r.exclusions == {
        "missing response": 4,
        "missing covariate": 1,
        "visit not among the analysed visits": 1,
        "missing or unknown arm": 1,
    }
    assert r.n_values == len(data) - 7
    assert r.n_values_excluded == 7
    # ctrl-0 lost all three values for three reasons, ctrl-1 all values to a missing response
    assert r.n_patients == 38 and r.n_patients_excluded == 2
    assert r.excluded_patients.to_dict("records") == [
        {
            "subject": "ctrl-0",
            "reason": "missing covariate; missing response; visit not among the analysed visits",
        },
        {"subject": "ctrl-1", "reason": "missing response"},
    ]


def test_invalid_input_raises() -> None:
    data = simulate()
    with pytest.raises(ValueError, match="columns not in the data"):
        _fit(data, covariates=["nope"])
    with pytest.raises(ValueError, match="more than one value"):
        _fit(pd.concat([data, data.iloc[:1]]))
    with pytest.raises(ValueError, match="Kenward-Roger"):
        _fit(data, reml=False, df_method="kenward-roger")
    with pytest.raises(ValueError, match="covariance must be one of"):
        _fit(data, covariance="vc")
    with pytest.raises(ValueError, match="arm levels without"):
        _fit(data, arm_levels=["ctrl", "act", "third"])


def test_aliased_column_gives_non_estimable_cell() -> None:
    """No treated values at V3: that interaction column is aliased (NaN, as in R)."""
    data = simulate()
    data = data[~((data["arm"] == "act") & (data["visit"] == "V3"))]
    r = _fit(data)
    assert r.converged
    assert r.aliased == ("armact:visitV3",)
    coef = r.coefficients.set_index("name")
    assert np.isnan(coef.loc["armact:visitV3", "estimate"])
    assert np.isfinite(coef.loc["armact", "estimate"])
    ls = r.lsmeans.set_index(["arm", "visit"])
    assert np.isnan(ls.loc[("act", "V3"), "estimate"])
    assert np.isfinite(ls.loc[("ctrl", "V3"), "estimate"])
    assert np.isfinite(ls.loc[("act", "V2"), "se"])


def test_without_arm_gives_lsmeans_per_visit() -> None:
    r = _fit(simulate(), arm=None, arm_levels=None)
    assert r.converged
    assert r.lsmeans["visit"].tolist() == VISITS
    assert r.lsmeans["arm"].isna().all()
    assert r.contrasts.empty
    assert "armact" not in r.coefficients["name"].tolist()


def test_contrast_and_f_test() -> None:
    r = _fit(simulate(), covariance="us")
    names = r.coefficients["name"].tolist()
    unit = np.array([1.0 if n == "armact" else 0.0 for n in names])
    c = r.contrast(unit)
    row = r.coefficients.set_index("name").loc["armact"]
    assert c.estimate == pytest.approx(row["estimate"])
    assert c.se == pytest.approx(row["se"])
    assert c.df == pytest.approx(row["df"])
    assert c.ci_low < c.estimate < c.ci_high
    single = r.f_test(unit[None, :])
    assert single.f == pytest.approx(c.t**2, rel=1e-10)
    assert single.den_df == pytest.approx(c.df, rel=1e-10)
    assert single.p == pytest.approx(c.p, rel=1e-8)
    inter = np.array([[1.0 if n == f"armact:visit{v}" else 0.0 for n in names] for v in VISITS[1:]])
    f = r.f_test(inter)
    assert f.num_df == 2 and f.f > 0 and 0 < f.p < 1 and f.den_df > 2
    with pytest.raises(ValueError, match="one per design column"):
        r.contrast(np.ones(3))


def test_kenward_roger_f_test_scales() -> None:
    r = _fit(simulate(), covariance="cs", df_method="kenward-roger")
    assert r.df_method == "kenward-roger"
    names = r.coefficients["name"].tolist()
    inter = np.array([[1.0 if n == f"armact:visit{v}" else 0.0 for n in names] for v in VISITS[1:]])
    f = r.f_test(inter)
    assert f.num_df == 2 and np.isfinite(f.den_df) and f.f > 0


def test_fixed_theta_reproduces_fit_and_design_builds_missing_visits() -> None:
    data = simulate()
    r = _fit(data)
    again = _fit(data, theta=r.theta)
    np.testing.assert_allclose(again.beta, r.beta, rtol=1e-12)
    np.testing.assert_allclose(again.coefficients["df"], r.coefficients["df"], rtol=1e-10)
    assert again.log_likelihood == pytest.approx(r.log_likelihood, abs=1e-10)
    # rows for visits a patient did not attend: same covariates, every visit
    patient = data[data["pid"] == "act-4"].iloc[[0]]
    grid = patient.loc[patient.index.repeat(3)].assign(visit=VISITS)
    x = r.design.matrix(grid)
    assert x.shape == (3, len(r.coefficient_names))
    mean = x @ np.nan_to_num(r.beta)
    assert np.all(np.isfinite(mean))
    # theta and its asymptotic covariance, and Sigma from any theta (for imputation draws)
    assert r.theta_vcov.shape == (r.n_theta, r.n_theta)
    assert np.all(np.linalg.eigvalsh(r.theta_vcov) > 0)
    np.testing.assert_allclose(r.covariance_from_theta(r.theta)[0], r.covariance, rtol=1e-12)
    np.testing.assert_allclose(r.correlation.diagonal(), 1.0)


def test_compare_covariances_table() -> None:
    table = compare_covariances(
        simulate(),
        response="y",
        subject="pid",
        visit="visit",
        visit_levels=VISITS,
        arm="arm",
        arm_levels=["ctrl", "act"],
    )
    assert table["covariance"].tolist() == list(STRUCTURES)
    ok = table[table["converged"]]
    assert len(ok) >= 5
    assert ok["delta_aic"].min() == 0.0 and ok["delta_bic"].min() == 0.0
    np.testing.assert_allclose(
        ok["aic"], -2 * ok["log_likelihood"] + 2 * ok["n_theta"].astype(float), rtol=1e-12
    )


def test_bench_smoke() -> None:
    out = bench(300)
    assert out["converged"] is True
    assert float(out["seconds"]) < 10  # type: ignore[arg-type]
    assert float(out["peak_traced_mb"]) > 0  # type: ignore[arg-type]
