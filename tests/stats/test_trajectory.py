"""Over time and responders: Friedman, change from baseline, the MMRM in the trajectory report,
Clopper-Pearson."""

import numpy as np
import pytest

from analysis.ingest.pipeline import load_bytes, load_demo
from analysis.present.figures_followup import change_over_time, over_time
from analysis.stats.responders import clopper_pearson, responder_analysis
from analysis.stats.trajectory import (
    attrition,
    change_from_baseline,
    change_summary,
    friedman,
    trajectory_report,
    visit_summary,
)

# R's ?friedman.test example: RoundingTimes (Hollander & Wolfe 1973, p. 140): times to round
# first base by three methods for 22 players. R prints
# "Friedman chi-squared = 11.143, df = 2, p-value = 0.003805".
ROUNDING_TIMES = np.array([
    5.40, 5.50, 5.55, 5.85, 5.70, 5.75, 5.20, 5.60, 5.50, 5.55, 5.50, 5.40, 5.90, 5.85, 5.70,
    5.45, 5.55, 5.60, 5.40, 5.40, 5.35, 5.45, 5.50, 5.35, 5.25, 5.15, 5.00, 5.85, 5.80, 5.70,
    5.25, 5.20, 5.10, 5.65, 5.55, 5.45, 5.60, 5.35, 5.45, 5.05, 5.00, 4.95, 5.50, 5.50, 5.40,
    5.45, 5.55, 5.50, 5.55, 5.55, 5.35, 5.45, 5.50, 5.55, 5.50, 5.45, 5.25, 5.65, 5.60, 5.40,
    5.70, 5.65, 5.55, 6.30, 6.30, 6.25,
]).reshape(22, 3)  # fmt: skip
METHODS = ["round out", "narrow angle", "wide angle"]


def _rounding_dataset(extra: str = ""):
    rows = "".join(
        f"R{i:02d},{method},rounding_time,{ROUNDING_TIMES[i, j]}\n"
        for i in range(22)
        for j, method in enumerate(METHODS)
    )
    return load_bytes(
        ("patient_id,visit,outcome,value\n" + rows + extra).encode(), "rounding.csv"
    ).dataset


def test_friedman_matches_r():
    result = friedman(_rounding_dataset(), "rounding_time", METHODS)
    assert result.statistic == pytest.approx(11.143, abs=5e-4)
    assert result.df == 2
    assert result.p_value == pytest.approx(0.003805, abs=5e-7)
    assert (result.n_complete, result.n_excluded) == (22, 0)


def test_friedman_uses_complete_patients_only_and_says_so():
    ds = _rounding_dataset("R99,round out,rounding_time,5.5\nR99,wide angle,rounding_time,5.3\n")
    result = friedman(ds, "rounding_time", METHODS)
    assert (result.n_complete, result.n_excluded) == (22, 1)
    assert result.statistic == pytest.approx(11.143, abs=5e-4)


def test_friedman_needs_three_visits():
    result = friedman(_rounding_dataset(), "rounding_time", METHODS[:2])
    assert result.statistic is None
    assert "at least 3 visits" in result.reason


CHANGE_CSV = b"""patient_id,visit,outcome,value
A,baseline,pain_nrs,6
A,m3,pain_nrs,3
A,m6,pain_nrs,2
B,baseline,pain_nrs,8
B,m3,pain_nrs,8
C,baseline,pain_nrs,0
C,m3,pain_nrs,1
D,m3,pain_nrs,5
"""


def test_baseline_visit_has_no_change_not_zero():
    ds = load_bytes(CHANGE_CSV, "change.csv").dataset
    rows = change_from_baseline(ds, "pain_nrs")
    baseline_rows = rows.loc[rows["visit"] == "baseline"]
    assert len(baseline_rows) == 3
    assert baseline_rows["chg"].isna().all()  # no change recorded, not 0
    m3 = rows.loc[rows["visit"] == "m3"].set_index("patient_id")
    assert m3.loc["A", "chg"] == -3 and m3.loc["A", "pchg"] == -50
    assert np.isnan(m3.loc["C", "pchg"])  # baseline 0: percent change undefined
    assert np.isnan(m3.loc["D", "base"]) and np.isnan(m3.loc["D", "chg"])  # no BASE, no CHG
    summary = change_summary(ds, "pain_nrs").set_index("visit")
    assert np.isnan(summary.loc["baseline", "mean_change"])
    assert summary.loc["baseline", "note"] == "baseline: no change by definition"
    assert summary.loc["m3", "n"] == 3
    assert summary.loc["m3", "mean_change"] == pytest.approx(-2 / 3)


def test_visit_summary_ci_matches_r_t_test():
    # R: t.test(sleep$extra[sleep$group == 1]): mean 0.75, 95% CI -0.5297804 2.0297804
    values = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    csv = "patient_id,visit,outcome,value\n" + "".join(
        f"S{i},drug1,extra_sleep,{v}\n" for i, v in enumerate(values)
    )
    summary = visit_summary(load_bytes(csv.encode(), "s.csv").dataset, "extra_sleep")
    row = summary.iloc[0]
    assert row["mean"] == pytest.approx(0.75)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((-0.5297804, 2.0297804), abs=5e-8)
    assert (row["q1"], row["median"], row["q3"]) == pytest.approx((-0.175, 0.35, 1.7))


def test_visit_summary_lists_only_visits_with_values():
    # Nerve conduction is measured at baseline, m6 and m12 only in the demo cohort. On pandas
    # 2.x a groupby over the categorical visit without observed=True added m1 and m3 with n = 0.
    summary = visit_summary(load_demo().dataset, "peroneal_mcv", by="arm")
    assert summary["visit"].unique().tolist() == ["baseline", "m6", "m12"]
    assert summary["n"].min() > 0
    assert len(summary) == 6


def test_visit_summary_rows_follow_time_order_not_first_appearance():
    # The first outcome in the file skips m1, so the long table meets m1 last; the summary of
    # an outcome measured at m1 must still list it second (a Patient-page review found it last).
    rows = "patient_id,visit,outcome,value\n" + "".join(
        f"{pid},{visit},{outcome},{5 + i + k}\n"
        for k, pid in enumerate(["a", "b", "c"])
        for outcome, visits in [("pain_nrs", ["baseline", "m3", "m6", "m12"]),
                                ("tcss", ["baseline", "m1", "m3", "m6", "m12"])]
        for i, visit in enumerate(visits)
    )  # fmt: skip
    dataset = load_bytes(rows.encode(), "order.csv").dataset
    summary = visit_summary(dataset, "tcss")
    assert summary["visit"].astype(str).tolist() == ["baseline", "m1", "m3", "m6", "m12"]
    assert summary["mean"].tolist() == pytest.approx([6, 7, 8, 9, 10])


def test_over_time_dodges_groups_and_counts_patients_under_each_visit():
    summary = visit_summary(load_demo().dataset, "peroneal_mcv", by="arm")
    fig = over_time(summary, "peroneal_mcv")
    msc, care = fig.data
    assert list(fig.layout.xaxis.tickvals) == [0, 6, 12]
    # baseline, m6, m12 at months 0, 6, 12 (from the labels); the two arms side by side,
    # 1.2% of the axis (0.144 months) apart
    assert list(msc.x) == pytest.approx([-0.072, 5.928, 11.928])
    assert list(care.x) == pytest.approx([0.072, 6.072, 12.072])
    n = summary.set_index(["group", "visit"])["n"]
    first = fig.layout.xaxis.ticktext[0]
    assert first.startswith("baseline<br>")
    assert f">n={n['MSC', 'baseline']}<" in first
    assert f">n={n['standard care', 'baseline']}<" in first


def test_change_over_time_marks_the_baseline_as_the_reference():
    # HbA1c is not measured at m1 in the demo cohort: no point there, and n=0 under it.
    fig = change_over_time(change_summary(load_demo().dataset, "hba1c"), "hba1c")
    # (a label close to the one before it starts lower, after empty lines)
    ticks = [
        text.replace("<br>", "\n").strip().split("\n")[0] for text in fig.layout.xaxis.ticktext
    ]
    assert ticks == ["baseline", "m1", "m3", "m6", "m12"]
    assert ">reference<" in fig.layout.xaxis.ticktext[0]
    assert ">n=0<" in fig.layout.xaxis.ticktext[1]
    assert list(fig.data[0].x) == [3, 6, 12]  # months, from the labels


def test_attrition_counts_patients_per_visit():
    table = attrition(load_bytes(CHANGE_CSV, "c.csv").dataset, "pain_nrs")
    assert table["patients"].tolist() == [3, 4, 1]
    assert table["% of baseline"].tolist() == [100, 133, 33]


def test_trajectory_report_is_json_ready():
    report = trajectory_report(_rounding_dataset(), "rounding_time")
    assert report["friedman"]["statistic"] == pytest.approx(11.142857)
    assert report["visits"][0]["mean_change"] is None
    assert report["mmrm"]["converged"]
    assert [row["visit"] for row in report["mmrm"]["lsmeans"]] == METHODS[1:]


class TestClopperPearson:
    def test_matches_r_binom_test(self):
        # R's ?binom.test example (Mendel's peas): binom.test(682, 925, p = 0.75)
        # 95 percent confidence interval: 0.7076683 0.7654066
        low, high = clopper_pearson(682, 925)
        assert low == pytest.approx(70.76683, abs=5e-5)
        assert high == pytest.approx(76.54066, abs=5e-5)

    def test_zero_successes(self):
        # R: binom.test(0, 10)$conf.int = 0.0000000 0.3084971
        low, high = clopper_pearson(0, 10)
        assert low == 0
        assert high == pytest.approx(30.84971, abs=5e-5)

    def test_no_patients(self):
        assert clopper_pearson(0, 0) == (None, None)


RESPONDER_CSV = b"""patient_id,visit,outcome,value
P1,baseline,pain_nrs,8
P1,m6,pain_nrs,2
P2,baseline,pain_nrs,6
P2,m6,pain_nrs,4
P3,baseline,pain_nrs,5
P3,m6,pain_nrs,5
P4,baseline,pain_nrs,7
P5,baseline,pain_nrs,0
P5,m6,pain_nrs,0
P1,baseline,monofilament,4
P1,m6,monofilament,8
P2,baseline,monofilament,5
P2,m6,monofilament,6
"""


def test_responder_rates_two_ways():
    analysis = responder_analysis(load_bytes(RESPONDER_CSV, "r.csv").dataset, "pain_nrs", "m6")
    assert (analysis.n_itt, analysis.n_evaluable, analysis.n_zero_baseline) == (5, 4, 1)
    rates = analysis.rates.set_index("threshold")
    # Improvement: P1 75%, P2 33%, P3 0%; P5 undefined (baseline 0); P4 missing.
    moderate = rates.loc["≥30% improvement"]
    assert (moderate["responders"], moderate["n_completers"], moderate["n_itt"]) == (2, 3, 5)
    assert moderate["rate_completers"] == pytest.approx(200 / 3)
    assert moderate["rate_itt"] == pytest.approx(40)
    low, high = clopper_pearson(2, 3)
    assert (moderate["ci_low_completers"], moderate["ci_high_completers"]) == (low, high)
    substantial = rates.loc["≥50% improvement"]
    assert substantial["responders"] == 1
    absolute = rates.loc["≥2 points improvement"]
    # P5 (0 -> 0) is evaluable on the absolute scale: 4 completers, P1 and P2 reach 2 points.
    assert (absolute["responders"], absolute["n_completers"]) == (2, 4)


def test_higher_is_better_responders():
    analysis = responder_analysis(load_bytes(RESPONDER_CSV, "r.csv").dataset, "monofilament", "m6")
    rates = analysis.rates.set_index("threshold")
    assert rates.loc["≥30% improvement", "responders"] == 1  # 4 -> 8 is +100%, 5 -> 6 +20%
    assert list(rates.index) == ["≥30% improvement", "≥50% improvement"]  # no MCID known


def test_regression_to_the_mean_correlation():
    ds = load_bytes(RESPONDER_CSV, "r.csv").dataset
    analysis = responder_analysis(ds, "pain_nrs", "m6")
    evaluable = analysis.patients.dropna(subset=["chg"])
    expected = np.corrcoef(evaluable["base"], evaluable["chg"])[0, 1]
    assert analysis.rtm_r == pytest.approx(expected)


def test_baseline_visit_cannot_be_the_responder_visit():
    ds = load_bytes(RESPONDER_CSV, "r.csv").dataset
    with pytest.raises(ValueError, match="follow-up visit"):
        responder_analysis(ds, "pain_nrs", "baseline")
