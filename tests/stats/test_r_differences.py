"""Issue #17: the differences a wide comparison with R 4.2 found, one test per difference.

Each either matches R now (R 4.2.2's value hard-coded, printed with ``options(digits = 17)``,
with the R call beside it; R is not needed to run the tests) or is a labelled, documented
choice whose label is checked where the number is shown.
"""

import json
import math

import numpy as np
import pytest
from scipy import stats

from analysis.cli import main
from analysis.ingest.pipeline import DEMO_PATH, load_bytes
from analysis.present.tables import responder_table, statistics_table, subgroup_tests_text
from analysis.present.wording import plain_sentence
from analysis.stats.compare import compare_visits
from analysis.stats.paired import paired_statistics
from analysis.stats.patient import patient_profile
from analysis.stats.rank_tests import (
    METHOD_EXACT,
    METHOD_NORMAL_CC,
    METHOD_SPEARMAN_EDGEWORTH,
    METHOD_SPEARMAN_ENUMERATION,
    METHOD_SPEARMAN_T,
)
from analysis.stats.responders import responder_analysis
from analysis.stats.subgroups import compare_subgroups, continuous_association

REL = 1e-9


def _long_csv(rows: list[tuple[str, str, str, float]], extra: dict[str, dict] | None = None):
    """A long CSV (patient, visit, outcome, value [, attributes]) loaded as a Dataset."""
    extra = extra or {}
    names = sorted({k for attributes in extra.values() for k in attributes})
    lines = [",".join(["patient_id", "visit", "outcome", "value", *names])]
    for patient, visit, outcome, value in rows:
        attributes = [str(extra.get(patient, {}).get(k, "")) for k in names]
        lines.append(",".join([patient, visit, outcome, repr(float(value)), *attributes]))
    return load_bytes("\n".join(lines).encode(), "issue17.csv").dataset


def _changes(values: list[float], outcome: str = "score", prefix: str = "P", extra=None):
    """Baseline 0 and follow-up = the value, so each patient's change is the value."""
    rows = []
    for i, v in enumerate(values):
        rows += [
            (f"{prefix}{i:03d}", "baseline", outcome, 0.0),
            (f"{prefix}{i:03d}", "m6", outcome, v),
        ]
    return rows


def _groups(samples: dict[str, list[float]]):
    rows, extra = [], {}
    for name, values in samples.items():
        for i, v in enumerate(values):
            patient = f"{name}-{i:03d}"
            rows += [(patient, "baseline", "score", 0.0), (patient, "m6", "score", v)]
            extra[patient] = {"group": name}
    return _long_csv(rows, extra)


# --------------------------------------------------------------------------------------------
# Mann-Whitney / Wilcoxon rank-sum: R's exact rule (both groups < 50, no ties), method reported

ISSUE_X = [0.8, 1.9, 2.7, 3.1, 4.6, 5.2, 6.3, 7.5, 8.4]
ISSUE_Y = [3.3, 4.1, 5.7, 6.6, 7.2, 8.9, 9.4, 10.8, 11.5]


def _rank_sum(samples: dict[str, list[float]]) -> dict:
    """The Mann-Whitney entry of compare_subgroups: W is for the second group (sorted names)
    against the first, as R's wilcox.test(second, first)."""
    return compare_subgroups(_groups(samples), "score", "m6", "group").tests["mann_whitney"]


class TestMannWhitneyFollowsR:
    def test_nine_per_group_is_exact_as_in_r(self):
        # R: wilcox.test(x, y) with x = ISSUE_X, y = ISSUE_Y: W = 17, p-value =
        # 0.039983545865898806, "Wilcoxon rank sum exact test". scipy's method="auto" switches
        # to the normal approximation above 8 per group: p = 0.0423.
        mw = _rank_sum({"a_y": ISSUE_Y, "b_x": ISSUE_X})
        assert mw["statistic"] == 17
        assert mw["p_value"] == pytest.approx(0.039983545865898806, rel=REL)
        assert mw["method"] == METHOD_EXACT
        assert stats.mannwhitneyu(ISSUE_X, ISSUE_Y).pvalue == pytest.approx(0.0423, abs=1e-4)

    def test_ties_use_the_normal_approximation_as_in_r(self):
        # R: wilcox.test(c(1, 2, 2, 3, 4, 5, 5, 6), c(3, 4, 4, 5, 6, 7, 8, 8, 9)): W = 14,
        # p-value = 0.037140126234395311, "Wilcoxon rank sum test with continuity correction"
        mw = _rank_sum({"a_y": [3, 4, 4, 5, 6, 7, 8, 8, 9], "b_x": [1, 2, 2, 3, 4, 5, 5, 6]})
        assert mw["statistic"] == 14
        assert mw["p_value"] == pytest.approx(0.037140126234395311, rel=REL)
        assert mw["method"] == METHOD_NORMAL_CC and mw["ties"]

    def test_fifty_in_a_group_switches_to_the_normal_approximation(self):
        # R: x <- round(sqrt(1:50) * 3, 3); y <- round(sqrt(1:12) * 3 + 4.1, 3) (no ties):
        # wilcox.test(x, y): W = 426, p-value = 0.025346156404938286 (continuity correction);
        # wilcox.test(x[1:49], y): W = 414, p-value = 0.028843073859932625 (exact)
        x = np.round(np.sqrt(np.arange(1, 51)) * 3, 3).tolist()
        y = np.round(np.sqrt(np.arange(1, 13)) * 3 + 4.1, 3).tolist()
        fifty = _rank_sum({"a_y": y, "b_x": x})
        assert (fifty["statistic"], fifty["method"]) == (426, METHOD_NORMAL_CC)
        assert fifty["p_value"] == pytest.approx(0.025346156404938286, rel=REL)
        forty_nine = _rank_sum({"a_y": y, "b_x": x[:49]})
        assert (forty_nine["statistic"], forty_nine["method"]) == (414, METHOD_EXACT)
        assert forty_nine["p_value"] == pytest.approx(0.028843073859932625, rel=REL)

    def test_the_method_is_shown(self):
        comparison = compare_subgroups(
            _groups({"a_y": ISSUE_Y, "b_x": ISSUE_X}), "score", "m6", "group"
        )
        line = next(t for t in subgroup_tests_text(comparison) if "Mann-Whitney" in t)
        assert "exact" in line and "W = 17" in line and "p = 0.040" in line


# --------------------------------------------------------------------------------------------
# Hodges-Lehmann interval with few pairs: the level reached, in JSON and where it is shown


class TestHodgesLehmannLevelWithFewPairs:
    def test_four_pairs_reach_88_percent_as_r_reports(self):
        # R: r <- wilcox.test(c(1.2, -0.4, 2.5, 3.1), conf.int = TRUE) warns "requested
        # conf.level not achievable": r$estimate 1.6, r$conf.int -0.4 3.1,
        # attr(r$conf.int, "conf.level") 0.88 (= 1 - signif(2 / 2^4, 2)); exact coverage 0.875
        r = paired_statistics(np.zeros(4), np.array([1.2, -0.4, 2.5, 3.1]))
        assert r.hodges_lehmann == pytest.approx(1.6, rel=REL)
        assert (r.hl_ci_low, r.hl_ci_high) == pytest.approx((-0.4, 3.1), rel=REL)
        assert r.hl_ci_level == 0.88 and r.hl_ci_coverage == 0.875
        assert r.to_dict()["hl_ci_level"] == 0.88
        assert r.hl_ci_label() == "88% CI"
        assert any(w["code"] == "hl_ci_level" for w in r.warnings)

    def test_zero_changes_and_few_pairs_in_the_normal_approximation(self):
        # R: r <- wilcox.test(c(-2, 0, -3, 0, 1, -4), conf.int = TRUE): r$estimate
        # -2.47703853042796007, r$conf.int -3.99990602659520977 0.99990602659520955,
        # conf.level 0.79999999999999982 (R doubles alpha until the ends fit: 0.05 -> 0.2)
        r = paired_statistics(np.zeros(6), np.array([-2.0, 0, -3, 0, 1, -4]))
        assert r.wilcoxon_method == METHOD_NORMAL_CC
        assert r.hodges_lehmann == pytest.approx(-2.47703853042796007, rel=REL)
        assert r.hl_ci_low == pytest.approx(-3.99990602659520977, rel=REL)
        assert r.hl_ci_high == pytest.approx(0.99990602659520955, rel=REL)
        assert r.hl_ci_level == pytest.approx(0.79999999999999982, rel=REL)
        assert r.hl_ci_label() == "80% CI"

    def test_five_pairs_keep_rs_label_and_show_the_exact_coverage(self):
        # R: r <- wilcox.test(c(0.9, 2.3, -0.6, 1.7, 3.4), conf.int = TRUE): r$conf.int -0.6
        # 3.4 with conf.level 0.95 (no warning: 2 / 2^5 = 0.0625 is within R's tolerance
        # alpha + alpha / 2); the interval's exact coverage is 1 - 0.0625 = 0.9375.
        r = paired_statistics(np.zeros(5), np.array([0.9, 2.3, -0.6, 1.7, 3.4]))
        assert (r.hl_ci_low, r.hl_ci_high) == pytest.approx((-0.6, 3.4), rel=REL)
        assert r.hl_ci_level == 0.95 and r.hl_ci_coverage == 0.9375

    def test_page_and_export_table_label_the_level(self):
        ds = _long_csv(_changes([1.2, -0.4, 2.5, 3.1]))
        table = statistics_table(compare_visits(ds, "score", "baseline", "m6"))
        row = table.loc[table["statistic"].str.startswith("Hodges-Lehmann")].iloc[0]
        assert row["statistic"] == "Hodges-Lehmann estimate (88% CI)"
        assert "95% is not reachable with 4 non-zero changes" in row["how / note"]
        five = _long_csv(_changes([0.9, 2.3, -0.6, 1.7, 3.4]))
        table = statistics_table(compare_visits(five, "score", "baseline", "m6"))
        row = table.loc[table["statistic"].str.startswith("Hodges-Lehmann")].iloc[0]
        assert row["statistic"] == "Hodges-Lehmann estimate (95% CI)"
        assert "exact coverage is 93.75%" in row["how / note"]

    def test_json_carries_the_level(self, tmp_path, capsys):
        path = tmp_path / "four.csv"
        path.write_text(
            "patient_id,visit,outcome,value\n"
            + "".join(
                f"P{i},baseline,score,0\nP{i},m6,score,{v}\n"
                for i, v in enumerate([1.2, -0.4, 2.5, 3.1])
            )
        )
        code = main(["compare", str(path), "--outcome", "score", "--after", "m6", "--json"])
        result = json.loads(capsys.readouterr().out)
        assert code == 0 and result["hl_ci_level"] == 0.88


# --------------------------------------------------------------------------------------------
# Hodges-Lehmann from 50 non-zero changes without ties: R's normal approximation

N51 = [
    1.63, 1.84, 0.1, 2.6, 1.08, 1.1, 1.92, 0.54, 1.4, 0.61, -1.56, 1.35, 0.78, 1.34, 2.78, 1.36,
    0.09, -0.42, -1.26, -0.52, 1.37, 2.83, -2.01, -0.64, -4.29, -0.85, 0.87, 1.68, -3.25, 1.19,
    0.35, 3.21, 0.21, -0.7, -0.63, 1.29, -0.66, 0.39, -1.91, 0.17, -0.12, -0.56, -0.2, -0.45,
    2.54, 0.96, 0.29, -0.76, -1.53, -3.04, 1.69,
]  # fmt: skip


def test_hodges_lehmann_from_51_pairs_is_rs_normal_approximation():
    # R: r <- wilcox.test(N51, conf.int = TRUE): V = 827, p-value = 0.12538385157477366,
    # r$estimate 0.35507726472001522, r$conf.int -0.11005788706047660 0.78005235716728272,
    # "Wilcoxon signed rank test with continuity correction". The exact order statistics the
    # project used before: median of the Walsh averages 0.355, W[454] = -0.11,
    # W[1326 - 454 + 1] = 0.78 (qsignrank(0.025, 51) = 454).
    r = paired_statistics(np.zeros(51), np.array(N51))
    assert (r.wilcoxon_v, r.wilcoxon_method) == (827, METHOD_NORMAL_CC)
    assert r.p_value_wilcoxon == pytest.approx(0.12538385157477366, rel=REL)
    assert r.hodges_lehmann == pytest.approx(0.35507726472001522, rel=REL)
    assert r.hl_ci_low == pytest.approx(-0.11005788706047660, rel=REL)
    assert r.hl_ci_high == pytest.approx(0.78005235716728272, rel=REL)
    assert r.hl_ci_level == 0.95 and r.hl_ci_coverage is None
    assert r.hodges_lehmann != pytest.approx(0.355, abs=1e-6)


# --------------------------------------------------------------------------------------------
# Zero changes: left out of the test, the estimate and the interval, and said so

ZEROS60 = [-3.0] * 4 + [-2.0] * 18 + [-1.0] * 16 + [0.0] * 20 + [1.0] * 2


def test_zero_changes_are_left_out_of_the_estimate_and_interval_as_in_r():
    # R: r <- wilcox.test(ZEROS60, conf.int = TRUE) (warnings: ties, zeroes): V = 19,
    # p-value = 7.9510262850566927e-08, r$estimate -1.5000510882814593, r$conf.int
    # -1.99995312831179 -1.4999899408658548. Keeping the 20 zeros in the Walsh averages, as the
    # project did, gave the estimate -1.0 and the interval (-1.5, -1.0).
    before = np.full(60, 5.0)
    r = paired_statistics(before, before + np.array(ZEROS60), direction="lower", scale="ordinal")
    assert (r.wilcoxon_v, r.wilcoxon_n, r.wilcoxon_n_zero) == (19, 40, 20)
    assert r.p_value_wilcoxon == pytest.approx(7.9510262850566927e-08, rel=REL)
    assert r.hodges_lehmann == pytest.approx(-1.5000510882814593, rel=REL)
    assert r.hl_ci_low == pytest.approx(-1.99995312831179, rel=REL)
    assert r.hl_ci_high == pytest.approx(-1.4999899408658548, rel=REL)
    warning = next(w["message"] for w in r.warnings if w["code"] == "zero_changes")
    assert warning.startswith("20 patients with no change left out of the rank test, as R does")
    ds = _long_csv(
        [(f"P{i:02d}", "baseline", "pain_nrs", 5.0) for i in range(60)]
        + [(f"P{i:02d}", "m6", "pain_nrs", 5.0 + c) for i, c in enumerate(ZEROS60)]
    )
    comparison = compare_visits(ds, "pain_nrs", "baseline", "m6")
    table = statistics_table(comparison).set_index("statistic")
    note = "20 patients with no change left out of the rank test, as R does"
    assert note in table.loc["Wilcoxon signed-rank test", "how / note"]
    assert note in plain_sentence(comparison)


# --------------------------------------------------------------------------------------------
# Near-ties: a documented choice, changes rounded to 12 decimals before ranking


def test_changes_are_rounded_to_12_decimals_before_ranking():
    # 27.3 - 25.1 = 2.1999999999999993 and 3.2 - 1.0 = 2.2000000000000002: R (digits.rank =
    # Inf) ranks them as two values, a clinician reads one. This project rounds after - before
    # to 12 decimals first, so its numbers are R's on the rounded changes:
    # R: wilcox.test(round(after - before, 12), conf.int = TRUE): V = 19, p-value =
    # 0.092591595750229988 (continuity correction: the two 2.2s tie), estimate
    # 1.500053607205744655, conf.int 0.399983780499649000 2.649953406886798035, conf.level 0.9.
    # R on the unrounded doubles, wilcox.test(after - before, conf.int = TRUE), runs the exact
    # test instead: p-value = 0.093750000000000042, conf.int -0.7 3.1 at 95%.
    before = np.array([25.1, 1.0, 10.4, 7.7, 3.3, 12.0])
    after = np.array([27.3, 3.2, 11.9, 7.0, 6.4, 12.4])
    assert (after - before)[0] != (after - before)[1]
    r = paired_statistics(before, after)
    assert (r.wilcoxon_v, r.wilcoxon_method) == (19, METHOD_NORMAL_CC)
    assert r.p_value_wilcoxon == pytest.approx(0.092591595750229988, rel=REL)
    assert r.hodges_lehmann == pytest.approx(1.500053607205744655, rel=REL)
    assert r.hl_ci_low == pytest.approx(0.399983780499649000, rel=REL)
    assert r.hl_ci_high == pytest.approx(2.649953406886798035, rel=REL)
    assert r.hl_ci_level == pytest.approx(0.9, rel=REL)
    assert r.p_value_wilcoxon != pytest.approx(0.093750000000000042, rel=1e-3)


# --------------------------------------------------------------------------------------------
# Spearman's rho: R's p-value (exact / AS 89 / t), method reported

SPEARMAN_X = [61.2, 55.0, 70.3, 48.9, 66.1, 59.4, 72.8, 51.6, 63.7, 57.3, 68.5, 49.8, 74.1, 53.2,
              65.0, 58.6, 69.9, 47.5, 62.4, 56.1]  # fmt: skip
SPEARMAN_Y = [-1.8, 0.6, -2.9, -0.4, -0.2, -1.1, -2.2, 0.3, 1.1, -0.9, -3.1, -2.1, -0.6, 0.9,
              -1.2, -2.6, -2.4, -1.5, -1.9, -0.1]  # fmt: skip


def _association(x: list[float], change: list[float]):
    rows = _changes(change)
    extra = {f"P{i:03d}": {"age": xi} for i, xi in enumerate(x)}
    return continuous_association(_long_csv(rows, extra), "score", "m6", "age")


class TestSpearmanFollowsR:
    def test_twenty_patients_without_ties_use_as_89(self):
        # R: cor.test(SPEARMAN_X, SPEARMAN_Y, method = "spearman"): S = 1854, rho =
        # -0.393984962406014994, p-value = 0.086660674881374522 (AS 89). The t approximation
        # (scipy.stats.spearmanr) gives 0.0856.
        a = _association(SPEARMAN_X, SPEARMAN_Y)
        assert a.rho == pytest.approx(-0.393984962406014994, rel=REL)
        assert a.p_value == pytest.approx(0.086660674881374522, rel=REL)
        assert a.method == METHOD_SPEARMAN_EDGEWORTH
        assert stats.spearmanr(SPEARMAN_X, SPEARMAN_Y).pvalue == pytest.approx(0.0856, abs=1e-4)

    def test_nine_patients_use_the_exact_distribution(self):
        # R's ?cor.test (Hollander & Wolfe 1973, p. 187): cor.test(x, y, method = "spearman"):
        # S = 48, rho = 0.6, p-value = 0.096797839506172836
        x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
        y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
        a = _association(x, y)
        assert a.p_value == pytest.approx(0.096797839506172836, rel=REL)
        assert a.method == METHOD_SPEARMAN_ENUMERATION

    def test_ties_use_the_t_approximation_as_in_r(self):
        # R: y2 <- SPEARMAN_Y; y2[2] <- y2[5]; cor.test(SPEARMAN_X, y2, method = "spearman")
        # (warning: ties): rho = -0.388868022987207740, p-value = 0.090162524249077447
        y2 = list(SPEARMAN_Y)
        y2[1] = y2[4]
        a = _association(SPEARMAN_X, y2)
        assert a.rho == pytest.approx(-0.388868022987207740, rel=REL)
        assert a.p_value == pytest.approx(0.090162524249077447, rel=REL)
        assert a.method == METHOD_SPEARMAN_T


# --------------------------------------------------------------------------------------------
# Percent change with a baseline of 0 or below: undefined, counted, said


def test_percent_change_is_undefined_for_a_baseline_of_zero_or_below():
    # Norfolk QOL-DN runs from -4 to 136 (lower is better). Q1 (-2 -> -4) would be "-100%"
    # and Q2 (0 -> 3) a division by zero: both undefined, counted, and left out of the
    # percent-based completer rates. Of the other three, Q3 (40 -> 20) and Q4 (10 -> 4) improve
    # by at least 50%, Q5 (20 -> 18) by 10%.
    # R: binom.test(2, 3)$conf.int 0.094299324050246131 0.991596241340387374 (completers);
    # binom.test(2, 5)$conf.int 0.052744950526316912 0.853367200365326761 (everyone with a
    # baseline, Q1 and Q2 counted as non-responders).
    rows = []
    for patient, base, follow in [("Q1", -2, -4), ("Q2", 0, 3), ("Q3", 40, 20), ("Q4", 10, 4),
                                  ("Q5", 20, 18)]:  # fmt: skip
        rows += [(patient, "baseline", "norfolk_qol", base), (patient, "m6", "norfolk_qol", follow)]
    ds = _long_csv(rows)
    analysis = responder_analysis(ds, "norfolk_qol", "m6")
    assert (analysis.n_zero_baseline, analysis.n_negative_baseline) == (1, 1)
    assert analysis.n_percent_undefined == 2
    assert analysis.to_dict()["n_percent_change_undefined"] == 2
    assert analysis.patients.set_index("patient_id")["pchg"].loc[["Q1", "Q2"]].isna().all()
    half = analysis.rates.set_index("threshold").loc["≥50% improvement"]
    assert (half["responders"], half["n_completers"], half["n_itt"]) == (2, 3, 5)
    assert (half["ci_low_completers"], half["ci_high_completers"]) == pytest.approx(
        (9.4299324050246131, 99.1596241340387374), rel=1e-7
    )
    assert (half["ci_low_itt"], half["ci_high_itt"]) == pytest.approx(
        (5.2744950526316912, 85.3367200365326761), rel=1e-7
    )
    shown = responder_table(analysis).set_index("responder definition").loc["≥50% improvement"]
    assert "2 more with a baseline ≤ 0 left out" in shown.iloc[0]
    assert "2 with a baseline ≤ 0 counted as non-responders" in shown.iloc[1]
    status = patient_profile(ds, "Q1").status.iloc[0]
    assert status["% change"] is None
    assert "percent change undefined for a baseline of −2" in status["status"]


# --------------------------------------------------------------------------------------------
# Counts are integers in every JSON output


def _counts_are_integers(records: list[dict]) -> None:
    for record in records:
        for key, value in record.items():
            if key.startswith("n_") or key in ("responders", "wilcoxon_n_zero"):
                assert value is None or type(value) is int, (key, value)


def test_summary_json_counts_are_integers(tmp_path, capsys):
    assert main(["summary", str(DEMO_PATH), "--json", "--all-patients"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    _counts_are_integers(rows)
    assert any(r["n_improved_mcid"] is not None for r in rows)
    # known and unknown outcomes mixed: unknown ones have no direction, so no counts
    path = tmp_path / "mixed.csv"
    lines = ["patient_id,visit,outcome,value"]
    for i in range(12):
        for outcome in ("pain_nrs", "mystery_score"):
            lines += [f"P{i},baseline,{outcome},{4 + i % 5}", f"P{i},m6,{outcome},{2 + i % 3}"]
    path.write_text("\n".join(lines) + "\n")
    assert main(["summary", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    _counts_are_integers(rows)
    by_outcome = {r["outcome"]: r for r in rows}
    assert type(by_outcome["pain_nrs"]["n_improved"]) is int
    assert by_outcome["mystery_score"]["n_improved"] is None
    assert main(["summary", str(DEMO_PATH), "--json"]) == 0  # per arm
    _counts_are_integers(json.loads(capsys.readouterr().out)["arms"])


# --------------------------------------------------------------------------------------------
# Small samples say what they cannot reach


def test_five_pairs_cannot_reach_p_below_005_and_the_sentence_says_so():
    # R: wilcox.test(c(-1, -2, -3, -4, -5)): V = 0, p-value = 0.0625 (exact), the smallest
    # two-sided p at 5 pairs (2 / 2^5).
    ds = _long_csv(
        [(f"P{i}", "baseline", "pain_nrs", 7.0) for i in range(5)]
        + [(f"P{i}", "m6", "pain_nrs", 7.0 - (i + 1)) for i in range(5)]
    )
    comparison = compare_visits(ds, "pain_nrs", "baseline", "m6")
    s = comparison.stats
    assert (s.wilcoxon_v, s.p_value_wilcoxon, s.wilcoxon_method) == (0, 0.0625, METHOD_EXACT)
    assert s.wilcoxon_smallest_p == 0.0625
    sentence = plain_sentence(comparison)
    assert "with 5 non-zero change(s) no result of this test could reach p < 0.05" in sentence
    assert not math.isnan(s.hodges_lehmann)
