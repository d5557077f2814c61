"""Cached analyses are keyed by everything that changes the dataset (issue: a switch of sheet
showed the first sheet's result). Each test changes one load option and checks the numbers."""

from pathlib import Path

import pandas as pd
from conftest import excel_bytes
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.sidebar.radio(key="source").set_value("Upload a file").run()
    at.sidebar.file_uploader(key="upload").set_value((name, data, "application/octet-stream"))
    return at.run()


def _scores(change: float) -> pd.DataFrame:
    rows = []
    for i in range(6):
        rows.append({"patient_id": f"P{i}", "visit": "baseline", "outcome": "pain_nrs", "value": 7})
        rows.append(
            {"patient_id": f"P{i}", "visit": "m6", "outcome": "pain_nrs", "value": 7 + change}
        )
    return pd.DataFrame(rows)


def _mean_change(at: AppTest) -> str:
    at.switch_page("pages/compare.py").run()
    return {m.label: m.value for m in at.metric}["Mean change"]


def test_switching_the_sheet_changes_the_cached_comparison():
    workbook = excel_bytes({"fall": _scores(-3), "rise": _scores(+3)})
    at = _upload(_app().run(), "two_sheets.xlsx", workbook)
    assert _mean_change(at) == "−3.0 points"
    sheet_box = next(s for s in at.sidebar.selectbox if s.label == "Sheet")
    sheet_box.set_value("rise").run()
    assert _mean_change(at) == "3.0 points"


def test_dropping_a_column_and_converting_dates_change_the_cache_key():
    frame = _scores(-2)
    frame["treated_on"] = "2024-01-10"
    frame["seen_on"] = ["2024-01-05", "2024-07-12"] * 6
    frame["email"] = "someone@example.org"
    at = _upload(_app().run(), "dates.csv", frame.to_csv(index=False).encode())
    assert at.sidebar.error, "identifiers must stop the load first"
    at.sidebar.button(key="drop_identifiers").click().run()
    assert _mean_change(at) == "−2.0 points"
    # the same bytes loaded with dates turned into days are another dataset, not a cache hit
    first = at.session_state["dataset"].fingerprint
    at.session_state["dates::" + at.session_state["source_sha256"][:16]] = True
    at.run()
    assert at.session_state["dataset"].fingerprint != first
