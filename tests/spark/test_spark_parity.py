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
