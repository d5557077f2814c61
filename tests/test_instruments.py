"""The instrument registry: BPI interference, NIS(LL), NTSS-6, the VPT smallest real difference,
the sleep-interference anchor table, placebo-arm changes beyond pain, and the registry table."""

import pytest

from analysis.instruments import (
    REGISTRY,
    Anchor,
    Instrument,
    PlaceboBenchmark,
    lookup,
    registry_table,
)
from analysis.references import REFERENCES


def test_bpi_interference_has_the_immpact_one_point_difference():
    bpi = lookup("bpi_interference")
    assert (bpi.low, bpi.high, bpi.direction, bpi.unit) == (0, 10, "lower", "points")
    assert (bpi.mcid_abs, bpi.mcid_pct) == (1, None)
    assert bpi.mcid_reference == "dworkin2008"
    assert "Dworkin" in bpi.source and "IMMPACT" in bpi.source
    assert bpi.mcid_abs_text() == "1 point"


def test_nis_ll_two_points_and_its_one_year_placebo_change():
    nis = lookup("nis_ll")
    assert (nis.low, nis.high, nis.direction) == (0, 88, "lower")
    assert (nis.mcid_abs, nis.mcid_reference) == (2, "dyck1997")
    assert "Dyck" in nis.source
    assert nis.placebo == PlaceboBenchmark(
        -0.63, None, 2, "mild symptomatic DPN, over 1 year", "rbx_placebo2007"
    )


def test_ntss6_placebo_change_and_no_invented_difference():
    ntss = lookup("ntss6")
    assert (ntss.low, ntss.high, ntss.direction) == (0, 21.96, "lower")
    assert (ntss.mcid_abs, ntss.mcid_pct) == (None, None)
    assert ntss.placebo is not None
    assert (ntss.placebo.mean_change, ntss.placebo.rate_50pct) == (-3.73, None)
    assert ntss.placebo.reference == "rbx_placebo2007"
    assert "Diabetes Care 2007;30" in REFERENCES["rbx_placebo2007"].citation


def test_vpt_has_a_smallest_real_difference_not_an_mcid():
    vpt = lookup("vpt")
    assert (vpt.mcid_abs, vpt.mcid_pct) == (None, None)
    assert vpt.smallest_real_difference_pct == pytest.approx(24.94)
    assert vpt.smallest_real_difference_reference == "dominguez_munoz2020"
    assert "device-specific" in vpt.smallest_real_difference_text()
    assert REFERENCES["dominguez_munoz2020"].doi == "10.3390/ijerph17051773"


def test_sleep_interference_shows_the_anchor_table_not_one_threshold():
    sleep = lookup("sleep_interference")
    assert sleep.mcid_abs is None and sleep.mcid_pct is None
    assert [(a.label, a.change) for a in sleep.anchors] == [
        ("marginal", -0.9),
        ("minimal", -1.7),
        ("moderate", -2.3),
        ("substantial", -4.0),
    ]
    assert sleep.anchors_reference == "pregabalin_dsi_pooled"
    assert "pregabalin" in sleep.anchors_basis


@pytest.mark.parametrize(
    "code", ["tcss", "mnsi_exam", "mnsi_questionnaire", "nds", "sural_snap", "sural_scv",
             "peroneal_mcv", "norfolk_qol"],
)  # fmt: skip
def test_none_published_stays_none(code):
    inst = lookup(code)
    assert (inst.mcid_abs, inst.mcid_pct, inst.smallest_real_difference_pct) == (None, None, None)
    assert inst.anchors == ()
    assert inst.importance_text() == "none published"


def test_registry_table_shows_the_new_fields():
    table = registry_table().set_index("code")
    important = table["clinically important difference"]
    assert important["bpi_interference"] == "1 point"
    assert important["nis_ll"] == "2 points"
    assert important["vpt"] == (
        "none published; smallest real difference 25% (device-specific: Vibratron II)"
    )
    assert important["sleep_interference"].startswith("no single threshold; ")
    assert (
        "marginal (0% to <15%) −0.9, minimal (15% to <30%) −1.7" in important["sleep_interference"]
    )
    assert important["sleep_interference"].endswith("substantial (≥50%) −4 points")
    assert important["ntss6"].startswith("reported by the validation study")
    assert important["tcss"] == "none published"
    placebo = table["placebo-arm change"]
    assert placebo["nis_ll"] == "−0.63 points (2 trials, mild symptomatic DPN, over 1 year)"
    assert placebo["ntss6"] == "−3.73 points (2 trials, mild symptomatic DPN, over 1 year)"
    assert placebo["pain_nrs"].startswith("−1.54 points (21 trials")
    assert placebo["tcss"] == ""
    # an outcome not in the registry: nothing is claimed about it
    assert registry_table(["mystery"])["clinically important difference"].tolist() == [
        "not established"
    ]


def test_new_entries_are_continuous_sum_scores():
    assert {REGISTRY[c].scale for c in ("bpi_interference", "nis_ll", "ntss6")} == {"continuous"}


def test_direction_override_keeps_nested_fields():
    # A user's direction replaces only the direction: the placebo benchmark and the anchor
    # table stay objects (dataclasses.asdict turned them into dicts).
    pain = lookup("pain_nrs", "higher")
    assert pain.direction == "higher" and isinstance(pain.placebo, PlaceboBenchmark)
    sleep = lookup("sleep_interference", "higher")
    assert all(isinstance(a, Anchor) for a in sleep.anchors)


def test_positional_construction_still_works():
    inst = Instrument("x", "X (0–5)", "points", 0, 5, "lower", 1, None, "source")
    assert (inst.scale, inst.placebo, inst.anchors, inst.smallest_real_difference_pct) == (
        "ordinal",
        None,
        (),
        None,
    )


def test_every_reference_key_in_the_registry_exists():
    for inst in REGISTRY.values():
        placebo = inst.placebo.reference if inst.placebo else None
        keys = [inst.mcid_reference, inst.smallest_real_difference_reference,
                inst.anchors_reference, placebo]  # fmt: skip
        assert all(k in REFERENCES for k in keys if k is not None), inst.code
