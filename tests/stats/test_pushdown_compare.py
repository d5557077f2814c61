"""Compare visits computed inside DuckDB and PostgreSQL equals compare_by_arm in memory: every
per-arm statistic (counts exactly, numbers to relative 1e-9, warnings and reasons as text) and
the between-arm Welch and ANCOVA rows; only aggregates leave the engine.

The in-memory path is checked against R elsewhere (test_paired.py, test_arms.py: t.test,
wilcox.test, lm). ANCOVA is held to relative 1e-9 too: the closed form (pooled within-arm slope)
and statsmodels' OLS solve the same least-squares problem; on these well-conditioned designs
(intercept, baseline within a 0-100 range, arm indicator) the two differ by rounding only,
measured at most 7e-14 relative here, four orders of magnitude inside the tolerance."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd
import pytest
from stats import test_pushdown
from stats.test_pushdown import assert_same, canonical_long, dirty_long, write_duckdb

from analysis.cli import _parser, per_arm_payload
from analysis.cli_engine import cmd_compare
from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.instruments import lookup
from analysis.present.estimand import change_estimand
from analysis.stats import pushdown
from analysis.stats.arms import ArmComparison, compare_by_arm, patients_with_baseline, resolve_arms
from analysis.stats.compare import compare_visits
from analysis.stats.pushdown_compare import NEED_ROWS, pushdown_compare

CASES = [
    ("pain_nrs", "baseline", "m6"),  # whole points: the registry's resolution
    ("pain_nrs", "m3", "m12"),  # a first visit other than the baseline
    ("hba1c", "baseline", "m12"),  # a 0.1 grid, with an MCID of 0.5
    ("vpt", "m1", "m6"),  # a 0.1 grid, neither visit the baseline
]
pg_table = test_pushdown.pg_table  # the PostgreSQL fixture: a demo table and a read-only role


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def duck(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "registry.duckdb"
    return engine.describe(engine.open_source(write_duckdb(canonical_long(demo), path), "outcomes"))


def assert_same_comparison(memory: dict, pushed: dict, skip: tuple[str, ...] = ()) -> None:
    """Comparison.to_dict() equal key by key: counts and text exactly, numbers to 1e-9."""
    assert list(memory) == list(pushed)
    for key, expected in memory.items():
        got = pushed[key]
        if key in skip:
            continue
        if isinstance(expected, float) or isinstance(got, float):
            assert expected is not None and got is not None, key
            assert math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-12), key
        else:
            assert expected == got, key


def assert_same_by_arm(memory: ArmComparison, pushed) -> None:
    assert list(pushed.per_arm) == list(memory.per_arm)
    for level, comparison in memory.per_arm.items():
        assert_same_comparison(comparison.to_dict(), pushed.per_arm[level].to_dict())
        assert pushed.per_arm[level].pairs.empty  # no patient's values left the database
    assert list(pushed.between.columns) == list(memory.between.columns)
    assert_same(memory.between, pushed.between, ["arm"])


@pytest.mark.parametrize(("outcome", "before", "after"), CASES)
def test_duckdb_compare_by_arm_equals_memory(demo, duck, outcome, before, after):
    design = pushdown.engine_arm_design(duck)
    assert design == resolve_arms(demo)
    pushed = pushdown_compare(duck, design, outcome, before, after)
    memory = compare_by_arm(demo, resolve_arms(demo), outcome, before, after)
    assert_same_by_arm(memory, pushed)
    assert pushed.exact_ranks and pushed.suppressed_arms == []
    # Every statistic is defined from aggregates on a grid, Shapiro-Wilk included.
    for comparison in pushed.per_arm.values():
        assert comparison.stats.shapiro_w is not None and comparison.stats.q3_after is not None


@pytest.mark.parametrize(("outcome", "before", "after"), CASES)
def test_postgresql_compare_by_arm_equals_memory(demo, pg_table, outcome, before, after):
    url, table, _ = pg_table
    cohort = engine.describe(engine.open_source(url, table))
    design = pushdown.engine_arm_design(cohort)
    pushed = pushdown_compare(cohort, design, outcome, before, after)
    memory = compare_by_arm(demo, resolve_arms(demo), outcome, before, after)
    assert_same_by_arm(memory, pushed)


def test_pooled_compare_equals_compare_visits(demo, duck):
    design = pushdown.engine_arm_design(duck, pooled=True)
    pushed = pushdown_compare(duck, design, "pain_nrs", "m3", "m12")
    assert list(pushed.per_arm) == [pushdown.NO_ARM] and pushed.between.empty
    memory = compare_visits(demo, "pain_nrs", "m3", "m12")
    assert_same_comparison(memory.to_dict(), pushed.per_arm[pushdown.NO_ARM].to_dict())


def test_off_grid_gives_moments_and_flags_the_rest(tmp_path):
    """score_x (thirds and sevenths) lies on no grid: moments, counts, Welch and ANCOVA equal
    memory; the rank statistics, medians and Shapiro-Wilk are None and marked undefined. The
    small pain_nrs arms of the same table (exact Wilcoxon, ties, zeros) equal memory fully."""
    frame = dirty_long()
    loaded = load_frame(frame, "dirty").dataset
    assert loaded is not None
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "d.duckdb")))
    design = pushdown.engine_arm_design(cohort)
    memory_design = resolve_arms(loaded)
    for before, after in (("Baseline", "Month 6"), ("month 3", "Month 6")):
        pain = pushdown_compare(cohort, design, "pain_nrs", before, after)
        assert_same_by_arm(compare_by_arm(loaded, memory_design, "pain_nrs", before, after), pain)
        pushed = pushdown_compare(cohort, design, "score_x", before, after)
        memory = compare_by_arm(loaded, memory_design, "score_x", before, after)
        assert not pushed.exact_ranks
        for level, comparison in memory.per_arm.items():
            stats = pushed.per_arm[level].stats
            assert all(getattr(stats, name) is None for name in NEED_ROWS)
            assert set(NEED_ROWS) <= set(stats.undefined)
            skip = ("undefined", "warnings", "recommended_test", "recommended_reason",
                    "p_value_recommended", *NEED_ROWS)  # fmt: skip
            assert_same_comparison(comparison.to_dict(), pushed.per_arm[level].to_dict(), skip=skip)
        assert_same(memory.between, pushed.between, ["arm"])


def test_small_arms_are_suppressed_in_the_engine(demo, duck):
    design = pushdown.engine_arm_design(duck)
    full = pushdown_compare(duck, design, "pain_nrs", "baseline", "m6")
    n_control = full.per_arm["standard care"].stats.n_pairs
    pushed = pushdown_compare(duck, design, "pain_nrs", "baseline", "m6", min_cell=n_control + 1)
    assert pushed.suppressed_arms == ["standard care"]
    assert list(pushed.per_arm) == ["MSC"] and pushed.between.empty
    assert_same_comparison(full.per_arm["MSC"].to_dict(), pushed.per_arm["MSC"].to_dict())
    kept = pushdown_compare(duck, design, "pain_nrs", "baseline", "m6", min_cell=n_control)
    assert kept.suppressed_arms == []


def test_unknown_outcome_or_visit_is_explained(duck):
    design = pushdown.engine_arm_design(duck)
    with pytest.raises(ValueError, match="Outcome 'pain' is not in the data"):
        pushdown_compare(duck, design, "pain", "baseline", "m6")
    with pytest.raises(ValueError, match="Visit 'm9' is not in the data"):
        pushdown_compare(duck, design, "pain_nrs", "baseline", "m9")
    with pytest.raises(ValueError, match="two different visits"):
        pushdown_compare(duck, design, "pain_nrs", "m6", "m6")


def _args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(["compare", *argv])


def test_cli_json_has_the_in_memory_keys_and_numbers(demo, duck, capsys):
    url = f"duckdb:///{duck.source.display.removeprefix('duckdb:')}"
    args = _args(url, "--table", "outcomes", "--outcome", "pain_nrs", "--before", "m3",
                 "--after", "m12", "--json")  # fmt: skip
    assert cmd_compare(args) == 0
    payload = json.loads(capsys.readouterr().out)
    design = resolve_arms(demo)
    by_arm = compare_by_arm(demo, design, "pain_nrs", "m3", "m12")
    counts = patients_with_baseline(demo, design, "pain_nrs")
    estimand = change_estimand(design, lookup("pain_nrs"), "m3", "m12", "", counts)
    expected = json.loads(
        json.dumps(per_arm_payload(design, estimand, by_arm.per_arm, by_arm.between))
    )
    assert list(payload) == [*expected, "computed_in"]
    assert payload["design"] == expected["design"] and payload["estimand"] == expected["estimand"]
    for got, want in zip(payload["arms"], expected["arms"], strict=True):
        assert_same_comparison(want, got)
    assert_same(pd.DataFrame(expected["between_arms"]), pd.DataFrame(payload["between_arms"]),
                ["arm"])  # fmt: skip
    assert payload["computed_in"]["rows_left_database"] is False
    assert payload["computed_in"]["engine"] == "duckdb"


def test_cli_text_names_the_arms_and_where_it_ran(duck, capsys):
    url = f"duckdb:///{duck.source.display.removeprefix('duckdb:')}"
    assert cmd_compare(_args(url, "--outcome", "hba1c", "--after", "m12")) == 0
    out = capsys.readouterr().out
    assert "=== arm: MSC ===" in out and "=== arm: standard care ===" in out
    assert "Shapiro-Wilk on changes: W = 0." in out  # from the histogram of changes
    assert "Computed inside duckdb: only aggregates left the database" in out


def test_more_than_shapiro_max_pairs_take_the_histogram_path(tmp_path):
    """6000 pairs: the rank statistics from summary's grid path equal paired_statistics."""
    rng = np.random.default_rng(3)
    n = 6000
    base = rng.integers(3, 11, n).astype(float)
    after = np.clip(base + rng.integers(-3, 2, n), 0, 10)
    rows = pd.DataFrame(
        {
            "patient_id": np.repeat([f"P{i}" for i in range(n)], 2),
            "visit": np.tile(["baseline", "m6"], n),
            "day": np.tile([0, 182], n),
            "outcome": "pain_nrs",
            "value": np.column_stack([base, after]).ravel(),
        }
    )
    cohort = engine.describe(engine.open_source(write_duckdb(rows, tmp_path / "big.duckdb")))
    design = pushdown.engine_arm_design(cohort)
    pushed = pushdown_compare(cohort, design, "pain_nrs", "baseline", "m6")
    loaded = load_frame(rows, "big").dataset
    assert loaded is not None
    memory = compare_visits(loaded, "pain_nrs", "baseline", "m6").to_dict()
    assert memory["shapiro_w"] is None and memory["hl_ci_low"] is not None
    assert_same_comparison(memory, pushed.per_arm[pushdown.NO_ARM].to_dict())
