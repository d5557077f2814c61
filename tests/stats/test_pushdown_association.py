"""Push-down of change against a numeric attribute: DuckDB and PostgreSQL give
analysis.stats.subgroups.continuous_association's Spearman rho, p-value, method and n (numbers to
relative 1e-9, counts and text exactly) from rank sums formed in the engine; small cohorts are
suppressed there. The in-memory path is itself checked against R's cor.test elsewhere
(tests/stats/test_rank_tests.py); here the claim is equality with it."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from stats.test_pushdown import pg_reader_table
from stats.test_pushdown_subgroups import _small_cohort
from stats.test_pushdown_table1 import (  # noqa: F401 (pg_cohort: a fixture)
    long_with_attributes,
    pg_cohort,
    write_duckdb,
)

from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.stats import rank_tests as rt
from analysis.stats.pushdown_association import (
    bin_edges,
    numeric_attributes,
    pushdown_association,
    pushdown_change_bins,
    rank_sums_expression,
    rounded_change_expression,
)
from analysis.stats.subgroups import continuous_association

CASES = [
    ("pain_nrs", "m6", "dose_million_cells"),  # whole-number changes: many ties
    ("pain_nrs", "m12", "baseline_hba1c"),
    ("peroneal_mcv", "m12", "diabetes_duration_years"),  # 0.1 grid: float noise to round
    ("hba1c", "m6", "baseline_hba1c"),
    ("vpt", "m3", "dose_million_cells"),
]


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def duck(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("association") / "registry.duckdb"
    return engine.describe(engine.open_source(write_duckdb(long_with_attributes(demo), path)))


def _no_ties(demo) -> pd.DataFrame:
    """40 patients with distinct changes (_small_cohort) and a distinct, non-integer score."""
    long = _small_cohort(demo)
    patients = sorted(long["patient_id"].unique())
    scores = np.random.default_rng(7).permutation(len(patients)) * 0.7 + 10.3
    long["score"] = long["patient_id"].map(dict(zip(patients, scores, strict=True)))
    return long


def assert_same_association(memory, pushed) -> None:
    """rho and p to relative 1e-9; n, method and the ties flag exactly."""
    assert pushed.n == memory.n and not pushed.suppressed
    assert pushed.method == memory.method
    assert pushed.rho == pytest.approx(memory.rho, rel=1e-9, abs=1e-15)
    assert pushed.p_value == pytest.approx(memory.p_value, rel=1e-9, abs=1e-300)
    points = memory.points
    ties = rt.spearman(points["x"].to_numpy(dtype=float), points["chg"].to_numpy()).has_ties
    assert pushed.has_ties is ties


@pytest.mark.parametrize(("outcome", "visit", "attribute"), CASES)
def test_duckdb_spearman_equals_memory(demo, duck, outcome, visit, attribute):
    memory = continuous_association(demo, outcome, visit, attribute)
    pushed = pushdown_association(duck, outcome, visit, attribute)
    assert pushed.engine == "duckdb" and memory.rho is not None
    assert pushed.has_ties  # these outcomes are scores or on a 0.1 grid: t approximation
    assert pushed.method == rt.METHOD_SPEARMAN_T
    assert_same_association(memory, pushed)


def test_numeric_attributes_are_those_of_memory(duck):
    # attribute_kinds(demo)'s numeric ones; data_origin is constant, the rest are text.
    assert numeric_attributes(duck) == [
        "dose_million_cells", "diabetes_duration_years", "baseline_hba1c",
    ]  # fmt: skip


def test_without_ties_the_exact_p_methods_run(demo, tmp_path):
    long = _no_ties(demo)
    cohort = engine.describe(engine.open_source(write_duckdb(long, tmp_path / "n.duckdb")))
    loaded = load_frame(long, "no ties").dataset
    assert loaded is not None
    memory = continuous_association(loaded, "peroneal_mcv", "m6", "score")
    pushed = pushdown_association(cohort, "peroneal_mcv", "m6", "score")
    assert pushed.has_ties is False and pushed.method == rt.METHOD_SPEARMAN_EDGEWORTH
    assert_same_association(memory, pushed)
    # Eight patients: R's exact permutation distribution.
    visits = long.groupby("patient_id", observed=True)["visit"].nunique()
    few = long.loc[long["patient_id"].isin(visits.index[visits == 2][:8])]  # both visits
    cohort = engine.describe(engine.open_source(write_duckdb(few, tmp_path / "few.duckdb")))
    loaded = load_frame(few, "eight").dataset
    assert loaded is not None
    memory = continuous_association(loaded, "peroneal_mcv", "m6", "score")
    pushed = pushdown_association(cohort, "peroneal_mcv", "m6", "score")
    assert pushed.n == 8 and pushed.method == rt.METHOD_SPEARMAN_ENUMERATION
    assert_same_association(memory, pushed)


def test_changes_are_rounded_as_memory_rounds_them(demo, duck):
    # Unrounded, the engine would rank 2.1999999999999993 and 2.2 apart: ties broken, rho off.
    rows = duck.clean()
    rows = rows.filter(rows.outcome == "peroneal_mcv")
    base = rows.filter(rows.visit == "baseline").select("patient_id", b=rows.v)
    follow = rows.filter(rows.visit == "m12").select("patient_id", a=rows.v)
    pairs = follow.join(base, "patient_id")
    found = pairs.aggregate(
        raw=(pairs.a - pairs.b).nunique(),
        rounded=rounded_change_expression(pairs.a - pairs.b).nunique(),
    ).to_pandas()
    memory = continuous_association(demo, "peroneal_mcv", "m12", "baseline_hba1c")
    assert int(found["rounded"].iloc[0]) == memory.points["chg"].nunique()
    assert int(found["raw"].iloc[0]) > int(found["rounded"].iloc[0])


def _hard_changes() -> np.ndarray:
    """Doubles np.round(d, 12) must treat exactly: float noise of decimal inputs, exact halves
    at the 12th decimal (rounded to even), values past a BIGINT and past 2^53 at 1e12."""
    halves = [(k + 0.5) / 1e12 for k in range(-40, 40)]
    halves = [d for d in halves if d * 1e12 == math.floor(d * 1e12) + 0.5]
    assert len(halves) > 10  # numpy's multiply gives exact halves for these
    noise = [27.3 - 25.1, 2.2, 0.1 + 0.2, 0.3, -(27.3 - 25.1), 1 / 3, -2 / 3, 0.0, -0.0]
    large = [1e6 + 0.1, -3e6 - 0.123, 123456.789012345678, 9007.123456789012, 5e15, -1e20]
    rng = np.random.default_rng(3)
    return np.array([*halves, *noise, *large, *rng.normal(0, 100, 500)], dtype=float)


def _rounded_in(table) -> np.ndarray:
    found = table.select(i=table.i, r=rounded_change_expression(table.d)).to_pandas()
    return found.sort_values("i")["r"].to_numpy(dtype=float)


def test_rounding_in_duckdb_is_numpys():
    values = _hard_changes()
    frame = ibis.memtable(pd.DataFrame({"i": np.arange(len(values)), "d": values}))
    table = ibis.duckdb.connect().create_table("changes", frame)
    assert np.array_equal(_rounded_in(table), np.round(values, 12))


def test_suppressed_below_min_group(demo, duck):
    # pain at m6 with dose: 116 patients, so a threshold of 117 suppresses the whole analysis.
    pushed = pushdown_association(duck, "pain_nrs", "m6", "dose_million_cells", min_group=117)
    assert pushed.suppressed and pushed.n == 116
    assert pushed.rho is None and pushed.p_value is None and pushed.method is None
    # What left the engine: the number of patients, nothing of their ranks.
    found = rank_sums_expression(duck, "pain_nrs", "m6", "dose_million_cells", 117).to_pandas()
    assert int(found["n"].iloc[0]) == 116
    assert found.drop(columns="n").isna().all(axis=None)
    bins = pushdown_change_bins(duck, "pain_nrs", "m6", "dose_million_cells", min_group=117)
    assert bins.table.empty and "fewer than 117" in bins.reason


def test_undefined_when_the_change_does_not_vary(demo, tmp_path):
    long = _no_ties(demo).copy()
    base = long.loc[long["visit"] == "baseline"].set_index("patient_id")["value"]
    at_m6 = long["visit"] == "m6"
    long.loc[at_m6, "value"] = long.loc[at_m6, "patient_id"].map(base).to_numpy() + 1.0
    cohort = engine.describe(engine.open_source(write_duckdb(long, tmp_path / "flat.duckdb")))
    loaded = load_frame(long, "flat").dataset
    assert loaded is not None
    memory = continuous_association(loaded, "peroneal_mcv", "m6", "score")
    pushed = pushdown_association(cohort, "peroneal_mcv", "m6", "score")
    assert memory.rho is None and pushed.rho is None and pushed.n == memory.n
    assert pushed.reason == "the change is the same for every patient"


def test_unknown_names_are_refused(duck):
    with pytest.raises(ValueError, match="not in the data"):
        pushdown_association(duck, "nope", "m6", "baseline_hba1c")
    with pytest.raises(ValueError, match="follow-up visit"):
        pushdown_association(duck, "pain_nrs", "baseline", "baseline_hba1c")
    with pytest.raises(ValueError, match="numeric attribute"):
        pushdown_association(duck, "pain_nrs", "m6", "arm")


def memory_bins(association, min_group: int = 5) -> pd.DataFrame:
    """The binned mean change computed from memory's points with the same edges."""
    points = association.points
    x = points["x"].to_numpy(dtype=float)
    origin, width, count = bin_edges(float(x.min()), float(x.max()))
    index = np.clip(np.floor((x - origin) / width), 0, count - 1).astype(int)
    rows = []
    for i, part in points.groupby(index, sort=True, observed=True):
        n, mean, sd = len(part), part["chg"].mean(), part["chg"].std()
        low, high = stats.t.interval(0.95, n - 1, mean, sd / np.sqrt(n)) if n > 1 else (0, 0)
        edges = dict(low=origin + i * width, high=origin + (i + 1) * width)
        rows.append(edges | dict(n=n, mean_change=mean, ci_low=low, ci_high=high,
                                 small=n < min_group))  # fmt: skip
    return pd.DataFrame(rows)


def assert_same_bins(memory: pd.DataFrame, pushed: pd.DataFrame) -> None:
    assert list(memory.columns) == list(pushed.columns) and len(memory) == len(pushed) > 1
    assert memory["n"].tolist() == pushed["n"].tolist()
    assert memory["small"].tolist() == pushed["small"].tolist()
    assert np.array_equal(memory[["low", "high"]], pushed[["low", "high"]])
    shown = ~memory["small"].to_numpy(bool)
    for column in ("mean_change", "ci_low", "ci_high"):
        a, b = memory[column].to_numpy(float), pushed[column].to_numpy(float)
        assert np.allclose(a[shown], b[shown], rtol=1e-9, atol=1e-12), column
        assert np.isnan(b[~shown]).all(), column  # suppressed in the engine


def test_binned_change_equals_memory(demo, duck):
    memory = memory_bins(continuous_association(demo, "pain_nrs", "m6", "baseline_hba1c"))
    pushed = pushdown_change_bins(duck, "pain_nrs", "m6", "baseline_hba1c")
    assert pushed.width == 1.0 and pushed.digits == 0
    assert memory["small"].any()  # one patient above 11%: suppressed in the engine
    assert_same_bins(memory, pushed.table)


def test_bin_edges_are_round_numbers():
    assert bin_edges(5.3, 11.2) == (5.0, 1.0, 7)
    assert bin_edges(0.0, 100.0) == (0.0, 20.0, 5)  # 100 sits on the last bin's high edge
    origin, width, count = bin_edges(1.03, 1.41)
    assert (width, count) == (0.1, 5) and origin == pytest.approx(1.0)


# ---- PostgreSQL (the server make test starts; pg_cohort skips without it) -------------------


@pytest.mark.parametrize(("outcome", "visit", "attribute"), CASES[:3])
def test_postgresql_spearman_equals_memory(demo, pg_cohort, outcome, visit, attribute):  # noqa: F811
    memory = continuous_association(demo, outcome, visit, attribute)
    pushed = pushdown_association(pg_cohort, outcome, visit, attribute)
    assert pushed.engine == "postgres"
    assert_same_association(memory, pushed)
    if outcome == "pain_nrs" and visit == "m12":
        memory_table = memory_bins(memory)
        assert_same_bins(
            memory_table, pushdown_change_bins(pg_cohort, outcome, visit, attribute).table
        )


def test_postgresql_without_ties_and_suppressed(demo):
    long = _no_ties(demo)
    loaded = load_frame(long, "no ties").dataset
    assert loaded is not None
    with pg_reader_table(long, "noties") as (url, table, _):
        cohort = engine.describe(engine.open_source(url, table))
        memory = continuous_association(loaded, "peroneal_mcv", "m6", "score")
        pushed = pushdown_association(cohort, "peroneal_mcv", "m6", "score")
        assert pushed.method == rt.METHOD_SPEARMAN_EDGEWORTH
        assert_same_association(memory, pushed)
        small = pushdown_association(cohort, "peroneal_mcv", "m6", "score", min_group=memory.n + 1)
        assert small.suppressed and small.rho is None and small.n == memory.n


def test_rounding_in_postgresql_is_numpys():
    values = _hard_changes()
    frame = pd.DataFrame({"i": np.arange(len(values)), "d": values})
    with pg_reader_table(frame, "rounding") as (url, table, _):
        source = engine.open_source(url, table)
        assert np.array_equal(_rounded_in(source.table()), np.round(values, 12))
