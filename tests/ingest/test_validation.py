"""Validation: what is wrong, where (row and column), and nothing silently lost."""

import pandas as pd
import pytest
from conftest import load_text

from analysis.stats.compare import compare_visits

HEADER = "patient_id,visit,outcome,value\n"


def _finding(result, code):
    matches = [f for f in result.report.findings if f.code == code]
    assert matches, f"no finding {code!r}; have {result.report.codes()}"
    return matches[0]


def _accounting_balances(result) -> bool:
    acc = result.report.accounting
    parts = [v for k, v in acc.items() if k not in ("values read", "values used")]
    return acc["values read"] == sum(parts) + acc["values used"]


def test_out_of_range_reported_with_row_and_column_and_left_out():
    text = HEADER + "P1,baseline,pain_nrs,7\nP1,m6,pain_nrs,12\nP2,baseline,pain_nrs,-1\n"
    result = load_text(text)
    finding = _finding(result, "out_of_range")
    assert finding.severity == "warning"
    assert "2 Pain intensity value(s) are outside the valid range 0–10" in finding.message
    assert 'row 3, column value ("12")' in finding.message
    assert finding.locations["row"].tolist() == [3, 4]
    assert len(result.dataset.long) == 1
    assert result.report.accounting["left out: outside the instrument's valid range"] == 2
    assert _accounting_balances(result)


def test_wide_out_of_range_names_the_score_column():
    text = "patient_id,tcss__baseline,tcss__m6\nP1,12,25\nP2,11,9\n"
    finding = _finding(load_text(text), "out_of_range")
    assert 'row 2, column tcss__m6 ("25")' in finding.message


def test_non_numeric_and_missing_markers():
    text = HEADER + (
        "P1,baseline,pain_nrs,7\nP1,m6,pain_nrs,n/a\nP2,baseline,pain_nrs,seven\n"
        "P2,m6,pain_nrs,\nP3,baseline,pain_nrs,5\n"
    )
    result = load_text(text)
    marker = _finding(result, "missing_marker")
    assert marker.severity == "note"
    assert 'row 3, column value ("n/a")' in marker.message
    text_finding = _finding(result, "non_numeric")
    assert text_finding.severity == "warning"
    assert 'row 4, column value ("seven")' in text_finding.message
    acc = result.report.accounting
    assert acc["left out: not a number"] == 1
    assert acc["recorded as missing (n/a, -, ...)"] == 1
    assert acc["blank (not recorded)"] == 1
    assert acc["values used"] == 2
    assert _accounting_balances(result)


def test_duplicates_identical_kept_once_conflicting_not_used():
    text = HEADER + (
        "P1,baseline,pain_nrs,7\nP1,baseline,pain_nrs,7\n"
        "P2,baseline,pain_nrs,6\nP2,baseline,pain_nrs,8\nP2,m6,pain_nrs,4\n"
    )
    result = load_text(text)
    identical = _finding(result, "duplicate_identical")
    assert "one copy was kept" in identical.message and "row 3" in identical.message
    conflicting = _finding(result, "duplicate_conflicting")
    assert "none of them was used" in conflicting.message
    assert conflicting.locations["row"].tolist() == [4, 5]
    long = result.dataset.long
    assert long.loc[long["patient_id"] == "P1", "value"].tolist() == [7]
    assert long.loc[long["patient_id"] == "P2", "visit"].tolist() == ["m6"]
    assert _accounting_balances(result)


def test_visit_labels_differing_in_case_or_spaces_are_one_visit():
    text = HEADER + (
        "P1,Baseline,pain_nrs,7\nP1,Month 6,pain_nrs,4\n"
        "P2, baseline ,pain_nrs,6\nP2,month 6,pain_nrs,5\n"
    )
    result = load_text(text)
    finding = _finding(result, "visit_spellings")
    assert "'Baseline', 'baseline' → 'Baseline'" in finding.message
    assert result.dataset.visits == ["Baseline", "Month 6"]
    assert compare_visits(result.dataset, "pain_nrs", "Baseline", "Month 6").stats.n_pairs == 2


def test_patients_without_baseline_are_listed():
    text = HEADER + "P1,baseline,pain_nrs,7\nP1,m6,pain_nrs,4\nP2,m6,pain_nrs,5\n"
    finding = _finding(load_text(text), "no_baseline")
    assert "1 patient(s) have no value at the baseline visit 'baseline': P2" in finding.message


def test_attribute_varying_within_patient():
    text = (
        "patient_id,visit,outcome,value,sex\nP1,baseline,pain_nrs,7,female\nP1,m6,pain_nrs,4,male\n"
    )
    result = load_text(text)
    finding = _finding(result, "attribute_varies")
    assert "'sex'" in finding.message and "P1" in finding.message
    assert result.dataset.attributes.loc["P1", "sex"] == "female"


def test_missing_patient_id_rows_are_counted():
    text = HEADER + "P1,baseline,pain_nrs,7\n,m6,pain_nrs,4\nP1,m6,pain_nrs,3\n"
    result = load_text(text)
    finding = _finding(result, "missing_key")
    assert "row 3" in finding.message
    assert result.report.accounting["left out: row without patient ID, visit or outcome"] == 1
    assert _accounting_balances(result)


def test_ragged_rows_are_reported_not_dropped_silently():
    text = (
        HEADER + "P1,baseline,pain_nrs,7\nP1,m6,pain_nrs,4,extra,fields\nP2,baseline,pain_nrs,5\n"
    )
    finding = _finding(load_text(text), "ragged_rows")
    assert finding.locations["row"].tolist() == [3]


def test_identifier_columns_refused_then_droppable():
    text = "patient_id,name,dob,visit,outcome,value\nP1,Jane Roe,1950-02-03,baseline,pain_nrs,7\n"
    result = load_text(text)
    assert result.dataset is None
    assert result.identifier_columns == ["name", "dob"]
    message = result.report.errors[0].message
    assert "'name' (its name suggests a person's name)" in message
    assert "'dob' (its name suggests a date of birth)" in message
    dropped = load_text(text, drop_columns=result.identifier_columns)
    assert dropped.dataset is not None
    assert "Jane Roe" not in dropped.dataset.attributes.to_string()
    assert "name" not in dropped.dataset.attributes.columns


def test_unknown_outcome_is_accepted_with_direction_unknown():
    text = HEADER + "P1,baseline,grip_strength,30\nP1,m6,grip_strength,34\n"
    result = load_text(text)
    assert "'grip_strength'" in _finding(result, "unknown_outcomes").message
    comparison = compare_visits(result.dataset, "grip_strength", "baseline", "m6")
    assert comparison.stats.n_improved is None
    assert comparison.stats.n_increased == 1
    assert comparison.pairs["status"].tolist() == ["increased"]
    chosen = compare_visits(result.dataset, "grip_strength", "baseline", "m6", "higher")
    assert chosen.stats.n_improved == 1


def test_report_text_lists_everything():
    text = HEADER + "P1,baseline,pain_nrs,7\nP1,m6,pain_nrs,12\n"
    report = load_text(text).report
    printed = report.as_text()
    assert printed.startswith("The file is usable: 0 error(s), 1 warning(s)")
    assert "values used: 1" in printed
    assert "header is row 1" in printed
    table = report.locations_table()
    assert table[["severity", "issue", "row", "column", "value"]].iloc[0].tolist() == [
        "warning", "out_of_range", 3, "value", "12",
    ]  # fmt: skip


def test_outcome_codes_match_registry_case_insensitively():
    text = HEADER + "P1,baseline,Pain_NRS,7\nP1,m6,PAIN_NRS,4\n"
    ds = load_text(text).dataset
    assert ds.outcomes == ["pain_nrs"]


@pytest.mark.parametrize("cell", ["inf", "-inf", "nan"])
def test_non_finite_numbers_are_not_values(cell):
    text = HEADER + f"P1,baseline,pain_nrs,7\nP1,m6,pain_nrs,{cell}\n"
    ds = load_text(text).dataset
    assert ds.long["value"].tolist() == [7]
    assert pd.notna(ds.long["value"]).all()
