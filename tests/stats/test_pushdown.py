"""Push-down: statistics computed inside DuckDB, Parquet (through DuckDB) and PostgreSQL equal
the in-memory path on the same data (relative 1e-9, counts exactly); only aggregates leave.

The in-memory path is itself checked against R (tests/stats/test_summary.py, test_paired.py,
test_rank_tests.py: wilcox.test, t.test); here the claim is equality with it."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.stats import pushdown
from analysis.stats.arms import resolve_arms, summary_by_arm
from analysis.stats.summary import SUMMARY_COLUMNS, cohort_summary

KEYS = ["arm", "outcome", "visit"]


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


def canonical_long(dataset) -> pd.DataFrame:
    """The demo's validated long table with its arm on every row (the layout pushed down)."""
    long = dataset.long[["patient_id", "visit", "day", "outcome", "value"]].copy()
    for column in ("patient_id", "visit", "outcome"):
        long[column] = long[column].astype(str)
    long["arm"] = long["patient_id"].map(dataset.attributes["arm"].astype(str))
    return long.reset_index(drop=True)


def write_duckdb(frame: pd.DataFrame, path) -> str:
    connection = duckdb.connect(str(path))
    connection.register("frame", frame)
    connection.execute("CREATE TABLE outcomes AS SELECT * FROM frame")
    connection.close()
    return f"duckdb:///{path}"


def assert_same(memory: pd.DataFrame, pushed: pd.DataFrame, keys: list[str]) -> None:
    """Every column equal: numbers to relative 1e-9, counts and text exactly."""
    assert len(memory) == len(pushed) > 0
    left = memory.set_index(keys).sort_index()
    right = pushed.set_index(keys).sort_index()
    assert list(left.index) == list(right.index)
    for column in left.columns:
        a, b = left[column], right[column]
        if column.startswith("n_") or column == "wilcoxon_n_zero":
            assert a.astype("Int64").equals(b.astype("Int64")), column
        elif a.dtype.kind in "fi" or str(a.dtype) == "Int64" or b.dtype.kind == "f":
            x, y = a.astype(float).to_numpy(), b.astype(float).to_numpy()
            assert np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True), column
        else:
            assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), column


def test_duckdb_summary_per_arm_equals_memory(demo, tmp_path):
    url = write_duckdb(canonical_long(demo), tmp_path / "registry.duckdb")
    cohort = engine.describe(engine.open_source(url, "outcomes"))
    assert cohort.visits == demo.visits and cohort.baseline == demo.baseline
    assert cohort.n_patients == demo.n_patients == 150
    design = pushdown.engine_arm_design(cohort)
    assert design == resolve_arms(demo)
    pushed = pushdown.pushdown_summary(cohort, design)
    memory, between = summary_by_arm(demo, resolve_arms(demo))
    assert_same(memory, pushed.summary, KEYS)
    assert_same(between, pushed.between, ["arm", "outcome", "visit"])
    # The demo's rank statistics are computed exactly for every outcome (all on a grid).
    assert pushed.outcomes_off_grid == []
    assert pushed.summary["wilcoxon_v"].notna().sum() == memory["wilcoxon_v"].notna().sum()


def test_parquet_folder_pooled_summary_equals_memory(demo, tmp_path):
    long = canonical_long(demo).drop(columns="arm")
    folder = tmp_path / "registry"
    folder.mkdir()
    half = len(long) // 2
    long.iloc[:half].to_parquet(folder / "part-0.parquet")
    long.iloc[half:].to_parquet(folder / "part-1.parquet")
    cohort = engine.describe(engine.open_source(f"parquet:{folder}"))
    design = pushdown.engine_arm_design(cohort)
    assert not design.has_arms
    pushed = pushdown.pushdown_summary(cohort, design)
    memory = cohort_summary(demo).assign(arm="")
    assert_same(memory, pushed.summary.assign(arm=""), KEYS)


def dirty_long() -> pd.DataFrame:
    """Repeated rows (identical and conflicting), out-of-range and missing values, labels that
    differ by case and spaces, an outcome off every grid, and 60 patients so that the large
    and the small (exact) Wilcoxon paths both run."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(60):
        pid = f"P{i:03d}"
        arm = "placebo" if i % 3 == 0 else "MSC"
        base = float(rng.integers(4, 10))
        for visit, day, drift in (("Baseline", 0, 0), ("month 3", 91, -1), ("Month 6 ", 182, -2)):
            label = "baseline " if (visit == "Baseline" and i % 7 == 3) else visit
            rows.append(
                (pid, label, day, "pain_nrs", max(0.0, base + drift + rng.integers(-2, 2)), arm)
            )
            rows.append((pid, label, day, "score_x", round(rng.normal(50, 10), 3) / 7, arm))
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "day", "outcome", "value", "arm"])
    frame.loc[4, "value"] = 14.0  # pain outside 0-10
    frame.loc[9, "value"] = np.nan
    repeat = frame.iloc[[12, 14]].copy()  # an identical copy and a conflicting one
    repeat.iloc[1, repeat.columns.get_loc("value")] += 1.0
    return pd.concat([frame, repeat], ignore_index=True)  # fmt: skip


def test_dirty_table_validated_in_engine_as_in_memory(tmp_path):
    frame = dirty_long()
    loaded = load_frame(frame, "dirty").dataset
    assert loaded is not None
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "d.duckdb")))
    codes = cohort.report.codes()
    for code in ("out_of_range", "duplicate_identical", "duplicate_conflicting"):
        assert code in codes and code in loaded.report.codes()
    assert cohort.visits == loaded.visits == ["Baseline", "month 3", "Month 6"]
    assert cohort.profiles["pain_nrs"].step == 1 and cohort.profiles["pain_nrs"].step_declared
    assert cohort.profiles["score_x"].step is None  # thirds and sevenths: no decimal grid
    design = pushdown.engine_arm_design(cohort)
    pushed = pushdown.pushdown_summary(cohort, design)
    memory, _ = summary_by_arm(loaded, resolve_arms(loaded))
    pain = pushed.summary["outcome"] == "pain_nrs"
    assert_same(memory.loc[memory["outcome"] == "pain_nrs"], pushed.summary.loc[pain], KEYS)
    # Off the grid: the moments agree; rank statistics are left to the one cell shown.
    off = pushed.summary.loc[~pain].set_index(KEYS).sort_index()
    on = memory.loc[memory["outcome"] == "score_x"].set_index(KEYS).sort_index()
    for column in ("n_pairs", "mean_before", "mean_after", "mean_change", "change_ci_low"):
        assert np.allclose(off[column].astype(float), on[column].astype(float), rtol=1e-9)
    assert off["wilcoxon_v"].isna().all() and on["wilcoxon_v"].notna().all()
    assert pushed.outcomes_off_grid == ["score_x"]


def test_small_cells_are_suppressed_in_the_engine(demo, tmp_path):
    cohort = engine.describe(
        engine.open_source(write_duckdb(canonical_long(demo), tmp_path / "r.duckdb"))
    )
    design = pushdown.engine_arm_design(cohort)
    full = pushdown.pushdown_summary(cohort, design)
    # 42 standard-care patients: a threshold of 43 removes every standard-care cell.
    pushed = pushdown.pushdown_summary(cohort, design, min_cell=43)
    kept = full.summary.loc[full.summary["n_pairs"] >= 43]
    assert pushed.n_suppressed == int((full.summary["n_pairs"] < 43).sum()) > 0
    assert len(pushed.summary) == len(kept)
    assert set(pushed.summary["arm"]) == {"MSC"}


def test_identifiers_are_refused_in_the_engine(demo, tmp_path):
    long = canonical_long(demo)
    long["contact"] = "clinic"
    long.loc[len(long) - 1, "contact"] = "ana.lopez@example.org"  # past the sampled rows? no:
    # the whole-table count finds it wherever it is
    url = write_duckdb(long, tmp_path / "phi.duckdb")
    with pytest.raises(engine.EngineError, match="contact"):
        engine.describe(engine.open_source(url))


def test_a_wide_table_is_explained(tmp_path):
    wide = pd.DataFrame({"patient_id": ["A", "B"], "pain_baseline": [7, 6], "pain_m6": [4, 5]})
    url = write_duckdb(wide, tmp_path / "wide.duckdb")
    with pytest.raises(engine.EngineError, match="long layout"):
        engine.describe(engine.open_source(url))


def test_unknown_files_and_tables_are_explained(tmp_path):
    with pytest.raises(engine.EngineError, match="no DuckDB file"):
        engine.open_source(f"duckdb:///{tmp_path}/none.duckdb")
    with pytest.raises(engine.EngineError, match="no Parquet"):
        engine.open_source(f"parquet:{tmp_path}/none")
    url = write_duckdb(pd.DataFrame({"a": [1]}), tmp_path / "one.duckdb")
    with pytest.raises(engine.EngineError, match="no table 'scores'; tables: outcomes"):
        engine.open_source(url, "scores")


# ---- PostgreSQL (the server make test starts) --------------------------------------------------


@contextmanager
def pg_reader_table(frame: pd.DataFrame, prefix: str):
    """``frame`` as a PostgreSQL table readable by a fresh least-privilege role (the server
    make test starts): yields (reader URL, table, admin URL); both are dropped afterwards."""
    url = os.environ.get("OUTCOMES_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server: make test starts one when PostgreSQL is installed")
    admin = sa.create_engine(url)
    suffix = uuid.uuid4().hex[:8]
    table, role, password = f"{prefix}_{suffix}", f"reader_{suffix}", uuid.uuid4().hex
    with admin.begin() as connection:
        frame.to_sql(table, connection, index=False)
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        connection.exec_driver_sql(f"GRANT SELECT ON {table} TO {role}")
    reader = sa.engine.make_url(url).set(drivername="postgresql", username=role, password=password)
    try:
        yield reader.render_as_string(hide_password=False), table, url
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


@pytest.fixture
def pg_table(demo):
    with pg_reader_table(canonical_long(demo), "outcomes") as created:
        yield created


def test_postgresql_summary_per_arm_equals_memory(demo, pg_table):
    url, table, _ = pg_table
    cohort = engine.describe(engine.open_source(url, table))
    design = pushdown.engine_arm_design(cohort)
    pushed = pushdown.pushdown_summary(cohort, design)
    memory, between = summary_by_arm(demo, resolve_arms(demo))
    assert_same(memory, pushed.summary, KEYS)
    assert_same(between, pushed.between, ["arm", "outcome", "visit"])


def test_postgresql_superuser_is_refused(pg_table):
    _, table, admin_url = pg_table
    with pytest.raises(Exception, match="superuser"):
        engine.open_source(admin_url.replace("+psycopg", ""), table)


def test_summary_columns_are_those_of_memory():
    assert pushdown.in_memory.SUMMARY_COLUMNS == SUMMARY_COLUMNS
