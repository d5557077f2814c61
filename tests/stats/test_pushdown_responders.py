"""Push-down of the per-arm responder analysis: DuckDB and PostgreSQL give what
analysis.stats.arms.responders_by_arm gives in memory (counts exactly, rates, Clopper-Pearson
and Newcombe intervals to relative 1e-9; the CIs are computed from the same integer counts).

The regression-to-the-mean fit comes from the engine's covar_samp / var_samp (one-pass, stable
updates) rather than numpy's two-pass np.cov: the two agree to a few ulps of the terms they are
built from, so r and the slope are checked to relative 1e-9, and the intercept (mean change
minus slope × mean baseline, which can cancel to near 0) to relative 1e-9 or 1e-12 of the
larger of those two terms. The in-memory path is itself checked against R elsewhere
(tests/stats/test_arms.py); here the claim is equality with it."""

from __future__ import annotations

import argparse
import io
import json
import math
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from stats import test_pushdown as base
from stats.test_pushdown import assert_same, canonical_long, write_duckdb

from analysis import cli
from analysis.cli_engine import cmd_responders
from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.instruments import REGISTRY, lookup
from analysis.present.estimand import responder_estimand
from analysis.stats import pushdown
from analysis.stats.arms import ArmResponders, patients_with_baseline, resolve_arms
from analysis.stats.arms import responders_by_arm as memory_by_arm
from analysis.stats.pushdown_responders import (
    PATIENT_COLUMNS,
    pushdown_responders,
    responders_expression,
)
from analysis.stats.responders import responder_analysis

pg_table = base.pg_table  # the PostgreSQL fixture (skips without OUTCOMES_TEST_PG_URL)

# Lower is better (pain, 0-10, MCID 2 points); higher is better (monofilament, 0-10 sites);
# a 0.1 grid with a baseline of 0 (sural SNAP, higher is better); a scale reaching below 0
# (Norfolk QOL-DN; the demo has no negative baseline, small_trial has).
CASES = [("pain_nrs", "m6"), ("monofilament", "m12"), ("sural_snap", "m6"), ("norfolk_qol", "m6")]
COUNTS = ["n_itt", "n_evaluable", "n_zero_baseline", "n_negative_baseline"]


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def duck_url(demo, tmp_path_factory):
    return write_duckdb(canonical_long(demo), tmp_path_factory.mktemp("r") / "registry.duckdb")


@pytest.fixture(scope="module")
def duck(duck_url):
    return engine.describe(engine.open_source(duck_url, "outcomes"))


def assert_close(a: float | None, b: float | None, scale: float = 0.0) -> None:
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale), (a, b)


def assert_same_records(mine: list[dict], ref: list[dict]) -> None:
    """JSON records equal: integers and text exactly, other numbers to relative 1e-9."""
    assert len(mine) == len(ref) > 0
    for a, b in zip(mine, ref, strict=True):
        assert a.keys() == b.keys()
        for key, value in b.items():
            if isinstance(value, float):
                assert_close(a[key], value)
            else:
                assert a[key] == value, key


def assert_same_responders(memory: ArmResponders, pushed: ArmResponders) -> None:
    """Every arm's counts, rates, CIs and fit, and the between-arm table, as in memory."""
    assert list(pushed.per_arm) == list(memory.per_arm)
    for level, mine in pushed.per_arm.items():
        ref = memory.per_arm[level]
        assert [getattr(mine, c) for c in COUNTS] == [getattr(ref, c) for c in COUNTS], level
        assert mine.instrument == ref.instrument and (mine.outcome, mine.visit) == (
            ref.outcome,
            ref.visit,
        )
        assert mine.rates["responders"].tolist() == ref.rates["responders"].tolist()
        assert_same(ref.rates, mine.rates, ["threshold"])
        assert_close(mine.mean_change, ref.mean_change)
        assert_close(mine.rtm_r, ref.rtm_r)
        assert_close(mine.rtm_slope, ref.rtm_slope)
        evaluable = ref.patients.loc[ref.patients["value"].notna()]
        scale = max(abs(evaluable["chg"].mean()), abs(evaluable["base"].mean()))
        assert_close(mine.rtm_intercept, ref.rtm_intercept, scale * max(1, abs(ref.rtm_slope or 0)))
        assert mine.patients.empty and list(mine.patients.columns) == list(ref.patients.columns), (
            "patients: the columns of memory, no rows"
        )
        left, right = ref.to_dict(), mine.to_dict()
        assert_close(right.pop("regression_to_mean_r"), left.pop("regression_to_mean_r"))
        rates, ref_rates = right.pop("rates"), left.pop("rates")
        assert right == left
        assert_same_records(rates, ref_rates)
    if memory.between.empty:
        assert pushed.between.empty
        return
    assert_same(memory.between, pushed.between, ["arm", "threshold"])
    counts = ["responders_arm", "n_arm", "responders_comparator", "n_comparator"]
    assert pushed.between[counts].equals(memory.between[counts])


@pytest.mark.parametrize(("outcome", "visit"), CASES)
def test_duckdb_responders_per_arm_equal_memory(demo, duck, outcome, visit):
    design = pushdown.engine_arm_design(duck)
    assert design == resolve_arms(demo) and design.has_arms
    pushed = pushdown_responders(duck, design, outcome, visit)
    assert pushed.n_suppressed == 0 and pushed.min_cell == 0
    assert_same_responders(memory_by_arm(demo, resolve_arms(demo), outcome, visit), pushed)


def test_the_cases_reach_a_zero_baseline(duck):
    """Monofilament and sural SNAP have baselines of 0 with follow-up (percent undefined)."""
    design = pushdown.engine_arm_design(duck)
    for outcome, visit in CASES[1:3]:
        arms = pushdown_responders(duck, design, outcome, visit).per_arm.values()
        assert sum(analysis.n_zero_baseline for analysis in arms) > 0, outcome


def test_one_query_and_only_aggregates(duck):
    """One row per arm leaves the engine: counts and moments, never a patient's value."""
    design = pushdown.engine_arm_design(duck)
    frame = responders_expression(duck, design, "pain_nrs", "m6", lookup("pain_nrs")).to_pandas()
    assert sorted(frame["arm"]) == sorted(design.levels)
    assert "patient_id" not in frame.columns and "before" not in frame.columns


def test_pooled_parquet_equals_responder_analysis(demo, tmp_path):
    long = canonical_long(demo).drop(columns="arm")
    folder = tmp_path / "registry"
    folder.mkdir()
    long.to_parquet(folder / "part-0.parquet")
    cohort = engine.describe(engine.open_source(f"parquet:{folder}"))
    design = pushdown.engine_arm_design(cohort)
    assert not design.has_arms
    pushed = pushdown_responders(cohort, design, "pain_nrs", "m6")
    memory = responder_analysis(demo, "pain_nrs", "m6")
    assert_same_responders(
        ArmResponders(design, {"all": memory}, pd.DataFrame()),
        ArmResponders(design, pushed.per_arm, pd.DataFrame()),
    )


def small_trial() -> pd.DataFrame:
    """Six MSC and four placebo patients; baselines of 0 (percent change undefined, yet a
    responder in points), a missing follow-up, and a 50% improvement exactly at the limit."""
    pain = {  # patient: (arm, baseline, m6 or None)
        "A1": ("MSC", 0, 0), "A2": ("MSC", 0, 3), "A3": ("MSC", 8, 4), "A4": ("MSC", 6, 4),
        "A5": ("MSC", 7, None), "A6": ("MSC", 10, 7), "B1": ("placebo", 5, 5),
        "B2": ("placebo", 0, 1), "B3": ("placebo", 9, 6), "B4": ("placebo", 4, 2),
    }  # fmt: skip
    rows = []
    for pid, (arm, before, after) in pain.items():
        rows.append((pid, "baseline", 0, "pain_nrs", float(before), arm))
        if after is not None:
            rows.append((pid, "m6", 182, "pain_nrs", float(after), arm))
        # Norfolk QOL-DN (-4 to 136, lower is better): baselines below 0.
        norfolk = (before - 1) * 3.0
        rows.append((pid, "baseline", 0, "norfolk_qol", norfolk, arm))
        rows.append((pid, "m6", 182, "norfolk_qol", norfolk - 4 if norfolk > 0 else 1.0, arm))
    return pd.DataFrame(rows, columns=["patient_id", "visit", "day", "outcome", "value", "arm"])


def test_zero_baseline_and_suppression_in_the_engine(tmp_path):
    frame = small_trial()
    loaded = load_frame(frame, "small").dataset
    assert loaded is not None
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "s.duckdb")))
    design = pushdown.engine_arm_design(cohort)
    assert design == resolve_arms(loaded) and design.comparator == "placebo"
    pushed = pushdown_responders(cohort, design, "pain_nrs", "m6")
    memory = memory_by_arm(loaded, resolve_arms(loaded), "pain_nrs", "m6")
    assert_same_responders(memory, pushed)
    norfolk = pushdown_responders(cohort, design, "norfolk_qol", "m6")
    assert_same_responders(
        memory_by_arm(loaded, resolve_arms(loaded), "norfolk_qol", "m6"), norfolk
    )
    assert norfolk.per_arm["MSC"].n_negative_baseline == 2
    assert norfolk.per_arm["placebo"].n_negative_baseline == 1
    msc = pushed.per_arm["MSC"]
    assert (msc.n_itt, msc.n_evaluable, msc.n_zero_baseline) == (6, 5, 2)
    assert msc.rates["n_completers"].tolist() == [3, 3, 5]  # percent undefined at baseline 0
    # Four placebo patients: a threshold of 5 drops that arm inside the engine.
    rows = responders_expression(cohort, design, "pain_nrs", "m6", lookup("pain_nrs"), 5)
    assert rows.to_pandas()["arm"].tolist() == ["MSC"]
    small = pushdown_responders(cohort, design, "pain_nrs", "m6", min_cell=5)
    assert small.n_suppressed == 1 and list(small.per_arm) == ["MSC"] and small.between.empty
    assert small.per_arm["MSC"].rates.equals(msc.rates)
    everything = pushdown_responders(cohort, design, "pain_nrs", "m6", min_cell=7)
    assert everything.n_suppressed == 2 and everything.per_arm == {}


def test_visits_and_outcomes_are_checked(duck):
    design = pushdown.engine_arm_design(duck)
    with pytest.raises(ValueError, match="follow-up visit"):
        pushdown_responders(duck, design, "pain_nrs", "baseline")
    with pytest.raises(ValueError, match="not in the data"):
        pushdown_responders(duck, design, "pain_nrs", "m99")
    with pytest.raises(ValueError, match="not in the data"):
        pushdown_responders(duck, design, "grip", "m6")
    assert PATIENT_COLUMNS == ["patient_id", "base", "value", "chg", "pchg", "improvement_pct",
                               "improvement_abs"]  # fmt: skip


def test_cli_json_has_the_keys_and_numbers_of_memory(demo, duck_url):
    args = argparse.Namespace(
        command="responders", file=duck_url, table="outcomes", outcome="pain_nrs",
        visit="M6", json=True, baseline=None, direction=None, arm=None, control=None,
        randomised=False, all_patients=False, in_database=True, query=None,
    )  # fmt: skip
    out = io.StringIO()
    with redirect_stdout(out):
        assert cmd_responders(args) == 0
    payload = json.loads(out.getvalue())
    design = resolve_arms(demo)
    by_arm = memory_by_arm(demo, design, "pain_nrs", "m6")
    counts = patients_with_baseline(demo, design, "pain_nrs")
    estimand = responder_estimand(design, lookup("pain_nrs"), "m6", "", counts)
    expected = json.loads(
        cli.strict_json(cli.per_arm_payload(design, estimand, by_arm.per_arm, by_arm.between))
    )
    assert set(payload) == {*expected, "computed_in"}
    assert payload["computed_in"]["rows_left_database"] is False
    assert payload["computed_in"]["small_cells_suppressed"] == 0
    assert payload["design"] == expected["design"]
    assert payload["estimand"] == expected["estimand"]
    assert_same_records(payload["between_arms"], expected["between_arms"])
    for mine, ref in zip(payload["arms"], expected["arms"], strict=True):
        assert_close(mine.pop("regression_to_mean_r"), ref.pop("regression_to_mean_r"))
        rates, ref_rates = mine.pop("rates"), ref.pop("rates")
        assert mine == ref
        assert_same_records(rates, ref_rates)
    assert [a["arm"] for a in payload["arms"]] == ["MSC", "standard care"]


def test_cli_text(duck_url, capsys):
    args = argparse.Namespace(
        file=duck_url, table="outcomes", outcome="pain_nrs",
        visit="m6", json=False, baseline=None, direction=None, arm=None, control=None,
        randomised=False, all_patients=False, query=None,
    )  # fmt: skip
    assert cmd_responders(args) == 0
    text = capsys.readouterr().out
    assert "=== arm: MSC ===" in text and "=== between arms" in text
    assert "0 arm(s) with fewer than 5 patients" in text


def threshold_literals() -> list[float]:
    """Every responder limit the registry can produce, as compared (limit - 1e-9)."""
    limits = {30.0, 50.0} | {i.mcid_abs for i in REGISTRY.values() if i.mcid_abs is not None}
    return sorted(limit - 1e-9 for limit in limits)


def test_threshold_literals_are_exact_in_duckdb():
    """The engine compares against exactly the double memory compares against."""
    import duckdb
    import ibis

    connection = duckdb.connect()
    for limit in threshold_literals():
        sql = ibis.to_sql(ibis.literal(limit, type="float64").name("x"), dialect="duckdb")
        (got,) = connection.execute(f"SELECT CAST(x AS DOUBLE) FROM ({sql})").fetchone()
        assert got == limit and np.nextafter(limit, -np.inf) < got


# ---- PostgreSQL (the server make test starts) --------------------------------------------------


@pytest.mark.parametrize(("outcome", "visit"), CASES)
def test_postgresql_responders_per_arm_equal_memory(demo, pg_table, outcome, visit):
    url, table, _ = pg_table
    cohort = engine.describe(engine.open_source(url, table))
    design = pushdown.engine_arm_design(cohort)
    pushed = pushdown_responders(cohort, design, outcome, visit)
    assert_same_responders(memory_by_arm(demo, resolve_arms(demo), outcome, visit), pushed)
    suppressed = pushdown_responders(cohort, design, outcome, visit, min_cell=43)
    assert suppressed.n_suppressed == 1 and list(suppressed.per_arm) == ["MSC"]
