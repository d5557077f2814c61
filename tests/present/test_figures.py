"""Figures: visits on a real time axis, per-arm change and trajectories, and every axis of a
score or a change saying which way is better. Values are read back from the figure objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.ingest.pipeline import load_demo, load_frame
from analysis.present.figures import (
    MAX_PATIENT_MARKS,
    before_after_lines,
    change_axis_title,
    change_histogram,
    score_axis_title,
    visit_distributions,
)
from analysis.present.figures_cohort import forest_plot
from analysis.present.figures_followup import (
    change_over_time,
    over_time,
    regression_to_mean,
    spaghetti,
    waterfall,
)
from analysis.present.visit_axis import visit_axis
from analysis.stats.cohort import CohortFilter, apply_filter
from analysis.stats.compare import compare_visits
from analysis.stats.responders import responder_analysis
from analysis.stats.subgroups import forest_table
from analysis.stats.trajectory import change_summary, change_summary_by, trajectories, visit_summary
from bench.bench import synthetic_cohort

DEMO_VISITS = ["baseline", "m1", "m3", "m6", "m12"]


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def demo_axis(demo):
    return visit_axis(demo.visits, demo.long)


def _median_days(demo) -> dict[str, float]:
    days = demo.long.groupby(demo.long["visit"].astype(str), observed=True)["day"].median()
    return {v: float(days[v]) for v in demo.visits}


# --- where visits sit -----------------------------------------------------------------------


def test_visits_sit_at_their_median_recorded_day(demo, demo_axis):
    expected = _median_days(demo)
    assert demo.visits == DEMO_VISITS
    assert demo_axis.positions == expected
    assert list(expected.values()) == [-7.0, 30.0, 91.0, 182.0, 364.0]  # the demo's days
    assert demo_axis.unit == "days"
    assert demo_axis.title.startswith("Days since treatment")


def test_labels_with_a_time_and_no_day_sit_at_their_nominal_time():
    months = visit_axis(["baseline", "m1", "m3", "m6"])
    assert months.positions == {"baseline": 0, "m1": 1, "m3": 3, "m6": 6}
    assert (months.unit, months.title) == ("months", "Months since treatment")
    mixed = visit_axis(["baseline", "week 12", "6 months"])
    assert mixed.positions == pytest.approx({"baseline": 0, "week 12": 84, "6 months": 182.625})
    assert (mixed.unit, mixed.title) == ("days", "Days since treatment")


def test_a_visit_without_recorded_days_falls_back_to_its_label():
    long = pd.DataFrame(
        {"visit": ["baseline", "baseline", "m3", "m3"], "day": [-2.0, 0.0, np.nan, np.nan]}
    )
    axis = visit_axis(["baseline", "m3"], long)
    assert axis.positions == pytest.approx({"baseline": -1.0, "m3": 91.3125})
    assert axis.source == {"baseline": "median day", "m3": "nominal"}
    assert axis.unit == "days"


def test_labels_without_a_time_are_evenly_spaced_categories_never_mixed():
    plain = visit_axis(["screening visit", "post-op", "follow-up"])
    assert plain.positions == {"screening visit": 0, "post-op": 1, "follow-up": 2}
    assert plain.unit == "visits" and plain.title.startswith("Visit (evenly spaced")
    # one label with a time and one without: categories for all, not a time for one
    partial = visit_axis(["baseline", "m3", "follow-up"])
    assert partial.positions == {"baseline": 0, "m3": 1, "follow-up": 2}
    # two labels naming the same day cannot both sit there
    same = visit_axis(["m12", "year 1"])
    assert same.unit == "visits"


def test_over_time_places_visits_at_the_median_day(demo, demo_axis):
    fig = over_time(visit_summary(demo, "pain_nrs"), "pain_nrs", axis=demo_axis)
    expected = list(_median_days(demo).values())
    assert list(fig.data[0].x) == pytest.approx(expected)
    assert list(fig.layout.xaxis.tickvals) == pytest.approx(expected)
    assert [t.split("<br>")[0] for t in fig.layout.xaxis.ticktext] == DEMO_VISITS
    assert "day 30" in fig.layout.xaxis.ticktext[1]  # the median day under the visit's name
    assert fig.layout.xaxis.title.text.startswith("Days since treatment")


def test_over_time_without_an_axis_uses_the_labels(demo):
    fig = over_time(visit_summary(demo, "pain_nrs"), "pain_nrs")
    assert list(fig.data[0].x) == pytest.approx([0, 1, 3, 6, 12])
    assert fig.layout.xaxis.title.text == "Months since treatment"


def test_labels_of_visits_days_apart_are_staggered():
    frame = pd.DataFrame(
        {
            "patient_id": ["A", "A", "A", "B", "B", "B"],
            "visit": ["day 0", "day 3", "day 180"] * 2,
            "value": [5.0, 4.0, 3.0, 6.0, 5.0, 4.0],
        }
    )
    fig = spaghetti(frame, ["day 0", "day 3", "day 180"], "pain_nrs")
    first, second, third = fig.layout.xaxis.ticktext
    assert (first, third) == ("day 0", "day 180")
    assert second == "<br>day 3"  # a line lower: "day 0" and "day 3" would overlap


# --- per arm --------------------------------------------------------------------------------


def test_change_by_visit_has_one_line_per_arm(demo, demo_axis):
    change = change_summary_by(demo, "pain_nrs", "arm")
    fig = change_over_time(change, "pain_nrs", axis=demo_axis, by="arm")
    assert [t.name for t in fig.data] == ["MSC", "standard care"]
    assert fig.layout.showlegend is True
    assert fig.layout.title.text.startswith("Mean change from baseline by arm")
    days = _median_days(demo)
    for i, trace in enumerate(fig.data):
        arm = apply_filter(demo, CohortFilter({"arm": (trace.name,)}))
        own = change_summary(arm, "pain_nrs").dropna(subset=["mean_change"])
        assert list(trace.y) == pytest.approx(own["mean_change"].tolist())
        dodge = 0.012 * (days["m12"] - days["baseline"]) * (i - 0.5)
        assert list(trace.x) == pytest.approx([days[v] + dodge for v in own["visit"]])
    # patients with a change under each visit, one line per arm
    assert fig.layout.xaxis.ticktext[-1].count("n=") == 2


def test_trajectories_have_one_panel_per_arm(demo, demo_axis):
    fig = spaghetti(
        trajectories(demo, "pain_nrs"), demo.visits, "pain_nrs", "SYN-001",
        by=demo.attributes["arm"], axis=demo_axis,
    )  # fmt: skip
    sizes = demo.attributes["arm"].value_counts()
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [
        f"arm: MSC (n = {sizes['MSC']})",
        f"arm: standard care (n = {sizes['standard care']})",
    ]
    panels: dict[str, list] = {}
    for trace in fig.data:
        panels.setdefault(trace.xaxis, []).append(trace)
    assert sorted(panels) == ["x", "x2"]
    data = trajectories(demo, "pain_nrs")
    data = data.assign(arm=data["patient_id"].map(demo.attributes["arm"]))
    days = _median_days(demo)
    for axis_name, arm in (("x", "MSC"), ("x2", "standard care")):
        lines, median = panels[axis_name][0], panels[axis_name][1]
        assert lines.type == "scattergl" and lines.line.color.endswith("0.22)")  # faint
        assert lines.line.width == 1 and median.line.width == 4  # the median emphasised
        expected = data.loc[data["arm"] == arm].groupby("visit", observed=True)["value"].median()
        assert list(median.x) == pytest.approx([days[v] for v in demo.visits])
        assert list(median.y) == pytest.approx([expected[v] for v in demo.visits])
    highlighted = [t for t in fig.data if t.name == "patient SYN-001"]
    assert len(highlighted) == 1 and highlighted[0].xaxis == "x"  # SYN-001 is in the MSC arm
    mine = data.loc[data["patient_id"] == "SYN-001"].set_index("visit")["value"]
    assert list(highlighted[0].y) == mine.reindex(demo.visits).dropna().tolist()


def test_large_cohorts_draw_bands_per_panel():
    dataset = load_frame(synthetic_cohort(MAX_PATIENT_MARKS + 200), "registry").dataset
    axis = visit_axis(dataset.visits, dataset.long)
    by = dataset.attributes["cell_source"]
    fig = spaghetti(trajectories(dataset, "pain_nrs"), dataset.visits, "pain_nrs", by=by, axis=axis)
    assert "too many for one line each" in fig.layout.title.text
    assert not any(t.type == "scattergl" for t in fig.data)  # no line per patient
    filled = [t for t in fig.data if t.fill == "tonexty"]
    assert len(filled) == by.nunique()  # one band per panel
    assert len(fig.layout.annotations) == by.nunique()


# --- which way is better --------------------------------------------------------------------


def test_axis_title_helpers():
    assert score_axis_title("Pain intensity (NRS 0–10)", "lower") == (
        "Pain intensity (NRS 0–10)<br>lower is better ↓"
    )
    assert score_axis_title("Sites felt", "higher").endswith("higher is better ↑")
    assert score_axis_title("grip_strength", None) == "grip_strength"
    assert change_axis_title("Change from baseline", "lower") == (
        "Change from baseline<br>(negative = better ↓)"
    )
    assert change_axis_title("Change", "higher", horizontal=True).endswith("(positive = better →)")
    assert "better" not in change_axis_title("Change", None)


def test_over_time_axes_say_which_way_is_better(demo, demo_axis):
    pain = over_time(visit_summary(demo, "pain_nrs"), "pain_nrs", axis=demo_axis)
    assert pain.layout.yaxis.title.text == "Pain intensity (NRS 0–10)<br>lower is better ↓"
    sites = over_time(visit_summary(demo, "monofilament"), "monofilament", axis=demo_axis)
    assert sites.layout.yaxis.title.text.endswith("higher is better ↑")
    change = change_over_time(change_summary(demo, "pain_nrs"), "pain_nrs", axis=demo_axis)
    assert change.layout.yaxis.title.text.endswith("(negative = better ↓)")
    lines = spaghetti(trajectories(demo, "tcss"), demo.visits, "tcss", axis=demo_axis)
    assert lines.layout.yaxis.title.text.endswith("lower is better ↓")


def test_unknown_outcomes_say_nothing_about_better(demo):
    renamed = demo.long.assign(outcome=demo.long["outcome"].astype(str).replace("tcss", "grip"))
    summary = visit_summary(load_frame(renamed, "renamed").dataset, "grip")
    assert "better" not in over_time(summary, "grip").layout.yaxis.title.text
    assert over_time(summary, "grip", direction="higher").layout.yaxis.title.text.endswith(
        "higher is better ↑"
    )


def test_compare_and_responder_axes_say_which_way_is_better(demo):
    comparison = compare_visits(demo, "pain_nrs", "baseline", "m12")
    assert before_after_lines(comparison).layout.yaxis.title.text.endswith("lower is better ↓")
    assert visit_distributions(comparison).layout.yaxis.title.text.endswith("lower is better ↓")
    assert change_histogram(comparison).layout.xaxis.title.text.endswith("(negative = better ←)")
    responders = responder_analysis(demo, "pain_nrs", "m12")
    assert waterfall(responders).layout.yaxis.title.text.endswith("(negative = better ↓)")
    scatter = regression_to_mean(responders)
    assert scatter.layout.xaxis.title.text.endswith("lower is better ←")
    assert scatter.layout.yaxis.title.text.endswith("(negative = better ↓)")
    forest = forest_plot(forest_table(demo, "monofilament", "m12"), "monofilament", "m12", None)
    assert forest.layout.xaxis.title.text.endswith("(positive = better →)")
