"""Push-down on Spark (local mode, through Ibis's PySpark backend): the same numbers as the
in-memory path. Run by `make test-spark` (installs pyspark and a Java runtime); `make test`
leaves this folder out."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("no Java runtime: make test-spark installs one", allow_module_level=True)

from stats.test_pushdown import KEYS, assert_same, canonical_long, dirty_long

from analysis.cli import main
from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.stats import pushdown
from analysis.stats.arms import resolve_arms, summary_by_arm


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


def test_spark_summary_per_arm_equals_memory(demo, tmp_path):
    folder = tmp_path / "registry"
    folder.mkdir()
    canonical_long(demo).to_parquet(folder / "part-0.parquet")
    cohort = engine.describe(engine.open_source(f"spark+parquet:{folder}"))
    assert cohort.source.kind == "pyspark"
    assert cohort.visits == demo.visits
    design = pushdown.engine_arm_design(cohort)
    pushed = pushdown.pushdown_summary(cohort, design)
    memory, between = summary_by_arm(demo, resolve_arms(demo))
    assert_same(memory, pushed.summary, KEYS)
    assert_same(between, pushed.between, KEYS)


def test_spark_validates_a_dirty_table_as_memory(tmp_path):
    frame = dirty_long()
    loaded = load_frame(frame, "dirty").dataset
    frame.to_parquet(tmp_path / "dirty.parquet")
    cohort = engine.describe(engine.open_source(f"spark+parquet:{tmp_path / 'dirty.parquet'}"))
    codes = cohort.report.codes()
    for code in ("out_of_range", "duplicate_identical", "duplicate_conflicting"):
        assert code in codes
    assert "engine_fallback" in codes  # no bitwise OR on Spark: said, not hidden
    pushed = pushdown.pushdown_summary(cohort, pushdown.engine_arm_design(cohort))
    memory, _ = summary_by_arm(loaded, resolve_arms(loaded))
    pain = pushed.summary["outcome"] == "pain_nrs"
    assert_same(memory.loc[memory["outcome"] == "pain_nrs"], pushed.summary.loc[pain], KEYS)


def test_spark_cli_summary(demo, tmp_path, capsys):
    path = tmp_path / "demo.parquet"
    canonical_long(demo).to_parquet(path)
    assert main(["summary", f"spark+parquet:{path}", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["computed_in"]["engine"] == "pyspark"
    _, between = summary_by_arm(demo, resolve_arms(demo))
    assert len(payload["between_arms"]) == len(between) == 35


# The other pushed-down views on Spark, each against the in-memory path with the assertions its
# DuckDB/PostgreSQL tests use (tests/stats/test_pushdown_*.py).


@pytest.fixture(scope="module")
def spark_cohort(demo, tmp_path_factory):
    """The demo with every patient attribute on each row, as a Parquet folder read by Spark."""
    from stats.test_pushdown_table1 import long_with_attributes

    folder = tmp_path_factory.mktemp("spark") / "registry"
    folder.mkdir()
    long_with_attributes(demo).to_parquet(folder / "part-0.parquet")
    cohort = engine.describe(engine.open_source(f"spark+parquet:{folder}"))
    assert cohort.source.kind == "pyspark"
    return cohort


@pytest.fixture(scope="module")
def spark_arms(demo, tmp_path_factory):
    """The demo with only its arm on each row (the compare and responders tests' layout)."""
    folder = tmp_path_factory.mktemp("spark_arms") / "registry"
    folder.mkdir()
    canonical_long(demo).to_parquet(folder / "part-0.parquet")
    return engine.describe(engine.open_source(f"spark+parquet:{folder}"))


def test_spark_compare_by_arm_equals_memory(demo, spark_arms):
    from stats.test_pushdown_compare import assert_same_by_arm

    from analysis.stats.arms import compare_by_arm
    from analysis.stats.pushdown_compare import pushdown_compare

    design = pushdown.engine_arm_design(spark_arms)
    pushed = pushdown_compare(spark_arms, design, "pain_nrs", "baseline", "m6")
    assert_same_by_arm(compare_by_arm(demo, resolve_arms(demo), "pain_nrs", "baseline", "m6"),
                       pushed)  # fmt: skip


def test_spark_responders_per_arm_equal_memory(demo, spark_arms):
    from stats.test_pushdown_responders import assert_same_responders

    from analysis.stats.arms import responders_by_arm
    from analysis.stats.pushdown_responders import pushdown_responders

    design = pushdown.engine_arm_design(spark_arms)
    pushed = pushdown_responders(spark_arms, design, "pain_nrs", "m6")
    assert_same_responders(responders_by_arm(demo, resolve_arms(demo), "pain_nrs", "m6"), pushed)


def test_spark_table_one_equals_memory(demo, spark_cohort):
    from stats.test_pushdown_table1 import assert_same_table

    from analysis.stats.pushdown_table1 import pushdown_table_one
    from analysis.stats.table1 import table_one

    memory = table_one(demo, "arm", p_values=True)
    pushed = pushdown_table_one(spark_cohort, "arm", p_values=True, outcome_order=demo.outcomes)
    assert pushed.groups == memory.groups and pushed.left_out == {}
    assert_same_table(memory.table, pushed.table)


def test_spark_subgroups_and_forest_equal_memory(demo, spark_cohort):
    from stats.test_pushdown_subgroups import assert_same_comparison

    from analysis.stats.pushdown_subgroups import (
        pushdown_forest_table,
        pushdown_mean_change,
        pushdown_subgroups,
    )
    from analysis.stats.subgroups import compare_subgroups, forest_table, overall_mean_change

    memory = compare_subgroups(demo, "pain_nrs", "m6", "cell_source")
    assert_same_comparison(
        memory, pushdown_subgroups(spark_cohort, "pain_nrs", "m6", "cell_source")
    )
    key = ["attribute", "level"]
    forest = forest_table(demo, "pain_nrs", "m6").sort_values(key, ignore_index=True)
    pushed = pushdown_forest_table(spark_cohort, "pain_nrs", "m6").sort_values(
        key, ignore_index=True
    )
    assert forest["n"].tolist() == pushed["n"].tolist()
    assert forest["mean_change"].to_numpy() == pytest.approx(pushed["mean_change"].to_numpy(),
                                                             rel=1e-9)  # fmt: skip
    overall = pushdown_mean_change(spark_cohort, "pain_nrs", "m6").mean_change
    assert overall == pytest.approx(overall_mean_change(demo, "pain_nrs", "m6"), rel=1e-9)


def test_spark_spearman_equals_memory(demo, spark_cohort):
    from stats.test_pushdown_association import assert_same_association

    from analysis.stats.pushdown_association import pushdown_association
    from analysis.stats.subgroups import continuous_association

    cases = [("pain_nrs", "m6", "dose_million_cells"),
             ("peroneal_mcv", "m12", "diabetes_duration_years")]  # fmt: skip
    for outcome, visit, attribute in cases:
        memory = continuous_association(demo, outcome, visit, attribute)
        assert_same_association(
            memory, pushdown_association(spark_cohort, outcome, visit, attribute)
        )


def test_spark_patient_profile_equals_memory(demo, spark_cohort):
    from stats.test_pushdown_patient import assert_same_profile

    from analysis.stats.patient import patient_profile
    from analysis.stats.pushdown_patient import pushdown_patient_profile

    for patient_id in ("SYN-001", "SYN-016"):
        assert_same_profile(patient_profile(demo, patient_id),
                            pushdown_patient_profile(spark_cohort, patient_id))  # fmt: skip
