"""Arms first: the comparator is recognised or chosen, every headline is per arm, and the
between-arm differences match R on the demo cohort (108 MSC, 42 standard care).

R 4.2.2 on data/demo_cohort.csv (pain_nrs, baseline -> m6, completers; script in the comments):
  m <- merge(baseline rows, m6 rows, by = "patient_id"); m$chg <- m$value_f - m$value_b
  t.test(m$chg[m$arm == "MSC"], m$chg[m$arm == "standard care"])
    -> difference -0.8333333333, 95% CI -1.76856531 to 0.1018986438, p 0.07992722666,
       df 73.18343952
  lm(value_f ~ value_b + relevel(factor(arm), "standard care"))  (ANCOVA)
    -> armMSC -0.710662963, SE 0.4962511612, p 0.1548861205, 95% CI -1.693826017 to 0.2725000909
  >= 50% improvement: MSC 32 of 84 completers (108 with a baseline); standard care 6 of 32 (42)
  Newcombe hybrid score interval (method 10) from prop.test(k, n, correct = FALSE)$conf.int:
    difference 19.3452381%, 95% CI 0.1803942546% to 33.88793906%
"""

import numpy as np
import pytest
from conftest import load_text

from analysis.ingest.pipeline import load_demo
from analysis.stats.arms import (
    compare_by_arm,
    patients_with_baseline,
    resolve_arms,
    responders_by_arm,
    summary_by_arm,
    welch_from_summaries,
)


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


def test_comparator_recognised_from_its_label(demo):
    design = resolve_arms(demo)
    assert design.attribute == "arm"
    assert design.comparator == "standard care" and design.comparator_recognised
    assert design.treated == ("MSC",)
    assert design.levels == ("MSC", "standard care")
    assert not design.randomised


def test_denominators_are_within_each_arm(demo):
    design = resolve_arms(demo)
    assert patients_with_baseline(demo, design, "pain_nrs") == {"MSC": 108, "standard care": 42}
    by_arm = responders_by_arm(demo, design, "pain_nrs", "m6")
    assert {arm: r.n_itt for arm, r in by_arm.per_arm.items()} == {
        "MSC": 108,
        "standard care": 42,
    }
    half = by_arm.between.set_index("threshold").loc["≥50% improvement"]
    assert (half["responders_arm"], half["n_arm"]) == (32, 84)
    assert (half["responders_comparator"], half["n_comparator"]) == (6, 32)
    assert half["difference"] == pytest.approx(19.3452381, abs=1e-6)
    assert half["ci_low"] == pytest.approx(0.1803942546, abs=1e-6)
    assert half["ci_high"] == pytest.approx(33.88793906, abs=1e-6)


def test_between_arm_difference_in_change_matches_r(demo):
    design = resolve_arms(demo)
    result = compare_by_arm(demo, design, "pain_nrs", "baseline", "m6")
    assert [c.stats.n_pairs for c in result.per_arm.values()] == [84, 32]
    row = result.between.iloc[0]
    assert (row["arm"], row["comparator"]) == ("MSC", "standard care")
    assert row["difference"] == pytest.approx(-0.8333333333, abs=1e-9)
    assert row["ci_low"] == pytest.approx(-1.76856531, abs=1e-7)
    assert row["ci_high"] == pytest.approx(0.1018986438, abs=1e-7)
    assert row["p_value"] == pytest.approx(0.07992722666, rel=1e-6)
    assert row["df"] == pytest.approx(73.18343952, rel=1e-7)
    assert row["adjusted_difference"] == pytest.approx(-0.710662963, abs=1e-8)
    assert row["adjusted_ci_low"] == pytest.approx(-1.693826017, abs=1e-8)
    assert row["adjusted_ci_high"] == pytest.approx(0.2725000909, abs=1e-8)
    assert row["adjusted_p_value"] == pytest.approx(0.1548861205, rel=1e-6)


def test_summary_between_arms_equals_welch_on_the_values(demo):
    design = resolve_arms(demo)
    summary, between = summary_by_arm(demo, design)
    assert list(summary["arm"].unique()) == ["MSC", "standard care"]
    row = between.set_index(["outcome", "visit"]).loc[("pain_nrs", "m6")]
    assert row["difference"] == pytest.approx(-0.8333333333, abs=1e-9)
    assert row["ci_low"] == pytest.approx(-1.76856531, abs=1e-7)
    assert row["p_value"] == pytest.approx(0.07992722666, rel=1e-6)


def test_welch_from_summaries_is_welch():
    # R 4.2.2: t.test(c(1, 3, 4, 8), c(2, 2, 5)) -> t = 0.5619515, df = 4.856502,
    # p-value = 0.599091, 95% CI -3.615338 5.615338 (mean of x 4, mean of y 3)
    x, y = np.array([1.0, 3, 4, 8]), np.array([2.0, 2, 5])
    se = [a.std(ddof=1) / np.sqrt(len(a)) for a in (x, y)]
    result = welch_from_summaries(x.mean(), se[0], 4, y.mean(), se[1], 3)
    assert result["difference"] == pytest.approx(1.0)
    assert result["ci_low"] == pytest.approx(-3.615338, abs=5e-7)
    assert result["ci_high"] == pytest.approx(5.615338, abs=5e-7)
    assert result["p_value"] == pytest.approx(0.599091, abs=5e-7)
    assert result["df"] == pytest.approx(4.856502, abs=5e-7)


def _arm_file(arms: dict[str, int]) -> str:
    rows = ["patient_id,visit,outcome,value,arm"]
    i = 0
    for arm, change in arms.items():
        for k in range(6):
            i += 1
            rows.append(f"P{i},baseline,pain_nrs,7,{arm}")
            rows.append(f"P{i},m6,pain_nrs,{7 + change + (k % 3) - 1},{arm}")
    return "\n".join(rows) + "\n"


def test_no_arm_attribute_keeps_one_group():
    dataset = load_text(_arm_file({"MSC": -2}).replace(",arm", ",site").replace(",MSC", ",north"))
    design = resolve_arms(dataset.dataset)
    assert design.attribute is None and not design.has_arms
    assert patients_with_baseline(dataset.dataset, design, "pain_nrs") == {"all": 6}


def test_three_arms_each_against_the_comparator():
    dataset = load_text(_arm_file({"low dose": -2, "high dose": -3, "placebo": -1})).dataset
    design = resolve_arms(dataset)
    assert design.comparator == "placebo"
    assert design.treated == ("high dose", "low dose")
    between = compare_by_arm(dataset, design, "pain_nrs", "baseline", "m6").between
    assert list(between["arm"]) == ["high dose", "low dose"]
    assert list(between["difference"]) == pytest.approx([-2.0, -1.0])


def test_unrecognised_comparator_is_assumed_then_chosen_by_the_user():
    dataset = load_text(_arm_file({"cells": -3, "wait list": -1})).dataset
    assumed = resolve_arms(dataset)
    assert assumed.comparator == "cells" and not assumed.comparator_recognised
    chosen = resolve_arms(dataset, control="Wait  List")  # matched like a visit label
    assert chosen.comparator == "wait list" and chosen.comparator_chosen
    row = compare_by_arm(dataset, chosen, "pain_nrs", "baseline", "m6").between.iloc[0]
    assert (row["arm"], row["difference"]) == ("cells", pytest.approx(-2.0))
    with pytest.raises(ValueError, match="not an arm"):
        resolve_arms(dataset, control="sham")


def test_randomised_flag_attribute():
    text = _arm_file({"MSC": -2, "placebo": -1}).replace(",arm\n", ",arm,randomised\n")
    lines = text.strip().split("\n")
    text = "\n".join([lines[0]] + [line + ",yes" for line in lines[1:]]) + "\n"
    assert resolve_arms(load_text(text).dataset).randomised


def test_pooling_is_explicit(demo):
    design = resolve_arms(demo, pooled=True)
    assert not design.has_arms and design.pooled
    assert patients_with_baseline(demo, design, "pain_nrs") == {"all": 150}


def test_responders_by_arm_without_a_direction_has_no_thresholds():
    dataset = load_text(_arm_file({"cells": -3, "placebo": -1}).replace("pain_nrs", "my_score"))
    by_arm = responders_by_arm(dataset.dataset, resolve_arms(dataset.dataset), "my_score", "m6")
    assert by_arm.between.empty
    assert all(r.rates.empty for r in by_arm.per_arm.values())
