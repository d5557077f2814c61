"""Kaplan-Meier, log-rank and Cox against R's survival package (3.5-3, R 4.2.2), and the time to
response built on them. Every expected value was computed in R; the call is beside it.

Tolerances: Kaplan-Meier estimates, CIs, medians, log-rank statistics and p-values are exact
arithmetic (1e-9 relative); Cox coefficients come from Newton-Raphson in both programs
(1e-6 relative), their tests from the fitted log-likelihoods (1e-6).
"""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import WIDE_CSV

from analysis.ingest.pipeline import load_bytes, load_demo
from analysis.instruments import lookup
from analysis.stats.arms import resolve_arms
from analysis.stats.survival import cox_model, kaplan_meier, log_rank
from analysis.stats.time_to_event import response_rule, time_to_event

EXACT = dict(rel=1e-9, abs=1e-12)
FIT = dict(rel=1e-6, abs=1e-9)

# R: aml (survival package). Maintained: 9, 13, 13+, 18, 23, 28+, 31, 34, 45+, 48, 161+;
# Nonmaintained: 5, 5, 8, 8, 12, 16+, 23, 27, 30, 33, 43, 45.
MAINTAINED = [(9, 1), (13, 1), (13, 0), (18, 1), (23, 1), (28, 0), (31, 1), (34, 1), (45, 0),
              (48, 1), (161, 0)]  # fmt: skip
NONMAINTAINED = [(5, 1), (5, 1), (8, 1), (8, 1), (12, 1), (16, 0), (23, 1), (27, 1), (30, 1),
                 (33, 1), (43, 1), (45, 1)]  # fmt: skip


def _km(pairs):
    return kaplan_meier([t for t, _ in pairs], [e for _, e in pairs])


def _aml():
    pairs = MAINTAINED + NONMAINTAINED
    group = ["Maintained"] * len(MAINTAINED) + ["Nonmaintained"] * len(NONMAINTAINED)
    return [t for t, _ in pairs], [e for _, e in pairs], group


def _same(value, expected, **tol):
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected, **(tol or EXACT))


# ---- Kaplan-Meier ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "median", "low", "high"),
    [
        # R: survfit(Surv(time, status) ~ x, data = aml): median 31 (18, NA) and 23 (8, NA)
        (MAINTAINED, 31.0, 18.0, None),
        (NONMAINTAINED, 23.0, 8.0, None),
        # R: survfit(Surv(time, status) ~ 1, data = aml): median 27 (18, 45)
        (MAINTAINED + NONMAINTAINED, 27.0, 18.0, 45.0),
        # R: quantile(survfit(Surv(1:4, rep(1, 4)) ~ 1), 0.5): 2.5 (1, NA): S is exactly 0.5
        # between 2 and 3, so the median is the middle of that stretch
        ([(1, 1), (2, 1), (3, 1), (4, 1)], 2.5, 1.0, None),
    ],
)
def test_median_and_its_interval_match_survfit(pairs, median, low, high):
    fit = _km(pairs)
    _same(fit.median, median)
    _same(fit.median_ci[0], low)
    _same(fit.median_ci[1], high)


def test_quantiles_match_r():
    # R: quantile(survfit(Surv(1:6, c(1,1,0,1,1,0)) ~ 1), c(.25, .5, .75))
    #    quantile 2, 4, 5; lower 1, 2, 4; upper NA, NA, NA
    fit = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0])
    assert [fit.quantile(p) for p in (0.25, 0.5, 0.75)] == [
        (2.0, 1.0, None),
        (4.0, 2.0, None),
        (5.0, 4.0, None),
    ]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # R: s <- summary(survfit(Surv(time, status) ~ x, data = aml), times = c(10, 20, 30, 40))
        #    n.risk, surv, lower, upper, std.err (Maintained, then Nonmaintained)
        (MAINTAINED, [
            (10, 0.9090909091, 0.75413384508, 1.0000000000, 0.0866784172),
            (7, 0.7159090909, 0.48842628742, 1.0000000000, 0.1396649706),
            (5, 0.6136363636, 0.37686705950, 0.9991576002, 0.1526323310),
            (3, 0.3681818182, 0.15487711790, 0.8752606781, 0.1626688858),
        ]),
        (NONMAINTAINED, [
            (8, 0.6666666667, 0.44684608115, 0.9946253603, 0.1360827635),
            (6, 0.5833333333, 0.36161370521, 0.9409980122, 0.1423187606),
            (4, 0.2916666667, 0.11483115015, 0.7408220185, 0.1387151691),
            (2, 0.1944444444, 0.05692155257, 0.6642236599, 0.1218745054),
        ]),
    ],
)  # fmt: skip
def test_survival_at_times_matches_summary_survfit(pairs, expected):
    at = _km(pairs).at([10, 20, 30, 40])
    for row, (n_risk, surv, lower, upper, se) in zip(at.itertuples(), expected, strict=True):
        assert row.n_risk == n_risk
        assert row.survival == pytest.approx(surv, abs=1e-9)
        assert row.ci_low == pytest.approx(lower, abs=1e-10)
        assert row.ci_high == pytest.approx(upper, abs=1e-10)
        assert row.std_err == pytest.approx(se, abs=1e-9)


def test_curve_rows_match_survfit_and_end_at_zero():
    # R: f <- survfit(Surv(time, status) ~ x, data = aml); f$time, f$surv, f$lower, f$n.risk
    table = _km(NONMAINTAINED).table
    assert table["time"].tolist() == [5, 8, 12, 16, 23, 27, 30, 33, 43, 45]
    assert table["n_risk"].tolist() == [12, 10, 8, 7, 6, 5, 4, 3, 2, 1]
    assert table["survival"].iloc[-1] == 0
    assert math.isnan(table["ci_low"].iloc[-1])  # R: NA once S is 0
    assert table["ci_low"].iloc[-2] == pytest.approx(0.01525653, abs=1e-8)
    assert table["ci_high"].iloc[-2] == pytest.approx(0.6195486, abs=1e-7)
    assert table["n_censor"].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]


def test_survival_past_the_last_time_is_not_given():
    # R leaves such times out of summary(fit, times = ...)
    at = _km(NONMAINTAINED).at([50])
    assert at["survival"].iloc[0] is None and at["n_risk"].iloc[0] == 0


# ---- log-rank -------------------------------------------------------------------------------


def test_log_rank_matches_survdiff_on_aml():
    # R: survdiff(Surv(time, status) ~ x, data = aml): chisq 3.396388699, p 0.06533932204,
    #    expected 10.689335992 and 7.310664008
    time, event, group = _aml()
    test = log_rank(time, event, group)
    assert test is not None
    assert test.chisq == pytest.approx(3.396388699, rel=1e-9)
    assert test.p_value == pytest.approx(0.06533932204, rel=1e-9)
    assert test.df == 1
    assert test.observed == [7, 11]
    assert test.expected == pytest.approx([10.689335992, 7.310664008], rel=1e-9)


def test_log_rank_needs_two_groups():
    assert log_rank([1, 2, 3], [1, 1, 0], ["a", "a", "a"]) is None


# ---- Cox ------------------------------------------------------------------------------------


def test_cox_matches_coxph_on_aml():
    # R: summary(coxph(Surv(time, status) ~ x, data = aml))  (ties = "efron", the default)
    #    coef 0.915532575015, se 0.511934275172, HR 2.49810532617 (0.915907257436,
    #    6.81349576606), p 0.073714860639; LR 3.3844473326, score 3.4167343955,
    #    Wald (cx$wald.test) 3.19829992216
    time, event, group = _aml()
    design = pd.DataFrame({"Nonmaintained": [float(g == "Nonmaintained") for g in group]})
    model = cox_model(time, event, design)
    row = model.coefficients.iloc[0]
    assert row["coef"] == pytest.approx(0.915532575015, **FIT)
    assert row["se"] == pytest.approx(0.511934275172, **FIT)
    assert row["hazard_ratio"] == pytest.approx(2.49810532617, **FIT)
    assert row["ci_low"] == pytest.approx(0.915907257436, **FIT)
    assert row["ci_high"] == pytest.approx(6.81349576606, **FIT)
    assert row["p_value"] == pytest.approx(0.073714860639, **FIT)
    assert model.likelihood_ratio == pytest.approx(3.3844473326, **FIT)
    assert model.score == pytest.approx(3.4167343955, **FIT)
    assert model.wald == pytest.approx(3.19829992216, **FIT)
    assert model.p_likelihood_ratio == pytest.approx(0.0658142401623, **FIT)
    assert model.p_score == pytest.approx(0.0645385617589, **FIT)
    assert (model.n, model.n_events, model.ties) == (23, 18, "efron")


# Tied times as visits produce them (days 30, 91, 182, 365), two arms and an age covariate.
TIED = pd.DataFrame(
    {
        "time": [30, 30, 30, 91, 91, 91, 182, 182, 365, 365,
                 30, 91, 91, 182, 182, 182, 365, 365, 365, 30, 91, 182],
        "status": [1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1],
        "msc": [1] * 10 + [0] * 10 + [1, 0],
        "age": [55, 62, 70, 48, 66, 59, 71, 52, 64, 60,
                58, 67, 73, 50, 69, 61, 57, 63, 65, 72, 54, 68],
    }
)  # fmt: skip


def test_tied_times_match_r():
    # R (d = TIED with arm = factor(msc), reference "standard care"):
    #   survfit(Surv(time, status) ~ arm): medians 182 (182, NA) standard care, 182 (91, NA) MSC
    #   summary(f, times = c(60, 120, 200, 365)) below
    #   survdiff: chisq 0.245065884513
    sc = TIED.loc[TIED["msc"] == 0]
    msc = TIED.loc[TIED["msc"] == 1]
    fit_sc, fit_msc = (kaplan_meier(p["time"], p["status"]) for p in (sc, msc))
    assert (fit_sc.median, fit_sc.median_ci) == (182.0, (182.0, None))
    assert (fit_msc.median, fit_msc.median_ci) == (182.0, (91.0, None))
    at = fit_msc.at([60, 120, 200, 365])
    assert at["n_risk"].tolist() == [8, 4, 2, 2]
    assert at["survival"].tolist() == pytest.approx(
        [0.818181818182, 0.511363636364, 0.383522727273, 0.383522727273], abs=1e-11
    )
    assert at["ci_low"].tolist() == pytest.approx(
        [0.619248987399, 0.279314253427, 0.167544099284, 0.167544099284], abs=1e-11
    )
    assert at["ci_high"].tolist() == pytest.approx(
        [1.0, 0.936195576797, 0.877916220048, 0.877916220048], abs=1e-11
    )
    at = fit_sc.at([60, 120, 200, 365])
    assert at["n_risk"].tolist() == [9, 7, 3, 3]
    assert at["ci_low"].tolist() == pytest.approx(
        [0.754133845082, 0.600371949164, 0.227702036191, 0.105829008108], abs=1e-11
    )
    test = log_rank(TIED["time"], TIED["status"], TIED["msc"])
    assert test is not None and test.chisq == pytest.approx(0.245065884513, rel=1e-9)
    assert test.p_value == pytest.approx(0.620570970772, rel=1e-9)


def test_tied_times_cox_uses_efron_as_coxph():
    # R: coxph(Surv(time, status) ~ arm, data = d): coef 0.278461914885, se 0.579831114138,
    #    HR CI 0.4240151107 to 4.11611606353, LR 0.229912609700, score 0.232093127820;
    #    ties = "breslow": coef 0.25925989386 (a different number: the default matters)
    design = TIED[["msc"]].astype(float)
    efron = cox_model(TIED["time"], TIED["status"], design)
    row = efron.coefficients.iloc[0]
    assert row["coef"] == pytest.approx(0.278461914885, **FIT)
    assert row["se"] == pytest.approx(0.579831114138, **FIT)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.4240151107, 4.11611606353), **FIT)
    assert efron.likelihood_ratio == pytest.approx(0.229912609700, **FIT)
    assert efron.score == pytest.approx(0.232093127820, **FIT)
    breslow = cox_model(TIED["time"], TIED["status"], design, ties="breslow")
    assert breslow.coefficients["coef"].iloc[0] == pytest.approx(0.25925989386, **FIT)


def test_cox_with_a_covariate_matches_coxph():
    # R: summary(coxph(Surv(time, status) ~ arm + age, data = d))
    #    armMSC 0.2047462804337 (se 0.5928066366349, p 0.729805256451),
    #    age -0.0284697308029 (se 0.0444531334654, p 0.521884157729);
    #    HR CIs 0.383992070185-3.92209495379 and 0.890834806199-1.06041125552; LR 0.636049362824
    model = cox_model(TIED["time"], TIED["status"], TIED[["msc", "age"]].astype(float))
    table = model.coefficients.set_index("term")
    assert table["coef"].tolist() == pytest.approx([0.2047462804337, -0.0284697308029], **FIT)
    assert table["se"].tolist() == pytest.approx([0.5928066366349, 0.0444531334654], **FIT)
    assert table["p_value"].tolist() == pytest.approx([0.729805256451, 0.521884157729], **FIT)
    assert table.loc["msc", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.383992070185, 3.92209495379], **FIT
    )
    assert table.loc["age", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.890834806199, 1.06041125552], **FIT
    )
    assert model.likelihood_ratio == pytest.approx(0.636049362824, **FIT)
    assert model.df == 2


def test_cox_without_events_is_refused():
    with pytest.raises(ValueError, match="no events"):
        cox_model([1, 2], [0, 0], pd.DataFrame({"x": [0.0, 1.0]}))


# ---- time to response -----------------------------------------------------------------------

# No day column: times are the visit labels' nominal days (m1 = 30.4375, m3 = 91.3125,
# m6 = 182.625). Pain NRS, 30% response.
NO_DAYS = """patient_id,visit,outcome,value,arm
A1,baseline,pain_nrs,8,MSC
A1,m1,pain_nrs,5,MSC
A1,m3,pain_nrs,7,MSC
A2,baseline,pain_nrs,6,MSC
A2,m1,pain_nrs,5,MSC
A2,m3,pain_nrs,4,MSC
A2,m6,pain_nrs,4,MSC
A3,baseline,pain_nrs,10,MSC
A3,m1,pain_nrs,9,MSC
A3,m3,pain_nrs,8,MSC
A3,m6,pain_nrs,6,MSC
A4,baseline,pain_nrs,5,MSC
A4,m1,pain_nrs,5,MSC
A4,m6,pain_nrs,4,MSC
A5,baseline,pain_nrs,7,MSC
A5,m1,pain_nrs,4,MSC
A5,m3,pain_nrs,4,MSC
A5,m6,pain_nrs,6,MSC
A6,baseline,pain_nrs,6,MSC
A6,m1,pain_nrs,6,MSC
B1,baseline,pain_nrs,8,standard care
B1,m1,pain_nrs,8,standard care
B1,m3,pain_nrs,7,standard care
B1,m6,pain_nrs,7,standard care
B2,baseline,pain_nrs,6,standard care
B2,m1,pain_nrs,5,standard care
B2,m3,pain_nrs,3,standard care
B2,m6,pain_nrs,3,standard care
B3,baseline,pain_nrs,7,standard care
B3,m1,pain_nrs,7,standard care
B4,baseline,pain_nrs,9,standard care
B4,m1,pain_nrs,8,standard care
B4,m3,pain_nrs,8,standard care
B4,m6,pain_nrs,6,standard care
B5,baseline,pain_nrs,5,standard care
B5,m3,pain_nrs,5,standard care
B5,m6,pain_nrs,5,standard care
B6,baseline,pain_nrs,0,standard care
B6,m1,pain_nrs,2,standard care
B7,baseline,pain_nrs,6,standard care
"""
M1, M3, M6 = 365.25 / 12, 3 * 365.25 / 12, 6 * 365.25 / 12


@pytest.fixture(scope="module")
def no_days():
    result = load_bytes(NO_DAYS.encode(), "no_days.csv")
    assert result.dataset is not None, result.report.as_text()
    return result.dataset


def test_time_to_response_uses_nominal_times_and_matches_r(no_days):
    design = resolve_arms(no_days)
    result = time_to_event(no_days, "pain_nrs", "30%", design)
    assert "nominal visit times" in result.time_source
    times = result.patients.set_index("patient_id")
    assert times.loc["A1", "time"] == pytest.approx(M1) and times.loc["A1", "event"]
    assert times.loc["A2", "time"] == pytest.approx(M3) and times.loc["A2", "event"]
    assert times.loc["A2", "interval_low"] == pytest.approx(M1)  # it happened after m1
    assert times.loc["A4", "time"] == pytest.approx(M6) and not times.loc["A4", "event"]
    assert times.loc["A6", "time"] == pytest.approx(M1) and not times.loc["A6", "event"]
    excluded = dict(zip(result.excluded["patient_id"], result.excluded["reason"], strict=True))
    assert excluded == {
        "B6": "baseline 0: percent change undefined",
        "B7": "no follow-up value",
    }
    # R (times as above): survfit(Surv(time, status) ~ arm): MSC 6 patients, 4 events, median
    #   91.3125 (30.4375, NA); standard care 5, 2 events, median 182.625 (91.3125, NA)
    medians = result.medians.set_index("arm")
    assert medians.loc["MSC", ["n", "events"]].tolist() == [6, 4]
    assert medians.loc["MSC", "median"] == pytest.approx(M3)
    assert medians.loc["MSC", "ci_low"] == pytest.approx(M1)
    assert medians.loc["MSC", "ci_high"] is None or pd.isna(medians.loc["MSC", "ci_high"])
    assert medians.loc["standard care", "median"] == pytest.approx(M6)
    assert medians.loc["standard care", "ci_low"] == pytest.approx(M3)
    # summary(f, times = c(30, 91, 182)): MSC n.risk 6, 3, 2; surv 1, 0.666666666667,
    #   0.444444444444; lower 1, 0.378606460887, 0.166807936628
    rates = time_to_event(no_days, "pain_nrs", "30%", design, landmarks=[30, 91, 182])
    msc = rates.landmarks.loc[rates.landmarks["arm"] == "MSC"]
    assert msc["n_risk"].tolist() == [6, 3, 2]
    assert msc["survival"].tolist() == pytest.approx([1, 0.666666666667, 0.444444444444])
    assert msc["ci_low"].tolist() == pytest.approx([1, 0.378606460887, 0.166807936628])
    # survdiff chisq 1.29061001828; coxph armMSC coef 0.929558454128, se 0.871287286498,
    #   HR CI 0.459262541045 to 13.9747224147
    assert result.log_rank is not None
    assert result.log_rank.chisq == pytest.approx(1.29061001828, rel=1e-9)
    assert result.cox is not None
    row = result.cox.coefficients.iloc[0]
    assert row["term"] == "arm: MSC vs standard care"
    assert row["coef"] == pytest.approx(0.929558454128, **FIT)
    assert row["se"] == pytest.approx(0.871287286498, **FIT)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.459262541045, 13.9747224147), **FIT)


def test_loss_of_response_is_timed_from_the_first_response(no_days):
    design = resolve_arms(no_days)
    result = time_to_event(no_days, "pain_nrs", "30%", design, endpoint="loss of response")
    times = result.patients.set_index("patient_id")
    assert times.loc["A1", "time"] == pytest.approx(M3 - M1) and times.loc["A1", "event"]
    assert times.loc["A5", "time"] == pytest.approx(M6 - M1) and times.loc["A5", "event"]
    assert times.loc["A2", "time"] == pytest.approx(M6 - M3) and not times.loc["A2", "event"]
    assert times.loc["A3", "time"] == 0 and not times.loc["A3", "event"]
    assert (result.excluded["reason"] == "never responded (no response to lose)").sum() == 5
    # R: survfit(Surv(time, status) ~ arm) on these durations: MSC median 152.1875
    #    (60.875, NA); standard care not reached (no event)
    medians = result.medians.set_index("arm")
    assert medians.loc["MSC", "median"] == pytest.approx(M6 - M1)
    assert medians.loc["MSC", "ci_low"] == pytest.approx(M3 - M1)
    assert pd.isna(medians.loc["standard care", "median"])
    from_treatment = time_to_event(
        no_days, "pain_nrs", "30%", design, endpoint="loss of response", origin="treatment"
    )
    assert from_treatment.patients.set_index("patient_id").loc["A1", "time"] == pytest.approx(M3)


def test_thresholds():
    pain = lookup("pain_nrs")
    assert response_rule("30%", pain).kind == "percent"
    assert response_rule("mcid", pain).value == pain.mcid_abs
    assert response_rule("2 points", pain).value == 2
    with pytest.raises(ValueError, match="not understood"):
        response_rule("thirty", pain)
    with pytest.raises(ValueError, match="direction"):
        time_to_event(
            load_bytes(NO_DAYS.replace("pain_nrs", "mystery").encode(), "x.csv").dataset,
            "mystery", "30%", resolve_arms(load_bytes(NO_DAYS.encode(), "x.csv").dataset),
        )  # fmt: skip


def test_wide_file_without_days_and_without_arms():
    dataset = load_bytes(WIDE_CSV.encode(), "wide.csv").dataset
    result = time_to_event(dataset, "pain_nrs", "30%", resolve_arms(dataset))
    assert list(result.fits) == ["all patients"]
    assert result.log_rank is None and result.cox is None
    assert "nominal" in result.time_source


def test_demo_time_to_response_is_consistent_with_kaplan_meier():
    dataset = load_demo().dataset
    design = resolve_arms(dataset)
    result = time_to_event(dataset, "pain_nrs", "50%", design, covariates=["sex"])
    for arm, fit in result.fits.items():
        part = result.patients.loc[result.patients["arm"] == arm]
        direct = kaplan_meier(part["time"], part["event"])
        assert direct.median == fit.median
        assert np.allclose(direct.table["survival"], fit.table["survival"])
    assert result.cox is not None
    assert list(result.cox.coefficients["term"]) == [
        "arm: MSC vs standard care",
        "sex: male vs female",
    ]
    assert result.to_dict()["interval_censoring"].startswith("A response")
