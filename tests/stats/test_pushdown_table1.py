"""Push-down of Table 1: DuckDB and PostgreSQL give analysis.stats.table1.table_one's table cell
for cell (formatted cells exactly, SMD and p-values to relative 1e-9) from per-group value
counts; small groups are suppressed inside the engine. The in-memory path is itself checked
elsewhere; here the claim is equality with it."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from stats.test_pushdown import canonical_long, pg_reader_table, write_duckdb

from analysis.cli_engine import cmd_table1
from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.stats import pushdown_table1
from analysis.stats.pushdown_table1 import (
    ValueCounts,
    kruskal_from_counts,
    pushdown_table_one,
)
from analysis.stats.table1 import table_one

NUMBERS = ("SMD", "p-value")


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


def long_with_attributes(dataset) -> pd.DataFrame:
    """canonical_long with every patient attribute (not only arm) copied onto each row."""
    long = canonical_long(dataset).drop(columns="arm")
    attributes = dataset.attributes
    for column in attributes.columns:
        long[column] = long["patient_id"].map(attributes[column]).to_numpy()
    return long


@pytest.fixture(scope="module")
def duck_cohort(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("t1") / "registry.duckdb"
    return engine.describe(engine.open_source(write_duckdb(long_with_attributes(demo), path)))


def assert_same_table(memory: pd.DataFrame, pushed: pd.DataFrame) -> None:
    """Same columns and rows; text cells exactly, SMD and p-values to relative 1e-9."""
    assert list(memory.columns) == list(pushed.columns)
    assert len(memory) == len(pushed) > 1
    for column in memory.columns:
        if column in NUMBERS:
            a, b = memory[column].to_numpy(float), pushed[column].to_numpy(float)
            assert np.allclose(a, b, rtol=1e-9, atol=1e-300, equal_nan=True), column
        else:
            assert memory[column].tolist() == pushed[column].tolist(), column


@pytest.mark.parametrize("by", ["arm", "age_band", "sex", None])
@pytest.mark.parametrize("p_values", [False, True])
def test_duckdb_table_one_equals_memory(demo, duck_cohort, by, p_values):
    memory = table_one(demo, by, p_values=p_values)
    pushed = pushdown_table_one(duck_cohort, by, p_values=p_values, outcome_order=demo.outcomes)
    assert pushed.groups == memory.groups and pushed.suppressed == memory.suppressed == []
    assert pushed.left_out == {} and pushed.engine == "duckdb"
    assert_same_table(memory.table, pushed.table)


def test_default_outcome_order_gives_the_same_rows(demo, duck_cohort):
    memory = table_one(demo, "arm").table
    pushed = pushdown_table_one(duck_cohort, "arm").table
    key = ["variable", "level"]
    assert_same_table(
        memory.sort_values(key, ignore_index=True), pushed.sort_values(key, ignore_index=True)
    )


def test_small_groups_are_suppressed_in_the_engine(demo, duck_cohort):
    # 42 standard-care patients: a threshold of 43 suppresses that arm.
    memory = table_one(demo, "arm", p_values=True, min_group=43)
    pushed = pushdown_table_one(
        duck_cohort, "arm", p_values=True, min_group=43, outcome_order=demo.outcomes
    )
    assert pushed.suppressed == memory.suppressed == ["standard care"]
    assert_same_table(memory.table, pushed.table)
    assert pushed.table["SMD"].isna().all() and pushed.table["p-value"].isna().all()


def test_a_missing_group_and_missing_values(demo, tmp_path):
    long = long_with_attributes(demo)
    some = long["patient_id"].isin(demo.patients[:30])
    long.loc[some, "sex"] = None  # a "(missing)" group of 30
    long.loc[long["patient_id"].isin(demo.patients[20:40]), "baseline_hba1c"] = np.nan
    patient_rows = long.loc[long["patient_id"].isin(demo.patients[50:60])]
    long = long.drop(patient_rows.index[patient_rows["outcome"] == "vpt"])
    cohort = engine.describe(engine.open_source(write_duckdb(long, tmp_path / "m.duckdb")))
    loaded = load_frame(long, "missing").dataset
    assert loaded is not None
    for by in ("sex", "arm"):
        memory = table_one(loaded, by, p_values=True)
        pushed = pushdown_table_one(cohort, by, p_values=True, outcome_order=loaded.outcomes)
        assert_same_table(memory.table, pushed.table)


def test_a_suppressed_missing_group_equals_memory(demo, tmp_path):
    long = long_with_attributes(demo)
    long.loc[long["patient_id"].isin(demo.patients[:30]), "sex"] = None
    cohort = engine.describe(engine.open_source(write_duckdb(long, tmp_path / "s.duckdb")))
    loaded = load_frame(long, "suppressed").dataset
    assert loaded is not None
    memory = table_one(loaded, "sex", p_values=True, min_group=31)
    pushed = pushdown_table_one(
        cohort, "sex", p_values=True, min_group=31, outcome_order=loaded.outcomes
    )
    assert pushed.suppressed == memory.suppressed == ["(missing)"]
    assert_same_table(memory.table, pushed.table)


def test_varying_attributes_and_too_many_values_are_left_out(demo, tmp_path, monkeypatch):
    long = long_with_attributes(demo)
    first = long["patient_id"] == demo.patients[0]
    long.loc[first & (long["visit"] == "m6"), "age_band"] = "<50"  # 70+ on its other rows
    cohort = engine.describe(engine.open_source(write_duckdb(long, tmp_path / "v.duckdb")))
    monkeypatch.setattr(pushdown_table1, "MAX_DISTINCT", 30)  # baseline_hba1c has 45 values
    pushed = pushdown_table_one(cohort, "arm", outcome_order=demo.outcomes)
    assert "age_band" in pushed.left_out and "baseline_hba1c" in pushed.left_out
    table = pushed.table
    assert not table["variable"].str.startswith("age_band").any()
    hba1c = table.loc[table["variable"].str.startswith("baseline_hba1c")].iloc[0]
    assert hba1c["overall"] == "" and np.isnan(hba1c["SMD"])
    # Groups under the cap keep their cells: MSC has 42 distinct values, standard care 26.
    assert hba1c["MSC"] == "" and hba1c["standard care"] != ""
    memory = table_one(demo, "arm").table.set_index("variable")
    shown = table.set_index("variable")
    duration = "diabetes_duration_years, median [Q1,Q3]"
    assert shown.loc[duration, "overall"] == memory.loc[duration, "overall"]


def test_percentiles_and_ranks_from_counts_equal_numpy_and_scipy():
    from scipy import stats

    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 4, 7, 10, 101, 1000):
        x = np.round(rng.normal(10, 3, n), 1)
        values, counts = np.unique(x, return_counts=True)
        vc = ValueCounts(values, counts)
        assert list(vc.percentiles()) == list(np.percentile(x, [25, 50, 75]))
    samples = [rng.integers(0, 8, size) for size in (30, 41, 12)]
    parts = [ValueCounts(*np.unique(s, return_counts=True)) for s in samples]
    assert np.isclose(kruskal_from_counts(parts), stats.kruskal(*samples).pvalue, rtol=1e-9)


def test_cli_handler_prints_the_table_and_where_it_was_computed(demo, tmp_path):
    url = write_duckdb(long_with_attributes(demo), tmp_path / "c.duckdb")
    args = argparse.Namespace(file=url, table=None, by="arm", p_values=True, min_group=5,
                              csv=False, baseline=None, json=False)  # fmt: skip
    out = io.StringIO()
    with redirect_stdout(out):
        assert cmd_table1(args) == 0
    text = out.getvalue()
    assert "cell_source, n (%)" in text and "Computed inside duckdb" in text
    args.json = True
    out = io.StringIO()
    with redirect_stdout(out):
        assert cmd_table1(args) == 0
    payload = json.loads(out.getvalue())
    assert payload["computed_in"]["rows_left_database"] is False
    assert payload["groups"] == ["MSC", "standard care"]


# ---- PostgreSQL (the server make test starts) --------------------------------------------------


@pytest.fixture
def pg_cohort(demo):
    """The demo with its attributes in a PostgreSQL table, read by a read-only role (as
    test_pushdown.pg_table, whose table carries only the arm)."""
    with pg_reader_table(long_with_attributes(demo), "table1") as (url, table, _):
        yield engine.describe(engine.open_source(url, table))


@pytest.mark.parametrize("by", ["arm", None])
def test_postgresql_table_one_equals_memory(demo, pg_cohort, by):
    for p_values in (False, True):
        memory = table_one(demo, by, p_values=p_values)
        pushed = pushdown_table_one(pg_cohort, by, p_values=p_values, outcome_order=demo.outcomes)
        assert pushed.engine == "postgres"
        assert_same_table(memory.table, pushed.table)


def test_postgresql_suppression(demo, pg_cohort):
    memory = table_one(demo, "arm", p_values=True, min_group=43)
    pushed = pushdown_table_one(
        pg_cohort, "arm", p_values=True, min_group=43, outcome_order=demo.outcomes
    )
    assert pushed.suppressed == ["standard care"]
    assert_same_table(memory.table, pushed.table)
