"""The Patient page on a registry computed in its database: a typed ID is looked up in the engine
and only that patient's rows are read out (never every patient's: engine.fetch_rows is refused);
what the page shows is what patient_profile computes in memory on the same rows."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from stats.test_pushdown import canonical_long

from analysis.ingest.pipeline import load_frame
from analysis.stats import pushdown_patient
from analysis.stats.patient import patient_profile
from tests.ui.test_registry import _registry_app, refuse_rows, registry  # noqa: F401 (fixture)
from ui.safe import md


@pytest.fixture
def read_ids(monkeypatch) -> list[str]:
    """Every patient ID whose rows were read out of the database, in order."""
    seen: list[str] = []
    real = pushdown_patient.engine_patient

    def spy(cohort, patient_id, *args, **kwargs):
        found = real(cohort, patient_id, *args, **kwargs)
        seen.extend(sorted(set(found.rows["patient_id"])))
        return found

    monkeypatch.setattr(pushdown_patient, "engine_patient", spy)
    return seen


def _numbers(array) -> list[float]:
    """A plotly figure's array as numbers (plotly sends them base64-encoded)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def _patient_page(monkeypatch):
    at = _registry_app()
    refuse_rows(monkeypatch)
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    return at


def test_a_typed_id_shows_that_patient_only(registry, monkeypatch, read_ids):  # noqa: F811
    same_rows = load_frame(canonical_long(registry), "registry").dataset  # arm only, as stored
    expected = patient_profile(same_rows, "SYN-007")
    at = _patient_page(monkeypatch)
    assert "Type a patient ID above" in _texts(at.info)
    assert not at.get("plotly_chart") and read_ids == []
    at.text_input(key="registry_patient_id").input("  SYN-007 ").run()
    assert not at.exception
    assert read_ids == ["SYN-007"]
    attributes, status = at.dataframe[0].value, at.dataframe[1].value
    assert attributes.to_dict("records") == [{"attribute": "arm", "value": "MSC"}]
    # The status at the last follow-up, outcome by outcome, as memory computes it.
    shown = status.set_index("outcome")
    assert len(shown) == len(expected.status) == 10
    for row in expected.status.to_dict("records"):
        got = shown.loc[row["outcome"]]
        assert (got["status"], got["last visit"]) == (row["status"], row["last visit"])
        for column in ("baseline", "last value", "change", "% change"):
            assert got[column] == pytest.approx(row[column], rel=1e-9, nan_ok=True), column
    pain = shown.loc["Pain intensity (NRS 0–10)"]
    assert (pain["baseline"], pain["last visit"], pain["last value"]) == (5.0, "m3", 2.0)
    assert pain["status"] == "≥50% improvement, ≥2 points improvement"
    # The panels: one per outcome, the cohort median and the patient's own values.
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    # Panels in the registry's (alphabetical) order of outcomes: pain is the 5th of 10.
    panel = sorted(same_rows.outcomes).index("pain_nrs")
    assert panel == 4 and "Pain intensity" in figure["layout"]["annotations"][panel]["text"]
    patient = [t for t in figure["data"] if t.get("name") == "patient SYN-007"]
    median = [t for t in figure["data"] if t.get("name") == "cohort median"]
    assert len(patient) == len(median) == 10
    pain = expected.values.loc[expected.values["outcome"] == "pain_nrs"]
    assert _numbers(patient[panel]["y"]) == pain["value"].dropna().tolist() == [5.0, 4.0, 2.0]
    assert _numbers(median[panel]["y"]) == pytest.approx(pain["cohort_median"].tolist())
    captions = _texts(at.caption)
    assert md("Only this patient's rows were read from the database (25 values") in captions
    assert "No adverse events are shown for a registry" in captions
    assert at.get("download_button")
    assert at.query_params["patient"] == "SYN-007"


def test_an_unknown_id_is_explained(registry, monkeypatch, read_ids):  # noqa: F811
    at = _patient_page(monkeypatch)
    at.text_input(key="registry_patient_id").input("syn-007").run()
    assert not at.exception
    assert f"No patient {md('syn-007')} in this registry" in _texts(at.warning)
    assert "case-sensitive" in _texts(at.warning)
    assert not at.get("plotly_chart") and not at.dataframe and read_ids == []
    assert "patient" not in at.query_params
    # A known ID afterwards: shown, and kept in the link.
    at.text_input(key="registry_patient_id").input("SYN-042").run()
    assert not at.exception and not at.warning
    assert at.get("plotly_chart") and read_ids == ["SYN-042"]
    assert at.query_params["patient"] == "SYN-042"


def test_a_link_opens_the_patient(registry, monkeypatch, read_ids):  # noqa: F811
    at = _registry_app()
    refuse_rows(monkeypatch)
    at.query_params["patient"] = "SYN-042"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert at.text_input(key="registry_patient_id").value == "SYN-042"
    assert at.get("plotly_chart") and read_ids == ["SYN-042"]
    # Reruns (any widget) read nothing again: the patient is kept in this session.
    at.run()
    assert read_ids == ["SYN-042"]
