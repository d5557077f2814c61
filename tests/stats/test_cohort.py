"""Cohort explorer: filters, Table 1 (against tableone), subgroup tests (against R), ANCOVA,
multiplicity, arms and small-group suppression."""

import numpy as np
import pandas as pd
import pytest
import tableone

from analysis.ingest.pipeline import load_bytes, load_demo
from analysis.present.format import format_p
from analysis.stats.arms import arm_change, control_level, resolve_arms, responders_by_arm
from analysis.stats.cohort import (
    CohortFilter,
    apply_filter,
    describe,
    from_query_params,
    to_query_params,
)
from analysis.stats.subgroups import (
    adjust_p_values,
    ancova,
    compare_subgroups,
    continuous_association,
    forest_table,
)
from analysis.stats.table1 import smd_categorical, smd_numeric, table_one


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


def _two_group_dataset(groups: dict[str, list[tuple[float, float]]], outcome="pain_nrs"):
    """Long CSV: each group a list of (baseline, follow-up) pairs."""
    rows = ["patient_id,visit,outcome,value,group"]
    for name, pairs in groups.items():
        for i, (before, after) in enumerate(pairs):
            pid = f"{name}-{i:02d}"
            rows += [
                f"{pid},baseline,{outcome},{before},{name}",
                f"{pid},m6,{outcome},{after},{name}",
            ]
    return load_bytes("\n".join(rows).encode(), "groups.csv").dataset


# Changes built so that each group's change equals a published sample: baseline 0, follow-up =
# the value (outcome unknown to the registry, so no range applies).
def _changes_dataset(samples: dict[str, list[float]]):
    return _two_group_dataset(
        {name: [(0.0, v) for v in values] for name, values in samples.items()}, outcome="score"
    )


SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


class TestGroupTestsAgainstR:
    def test_welch_matches_r_t_test_default(self):
        # R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939,
        # 95 percent CI -3.3654832 0.2054832 (group 1 minus group 2)
        ds = _changes_dataset({"a_drug1": SLEEP_1, "b_drug2": SLEEP_2})
        welch = compare_subgroups(ds, "score", "m6", "group").tests["welch"]
        assert welch["comparison"] == "b_drug2 minus a_drug1"
        assert welch["statistic"] == pytest.approx(1.8608, abs=5e-5)
        assert welch["df"] == pytest.approx(17.776, abs=5e-4)
        assert welch["p_value"] == pytest.approx(0.07939, abs=5e-6)
        assert (welch["ci_low"], welch["ci_high"]) == pytest.approx(
            (-0.2054832, 3.3654832), abs=5e-7
        )

    def test_mann_whitney_matches_r_wilcox_test(self):
        # R's ?wilcox.test: x <- c(0.80, ...), y <- c(1.15, ...); wilcox.test(x, y,
        # alternative = "g") gives W = 35, p-value = 0.1272; two-sided p = 0.2544 (exact)
        x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
        y = [1.15, 0.88, 0.90, 0.74, 1.21]
        ds = _changes_dataset({"a_y": y, "b_x": x})
        mw = compare_subgroups(ds, "score", "m6", "group").tests["mann_whitney"]
        assert mw["statistic"] == 35
        assert mw["p_value"] == pytest.approx(0.2544, abs=5e-5)
        assert mw["method"] == "exact"  # R: "Wilcoxon rank sum exact test"

    def test_kruskal_wallis_matches_r(self):
        # R's ?kruskal.test (Hollander & Wolfe 1973, p. 116): Kruskal-Wallis chi-squared =
        # 0.77143, df = 2, p-value = 0.68
        ds = _changes_dataset(
            {
                "normal": [2.9, 3.0, 2.5, 2.6, 3.2],
                "obstructive": [3.8, 2.7, 4.0, 2.4],
                "asbestosis": [2.8, 3.4, 3.7, 2.2, 2.0],
            }
        )
        kw = compare_subgroups(ds, "score", "m6", "group", min_group=4).tests["kruskal"]
        assert kw["statistic"] == pytest.approx(0.77143, abs=5e-6)
        assert kw["df"] == 2
        assert kw["p_value"] == pytest.approx(0.68, abs=5e-3)

    def test_one_way_anova_matches_r_plantgrowth(self):
        # R: anova(lm(weight ~ group, data = PlantGrowth)): F = 4.8461, p = 0.01591, df 2 and 27
        ds = _changes_dataset(
            {
                "ctrl": [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14],
                "trt1": [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69],
                "trt2": [6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26],
            }
        )
        anova = compare_subgroups(ds, "score", "m6", "group").tests["anova"]
        assert anova["statistic"] == pytest.approx(4.8461, abs=5e-5)
        assert anova["df"] == (2, 27)
        assert anova["p_value"] == pytest.approx(0.01591, abs=5e-6)


def test_ancova_equals_the_classical_adjusted_difference():
    """Snedecor & Cochran (Statistical Methods, 8th ed., ch. 18): adjusted difference = raw
    difference in follow-up means - b_w x difference in baseline means, b_w the pooled
    within-group slope; SE^2 = MSE (1/n1 + 1/n2 + (mean_x1 - mean_x2)^2 / E_xx)."""
    rng = np.random.default_rng(4)
    a_base, b_base = rng.normal(6, 1.5, 30), rng.normal(6.5, 1.5, 25)
    a_after = 0.6 * a_base + rng.normal(1.0, 1, 30)
    b_after = 0.6 * b_base + rng.normal(0.2, 1, 25)
    table = pd.DataFrame(
        {
            "group": ["a"] * 30 + ["b"] * 25,
            "base": np.r_[a_base, b_base],
            "value": np.r_[a_after, b_after],
        }
    )
    result = ancova(table, "a").iloc[0]
    exx = sum(((g["base"] - g["base"].mean()) ** 2).sum() for _, g in table.groupby("group"))
    exy = sum(
        ((g["base"] - g["base"].mean()) * (g["value"] - g["value"].mean())).sum()
        for _, g in table.groupby("group")
    )
    slope = exy / exx
    adjusted = (b_after.mean() - a_after.mean()) - slope * (b_base.mean() - a_base.mean())
    residual = sum(
        ((g["value"] - g["value"].mean()) - slope * (g["base"] - g["base"].mean())).pow(2).sum()
        for _, g in table.groupby("group")
    )
    mse = residual / (55 - 3)
    se = np.sqrt(mse * (1 / 30 + 1 / 25 + (a_base.mean() - b_base.mean()) ** 2 / exx))
    assert result["adjusted_difference"] == pytest.approx(adjusted, rel=1e-10)
    half = (result["ci_high"] - result["ci_low"]) / 2
    assert half == pytest.approx(se * 2.0066468, rel=1e-6)  # t(0.975, 52)


def test_multiplicity_adjustments_match_r_p_adjust():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") = 0.05 0.08 0.09 0.09 0.09;
    # p.adjust(..., "BH") = 0.05 0.05 0.05 0.05 0.05
    holm, bh = adjust_p_values([0.01, 0.02, 0.03, 0.04, 0.05])
    assert holm == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert bh == pytest.approx([0.05] * 5)


def test_spearman_matches_r_cor_test():
    # R's ?cor.test (Hollander & Wolfe 1973, p. 187): cor.test(x, y, method = "spearman"):
    # S = 48, rho = 0.6, p-value = 0.096797839506172836 (exact for n = 9; R 4.2.2)
    x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    rows = ["patient_id,visit,outcome,value,x"] + [
        f"P{i},baseline,score,0,{xi}\nP{i},m6,score,{yi},{xi}"
        for i, (xi, yi) in enumerate(zip(x, y, strict=True))
    ]
    ds = load_bytes("\n".join(rows).encode(), "s.csv").dataset
    association = continuous_association(ds, "score", "m6", "x")
    assert association.rho == pytest.approx(0.6)
    assert association.n == 9
    assert association.p_value == pytest.approx(0.096797839506172836, rel=1e-9)
    assert association.method == "exact permutation distribution"


@pytest.fixture(scope="module")
def both(demo):
    """Our Table 1 and the Python package tableone's (Pollard et al. 2018) on the same data."""
    ours = table_one(demo, "cell_source", outcomes=False, p_values=True).table
    data = demo.attributes.reset_index()
    theirs = tableone.TableOne(
        data,
        columns=["sex", "age_band", "diabetes_duration_years", "baseline_hba1c"],
        categorical=["sex", "age_band"],
        nonnormal=["diabetes_duration_years"],
        groupby="cell_source",
        smd=True,
        pval=True,
    ).tableone
    theirs.columns = theirs.columns.droplevel(0)
    return ours, theirs


class TestTableOneAgainstTableone:
    """Reference: the Python package tableone (Pollard et al. 2018) on the same data."""

    def test_formats_and_values(self, both):
        ours, theirs = both
        hba1c = ours.loc[ours["variable"] == "baseline_hba1c, mean (SD)"].iloc[0]
        ref = theirs.loc[("baseline_hba1c, mean (SD)", "")]
        assert hba1c["overall"] == ref["Overall"]
        assert hba1c["umbilical cord"] == ref["umbilical cord"]
        duration = ours.loc[ours["variable"] == "diabetes_duration_years, median [Q1,Q3]"].iloc[0]
        ref = theirs.loc[("diabetes_duration_years, median [Q1,Q3]", "")]
        assert duration["autologous bone marrow"] == ref["autologous bone marrow"]
        female = ours.loc[ours["level"] == "female"].iloc[0]
        assert female["overall"] == theirs.loc[("sex, n (%)", "female"), "Overall"]

    def test_p_values(self, both):
        ours, theirs = both
        sex = ours.loc[ours["variable"] == "sex, n (%)"].iloc[0]
        theirs_p = float(theirs.loc[("sex, n (%)", "female"), "P-Value"])
        assert format_p(sex["p-value"]) == format_p(theirs_p)
        assert sex["test"] == "chi-squared"


def test_smd_formulas():
    # Austin (2009): binary SMD = (p1 - p2) / sqrt((p1(1 - p1) + p2(1 - p2)) / 2)
    a = pd.Series(["yes"] * 30 + ["no"] * 70)
    b = pd.Series(["yes"] * 50 + ["no"] * 50)
    expected = abs(0.3 - 0.5) / np.sqrt((0.3 * 0.7 + 0.5 * 0.5) / 2)
    assert smd_categorical(a, b, ["no", "yes"]) == pytest.approx(expected)
    x, y = pd.Series([1.0, 2, 3, 4]), pd.Series([2.0, 3, 4, 5])
    assert smd_numeric(x, y) == pytest.approx(1 / np.sqrt((x.var() + y.var()) / 2))


class TestFilters:
    def test_filter_and_sentence(self, demo):
        cohort = CohortFilter({"cell_source": ("umbilical cord",)}, {"baseline_hba1c": (7.0, 20.0)})
        subset = apply_filter(demo, cohort)
        expected = demo.attributes.loc[
            (demo.attributes["cell_source"] == "umbilical cord")
            & (demo.attributes["baseline_hba1c"] >= 7)
        ]
        assert subset.n_patients == len(expected)
        assert set(subset.long["patient_id"]) == set(expected.index)
        sentence = describe(cohort, subset.n_patients, demo.n_patients)
        assert sentence == (
            f"Showing {len(expected)} of 150 patients: cell_source umbilical cord; "
            "baseline_hba1c 7 to 20."
        )

    def test_no_filter(self, demo):
        assert describe(CohortFilter(), 150, 150) == "Showing all 150 patients (no filter)."
        assert apply_filter(demo, CohortFilter()) is demo

    def test_query_parameters_round_trip(self, demo):
        cohort = CohortFilter({"sex": ("female",), "arm": ("MSC",)}, {"baseline_hba1c": (7.5, 9.0)})
        params = to_query_params(cohort)
        assert params == {"f.sex": ["female"], "f.arm": ["MSC"], "r.baseline_hba1c": "7.5..9"}
        as_lists = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
        restored, notes = from_query_params(demo, as_lists)
        assert restored == cohort and notes == []

    def test_stale_parameters_fall_back_with_notes(self, demo):
        restored, notes = from_query_params(
            demo, {"f.colour": ["red"], "f.sex": ["unknown"], "r.baseline_hba1c": ["high"]}
        )
        assert not restored.active
        assert len(notes) == 3
        assert "'colour'" in notes[0] and "'unknown'" in notes[1] and "'high'" in notes[2]


def test_small_group_of_three_is_suppressed():
    ds = _changes_dataset(
        {"large_a": [1, 2, 3, 4, 5, 6], "large_b": [2, 3, 4, 5, 6, 7, 8], "tiny": [9, 9, 8]}
    )
    comparison = compare_subgroups(ds, "score", "m6", "group")
    assert comparison.suppressed == ["tiny"]
    assert "welch" in comparison.tests  # the two large groups only
    assert comparison.ancova["group"].tolist() == ["large_b"]
    forest = forest_table(ds, "score", "m6")
    assert forest.set_index("level").loc["tiny", "small"]
    t1 = table_one(ds, "group", outcomes=False)
    assert t1.suppressed == ["tiny"]
    assert t1.table.loc[1:, "tiny"].eq("suppressed (n < 5)").all()


def test_arm_comparison_uses_the_control_as_reference(demo):
    assert control_level(demo, "arm") == "standard care"
    comparison = arm_change(demo, "pain_nrs", "m6", "arm")
    assert comparison.reference == "standard care"
    assert comparison.tests["welch"]["comparison"] == "MSC minus standard care"
    assert comparison.ancova["group"].tolist() == ["MSC"]


def test_arm_responder_difference_uses_newcombe():
    # Newcombe (1998) Stat Med 17:873, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339
    groups = {
        "standard care": [(8, 8)] * 32 + [(8, 2)] * 48,  # 48 of 80 improve by 75%
        "MSC": [(8, 8)] * 14 + [(8, 2)] * 56,  # 56 of 70
    }
    rows = []
    for arm, pairs in groups.items():
        for i, (b, a) in enumerate(pairs):
            pid = f"{arm[:3]}{i:03d}"
            rows += [f"{pid},baseline,pain_nrs,{b},{arm}", f"{pid},m6,pain_nrs,{a},{arm}"]
    ds = load_bytes(
        ("patient_id,visit,outcome,value,arm\n" + "\n".join(rows)).encode(), "a.csv"
    ).dataset
    rates = responders_by_arm(ds, resolve_arms(ds), "pain_nrs", "m6").between
    row = rates.set_index("threshold").loc["≥50% improvement"]
    assert (row["arm"], row["comparator"]) == ("MSC", "standard care")
    assert row["difference"] == pytest.approx(100 * (56 / 70 - 48 / 80))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((5.24, 33.39), abs=5e-3)
