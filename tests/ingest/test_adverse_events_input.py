"""Reading an adverse-event table: layouts, located findings, nothing dropped silently, and the
PHI guard on free-text terms."""

import pandas as pd
import pytest
from conftest import excel_bytes, parquet_bytes

from analysis.ingest.adverse_events import (
    DEMO_AE_PATH,
    adverse_events_from_frame,
    load_demo_adverse_events,
    read_adverse_events,
    relatedness,
)
from analysis.ingest.pipeline import load_demo

PATIENTS = ["P1", "P2", "P3", "P4"]
# Row 2 is the first data row (the header is row 1).
PROBLEMS = """patient_id,term,category,start_day,end_day,severity,serious,related,outcome,action
P1,Pyrexia,General disorders,1,3,mild,no,related to cells,recovered,none
P1,Pyrexia,General disorders,2,4,mild,no,cells,recovered,none
P2,Injection site pain,General disorders,0,5,,no,procedure,recovered,none
P3,Cellulitis,Infections,40,38,severe,yes,not related,recovered,withdrawn from study
P9,Headache,Nervous system,10,11,mild,no,unknown,recovered,none
X42,Nausea,Gastrointestinal,3,4,mild,no,not related,recovered,none
P4,Hypoglycaemia,Metabolism,-2,-2,moderate,no,not related,recovered,none
P4,Fatigue,General disorders,ten,,moderate,maybe,whatever,recovering,none
"""


def _read(text: str, patients=PATIENTS, name: str = "ae.csv"):
    return read_adverse_events(text.encode(), name, patients=patients)


def _finding(report, code):
    found = [f for f in report.findings if f.code == code]
    assert found, f"no {code!r} in {report.codes()}"
    return found[0]


def test_every_problem_is_located_and_nothing_is_dropped_silently():
    result = _read(PROBLEMS)
    assert result.table is not None, result.report.as_text()
    report = result.report
    # unknown patients: set aside, each row listed
    unknown = _finding(report, "unknown_patients")
    assert unknown.locations["row"].tolist() == [6, 7]
    assert unknown.locations["value"].tolist() == ["P9", "X42"]
    assert "P9, X42" in unknown.message
    # overlapping dates of the same term in one patient: both kept, the later row located
    overlap = _finding(report, "overlapping_events")
    assert overlap.locations["row"].tolist() == [3]
    assert "overlaps row 2" in overlap.locations["value"].iloc[0]
    # missing severity: kept, counted as not recorded
    missing = _finding(report, "severity_missing")
    assert missing.locations["row"].tolist() == [4]
    assert missing.locations["column"].tolist() == ["severity"]
    # end before start: end left blank, located
    reversed_ = _finding(report, "end_before_start")
    assert reversed_.locations["row"].tolist() == [5]
    # before treatment: set aside, located
    assert _finding(report, "before_treatment").locations["row"].tolist() == [8]
    # values that cannot be read: located, kept as missing
    assert _finding(report, "start_day_unreadable").locations["value"].tolist() == ["ten"]
    assert _finding(report, "serious_unreadable").locations["row"].tolist() == [9]
    assert _finding(report, "related_unreadable").locations["value"].tolist() == ["whatever"]
    # where every row went
    assert report.accounting == {
        "rows read": 8,
        "adverse events kept": 5,
        "rows set aside (each listed in the findings)": 3,
    }
    events = result.table.events.set_index("source_row")
    assert events.loc[4, "severity"] == "not recorded"
    assert pd.isna(events.loc[5, "end_day"])
    assert bool(events.loc[5, "discontinued"]) and bool(events.loc[5, "serious"])
    assert events.loc[2, "related"] == "cells" and events.loc[4, "related"] == "procedure"
    assert events.loc[9, "related"] == "unknown" and pd.isna(events.loc[9, "start_day"])
    assert result.table.scale == "severity"


def test_a_name_typed_into_a_term_is_refused_with_its_row():
    text = PROBLEMS.replace("P2,Injection site pain,", "P2,Injection site pain (told Mrs Garcia),")
    result = _read(text)
    assert result.table is None
    error = _finding(result.report, "identifiers")
    assert error.severity == "error"
    assert error.locations["row"].tolist() == [4]
    assert error.locations["column"].tolist() == ["term"]
    assert "Mrs Garcia" in error.locations["value"].iloc[0]
    assert "row 4" in error.message
    assert result.identifier_columns == ["term"]


def test_a_date_in_a_term_is_refused_and_an_identifier_column_can_be_dropped():
    text = PROBLEMS.replace("P1,Pyrexia,General disorders,1,", "P1,Pyrexia on 12/03/2024,Gen,1,")
    refused = _read(text)
    assert refused.table is None
    assert _finding(refused.report, "identifiers").locations["row"].tolist() == [2]
    header, *rows = PROBLEMS.splitlines()
    with_email = "\n".join(["reporter_email," + header, *("nurse@clinic.org," + r for r in rows)])
    assert _read(with_email).identifier_columns == ["reporter_email"]
    dropped = read_adverse_events(
        with_email.encode(), "ae.csv", patients=PATIENTS, drop_columns=["reporter_email"]
    )
    assert dropped.table is not None
    assert "columns_dropped" in dropped.report.codes()


def test_missing_columns_are_named():
    result = _read("patient_id,start_day\nP1,3\n")
    assert result.table is None
    assert "term" in _finding(result.report, "missing_columns").message


def test_adam_adae():
    frame = pd.DataFrame(
        {
            "STUDYID": "S1",
            "USUBJID": ["S1-001", "S1-001", "S1-002", "S1-003"],
            "AETERM": ["feverish", "sore at injection", "pins", "low sugar"],
            "AEDECOD": ["Pyrexia", "Injection site pain", "", "Hypoglycaemia"],
            "AEBODSYS": ["GENERAL", "GENERAL", "NERVOUS", "METABOLISM"],
            "AESEV": ["MILD", "MODERATE", "MILD", "SEVERE"],
            "AETOXGR": ["1", "2", "", "3"],
            "AESER": ["N", "N", "N", "Y"],
            "AEREL": ["PROBABLE", "NOT RELATED", "UNLIKELY", "POSSIBLE"],
            "ASTDY": [1, 1, 30, 100],
            "AENDY": [2, 6, 31, 101],
            "AEOUT": ["RECOVERED/RESOLVED"] * 3 + ["FATAL"],
            "AEACN": ["DOSE NOT CHANGED"] * 3 + ["DRUG WITHDRAWN"],
            "TRTEMFL": ["Y", "Y", "Y", "N"],
        }
    )
    result = adverse_events_from_frame(frame, "adae.xpt", patients=["S1-001", "S1-002", "S1-003"])
    assert result.table is not None, result.report.as_text()
    table = result.table
    assert table.source_format == "ADaM ADAE"
    assert table.columns["term"] == "AEDECOD" and table.columns["verbatim"] == "AETERM"
    assert table.scale == "grade"
    assert _finding(result.report, "not_treatment_emergent").locations["row"].tolist() == [5]
    events = table.events
    assert events["term"].tolist() == ["Pyrexia", "Injection site pain", "pins"]  # AETERM fills
    assert events["related"].tolist() == ["cells", "not related", "not related"]
    assert "related_generic" in result.report.codes()
    assert events["severity"].tolist() == ["grade 1", "grade 2", "grade 1"]  # AESEV fills
    assert "severity_as_grade" in result.report.codes()


def test_redcap_repeating_instrument():
    text = (
        "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
        "pain_nrs,ae_term,ae_start_day,ae_severity,ae_serious,ae_related\n"
        "P1,baseline_arm_1,,,7,,,,,\n"
        "P1,month_1_arm_1,adverse_events,1,,Pyrexia,1,mild,no,cells\n"
        "P1,month_1_arm_1,adverse_events,2,,Headache,5,mild,no,not related\n"
        "P2,baseline_arm_1,,,6,,,,,\n"
        "P2,month_1_arm_1,adverse_events,1,,Injection site pain,0,moderate,no,procedure\n"
    )
    result = _read(text)
    assert result.table is not None, result.report.as_text()
    assert result.table.source_format == "REDCap repeating instrument"
    assert result.table.events["term"].tolist() == ["Pyrexia", "Headache", "Injection site pain"]
    assert result.table.events["source_row"].tolist() == [3, 4, 6]
    assert "2 row(s)" in _finding(result.report, "redcap_rows_set_aside").message


def test_a_sheet_of_the_outcome_workbook_and_parquet():
    scores = pd.DataFrame({"patient_id": ["P1"], "visit": ["baseline"], "outcome": ["pain_nrs"],
                           "value": [6]})  # fmt: skip
    events = pd.DataFrame(
        {"patient_id": ["P1", "P2"], "term": ["Pyrexia", "Fatigue"], "grade": [1, 2],
         "start_day": [1, 20]}
    )  # fmt: skip
    workbook = excel_bytes({"scores": scores, "adverse events": events})
    result = read_adverse_events(workbook, "study.xlsx", patients=PATIENTS, sheet="adverse events")
    assert result.sheets == ["scores", "adverse events"]
    assert result.table is not None and result.table.n_events == 2
    first = read_adverse_events(workbook, "study.xlsx", patients=PATIENTS)
    assert first.table is None  # the scores sheet has no term column
    parquet = read_adverse_events(parquet_bytes(events), "ae.parquet", patients=PATIENTS)
    assert parquet.table is not None
    assert parquet.table.events["severity"].tolist() == ["grade 1", "grade 2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("related to cells", "cells"),
        ("MSC", "cells"),
        ("Possibly related", "cells"),
        ("procedure", "procedure"),
        ("bone marrow aspiration", "procedure"),
        ("cells and procedure", "cells and procedure"),
        ("both", "cells and procedure"),
        ("not related", "not related"),
        ("Not related to cells", "not related"),
        ("UNLIKELY RELATED", "not related"),
        ("unknown", "unknown"),
        ("", "unknown"),
        ("purple", None),
    ],
)
def test_relatedness_words(text, expected):
    assert relatedness(text) == expected


def test_demo_table_is_synthetic_and_clean():
    dataset = load_demo().dataset
    result = load_demo_adverse_events(dataset.patients)
    assert result.table is not None
    assert result.table.synthetic
    assert result.report.errors == [] and result.report.warnings == []
    assert result.table.n_events == result.report.accounting["rows read"]
    frame = pd.read_csv(DEMO_AE_PATH)
    assert set(frame["data_origin"]) == {"SYNTHETIC demo - not real patients"}
    assert set(frame["patient_id"]) <= set(dataset.patients)
