"""Registry-scale behaviour that a user sees: past MAX_PATIENT_MARKS patients the charts send
densities, summary boxes and sampled waterfalls (and say so), patient pickers become a typed
ID. The sizes here are just past the threshold;
`make bench` measures 100,000 and 1,000,000 patients."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analysis.ingest.pipeline import load_frame
from analysis.present.figures import (
    MAX_PATIENT_MARKS,
    before_after_lines,
    change_histogram,
    visit_distributions,
)
from analysis.present.figures_followup import regression_to_mean, waterfall
from analysis.stats.compare import compare_visits
from analysis.stats.responders import responder_analysis
from bench.bench import synthetic_cohort

ROOT = Path(__file__).resolve().parents[2]
N = MAX_PATIENT_MARKS + 500


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("registry") / "registry.parquet"
    synthetic_cohort(N).to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def dataset(registry_file):
    return load_frame(synthetic_cohort(N), "registry").dataset


def _bytes(fig) -> int:
    return len(json.dumps(fig.to_plotly_json(), default=str))


def test_compare_charts_send_counts_not_patients(dataset):
    comparison = compare_visits(dataset, "pain_nrs", "baseline", "m12")
    n_pairs = len(comparison.pairs)
    assert n_pairs > MAX_PATIENT_MARKS
    lines = before_after_lines(comparison)
    assert lines.data[0].type == "heatmap"
    assert np.nansum(lines.data[0].z) == n_pairs  # every pair is counted in a cell
    assert "too many to draw one by one" in lines.layout.title.text
    boxes = visit_distributions(comparison)
    assert [t.type for t in boxes.data] == ["box", "box"]
    assert (
        boxes.data[0].y is None and boxes.data[0].median[0] == comparison.pairs["before"].median()
    )
    histogram = change_histogram(comparison)
    assert histogram.data[0].type == "bar" and histogram.data[0].y.sum() == n_pairs
    for fig in (lines, boxes, histogram):
        assert _bytes(fig) < 100_000


def test_waterfall_draws_a_thousand_evenly_spaced_patients(dataset):
    analysis = responder_analysis(dataset, "pain_nrs", "m12")
    fig = waterfall(analysis)
    changes = analysis.patients["pchg"].dropna().sort_values()
    assert len(fig.data[0].y) == 1000
    # Sorted from the largest increase to the largest decrease, the extremes kept.
    assert fig.data[0].y[0] == pytest.approx(changes.max())
    assert fig.data[0].y[-1] == pytest.approx(changes.min())
    assert f"n = {len(changes):,}" in fig.layout.title.text
    scatter = regression_to_mean(analysis)
    assert scatter.data[0].type == "heatmap" and _bytes(scatter) < 100_000


def test_pages_at_registry_scale(registry_file, monkeypatch):
    monkeypatch.setenv("OUTCOMES_DATA", str(registry_file))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert {m.label: m.value for m in at.metric}["Patients"] == str(N)
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert sum(len(chart.proto.spec) for chart in at.get("plotly_chart")) < 500_000
    titles = " ".join(spec["layout"]["title"]["text"] for spec in specs)
    assert "too many to draw one by one" in titles
    at.switch_page("pages/patient.py").run()
    assert "Type a patient ID above" in " ".join(i.value for i in at.info)
    at.text_input(key="patient_id").input("P000007").run()
    assert not at.exception
    assert at.query_params["patient"] == "P000007"
    assert "At the last follow-up visit" in [h.value for h in at.subheader]
    at.text_input(key="patient_id").input("nobody").run()
    assert "No patient nobody in this data" in " ".join(w.value for w in at.warning)
