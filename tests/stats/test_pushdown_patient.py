"""The registry's Patient view: one patient's rows read out of DuckDB and PostgreSQL, the cohort's
median and quartiles computed inside them, equal to patient_profile in memory on the same data
(attributes and text exactly, counts exactly, numbers to relative 1e-9).

A database has no first appearance: the registry lists outcomes alphabetically, the file loader
in the order first seen, so rows are compared outcome by outcome. The status table's columns
follow the keys of its first row in both paths (a first outcome without follow-up puts
"status" before "last value"), so columns are compared by name."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from stats.test_pushdown import canonical_long, dirty_long, pg_reader_table, write_duckdb

from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.stats.patient import PatientProfile, patient_profile
from analysis.stats.pushdown_patient import (
    UnknownPatient,
    engine_cohort_bands,
    engine_patient,
    pushdown_patient_profile,
)
from analysis.stats.trajectory import visit_summary

# Patients covering every status the demo produces: improvement at m12, a last visit at m6 or
# m3, no baseline for some outcomes, a baseline only (SYN-016: no follow-up for any outcome,
# so its status table's columns come in another order), last visits differing by outcome.
PATIENTS = ["SYN-001", "SYN-002", "SYN-003", "SYN-007", "SYN-012", "SYN-016", "SYN-036",
            "SYN-066", "SYN-150"]  # fmt: skip


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def frame(demo) -> pd.DataFrame:
    """The demo's rows with every attribute on every row, plus a body-mass index with a value
    per patient: more levels than an attribute the engine validates (engine.MAX_LEVELS), so
    it is read from the raw table for the one patient."""
    long = canonical_long(demo).drop(columns="arm")
    attributes = demo.attributes.reset_index()
    attributes["bmi"] = np.round(np.linspace(21.0, 35.9, len(attributes)), 2)
    return long.merge(attributes, on="patient_id", how="left")


@pytest.fixture(scope="module")
def memory(frame):
    dataset = load_frame(frame, "registry").dataset
    assert dataset is not None
    return dataset


@pytest.fixture(scope="module")
def duck(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("patient") / "registry.duckdb"
    cohort = engine.describe(engine.open_source(write_duckdb(frame, path)))
    assert "bmi" in cohort.attributes and "bmi" not in cohort.attribute_levels
    return cohort


@pytest.fixture(scope="module")
def pg(frame):
    with pg_reader_table(frame, "patients") as (url, table, _):
        yield engine.describe(engine.open_source(url, table))


def by_outcome(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("outcome", kind="stable", ignore_index=True)


def assert_same_profile(memory: PatientProfile, pushed: PatientProfile) -> None:
    """Field by field: ID, attributes (values, types, order), values with the cohort's bands
    and the status table."""
    assert pushed.patient_id == memory.patient_id
    assert list(pushed.attributes) == list(memory.attributes)
    for name, expected in memory.attributes.items():
        got = pushed.attributes[name]
        assert type(got) is (float if isinstance(expected, float) else type(expected)), name
        assert got == expected, name
    assert list(pushed.values.columns) == list(memory.values.columns)
    pd.testing.assert_frame_equal(
        by_outcome(memory.values), by_outcome(pushed.values), rtol=1e-9, atol=0
    )
    assert sorted(pushed.status.columns) == sorted(memory.status.columns)
    pd.testing.assert_frame_equal(
        by_outcome(memory.status), by_outcome(pushed.status), rtol=1e-9, atol=0, check_like=True
    )


def assert_bands_equal_memory(dataset, bands: pd.DataFrame) -> None:
    """Every outcome × visit: n exactly, median and quartiles to relative 1e-9."""
    expected = pd.concat(
        [visit_summary(dataset, o).assign(outcome=o) for o in dataset.outcomes],
        ignore_index=True,
    ).astype({"visit": str})
    keys = ["outcome", "visit"]
    left = expected.set_index(keys).sort_index()
    right = bands.set_index(keys).sort_index()
    assert list(left.index) == list(right.index)
    assert left["n"].astype("int64").tolist() == right["n"].tolist()
    for column in ("median", "q1", "q3"):
        assert np.allclose(left[column], right[column], rtol=1e-9, atol=0), column


def test_duckdb_bands_equal_visit_summary(memory, duck):
    bands = engine_cohort_bands(duck)
    assert_bands_equal_memory(memory, bands)
    # In time order within each outcome, outcomes as the registry lists them.
    assert list(dict.fromkeys(bands["outcome"])) == duck.outcomes
    pain = bands.loc[bands["outcome"] == "pain_nrs"]
    assert pain["visit"].tolist() == ["baseline", "m1", "m3", "m6", "m12"]
    assert pain["n"].tolist() == [150, 143, 128, 116, 102]


def test_postgresql_bands_equal_visit_summary(memory, pg):
    assert_bands_equal_memory(memory, engine_cohort_bands(pg))


@pytest.mark.parametrize("patient_id", PATIENTS)
def test_duckdb_profile_equals_memory(memory, duck, patient_id):
    pushed = pushdown_patient_profile(duck, patient_id)
    assert_same_profile(patient_profile(memory, patient_id), pushed)


def test_postgresql_profile_equals_memory(memory, pg):
    bands = engine_cohort_bands(pg)
    for patient_id in PATIENTS:
        pushed = pushdown_patient_profile(pg, patient_id, bands)
        assert_same_profile(patient_profile(memory, patient_id), pushed)


def test_every_patient_equals_memory_with_bands_computed_once(memory, duck):
    bands = engine_cohort_bands(duck)
    for patient_id in memory.patients[::7]:
        pushed = pushdown_patient_profile(duck, patient_id, bands)
        assert_same_profile(patient_profile(memory, patient_id), pushed)


def test_only_that_patient_is_read(memory, duck):
    patient = engine_patient(duck, "SYN-002")
    rows = patient.rows
    assert set(rows["patient_id"]) == {"SYN-002"}
    expected = memory.long.loc[memory.long["patient_id"] == "SYN-002"]
    assert len(rows) == len(expected) == 34
    assert list(rows.columns[:5]) == ["patient_id", "visit", "day", "outcome", "value"]
    merged = rows.merge(
        expected.astype({"visit": str, "outcome": str}), on=["visit", "outcome"], how="outer"
    )
    assert (merged["value_x"] == merged["value_y"]).all()
    assert patient.attributes["bmi"] == pytest.approx(21.1, abs=1e-12)  # the second patient


@pytest.mark.parametrize(
    "typed", ["SYN-999", "syn-001", "SYN-00", "SYN-001 x", "x' OR '1'='1", "SYN-%"]
)
def test_unknown_ids_are_refused(memory, duck, typed):
    with pytest.raises(UnknownPatient, match="is not in the data"):
        pushdown_patient_profile(duck, typed)
    with pytest.raises(ValueError, match="is not in the data"):
        patient_profile(memory, typed)


def test_ids_are_text_matched_exactly(tmp_path):
    """Text IDs: '007' is not '7'; stored with surrounding spaces, they are stripped (as the
    file loader strips them), and a typed ID is stripped too. Numbers are IDs as text."""
    rows = []
    for pid, base in (("007", 8.0), ("7", 3.0), (" P9 ", 6.0), ("P10", 5.0)):
        for visit, drift in (("baseline", 0.0), ("m3", -1.0), ("m6", -2.0)):
            rows.append((pid, visit, "pain_nrs", base + drift, f" centre {pid.strip()[-1]} "))
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "outcome", "value", "centre"])
    dataset = load_frame(frame, "ids").dataset
    assert dataset is not None and dataset.patients == ["007", "7", "P9", "P10"]
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "ids.duckdb")))
    assert "patient_id" in cohort.padded
    for typed, expected in (("007", "007"), ("7", "7"), ("P9", "P9"), ("  P9", "P9")):
        pushed = pushdown_patient_profile(cohort, typed)
        assert_same_profile(patient_profile(dataset, expected), pushed)
    assert pushdown_patient_profile(cohort, "007").status["baseline"].tolist() == [8.0]
    assert pushdown_patient_profile(cohort, "7").status["baseline"].tolist() == [3.0]
    assert pushdown_patient_profile(cohort, "P9").attributes == {"centre": "centre 9"}
    for typed in ("07", "0007", "p9"):
        with pytest.raises(UnknownPatient):
            engine_patient(cohort, typed)

    numbers = frame.assign(patient_id=frame["patient_id"].map({"007": 7, "7": 8, " P9 ": 9,
                                                               "P10": 10}))  # fmt: skip
    loaded = load_frame(numbers, "numbers").dataset
    assert loaded is not None and loaded.patients == ["7", "8", "9", "10"]
    cohort = engine.describe(engine.open_source(write_duckdb(numbers, tmp_path / "n.duckdb")))
    assert_same_profile(patient_profile(loaded, "7"), pushdown_patient_profile(cohort, "7"))
    with pytest.raises(UnknownPatient):
        engine_patient(cohort, "007")


def test_an_attribute_differing_between_rows_shows_every_value(tmp_path):
    """A database has no row order: where the file loader keeps the first value recorded, the
    registry shows each value, sorted; missing and blank cells are left out."""
    rows = [("P1", "baseline", "pain_nrs", 6.0, "clinic B", 61.0, None),
            ("P1", "m6", "pain_nrs", 4.0, "clinic A", 61.0, "  "),
            ("P2", "baseline", "pain_nrs", 5.0, "clinic A", None, "x")]  # fmt: skip
    columns = ["patient_id", "visit", "outcome", "value", "centre", "weight", "note"]
    frame = pd.DataFrame(rows, columns=columns)
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "v.duckdb")))
    assert engine_patient(cohort, "P1").attributes == {"centre": "clinic A / clinic B",
                                                       "weight": 61.0}  # fmt: skip
    assert engine_patient(cohort, "P2").attributes == {"centre": "clinic A", "note": "x"}


def test_a_placeholder_id_past_the_cap_is_refused(tmp_path):
    rows = [("P1", "baseline", "pain_nrs", 6.0), ("P1", "m6", "pain_nrs", 4.0)]
    rows += [("unknown", v, o, 5.0) for v in ("baseline", "m6") for o in ("pain_nrs", "tcss")]
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "outcome", "value"])
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "cap.duckdb")))
    with pytest.raises(engine.EngineError, match="holds 4 rows in the registry, more than the 3"):
        engine_patient(cohort, "unknown", cap=3)
    assert len(engine_patient(cohort, "P1", cap=3).rows) == 2
    assert len(engine_patient(cohort, "unknown", cap=4).rows) == 4


def test_dirty_table_equals_memory(tmp_path):
    """Repeated rows (identical: one kept; conflicting: none used), an out-of-range and a
    missing value, visit labels differing by case and spaces, an outcome off every grid."""
    frame = dirty_long()
    dataset = load_frame(frame, "dirty").dataset
    assert dataset is not None
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "d.duckdb")))
    assert cohort.has_duplicates and cohort.profiles["score_x"].step is None
    bands = engine_cohort_bands(cohort)
    assert_bands_equal_memory(dataset, bands)
    for patient_id in dataset.patients:
        pushed = pushdown_patient_profile(cohort, patient_id, bands)
        assert_same_profile(patient_profile(dataset, patient_id), pushed)
    # P002's month-3 pain is held twice with different values: none used, in both paths.
    p002 = pushdown_patient_profile(cohort, "P002", bands).values.set_index(["outcome", "visit"])
    assert math.isnan(p002.loc[("pain_nrs", "month 3"), "value"])
    assert p002.loc[("pain_nrs", "Baseline"), "value"] == frame.loc[12, "value"]


def test_quantiles_of_small_cells_and_ties(tmp_path):
    """Cells of 1 to 9 values, with ties, negative and off-grid values: every rank the linear
    rule needs (r and r + 1, at each end of a tie) as np.percentile finds it."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(9):
        for j, visit in enumerate(("baseline", "m1", "m3", "m6", "m12", "m24", "m36", "m48")):
            if i <= j + 1:  # visit j holds j + 2 values (9 at most)
                value = float(rng.integers(-3, 3)) if j % 2 else float(rng.normal(0, 10)) / 3
                rows.append((f"Q{i}", visit, "score_y", value))
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "outcome", "value"])
    dataset = load_frame(frame, "small").dataset
    assert dataset is not None
    cohort = engine.describe(engine.open_source(write_duckdb(frame, tmp_path / "q.duckdb")))
    bands = engine_cohort_bands(cohort)
    assert_bands_equal_memory(dataset, bands)
    for row in bands.itertuples(index=False):
        values = frame.loc[frame["visit"] == row.visit, "value"].to_numpy()
        assert row.n == len(values)
        expected = np.percentile(values, [25, 50, 75])
        assert np.allclose([row.q1, row.median, row.q3], expected, rtol=1e-12, atol=1e-12)


def test_small_cells_keep_their_count_but_no_quantile(memory, duck):
    full = engine_cohort_bands(duck)
    smallest = int(full["n"].min())
    assert smallest == min(int(visit_summary(memory, o)["n"].min()) for o in memory.outcomes)
    bands = engine_cohort_bands(duck, min_cell=smallest + 1)
    small = bands["n"] < smallest + 1
    assert small.sum() == (full["n"] == smallest).sum() > 0
    assert bands.loc[small, ["median", "q1", "q3"]].isna().all().all()
    assert bands["n"].tolist() == full["n"].tolist()
    kept = ~small
    assert np.allclose(bands.loc[kept, "median"], full.loc[kept, "median"], rtol=0, atol=0)
    # The patient's own value stays at a suppressed visit; only the band is gone.
    profile = pushdown_patient_profile(duck, "SYN-001", bands)
    gone = profile.values.loc[profile.values["cohort_median"].isna()]
    assert len(gone) and gone["value"].notna().all() and (gone["cohort_n"] == smallest).all()
    assert not math.isnan(float(profile.values["cohort_median"].iloc[0]))
