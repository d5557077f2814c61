"""The provenance record that goes with every export."""

import datetime as dt
import importlib.metadata
import json
import platform
import tomllib
from pathlib import Path

import pytest

from analysis.ingest.pipeline import load_demo
from analysis.instruments import lookup
from analysis.present.estimand import change_estimand
from analysis.present.provenance import (
    NO_ESTIMAND,
    build_provenance,
    cohort_query,
    provenance_frame,
    provenance_json,
    provenance_lines,
    provenance_rows,
    software_version,
    stamp,
    with_time,
)
from analysis.stats.arms import patients_with_baseline, resolve_arms
from analysis.stats.cohort import CohortFilter, apply_filter, describe

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


def test_software_version_is_the_projects():
    with (ROOT / "pyproject.toml").open("rb") as handle:
        assert software_version() == tomllib.load(handle)["project"]["version"]


def test_every_item_the_issue_names(demo):
    cohort = CohortFilter({"arm": ("MSC",)}, {"baseline_hba1c": (7.0, 12.5)})
    shown = apply_filter(demo, cohort)
    design = resolve_arms(demo)
    estimand = change_estimand(
        design, lookup("pain_nrs"), "baseline", "m6", "the sentence",
        patients_with_baseline(demo, design, "pain_nrs"),
    )  # fmt: skip
    sentence = describe(cohort, shown.n_patients, demo.n_patients)
    record = build_provenance(
        shown,
        source_sha256="ab" * 32,
        cohort=cohort,
        cohort_sentence=sentence,
        design=design,
        estimand=estimand,
        table="pain at m6",
        created=dt.datetime(2026, 5, 4, 9, 30, 15, 123, tzinfo=dt.UTC),
    )
    assert record["source_name"] == demo.source_name
    assert record["source_sha256"] == "ab" * 32
    assert record["cohort_filter"] == sentence
    assert record["cohort_filter_query"] == "f.arm=MSC&r.baseline_hba1c=7..12.5"
    assert record["baseline_visit"] == "baseline"
    assert record["visits"] == demo.visits
    assert record["arm_attribute"] == "arm"
    assert record["comparator"] == "standard care"
    assert record["treated_arms"] == ["MSC"]
    assert record["estimand"] == estimand.to_dict()
    assert record["software"] == "dpn-msc-outcomes"
    assert record["software_version"] == software_version()
    assert record["created_utc"] == "2026-05-04T09:30:15Z"
    versions = record["versions"]
    assert versions["python"] == platform.python_version()
    for name in ("pandas", "numpy", "scipy", "statsmodels", "plotly"):
        assert versions[name] == importlib.metadata.version(name)
    json.loads(provenance_json(record))  # JSON-ready as it is


def test_rows_flatten_nested_entries_and_lists(demo):
    record = build_provenance(demo, design=resolve_arms(demo), created="2026-01-01T00:00:00Z")
    rows = dict(provenance_rows(record))
    assert rows["estimand"] == NO_ESTIMAND
    assert rows["visits"] == ", ".join(demo.visits)
    assert rows["randomised"] == "no"
    assert rows["versions.pandas"] == importlib.metadata.version("pandas")
    frame = provenance_frame(record)
    assert list(frame.columns) == ["key", "value"]
    assert "created_utc: 2026-01-01T00:00:00Z" in provenance_lines(record)


def test_unknown_items_are_said_to_be_unknown():
    record = build_provenance()
    assert record["source_sha256"] == "not available"
    assert record["cohort_filter"] == "no filter"
    assert record["cohort_filter_query"] == ""
    assert record["estimand"] == NO_ESTIMAND


def test_time_left_empty_is_filled_when_written():
    record = build_provenance(created="")
    assert record["created_utc"] == ""
    filled = with_time(record, dt.datetime(2026, 2, 3, 4, 5, 6))
    assert filled["created_utc"] == "2026-02-03T04:05:06Z"
    assert with_time(filled)["created_utc"] == "2026-02-03T04:05:06Z"  # kept once set
    assert stamp(dt.datetime(2026, 2, 3, 6, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == (
        "2026-02-03T04:05:06Z"
    )


def test_cohort_query_is_the_links():
    assert cohort_query(None) == ""
    assert cohort_query(CohortFilter({"cell_source": ("umbilical cord", "bone marrow")})) == (
        "f.cell_source=umbilical+cord&f.cell_source=bone+marrow"
    )
