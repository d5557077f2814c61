"""Push-down of subgroup comparisons: DuckDB and PostgreSQL give analysis.stats.subgroups'
compare_subgroups field for field (counts and text exactly, numbers to relative 1e-9) from
per-group sums and change counts; small groups are suppressed inside the engine. The in-memory
path is itself checked against R elsewhere; here the claim is equality with it."""

from __future__ import annotations

import argparse
import io
import json
import math
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from stats.test_pushdown_table1 import (  # noqa: F401 (pg_cohort: a fixture)
    long_with_attributes,
    pg_cohort,
    write_duckdb,
)

from analysis.cli_engine import cmd_subgroups
from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.stats import pushdown_subgroups as ps
from analysis.stats.pushdown_subgroups import (
    group_moments_expression,
    mean_change_expression,
    pushdown_forest_table,
    pushdown_mean_change,
    pushdown_subgroups,
)
from analysis.stats.subgroups import SubgroupComparison, compare_subgroups, forest_table
from analysis.stats.trajectory import change_summary

CASES = [
    ("pain_nrs", "m6", "arm", None),  # two groups (ties: normal approximation)
    ("pain_nrs", "m6", "arm", "standard care"),
    ("pain_nrs", "m6", "cell_source", None),  # three groups
    ("pain_nrs", "m6", "age_band", "<50"),  # four groups
    ("peroneal_mcv", "m12", "cell_source", None),  # on a 0.1 grid
    ("peroneal_mcv", "m3", "arm", None),  # not measured at m3: nobody to compare
    ("hba1c", "m6", "age_band", None),
]
GROUP_NUMBERS = ["mean_change", "sd", "ci_low", "ci_high", "median_change"]


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def duck(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("subgroups") / "registry.duckdb"
    return engine.describe(engine.open_source(write_duckdb(long_with_attributes(demo), path)))


def _same_value(a, b) -> bool:
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        if a is None or b is None:
            return a is b
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=1e-12, equal_nan=True))
    return (type(a) is type(b) and a == b) or (isinstance(a, tuple) and tuple(a) == tuple(b))


def assert_same_comparison(memory: SubgroupComparison, pushed: SubgroupComparison) -> None:
    """Every field equal; a suppressed group's numbers are NaN when pushed (never left)."""
    for name in ("outcome", "visit", "by", "reference", "suppressed", "reason"):
        assert getattr(memory, name) == getattr(pushed, name), name
    m, p = memory.groups, pushed.groups
    assert list(m.columns) == list(p.columns)
    if m.empty:  # nobody with both values: no groups, no tests
        assert p.empty and pushed.tests == {} and pushed.ancova.empty
        return
    assert m["group"].tolist() == p["group"].tolist()
    assert m["n"].tolist() == p["n"].tolist() and m["small"].tolist() == p["small"].tolist()
    shown = ~m["small"].to_numpy(bool)
    for column in GROUP_NUMBERS:
        a, b = m[column].to_numpy(float), p[column].to_numpy(float)
        assert np.allclose(a[shown], b[shown], rtol=1e-9, atol=1e-12, equal_nan=True), column
        assert np.isnan(b[~shown]).all(), column
    assert memory.tests.keys() == pushed.tests.keys()
    for test, entry in memory.tests.items():
        assert entry.keys() == pushed.tests[test].keys(), test
        for key, value in entry.items():
            assert _same_value(value, pushed.tests[test][key]), (test, key)
    assert list(memory.ancova.columns) == list(pushed.ancova.columns)
    assert len(memory.ancova) == len(pushed.ancova)
    for column in memory.ancova.columns:
        a, b = memory.ancova[column], pushed.ancova[column]
        if a.dtype.kind == "f":
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12), column
        else:
            assert a.tolist() == b.tolist(), column


@pytest.mark.parametrize(("outcome", "visit", "by", "reference"), CASES)
def test_duckdb_subgroups_equal_memory(demo, duck, outcome, visit, by, reference):
    memory = compare_subgroups(demo, outcome, visit, by, reference=reference)
    pushed = pushdown_subgroups(duck, outcome, visit, by, reference=reference)
    assert pushed.engine == "duckdb" and pushed.ranks_left_out == []
    assert_same_comparison(memory, pushed)
    assert ("welch" in pushed.tests) == (len(pushed.groups) == 2)


def test_small_groups_are_suppressed_in_the_engine(demo, duck):
    # peroneal_mcv at m12: the "<50" age band has 8 patients.
    memory = compare_subgroups(demo, "peroneal_mcv", "m12", "age_band", min_group=10)
    pushed = pushdown_subgroups(duck, "peroneal_mcv", "m12", "age_band", min_group=10)
    assert pushed.suppressed == memory.suppressed == ["<50"]
    assert_same_comparison(memory, pushed)
    # What leaves the engine for the small group: its size, nothing of its values.
    found = group_moments_expression(duck, "peroneal_mcv", "m12", "age_band", 10).to_pandas()
    small = found.loc[found["g"] == "<50"].iloc[0]
    assert int(small["n"]) == 8
    assert small.drop(["g", "n"]).isna().all()
    # Only one group large enough: not tested, as in memory.
    memory = compare_subgroups(demo, "pain_nrs", "m6", "arm", min_group=43)
    pushed = pushdown_subgroups(duck, "pain_nrs", "m6", "arm", min_group=43)
    assert pushed.suppressed == ["standard care"] and pushed.tests == {}
    assert_same_comparison(memory, pushed)


def _small_cohort(demo) -> pd.DataFrame:
    """40 patients, two arms of 20, distinct changes (no ties) and a missing sex for 6."""
    rng = np.random.default_rng(19)
    patients = demo.patients[:40]
    long = long_with_attributes(demo)
    long = long.loc[long["patient_id"].isin(patients) & long["outcome"].eq("peroneal_mcv")]
    long = long.loc[long["visit"].isin(["baseline", "m6"])].copy()
    arm = {p: ("MSC" if i % 2 else "standard care") for i, p in enumerate(patients)}
    long["arm"] = long["patient_id"].map(arm)
    base = long.loc[long["visit"] == "baseline"].set_index("patient_id")["value"]
    changes = dict(zip(patients, rng.permutation(np.arange(-30, 50))[:40] / 10, strict=True))
    at_m6 = long["visit"] == "m6"
    long.loc[at_m6, "value"] = [
        round(base[p] + changes[p], 1) for p in long.loc[at_m6, "patient_id"]
    ]
    long.loc[long["patient_id"].isin(patients[:6]), "sex"] = None
    return long.reset_index(drop=True)


def test_exact_mann_whitney_and_a_missing_group(demo, tmp_path):
    long = _small_cohort(demo)
    cohort = engine.describe(engine.open_source(write_duckdb(long, tmp_path / "small.duckdb")))
    loaded = load_frame(long, "small").dataset
    assert loaded is not None
    memory = compare_subgroups(loaded, "peroneal_mcv", "m6", "arm")
    pushed = pushdown_subgroups(cohort, "peroneal_mcv", "m6", "arm")
    assert pushed.tests["mann_whitney"]["method"] == "exact"
    assert pushed.tests["mann_whitney"]["ties"] is False
    assert_same_comparison(memory, pushed)
    memory = compare_subgroups(loaded, "peroneal_mcv", "m6", "sex")
    pushed = pushdown_subgroups(cohort, "peroneal_mcv", "m6", "sex")
    assert "(missing)" in pushed.groups["group"].tolist()
    assert_same_comparison(memory, pushed)


def test_too_many_distinct_changes_stay_in_the_engine(demo, duck, monkeypatch):
    monkeypatch.setattr(ps, "MAX_DISTINCT", 5)  # MSC has more distinct pain changes than 5
    memory = compare_subgroups(demo, "pain_nrs", "m6", "arm")
    pushed = pushdown_subgroups(duck, "pain_nrs", "m6", "arm")
    assert "MSC" in pushed.ranks_left_out
    groups = pushed.groups.set_index("group")
    assert math.isnan(groups.loc["MSC", "median_change"])
    assert math.isnan(pushed.tests["mann_whitney"]["p_value"])
    # The moments still come from the engine's sums: Welch, means and ANCOVA as in memory.
    for key in ("statistic", "df", "p_value", "difference", "ci_low", "ci_high"):
        assert np.isclose(memory.tests["welch"][key], pushed.tests["welch"][key], rtol=1e-9)
    assert np.allclose(
        memory.groups["mean_change"], pushed.groups["mean_change"], rtol=1e-9, atol=1e-12
    )
    assert np.allclose(memory.ancova["p_value"], pushed.ancova["p_value"], rtol=1e-9)


def test_forest_table_equals_memory(demo, duck):
    memory = forest_table(demo, "pain_nrs", "m6")
    pushed = pushdown_forest_table(duck, "pain_nrs", "m6")
    key = ["attribute", "level"]
    memory = memory.sort_values(key, ignore_index=True)
    pushed = pushed.sort_values(key, ignore_index=True)
    assert list(memory.columns) == list(pushed.columns)
    for column in memory.columns:
        a, b = memory[column], pushed[column]
        if a.dtype.kind == "f":
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True), column
        else:
            assert a.tolist() == b.tolist(), column


def assert_same_mean_change(demo, cohort, outcome: str) -> None:
    """Every follow-up visit: n and mean_change of change_summary (None where it has NaN)."""
    memory = change_summary(demo, outcome).set_index("visit")
    for visit in demo.follow_up_visits:
        pushed = pushdown_mean_change(cohort, outcome, visit)
        expected = memory.loc[visit]
        assert pushed.n == int(expected["n"]), visit
        if math.isnan(expected["mean_change"]):
            assert pushed.n == 0 and pushed.mean_change is None, visit
        else:
            assert pushed.mean_change == pytest.approx(expected["mean_change"], rel=1e-9), visit


@pytest.mark.parametrize("outcome", ["pain_nrs", "peroneal_mcv", "hba1c", "vpt", "tcss"])
def test_overall_mean_change_equals_change_summary(demo, duck, outcome):
    # The forest plot's line for every patient, as pages/explorer.py takes it from memory.
    assert_same_mean_change(demo, duck, outcome)


def test_overall_mean_change_is_suppressed_in_the_engine(duck):
    pushed = pushdown_mean_change(duck, "pain_nrs", "m6", min_group=117)  # 116 patients
    assert pushed.n == 116 and pushed.mean_change is None
    found = mean_change_expression(duck, "pain_nrs", "m6", 117).to_pandas()
    assert int(found["n"].iloc[0]) == 116 and found["sum_d"].isna().all()
    with pytest.raises(ValueError, match="follow-up visit"):
        pushdown_mean_change(duck, "pain_nrs", "baseline")


def test_unknown_names_are_refused(duck):
    with pytest.raises(ValueError, match="not in the data"):
        pushdown_subgroups(duck, "nope", "m6", "arm")
    with pytest.raises(ValueError, match="follow-up visit"):
        pushdown_subgroups(duck, "pain_nrs", "baseline", "arm")
    with pytest.raises(ValueError, match="categorical attribute"):
        pushdown_subgroups(duck, "pain_nrs", "m6", "dose_million_cells")


def test_cli_handler_prints_the_comparison_and_where_it_was_computed(demo, tmp_path):
    url = write_duckdb(long_with_attributes(demo), tmp_path / "c.duckdb")
    args = argparse.Namespace(file=url, table=None, outcome="pain_nrs", visit="m6", by="arm",
                              min_group=5, baseline=None, json=False)  # fmt: skip
    out = io.StringIO()
    with redirect_stdout(out):
        assert cmd_subgroups(args) == 0
    text = out.getvalue()
    assert "Welch's t-test" in text and "ANCOVA" in text and "Computed inside duckdb" in text
    args.json = True
    out = io.StringIO()
    with redirect_stdout(out):
        assert cmd_subgroups(args) == 0
    payload = json.loads(out.getvalue())
    assert payload["computed_in"]["rows_left_database"] is False
    assert payload["reference"] == "standard care"  # the control arm, as analysis.cli
    assert [g["group"] for g in payload["groups"]] == ["MSC", "standard care"]


# ---- PostgreSQL (the server make test starts; pg_cohort skips without it) -------------------


@pytest.mark.parametrize(("outcome", "visit", "by", "reference"), CASES[:1] + CASES[2:5])
def test_postgresql_subgroups_equal_memory(demo, pg_cohort, outcome, visit, by, reference):  # noqa: F811
    memory = compare_subgroups(demo, outcome, visit, by, reference=reference)
    pushed = pushdown_subgroups(pg_cohort, outcome, visit, by, reference=reference)
    assert pushed.engine == "postgres"
    assert_same_comparison(memory, pushed)


def test_postgresql_suppression(demo, pg_cohort):  # noqa: F811
    memory = compare_subgroups(demo, "peroneal_mcv", "m12", "age_band", min_group=10)
    pushed = pushdown_subgroups(pg_cohort, "peroneal_mcv", "m12", "age_band", min_group=10)
    assert pushed.suppressed == ["<50"]
    assert_same_comparison(memory, pushed)


def test_postgresql_overall_mean_change(demo, pg_cohort):  # noqa: F811
    assert_same_mean_change(demo, pg_cohort, "peroneal_mcv")
