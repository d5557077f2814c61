"""Missing-data figures and sentences: values read back from the figure objects and the text."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.ingest.dataset import Dataset
from analysis.ingest.pipeline import load_demo
from analysis.present.figures_missing import (
    missingness_map_figure,
    reasons_figure,
    retention_figure,
    sensitivity_forest,
    tipping_figure,
)
from analysis.present.missing_text import ASSUMPTIONS, assumption_text, tipping_sentence
from analysis.stats.arms import ArmDesign, resolve_arms
from analysis.stats.imputation import SensitivityResult, TippingPoint, sensitivity_analysis
from analysis.stats.imputation.tipping import (
    BETTER,
    BETTER_THAN_PLACEBO,
    CI_EXCLUDES_0,
    NOT_SIGNIFICANT,
    SIGNIFICANT_BENEFIT,
)
from analysis.stats.missingness import missingness_map, missingness_summary


@pytest.fixture(scope="module")
def demo() -> Dataset:
    dataset = load_demo().dataset
    assert dataset is not None
    return dataset


@pytest.fixture(scope="module")
def result(demo: Dataset) -> SensitivityResult:
    return sensitivity_analysis(
        demo, resolve_arms(demo), "tcss", "m12", n_imputations=20, deltas=-0.5 * np.arange(13)
    )


def test_map_figure_rows_visits_and_arm_bands(demo: Dataset) -> None:
    s = missingness_summary(demo, "pain_nrs", resolve_arms(demo))
    fig = missingness_map_figure(s.map)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (150, 5)
    assert list(heat.x) == ["baseline", "m1", "m3", "m6", "m12"]
    assert len(heat.y) == 151  # row edges: one row per patient
    assert {t.name for t in fig.data[1:]} == {"observed", "missing"}
    texts = [a.text for a in fig.layout.annotations]
    assert any(t.startswith("MSC<br>n = 108") for t in texts)
    assert any(t.startswith("standard care<br>n = 42") for t in texts)
    assert "150 patients" in fig.layout.title.text
    # aggregated: row heights are the number of patients with the pattern
    agg = missingness_map_figure(missingness_map(s.patient_patterns, max_rows=50))
    edges = np.asarray(agg.data[0].y)
    assert edges[-1] == 150 and len(edges) == len(agg.data[0].z) + 1
    assert "too many to draw one by one" in agg.layout.title.text


def test_retention_and_reasons_figures(demo: Dataset) -> None:
    s = missingness_summary(demo, "pain_nrs", resolve_arms(demo))
    fig = retention_figure(s.retention)
    solid = next(t for t in fig.data if t.name == "MSC: still in follow-up")
    assert solid.y[0] == pytest.approx(100.0)
    assert list(solid.y)[-1] == pytest.approx(100 * 73 / 108)
    import pandas as pd

    reasons = pd.DataFrame(
        {"arm": ["MSC", "MSC", "control"], "reason": ["adverse event", "moved", "moved"],
         "n": [2, 1, 3], "pct": [20.0, 10.0, 30.0]}
    )  # fmt: skip
    reasons.attrs["attribute"] = "dropout_reason"
    bars = reasons_figure(reasons)
    assert [t.name for t in bars.data] == ["MSC", "control"]
    assert "dropout_reason" in bars.layout.title.text


def test_tipping_figure_marks_the_tipping_point(result: SensitivityResult) -> None:
    (point,) = result.tipping.points
    assert point.tips and point.tipping_delta is not None
    fig = tipping_figure(result.tipping, "tcss", "m12")
    est = next(t for t in fig.data if t.name == "MSC: estimate")
    assert est.x[0] == 0 and est.x[-1] == pytest.approx(6.0)
    vlines = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]
    assert any(s.x0 == pytest.approx(-point.tipping_delta) for s in vlines)
    hlines = [s for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1]
    assert any(s.y0 == 0 for s in hlines)


def test_forest_lists_every_analysis(result: SensitivityResult) -> None:
    fig = sensitivity_forest(result)
    assert len(fig.data) == 1
    assert list(fig.data[0].y)[:2] == ["MMRM (MAR)", "Multiple imputation, MAR (primary)"]
    assert "LOCF (sensitivity only)" in list(fig.data[0].y)
    assert len(fig.data[0].x) == 8


def test_tipping_sentences() -> None:
    tipped = TippingPoint("MSC", "standard care", CI_EXCLUDES_0, 0.0, SIGNIFICANT_BENEFIT,
                          -1.8, True, -3.0)  # fmt: skip
    text = tipping_sentence(tipped, "pain_nrs", "m6")
    assert text == (
        "The difference in Pain intensity at m6 between MSC and standard care stays "
        "statistically significant unless MSC patients with missing values did at least 1.8 "
        "points worse than similar patients who stayed."
    )
    holds = TippingPoint("MSC", "standard care", CI_EXCLUDES_0, 0.0, SIGNIFICANT_BENEFIT, None,
                         False, -3.0)  # fmt: skip
    assert "even if MSC patients with missing values did 3.0 points worse" in tipping_sentence(
        holds, "pain_nrs", "m6"
    )
    nothing = TippingPoint("MSC", "standard care", CI_EXCLUDES_0, 0.0, NOT_SIGNIFICANT, None,
                           False, -3.0)  # fmt: skip
    assert "no conclusion for worse assumptions to overturn" in tipping_sentence(
        nothing, "pain_nrs", "m6"
    )
    placebo = TippingPoint("all", None, BETTER_THAN_PLACEBO, -1.54, BETTER, -0.4, True, -3.0)
    text = tipping_sentence(placebo, "pain_nrs", "m6")
    assert "published placebo response (−1.54 points)" in text
    assert "at least 0.40 points worse" in text


def test_assumption_codes_all_have_words(demo: Dataset) -> None:
    r = sensitivity_analysis(demo, ArmDesign(None), "pain_nrs", "m6", n_imputations=5)
    arms = sensitivity_analysis(demo, resolve_arms(demo), "pain_nrs", "m6", n_imputations=5)
    for codes in (r.assumptions, arms.assumptions):
        assert all(c in ASSUMPTIONS for c in codes)
        assert len(assumption_text(codes)) == len(codes)
