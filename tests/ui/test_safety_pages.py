"""The Safety and Time to response pages as a user sees them (AppTest), and their command-line
subcommands giving the same numbers."""

import argparse
import json
from pathlib import Path

import pytest
from conftest import WIDE_CSV
from streamlit.testing.v1 import AppTest

from analysis import cli_safety
from analysis.ingest.adverse_events import DEMO_AE_PATH, load_demo_adverse_events
from analysis.ingest.pipeline import DEMO_PATH, load_demo
from analysis.stats.adverse_events import safety_tables
from analysis.stats.arms import resolve_arms
from analysis.stats.time_to_event import time_to_event

ROOT = Path(__file__).resolve().parents[2]


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)


def _page(path: str) -> AppTest:
    at = _app().run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def _frame(at, column: str):
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a column {column!r}")


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, standard output, standard error) of a subcommand, as analysis.cli runs it."""
    parser = argparse.ArgumentParser(prog="python -m analysis")
    cli_safety.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = cli_safety.HANDLERS[args.command](args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def demo_tables():
    dataset = load_demo().dataset
    ae = load_demo_adverse_events(dataset.patients).table
    return safety_tables(dataset, resolve_arms(dataset), ae)


def test_safety_page_shows_the_tables_per_arm_on_the_demo(demo_tables, capsys):
    at = _page("pages/safety.py")
    assert at.title[0].value == "Safety"
    assert at.radio(key="ae_source").value == "Demo adverse events (synthetic)"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "MSC: patients at risk": str(demo_tables.n_at_risk["MSC"]),
        "standard care: patients at risk": str(demo_tables.n_at_risk["standard care"]),
        "Adverse events counted": str(len(demo_tables.events)),
    }
    summary = _frame(at, "MSC (N=108)")
    assert summary.iloc[0][""] == "Any adverse event"
    msc_any = demo_tables.summary.iloc[0]
    assert summary.iloc[0]["MSC (N=108)"].startswith(f"{msc_any['patients']} (")
    assert "<5" in set(summary["standard care (N=42)"])  # small cells suppressed
    special = _frame(at, "terms matched")
    assert special["event of special interest"].tolist()[:2] == [
        "Fever",
        "Injection- or administration-site reaction",
    ]
    assert "Pyrexia" in special.iloc[0]["terms matched"]
    assert any("body system" in e.value.columns for e in at.dataframe)
    assert any("maximum grade" in e.value.columns for e in at.dataframe)
    # The command line prints the same counts.
    code, out, _ = _cli(
        ["safety", str(DEMO_PATH), "--ae", str(DEMO_AE_PATH), "--json", "--show-small"], capsys
    )
    assert code == 0
    record = json.loads(out)
    assert record["patients_at_risk"] == demo_tables.n_at_risk
    assert record["summary"][0]["patients"] == msc_any["patients"]
    # Showing small groups lifts the suppression on the page.
    at.toggle(key="show_small").set_value(True).run()
    shown = _frame(at, "MSC (N=108)")
    assert "<5" not in set(shown["standard care (N=42)"])


def test_an_uploaded_ae_file_with_a_name_in_a_term_is_refused_with_its_row():
    at = _page("pages/safety.py")
    at.radio(key="ae_source").set_value("Upload an adverse-event file").run()
    text = (
        "patient_id,term,start_day,grade\n"
        "SYN-001,Pyrexia,1,1\n"
        "SYN-002,Fever after visit from Mr Smith,2,1\n"
    )
    at.file_uploader(key="ae_upload").set_value(("ae.csv", text.encode(), "text/csv")).run()
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "row 3" in errors and "term" in errors
    assert not at.metric  # no tables


def test_an_uploaded_ae_file_with_unknown_patients_loads_with_located_warnings():
    at = _page("pages/safety.py")
    at.radio(key="ae_source").set_value("Upload an adverse-event file").run()
    text = (
        "patient_id,term,start_day,end_day,severity,serious,related\n"
        "SYN-001,Pyrexia,1,2,mild,no,cells\n"
        "SYN-001,Pyrexia,2,3,mild,no,cells\n"
        "NOBODY,Headache,5,6,mild,no,not related\n"
        "SYN-005,Nausea,5,6,,no,not related\n"
    )
    at.file_uploader(key="ae_upload").set_value(("ae.csv", text.encode(), "text/csv")).run()
    assert not at.exception
    warnings = "\n".join(w.value for w in at.warning)
    assert "NOBODY" in warnings and "row 4" in warnings
    assert "overlap" in warnings and "no severity" in warnings
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Adverse events counted"] == "3"


def test_time_to_response_page_on_the_demo(capsys):
    at = _page("pages/time_to_response.py")
    assert at.title[0].value == "Time to response"
    dataset = load_demo().dataset
    expected = time_to_event(dataset, "pain_nrs", "30%", resolve_arms(dataset))
    medians = expected.medians.set_index("arm")["median"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["MSC: median days to first response"] == f"{medians['MSC']:.0f}"
    assert len(at.get("plotly_chart")) == 1
    assert any("rank test between arms" in m.value for m in at.markdown)
    assert any("hazard ratio" in e.value.columns for e in at.dataframe)
    assert any("interval" in i.value for i in at.info)  # the interval-censoring note
    code, out, _ = _cli(
        ["time-to-response", str(DEMO_PATH), "--outcome", "pain_nrs", "--threshold", "30%",
         "--arm", "arm", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    record = json.loads(out)
    assert record["medians"][0]["median"] == pytest.approx(medians["MSC"])
    at.radio(key="ttr_endpoint").set_value("Time to loss of response").run()
    assert not at.exception
    assert any("loss of response" in m.label for m in at.metric)


def test_time_to_response_page_on_a_file_without_days():
    at = _app().run()
    at.sidebar.radio(key="source").set_value("Upload a file").run()
    at.sidebar.file_uploader(key="upload").set_value(("wide.csv", WIDE_CSV.encode(), "text/csv"))
    at.run()
    at.switch_page("pages/time_to_response.py").run()
    assert not at.exception
    captions = "\n".join(c.value for c in at.caption)
    assert "nominal visit times" in captions
    label = "all patients: median days to first response"
    assert {m.label: m.value for m in at.metric}[label] == "suppressed (small cell)"  # 3 patients
    at.toggle(key="show_small").set_value(True).run()
    assert {m.label: m.value for m in at.metric}[label] != "suppressed (small cell)"


def test_cli_usage_errors(capsys):
    code, _, err = _cli(
        ["time-to-response", str(DEMO_PATH), "--outcome", "pain_nrs", "--threshold", "lots"],
        capsys,
    )
    assert code == 1 and "not understood" in err
    code, _, err = _cli(["safety", str(DEMO_PATH), "--ae", "/nonexistent.csv"], capsys)
    assert code == 2 and "Cannot open" in err


def test_patient_page_shows_the_patients_adverse_events_beside_the_scores():
    at = _page("pages/patient.py")
    at.selectbox(key="patient_id").set_value("SYN-134").run()
    assert not at.exception, at.exception
    assert "Adverse events" in [s.value for s in at.subheader]
    events = _frame(at, "special interest")
    ae = load_demo_adverse_events(load_demo().dataset.patients).table
    expected = ae.for_patient("SYN-134")
    assert events["term"].tolist() == expected["term"].tolist()
    assert events["grade"].tolist()[:2] == [
        f"grade {int(g)}" for g in expected["severity_level"][:2]
    ]
    assert "Hypoglycaemia" in events["special interest"].tolist()
    assert any("not real patients" in c.value for c in at.caption)
    # The timeline and the score chart: two charts; the exports of the AE list among the buttons.
    assert len(at.get("plotly_chart")) == 2
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("CSV (zip)") >= 2 and "Printable view (HTML)" in labels


def test_patient_page_without_an_adverse_event_table_says_so_quietly():
    at = _app().run()
    at.sidebar.radio(key="source").set_value("Upload a file").run()
    at.sidebar.file_uploader(key="upload").set_value(("clinic.csv", WIDE_CSV.encode(), "text/csv"))
    at.run()
    at.switch_page("pages/patient.py").run()
    at.selectbox(key="patient_id").set_value(at.selectbox(key="patient_id").options[0]).run()
    assert not at.exception, at.exception
    assert not at.error and "Adverse events" not in [s.value for s in at.subheader]
    assert any("No adverse-event table is loaded" in c.value for c in at.caption)


def test_report_page_offers_the_safety_section_on_the_demo():
    at = _page("pages/report.py")
    assert at.checkbox(key="report_safety").value is True
    assert any(b.proto.label == "Download the report (HTML)" for b in at.get("download_button"))
    at.checkbox(key="report_safety").uncheck().run()
    assert not at.exception, at.exception


def test_safety_tables_export_numbers_with_provenance(demo_tables):
    at = _page("pages/safety.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("CSV (zip)") == 5 and labels.count("XLSX") == 5
    ttr = _page("pages/time_to_response.py")
    labels = [b.proto.label for b in ttr.get("download_button")]
    assert labels.count("CSV (zip)") >= 3
