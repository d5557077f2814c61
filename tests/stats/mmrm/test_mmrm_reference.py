"""MMRM against the R package mmrm (and nlme) on mmrm's bundled example data fev_data.

Reference values: <repo>/../shared/reference/mmrm/fev_expected.json, written by gen.R in that
folder with R 4.2.2 Patched (2022-11-10 r83330), mmrm 0.3.18 (source commit ec290b2),
emmeans 1.8.4-1, TMB 1.9.23:
    fit <- mmrm(FEV1 ~ RACE + SEX + ARMCD * AVISIT + <cov>(AVISIT | USUBJID), data = fev_data,
                reml = <TRUE|FALSE>, method = <"Satterthwaite"|"Kenward-Roger">)
    emmeans(fit, ~ ARMCD | AVISIT);  pairs(emmeans(fit, ~ ARMCD | AVISIT), reverse = TRUE)
for cov in us, cs, csh, ar1, ar1h, toep, toeph, ad, adh (REML, Satterthwaite), plus us with
Kenward-Roger and us by ML.  Published check (mmrm documentation, us REML Satterthwaite):
AIC 3406.45, ARMCDTRT 3.77423, SE 1.074147, df 145.552.

How the comparison is split, and why:
* At mmrm's own covariance parameters (`theta` in the JSON) every number (logLik, AIC, BIC,
  coefficients with SE/df/t/p, beta vcov incl. the Kenward-Roger adjusted one, visit covariance,
  LS means and contrasts with CIs) must agree to 1e-8 relative: this checks every formula.
* Our own fits are compared at the tolerances of the brief -- logLik/AIC/BIC, SEs (1e-4
  relative), df (1e-3 relative) -- except where mmrm's optimum itself is the limit: mmrm's
  L-BFGS-B stops with a gradient of about 1e-2 (e.g. us REML: our logLik is 2.5e-6 higher,
  i.e. better, and nlme::gls with tight tolerances agrees with ours to 1e-10), which moves its
  estimates by up to ~2e-4 standard errors.  Estimates (coefficients, LS means, contrasts, CI
  limits) and covariance entries therefore must agree to 1e-4 relative OR to 5e-4 of their
  standard error (covariance: of sqrt(s_jj s_kk)); p-values (exponentially sensitive to t)
  to 1e-2 relative.  We also assert that our logLik is never below mmrm's.
* nlme_reference.json (beside this file; nlme_reference.R, R 4.2.2, nlme 3.1-162, emmeans
  1.8.4-1): gls fits with tight tolerances for the structures nlme can express (us = corSymm +
  varIdent, cs, csh, ar1, ar1h, toep(h) = corARMA(p = 3) (+ varIdent)), and one model with a
  numeric baseline and baseline:visit (names and emmeans LS means) -- these agree with our
  fits to 2e-5 of a standard error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.stats.mmrm import fit_mmrm

REFERENCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "mmrm"
NLME = Path(__file__).resolve().parent / "nlme_reference.json"

if not (REFERENCE / "fev_expected.json").exists():
    pytest.skip(
        f"mmrm reference data not found at {REFERENCE} (shared/ beside the checkout)",
        allow_module_level=True,
    )

EXPECTED: dict[str, Any] = json.loads((REFERENCE / "fev_expected.json").read_text())["fits"]
LEVELS: dict[str, list[str]] = json.loads((REFERENCE / "fev_data_levels.json").read_text())
FACTORS = ["ARMCD", "AVISIT", "RACE", "SEX"]
R_NAMES = {
    "patient_id": "USUBJID",
    "visit": "AVISIT",
    "value": "FEV1",
    "arm": "ARMCD",
    "race": "RACE",
    "sex": "SEX",
    "fev1_bl": "FEV1_BL",
}


def _categorical(frame: pd.DataFrame) -> pd.DataFrame:
    for col in FACTORS:
        frame[col] = pd.Categorical(frame[col], categories=LEVELS[col])
    return frame


@pytest.fixture(scope="module")
def fev_long() -> pd.DataFrame:
    """The project's long format (fev_long.csv), columns renamed to R's names."""
    frame = pd.read_csv(REFERENCE / "fev_long.csv", dtype={"patient_id": str})
    frame = frame[frame["outcome"] == "fev1"].rename(columns=R_NAMES)
    return _categorical(frame)


@pytest.fixture(scope="module")
def fev_data() -> pd.DataFrame:
    return _categorical(pd.read_csv(REFERENCE / "fev_data.csv", dtype={"USUBJID": str}))


def _fit(data: pd.DataFrame, spec: dict[str, Any], **kwargs: Any) -> Any:
    return fit_mmrm(
        data,
        response="FEV1",
        subject="USUBJID",
        visit="AVISIT",
        visit_levels=LEVELS["AVISIT"],
        arm="ARMCD",
        arm_levels=LEVELS["ARMCD"],
        covariates=["RACE", "SEX"],
        covariance=spec["covariance"],
        reml=spec["reml"],
        df_method="kenward-roger" if spec["method"] == "Kenward-Roger" else "satterthwaite",
        **kwargs,
    )


@pytest.fixture(scope="module")
def fits(fev_long: pd.DataFrame) -> dict[str, Any]:
    return {key: _fit(fev_long, spec) for key, spec in EXPECTED.items()}


def _close(actual: Any, expected: Any, rel: float, scale: Any = None, frac: float = 0.0) -> None:
    """|a - e| <= rel |e|, or <= frac * scale where a scale (a standard error) is given."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    assert a.shape == e.shape
    tol = rel * np.abs(e)
    if scale is not None:
        tol = np.maximum(tol, frac * np.asarray(scale, dtype=float))
    bad = np.abs(a - e) > tol
    assert not bad.any(), f"max deviation {np.max(np.abs(a - e) - tol)} at {np.argwhere(bad)}"


def test_long_format_matches_r_data(fev_long: pd.DataFrame, fev_data: pd.DataFrame) -> None:
    """fev_long.csv carries exactly fev_data's values in the project's long layout."""
    left = fev_long.sort_values(["USUBJID", "AVISIT"]).reset_index(drop=True)
    right = fev_data.sort_values(["USUBJID", "AVISIT"]).reset_index(drop=True)
    for col in ["USUBJID", "AVISIT", "ARMCD", "RACE", "SEX"]:
        assert left[col].astype(str).tolist() == right[col].astype(str).tolist()
    np.testing.assert_array_equal(left["FEV1"].to_numpy(), right["FEV1"].to_numpy())


def test_published_check_values(fits: dict[str, Any]) -> None:
    """mmrm's documented example: AIC 3406.45, ARMCDTRT 3.77423 (SE 1.074147, df 145.552)."""
    r = fits["us_satt_reml"]
    assert r.converged
    assert round(r.aic, 2) == 3406.45
    row = r.coefficients.set_index("name").loc["ARMCDTRT"]
    assert row["estimate"] == pytest.approx(3.77423, rel=1e-4)
    assert row["se"] == pytest.approx(1.074147, rel=1e-4)
    assert row["df"] == pytest.approx(145.552, rel=1e-3)
    assert (r.n_patients, r.n_values, r.n_patients_excluded) == (197, 537, 3)
    assert r.exclusions == {"missing response": 263}


@pytest.mark.parametrize("key", list(EXPECTED))
def test_fit_matches_mmrm(fits: dict[str, Any], key: str) -> None:
    ref = EXPECTED[key]
    r = fits[key]
    assert r.converged, r.message
    assert (r.n_patients, r.n_values, r.n_theta) == (
        ref["n_subjects"],
        ref["n_obs"],
        ref["n_theta"],
    )
    # logLik / AIC / BIC: at least as good as mmrm's optimum and within 1e-5
    assert r.log_likelihood >= ref["logLik"] - 1e-9
    assert r.log_likelihood == pytest.approx(ref["logLik"], abs=1e-5)
    assert r.aic == pytest.approx(ref["AIC"], abs=2e-5)
    assert r.bic == pytest.approx(ref["BIC"], abs=2e-5)

    co = pd.DataFrame(ref["coefficients"])
    assert r.coefficients["name"].tolist() == co["name"].tolist()
    _close(r.coefficients["estimate"], co["estimate"], 1e-4, co["se"], 5e-4)
    _close(r.coefficients["se"], co["se"], 1e-4)
    _close(r.coefficients["df"], co["df"], 1e-3)
    _close(r.coefficients["t"], co["t"], 1e-4, np.ones(len(co)), 5e-4)
    _close(r.coefficients["p"], co["p"], 1e-2)
    se = np.sqrt(np.diag(np.asarray(ref["beta_vcov"])))
    _close(r.beta_vcov, ref["beta_vcov"], 1e-4, np.outer(se, se), 5e-4)

    cov = np.asarray(ref["cov"])
    assert list(map(str, r.visits)) == ref["cov_visits"]
    _close(r.covariance, cov, 1e-4, np.sqrt(np.outer(np.diag(cov), np.diag(cov))), 5e-4)

    ls = pd.DataFrame(ref["lsmeans"])
    assert r.lsmeans["arm"].astype(str).tolist() == ls["ARMCD"].tolist()
    assert r.lsmeans["visit"].astype(str).tolist() == ls["AVISIT"].tolist()
    _close(r.lsmeans["estimate"], ls["estimate"], 1e-4, ls["se"], 5e-4)
    _close(r.lsmeans["se"], ls["se"], 1e-4)
    _close(r.lsmeans["df"], ls["df"], 1e-3)
    _close(r.lsmeans["ci_low"], ls["lower"], 1e-4, ls["se"], 5e-4)
    _close(r.lsmeans["ci_high"], ls["upper"], 1e-4, ls["se"], 5e-4)

    ct = pd.DataFrame(ref["contrasts"])
    assert r.contrasts["visit"].astype(str).tolist() == ct["AVISIT"].tolist()
    assert set(
        r.contrasts["arm"].astype(str) + " - " + r.contrasts["comparator"].astype(str)
    ) == set(ct["contrast"])
    _close(r.contrasts["estimate"], ct["estimate"], 1e-4, ct["se"], 5e-4)
    _close(r.contrasts["se"], ct["se"], 1e-4)
    _close(r.contrasts["df"], ct["df"], 1e-3)
    _close(r.contrasts["t"], ct["t"], 1e-4, np.ones(len(ct)), 5e-4)
    _close(r.contrasts["p"], ct["p"], 1e-2)
    _close(r.contrasts["ci_low"], ct["lower"], 1e-4, ct["se"], 5e-4)
    _close(r.contrasts["ci_high"], ct["upper"], 1e-4, ct["se"], 5e-4)


@pytest.mark.parametrize("key", list(EXPECTED))
def test_formulas_match_mmrm_at_its_theta(fev_long: pd.DataFrame, key: str) -> None:
    """Evaluated at mmrm's theta, every reported number equals mmrm's to 1e-8."""
    ref = EXPECTED[key]
    r = _fit(fev_long, ref, theta=ref["theta"])
    tight = 1e-8
    assert r.log_likelihood == pytest.approx(ref["logLik"], abs=1e-8)
    assert r.aic == pytest.approx(ref["AIC"], abs=2e-8)
    assert r.bic == pytest.approx(ref["BIC"], abs=2e-8)
    co = pd.DataFrame(ref["coefficients"])
    for col in ["estimate", "se", "df", "t", "p"]:
        _close(r.coefficients[col], co[col], tight)
    _close(r.beta_vcov, ref["beta_vcov"], tight, np.full((11, 11), 1.0), 1e-12)
    _close(r.covariance, ref["cov"], tight)
    ls = pd.DataFrame(ref["lsmeans"]).rename(columns={"lower": "ci_low", "upper": "ci_high"})
    for col in ["estimate", "se", "df", "ci_low", "ci_high"]:
        _close(r.lsmeans[col], ls[col], tight)
    ct = pd.DataFrame(ref["contrasts"]).rename(columns={"lower": "ci_low", "upper": "ci_high"})
    for col in ["estimate", "se", "df", "t", "p", "ci_low", "ci_high"]:
        _close(r.contrasts[col], ct[col], tight)


def test_kenward_roger_uses_adjusted_vcov(fits: dict[str, Any]) -> None:
    """KR SEs come from the adjusted covariance; mmrm's 1-df KR df equal Satterthwaite's."""
    kr, satt = fits["us_kr_reml"], fits["us_satt_reml"]
    assert kr.df_method == "kenward-roger"
    np.testing.assert_allclose(kr.beta_vcov_model, satt.beta_vcov, rtol=1e-10)
    assert not np.allclose(kr.beta_vcov, kr.beta_vcov_model, rtol=1e-3)
    np.testing.assert_allclose(kr.coefficients["se"], np.sqrt(np.diag(kr.beta_vcov)), rtol=1e-12)
    np.testing.assert_allclose(kr.coefficients["df"], satt.coefficients["df"], rtol=1e-8)


def test_data_file_and_long_file_give_the_same_fit(
    fev_long: pd.DataFrame, fev_data: pd.DataFrame, fits: dict[str, Any]
) -> None:
    r = _fit(fev_data, EXPECTED["us_satt_reml"])
    ref = fits["us_satt_reml"]
    assert r.log_likelihood == pytest.approx(ref.log_likelihood, abs=1e-9)
    np.testing.assert_allclose(r.coefficients["estimate"], ref.coefficients["estimate"], rtol=1e-9)
    np.testing.assert_allclose(r.lsmeans["se"], ref.lsmeans["se"], rtol=1e-9)


NLME_FITS: dict[str, Any] = json.loads(NLME.read_text())["fits"] if NLME.exists() else {}


@pytest.mark.parametrize("key", list(NLME_FITS))
def test_fit_matches_tightly_converged_nlme(fev_long: pd.DataFrame, key: str) -> None:
    ref = NLME_FITS[key]
    cov_name, method = key.split("_")[:2]
    with_baseline = "baseline" in key
    r = fit_mmrm(
        fev_long,
        response="FEV1",
        subject="USUBJID",
        visit="AVISIT",
        visit_levels=LEVELS["AVISIT"],
        arm="ARMCD",
        covariates=["RACE", "SEX"],
        baseline="FEV1_BL" if with_baseline else None,
        baseline_by_visit=with_baseline,
        covariance=cov_name,
        reml=method == "reml",
    )
    assert r.converged
    assert r.coefficients["name"].tolist() == ref["name"]
    assert r.log_likelihood >= ref["logLik"] - 1e-8
    assert r.log_likelihood == pytest.approx(ref["logLik"], abs=1e-7)
    se = np.asarray(ref["se"])
    _close(r.coefficients["estimate"], ref["estimate"], 1e-6, se, 2e-5)
    cov = np.asarray(ref["cov"])
    _close(r.covariance, cov, 1e-6, np.sqrt(np.outer(np.diag(cov), np.diag(cov))), 2e-5)
    ls = pd.DataFrame(ref["lsmeans"])
    assert r.lsmeans["arm"].astype(str).tolist() == ls["ARMCD"].tolist()
    _close(r.lsmeans["estimate"], ls["estimate"], 1e-6, ls["se"], 2e-5)
    if method == "reml":  # nlme scales ML standard errors by N / (N - p); mmrm does not
        _close(r.coefficients["se"], se, 1e-5)
        _close(r.lsmeans["se"], ls["se"], 1e-5)
