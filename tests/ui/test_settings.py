"""Save and restore a view (ui/settings.py): the settings file round trip in the app, and the
message when the data loaded now is not the data the view was saved on."""

import hashlib
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis.ingest.pipeline import DEMO_PATH
from ui import settings
from ui.safe import md

ROOT = Path(__file__).resolve().parents[2]
FINGERPRINT = hashlib.sha256(DEMO_PATH.read_bytes()).hexdigest()
ARM_FILTER = f"flt::{FINGERPRINT[:16]}::arm"


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)


def _texts(elements) -> str:
    return "\n".join(e.value for e in elements)


@pytest.fixture
def saved(monkeypatch):
    """The settings files the app offers for download, in order."""
    files: list[bytes] = []
    real = settings.settings_json

    def spy(record):
        files.append(real(record))
        return files[-1]

    monkeypatch.setattr(settings, "settings_json", spy)
    return files


def _upload(at: AppTest, data: bytes) -> AppTest:
    uploader = next(u for u in at.sidebar.get("file_uploader") if "settings_upload" in u.key)
    uploader.set_value(("view.json", data, "application/json"))
    return at.run()


def _save(at: AppTest, saved: list[bytes]) -> bytes:
    at.button(key="settings_save").click().run()
    assert not at.exception
    assert any(b.proto.label == "Download the settings (JSON)" for b in at.get("download_button"))
    return saved[-1]


def test_save_then_restore_brings_the_view_back(saved):
    at = _app().run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_outcome").set_value("tcss").run()
    at.selectbox(key="cmp_after").set_value("m3").run()
    at.sidebar.multiselect(key=ARM_FILTER).set_value(["MSC"]).run()
    assert not at.exception
    data = _save(at, saved)
    record = json.loads(data)
    assert record["source_sha256"] == FINGERPRINT
    assert record["query_params"]["outcome"] == ["tcss"]
    assert record["query_params"]["after"] == ["m3"]
    assert record["query_params"]["f.arm"] == ["MSC"]
    assert record["software_version"]

    # Another view ...
    at.selectbox(key="cmp_outcome").set_value("pain_nrs").run()
    at.selectbox(key="cmp_after").set_value("m12").run()
    at.sidebar.multiselect(key=ARM_FILTER).set_value([]).run()
    assert at.selectbox(key="cmp_outcome").value == "pain_nrs"
    # ... and the saved one is back.
    at = _upload(at, data)
    assert not at.exception
    assert at.selectbox(key="cmp_outcome").value == "tcss"
    assert at.selectbox(key="cmp_after").value == "m3"
    assert at.sidebar.multiselect(key=ARM_FILTER).value == ["MSC"]
    assert "Showing 108 of 150 patients\\: arm MSC\\." in _texts(at.caption)
    assert "was restored" in _texts(at.success)
    assert at.query_params["outcome"] in (["tcss"], "tcss")


def test_a_view_saved_on_other_data_says_so(saved):
    at = _app().run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_outcome").set_value("tcss").run()
    record = json.loads(_save(at, saved))
    record["source_sha256"] = "0" * 64
    record["source_name"] = "clinic.csv"
    at.selectbox(key="cmp_outcome").set_value("pain_nrs").run()
    at = _upload(at, json.dumps(record).encode())
    assert not at.exception
    message = _texts(at.warning)
    assert md("These settings were saved on other data: clinic.csv (fingerprint 000000000000)") in (
        message
    )
    assert FINGERPRINT[:12] in message
    assert at.selectbox(key="cmp_outcome").value == "tcss"  # restored as far as it fits


def test_a_file_that_is_not_a_settings_file_is_refused():
    at = _app().run()
    at = _upload(at, b'{"hello": 1}')
    assert not at.exception
    assert "This file cannot restore a view" in _texts(at.error)


def test_parse_settings_checks_the_shape():
    good = settings.settings_record({"outcome": ["tcss"]}, source_sha256="a", source_name="x")
    assert settings.parse_settings(settings.settings_json(good))["query_params"] == {
        "outcome": ["tcss"]
    }
    for bad in (b"not json", b"[]", json.dumps({**good, "query_params": {"a": 1}}).encode()):
        with pytest.raises(ValueError):
            settings.parse_settings(bad)
    assert settings.mismatch_message(good, "a") is None
    assert "saved on other data" in settings.mismatch_message(good, "b")
