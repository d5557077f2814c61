"""Visit ordering and baseline detection; the instrument registry."""

from pathlib import Path

import pytest
from conftest import load_text

from analysis.ingest.pipeline import load_path
from analysis.ingest.visits import detect_baseline, nominal_day, order_visits, parse_label
from analysis.instruments import REGISTRY, lookup, registry_table


@pytest.mark.parametrize(
    ("label", "days"),
    [
        ("baseline", 0), ("Screening", 0), ("pre", 0), ("Week 4", 28), ("w12", 84),
        ("month 6", 182.625), ("M6", 182.625), ("3 months", 91.3125), ("6-month", 182.625),
        ("day 90", 90), ("1 year", 365.25), ("12 weeks follow-up", 84),
    ],
)  # fmt: skip
def test_recognised_labels(label, days):
    assert nominal_day(label) == pytest.approx(days)


def test_unrecognised_label():
    assert nominal_day("end of study") is None


@pytest.mark.parametrize(
    ("labels", "days", "unit", "number"),
    [
        (["m6", "M6", "month 6", "Month 06", "6 months", "6 mo", "6m", "6-month"],
         182.625, "month", 6),
        (["week 26", "w26", "wk 26", "Week 26", "26 weeks"], 182, "week", 26),
        (["day 14", "d14", "Day 14", "14 days"], 14, "day", 14),
        (["year 1", "1 year", "y1"], 365.25, "year", 1),
        (["12 months", "m12"], 365.25, "month", 12),
    ],
)  # fmt: skip
def test_labels_carry_a_time_a_unit_and_a_number(labels, days, unit, number):
    for label in labels:
        parsed = parse_label(label)
        assert (parsed.days, parsed.unit, parsed.number) == (pytest.approx(days), unit, number)


@pytest.mark.parametrize(
    ("label", "number"), [("VIS1", 1), ("VIS10", 10), ("Visit 2", 2), ("visit_3", 3), ("V3", 3)]
)
def test_visit_numbers_order_but_name_no_time(label, number):
    parsed = parse_label(label)
    assert (parsed.days, parsed.unit, parsed.number) == (None, None, number)


def test_order_by_the_number_in_the_labels():
    ordered, rule = order_visits(["VIS2", "VIS4", "VIS3", "VIS10", "VIS1"])
    assert ordered == ["VIS1", "VIS2", "VIS3", "VIS4", "VIS10"]
    assert "visit number" in rule
    assert order_visits(["Visit 3", "Screening", "V2"])[0] == ["Screening", "V2", "Visit 3"]
    assert order_visits(["Day 14", "Week 26", "Baseline", "Day 3"])[0] == [
        "Baseline", "Day 3", "Day 14", "Week 26",
    ]  # fmt: skip
    # a visit number beside a time names no common scale: first appearance
    assert order_visits(["m6", "V3", "baseline"])[0] == ["m6", "V3", "baseline"]


FEV_LONG = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mmrm" / "fev_long.csv"


@pytest.mark.skipif(not FEV_LONG.exists(), reason="the shared MMRM reference data is not here")
def test_fev_long_is_ordered_by_visit_number_with_the_first_as_baseline():
    """fev_long.csv lists VIS1..VIS4 for every patient, VIS1 often blank: the order was once
    VIS2, VIS4, VIS3, VIS1 (first non-blank value) with VIS2 as the baseline."""
    result = load_path(FEV_LONG)
    dataset = result.dataset
    assert dataset.visits == ["VIS1", "VIS2", "VIS3", "VIS4"]
    assert dataset.baseline == "VIS1"
    assert "visit number" in dataset.visit_order_rule
    assert result.report.accounting["values used"] == 537
    assert "probable_visit_typo" not in result.report.codes()


def test_first_appearance_counts_rows_with_blank_values():
    text = (
        "patient_id,visit,outcome,value\n"
        "P1,entry,pain_nrs,\nP1,later,pain_nrs,5\nP1,end,pain_nrs,4\n"
        "P2,entry,pain_nrs,7\nP2,later,pain_nrs,6\nP2,end,pain_nrs,\n"
    )
    dataset = load_text(text).dataset
    assert dataset.visits == ["entry", "later", "end"]
    assert dataset.baseline == "entry"
    assert "first appearance" in dataset.visit_order_rule


def test_order_by_labels_and_by_appearance():
    assert order_visits(["m12", "baseline", "week 4", "m3"])[0] == [
        "baseline",
        "week 4",
        "m3",
        "m12",
    ]
    ordered, rule = order_visits(["first", "later", "final"])
    assert ordered == ["first", "later", "final"]
    assert "first appearance" in rule


def test_order_by_day_wins_over_labels():
    ordered, rule = order_visits(["A", "B", "C"], {"A": 180, "B": 0, "C": 30})
    assert ordered == ["B", "C", "A"]
    assert "median day" in rule


def test_baseline_detection():
    assert detect_baseline(["screening", "m1"]) == "screening"
    assert detect_baseline(["V1", "V2", "V3"], {"V1": -10, "V2": 0, "V3": 30}) == "V2"
    assert detect_baseline(["first", "second"]) == "first"


def test_baseline_can_be_changed():
    text = "patient_id,visit,outcome,value\nP1,V1,pain_nrs,7\nP1,V2,pain_nrs,5\nP1,V3,pain_nrs,3\n"
    ds = load_text(text).dataset
    assert ds.baseline == "V1"
    assert ds.with_baseline("V2").follow_up_visits == ["V1", "V3"]


def test_days_order_visits_in_long_files():
    text = (
        "patient_id,visit,day,outcome,value\n"
        "P1,Follow-up B,200,pain_nrs,3\nP1,Entry,-2,pain_nrs,7\nP1,Follow-up A,30,pain_nrs,5\n"
    )
    ds = load_text(text).dataset
    assert ds.visits == ["Entry", "Follow-up A", "Follow-up B"]
    assert ds.baseline == "Entry"  # closest to day 0 at or before treatment


REQUIRED = [
    "pain_nrs", "pain_vas", "sleep_interference", "tcss", "mnsi_exam", "mnsi_questionnaire",
    "nds", "nss", "monofilament", "vpt", "sural_snap", "sural_scv", "peroneal_mcv",
    "norfolk_qol", "pgic", "hba1c",
]  # fmt: skip


def test_registry_covers_the_required_instruments_with_sources():
    for code in REQUIRED:
        inst = REGISTRY[code]
        assert inst.source and inst.label and inst.direction in ("lower", "higher")
        assert inst.low is not None and inst.high is not None and inst.low < inst.high


def test_pain_nrs_entry_is_farrar_2001():
    pain = lookup("pain_nrs")
    assert (pain.low, pain.high, pain.direction, pain.mcid_abs, pain.mcid_pct) == (
        0,
        10,
        "lower",
        2,
        30,
    )
    assert "Farrar" in pain.source and "2001" in pain.source
    assert pain.mcid_text() == "2 points or 30%"


@pytest.mark.parametrize(
    ("code", "direction"),
    [("monofilament", "higher"), ("vpt", "lower"), ("sural_snap", "higher"),
     ("peroneal_mcv", "higher"), ("norfolk_qol", "lower"), ("tcss", "lower")],
)  # fmt: skip
def test_directions(code, direction):
    assert lookup(code).direction == direction


def test_unknown_codes_never_guess():
    inst = lookup("grip_strength")
    assert not inst.known
    assert inst.direction is None
    assert inst.direction_text() == "direction unknown"
    assert inst.mcid_text() == "not established"
    assert lookup("grip_strength", "higher").direction == "higher"


def test_registry_table_for_the_data():
    table = registry_table(["pain_nrs", "mystery"])
    assert table["better when"].tolist() == ["lower is better", "direction unknown"]
