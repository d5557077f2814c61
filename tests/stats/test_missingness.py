"""Missingness patterns, dropout over time, reasons and the map, on hand-made data whose every
count can be read off the table below; then the same at registry scale."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from analysis.ingest.dataset import Dataset
from analysis.ingest.findings import ValidationReport
from analysis.ingest.pipeline import load_frame
from analysis.stats.arms import ArmDesign, resolve_arms
from analysis.stats.missingness import (
    ALL,
    COMPLETE,
    INTERMITTENT,
    NO_VALUES,
    NOT_RECORDED,
    missingness_map,
    missingness_summary,
    patient_patterns,
    pattern_table,
    reason_attribute,
    reasons_table,
    retention_table,
)

# patient: arm, reason, pain values by visit (H has only another outcome)
PATIENTS = {
    "A": ("MSC", "", {"baseline": 7, "m1": 5, "m3": 4, "m6": 4}),  # complete
    "B": ("MSC", "adverse event", {"baseline": 6, "m1": 5}),  # dropout after m1
    "C": ("MSC", "lost to follow-up", {"baseline": 8}),  # dropout after baseline
    "D": ("MSC", None, {"baseline": 7, "m3": 5}),  # intermittent (m1 missing)
    "I": ("MSC", "", {"baseline": 6, "m1": 4, "m3": 3, "m6": 2}),  # complete
    "E": ("placebo", "lack of efficacy", {"baseline": 6, "m1": 6, "m3": 6}),  # dropout after m3
    "F": ("placebo", "", {"baseline": 5, "m1": 5, "m3": 4, "m6": 4}),  # complete
    "G": ("placebo", "adverse event", {"m1": 6}),  # intermittent (no baseline)
    "H": ("placebo", "withdrew consent", {}),  # no pain values at all
}


@pytest.fixture(scope="module")
def hand() -> Dataset:
    rows = []
    for pid, (arm, reason, values) in PATIENTS.items():
        if not values:
            values_other = {"baseline": 12}
            for v, x in values_other.items():
                rows.append((pid, v, "tcss", x, arm, reason))
        for v, x in values.items():
            rows.append((pid, v, "pain_nrs", x, arm, reason))
    frame = pd.DataFrame(
        rows, columns=["patient_id", "visit", "outcome", "value", "arm", "Discontinuation Reason"]
    )
    result = load_frame(frame, "hand.csv")
    assert result.dataset is not None
    return result.dataset


def test_patterns_per_patient(hand: Dataset) -> None:
    pp = patient_patterns(hand, "pain_nrs", resolve_arms(hand))
    got = dict(zip(pp.table["patient_id"], pp.table["pattern"], strict=True))
    assert got == {
        "A": COMPLETE,
        "B": "dropout after m1",
        "C": "dropout after baseline",
        "D": INTERMITTENT,
        "I": COMPLETE,
        "E": "dropout after m3",
        "F": COMPLETE,
        "G": INTERMITTENT,
        "H": NO_VALUES,
    }
    assert pp.visits == ("baseline", "m1", "m3", "m6")
    assert pp.arms == ("MSC", "placebo")  # treated first, then the comparator


def test_pattern_table_counts_and_percentages(hand: Dataset) -> None:
    table = pattern_table(patient_patterns(hand, "pain_nrs", resolve_arms(hand)))
    counts = {(r.arm, r.pattern): r.n for r in table.itertuples()}
    assert counts[("MSC", COMPLETE)] == 2
    assert counts[("MSC", "dropout after m1")] == 1
    assert counts[("MSC", "dropout after baseline")] == 1
    assert counts[("MSC", INTERMITTENT)] == 1
    assert counts[("MSC", "dropout after m3")] == 0  # listed with zero
    assert counts[("placebo", COMPLETE)] == 1
    assert counts[("placebo", "dropout after m3")] == 1
    assert counts[("placebo", INTERMITTENT)] == 1
    assert counts[("placebo", NO_VALUES)] == 1
    assert counts[(ALL, COMPLETE)] == 3
    assert table.loc[table["arm"] == "MSC", "n"].sum() == 5
    assert table.loc[table["arm"] == ALL, "n"].sum() == 9
    pct = table.set_index(["arm", "pattern"])["pct"]
    assert pct[("MSC", COMPLETE)] == pytest.approx(40.0)
    assert pct[("placebo", NO_VALUES)] == pytest.approx(25.0)
    # patterns in order from most to least complete
    msc = table.loc[table["arm"] == "MSC", "pattern"].tolist()
    assert msc == [COMPLETE, "dropout after m3", "dropout after m1", "dropout after baseline",
                   INTERMITTENT, NO_VALUES]  # fmt: skip


def test_retention_by_arm(hand: Dataset) -> None:
    table = retention_table(patient_patterns(hand, "pain_nrs", resolve_arms(hand)))
    row = table.set_index(["arm", "visit"])
    # MSC at m1: values for A, B, I; still followed (a value at m1 or later) A, B, D, I
    assert row.loc[("MSC", "m1"), "n_observed"] == 3
    assert row.loc[("MSC", "m1"), "n_retained"] == 4
    assert row.loc[("MSC", "m6"), "n_retained"] == 2
    assert row.loc[("MSC", "m1"), "pct_retained"] == pytest.approx(80.0)
    # placebo at baseline: F and E have a value, G has a later one, H none at all
    assert row.loc[("placebo", "baseline"), "n_observed"] == 2
    assert row.loc[("placebo", "baseline"), "n_retained"] == 3
    assert row.loc[("placebo", "m3"), "n_retained"] == 2


def test_map_is_sorted_by_arm_then_dropout_time(hand: Dataset) -> None:
    m = missingness_map(patient_patterns(hand, "pain_nrs", resolve_arms(hand)))
    assert not m.aggregated
    assert m.label == ("A", "I", "D", "B", "C", "F", "E", "G", "H")
    assert m.arm == ("MSC",) * 5 + ("placebo",) * 4
    assert m.observed[2].tolist() == [True, False, True, False]  # D
    assert m.observed[-1].tolist() == [False] * 4  # H
    assert m.count.tolist() == [1] * 9


def test_map_aggregates_rows_by_pattern_past_the_limit(hand: Dataset) -> None:
    m = missingness_map(patient_patterns(hand, "pain_nrs", resolve_arms(hand)), max_rows=5)
    assert m.aggregated
    assert m.count.tolist() == [2, 1, 1, 1, 1, 1, 1, 1]  # A and I share the complete pattern
    assert m.label[0] == "2 patients" and m.label[1] == "1 patient"
    assert m.count.sum() == m.n_patients == 9


def test_reasons_table_per_arm(hand: Dataset) -> None:
    assert reason_attribute(hand) == "Discontinuation Reason"
    table = reasons_table(hand, resolve_arms(hand))
    assert table is not None
    got = {(r.arm, r.reason): r.n for r in table.itertuples()}
    assert got == {
        ("MSC", "adverse event"): 1,
        ("MSC", "lost to follow-up"): 1,
        ("MSC", NOT_RECORDED): 3,
        ("placebo", "adverse event"): 1,
        ("placebo", "lack of efficacy"): 1,
        ("placebo", "withdrew consent"): 1,
        ("placebo", NOT_RECORDED): 1,
    }
    assert table.loc[table["arm"] == "MSC", "pct"].sum() == pytest.approx(100.0)
    assert table.attrs["attribute"] == "Discontinuation Reason"


def test_no_reason_attribute_and_no_arms() -> None:
    from analysis.ingest.pipeline import load_demo

    demo = load_demo().dataset
    assert demo is not None
    assert reason_attribute(demo) is None
    assert reasons_table(demo) is None
    s = missingness_summary(demo, "pain_nrs", ArmDesign(None))
    assert s.patient_patterns.arms == (ALL,)
    assert s.patterns["arm"].unique().tolist() == [ALL]
    assert s.n_patients == 150
    json.dumps(s.to_dict(), allow_nan=False)


def _big_dataset(n: int, seed: int = 5) -> Dataset:
    """n patients x 5 visits, monotone dropout plus some intermittent gaps, two arms."""
    rng = np.random.default_rng(seed)
    visits = ["baseline", "m1", "m3", "m6", "m12"]
    last = rng.choice(5, size=n, p=[0.05, 0.1, 0.15, 0.2, 0.5])
    obs = np.arange(5)[None, :] <= last[:, None]
    obs &= ~((rng.random((n, 5)) < 0.05) & (np.arange(5)[None, :] > 0))
    ids = np.char.add("P", np.arange(n).astype(str))
    p, v = np.nonzero(obs)
    long = pd.DataFrame(
        {
            "patient_id": ids[p],
            "visit": np.asarray(visits)[v],
            "day": v * 30.0,
            "outcome": "pain_nrs",
            "value": rng.integers(0, 11, len(p)).astype(float),
            "source_row": np.arange(len(p)),
            "source_column": "value",
        }
    )
    attributes = pd.DataFrame(
        {"arm": np.where(rng.random(n) < 0.7, "MSC", "standard care")},
        index=pd.Index(ids, name="patient_id"),
    )
    return Dataset(long, attributes, visits, "given", "baseline", "big", "csv", ValidationReport())


def test_registry_scale_is_aggregated_and_fast() -> None:
    big = _big_dataset(10_000)
    design = resolve_arms(big)
    start = time.process_time()
    s = missingness_summary(big, "pain_nrs", design)
    elapsed = time.process_time() - start
    assert elapsed < 5.0
    assert s.map.aggregated
    assert s.map.count.sum() == 10_000
    assert len(s.map.count) <= 2 * 2**5
    assert s.patterns.loc[s.patterns["arm"] == ALL, "n"].sum() == 10_000
    # the aggregated rows keep the per-patient order: arm blocks, later dropout first
    first_placebo = s.map.arm.index("standard care")
    assert set(s.map.arm[:first_placebo]) == {"MSC"}
    assert s.map.pattern[0] == COMPLETE
