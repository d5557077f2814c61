"""The fast readers against the plain ones: loading gives the same dataset, the same findings
and the same accounting whichever reader ran.

- CSV: Arrow's reader (fast path) against pandas' (fallback), on every text file in the
  bad-input corpus, the demo cohort and edge cases made here.
- XLSX: python-calamine against openpyxl, on the corpus workbook and workbooks made here with
  the cells clinics' spreadsheets hold (dates, times, booleans, error cells, leading zeros,
  "NA" typed in a cell, empty rows, a numeric header)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis.ingest import read as loading
from analysis.ingest.excel_errors import error_cells
from analysis.ingest.pipeline import load_bytes

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "ingest" / "corpus"
TEXT_FILES = sorted(
    p
    for p in [*CORPUS.iterdir(), ROOT / "data" / "demo_cohort.csv"]
    if p.suffix in (".csv", ".tsv", ".txt") and not p.read_bytes().startswith(b"PAR1")
)
MADE_HERE = {
    "newline_in_quotes.csv": b'patient_id,visit,pain_nrs,note\nP1,baseline,7,"two\nlines"\n'
    b"P1,m6,3,\n",
    "whitespace_line.csv": b"patient_id,visit,pain_nrs\nP1,baseline,7\n   \nP1,m6,3\n",
    "duplicate_header.csv": b"patient_id,visit,pain_nrs,pain_nrs\nP1,baseline,7,6\nP1,m6,3,2\n",
    "blank_header.csv": b"patient_id,visit,pain_nrs,\nP1,baseline,7,x\nP1,m6,3,y\n",
    "short_row.csv": b"patient_id,visit,pain_nrs,site\nP1,baseline,7\nP1,m6,3,A\n",
    "quoted_header.csv": b'"patient id","visit","pain_nrs"\n"007","baseline","7"\n"007","m6","3"\n',
    "cr_only.csv": b"patient_id,visit,pain_nrs\rP1,baseline,7\rP1,m6,3\r",
    "spaces_kept.csv": b"patient_id,visit,pain_nrs\n 007 ,baseline, 7\n007,m6,3 \n",
}


def _load(data: bytes, name: str, fast: bool, monkeypatch, **options):
    if not fast:
        monkeypatch.setattr(loading, "_read_text_with_arrow", lambda *args: None)
        monkeypatch.setattr(loading, "XLSX_ENGINE", "openpyxl")
    result = load_bytes(data, name, **options)
    monkeypatch.undo()
    return result


def _same(data: bytes, name: str, monkeypatch, **options) -> None:
    fast, plain = (_load(data, name, way, monkeypatch, **options) for way in (True, False))
    assert [(f.severity, f.code, f.message) for f in fast.report.findings] == [
        (f.severity, f.code, f.message) for f in plain.report.findings
    ]
    assert fast.report.accounting == plain.report.accounting
    assert (fast.dataset is None) == (plain.dataset is None)
    if fast.dataset is not None:
        assert fast.dataset.patients == plain.dataset.patients
        assert fast.dataset.source_format == plain.dataset.source_format
        pd.testing.assert_frame_equal(
            fast.dataset.long.astype(object), plain.dataset.long.astype(object)
        )
        pd.testing.assert_frame_equal(
            fast.dataset.attributes.astype(object), plain.dataset.attributes.astype(object)
        )


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: p.name)
def test_corpus_file_reads_the_same_either_way(path, monkeypatch):
    _same(path.read_bytes(), path.name, monkeypatch)


@pytest.mark.parametrize("name", sorted(MADE_HERE))
def test_edge_case_reads_the_same_either_way(name, monkeypatch):
    _same(MADE_HERE[name], name, monkeypatch)


def test_the_fast_path_is_taken_for_an_ordinary_file_and_not_for_a_ragged_one():
    header = ["patient_id", "visit", "pain_nrs"]
    ordinary = loading._read_text_with_arrow(
        b"patient_id,visit,pain_nrs\n007,baseline,7\n", ",", header
    )
    assert ordinary is not None
    assert ordinary["patient_id"].tolist() == ["007"]
    assert isinstance(ordinary["patient_id"].dtype, pd.CategoricalDtype)
    ragged = b"patient_id,visit,pain_nrs\n007,baseline,7,extra\n"
    assert loading._read_text_with_arrow(ragged, ",", header) is None


def _workbook(rows: list[list[object]], errors: dict[str, str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cell, code in (errors or {}).items():
        sheet[cell].value = code
        sheet[cell].data_type = "e"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


WORKBOOKS = {
    "wide_with_typed_cells": _workbook(
        [
            ["patient_id", "cell_source", "pain_nrs__baseline", "pain_nrs__m6", "ok", "dose"],
            ["007", "umbilical cord", 7, 3.5, True, 1e8],
            [7, "bone marrow", "6", "NA", False, "100000000"],
            [None, None, None, None, None, None],
            ["0012", "bone marrow", 8, None, None, 2.5e7],
            ["13", "umbilical cord", 12345678901234567, "4,5", "yes", None],
            ["14", " spaced ", 6, 5, None, 0],
        ],
        errors={"D6": "#DIV/0!", "C7": "#N/A"},
    ),
    "calendar_dates_and_times": _workbook(
        [
            ["patient_id", "pain_nrs__baseline", "pain_nrs__m6", "enrolled", "clinic_time"],
            ["P1", 7, 3, dt.datetime(2024, 1, 5), dt.time(9, 30)],
            ["P2", 6, 4, dt.date(2024, 2, 1), dt.time(12, 0)],
            ["P3", 8, 5, "2024-03-01", None],
        ]
    ),
    "long_with_numeric_header": _workbook(
        [
            ["patient_id", "visit", "outcome", "value", 2024],
            ["P1", "baseline", "pain_nrs", 7, 1],
            ["P1", "m6", "pain_nrs", "n/a", 2],
            ["P2", "baseline", "pain_nrs", 6.25, None],
            ["P2", "m6", "pain_nrs", 0, 0.1],
        ]
    ),
    "two_blank_headers": _workbook(
        [
            ["patient_id", None, "pain_nrs__baseline", None, "pain_nrs__m6"],
            ["P1", None, 7, "x", 3],
            ["P2", None, 6, None, 2],
        ]
    ),
    "table_below_empty_rows": _workbook(
        [
            [],
            [],
            [None, "patient_id", "pain_nrs__baseline", "pain_nrs__m6", "dose", "dose"],
            [None, "P1", 7, 14, 1, 2],
            [None, "P2", 6, 3, 1, 2],
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(WORKBOOKS))
def test_workbook_reads_the_same_with_either_engine(name, monkeypatch):
    _same(WORKBOOKS[name], f"{name}.xlsx", monkeypatch)


@pytest.mark.parametrize("sheet", [None, "Outcomes"])
def test_corpus_workbook_reads_the_same_with_either_engine(sheet, monkeypatch):
    data = (CORPUS / "xlsx_two_sheets.xlsx").read_bytes()
    _same(data, "two_sheets.xlsx", monkeypatch, sheet=sheet)


def test_na_typed_in_a_workbook_cell_is_reported_as_in_a_csv():
    result = load_bytes(WORKBOOKS["long_with_numeric_header"], "long.xlsx")
    marker = next(f for f in result.report.findings if f.code == "missing_marker")
    assert "'n/a'" in marker.message or '"n/a"' in marker.message
    assert result.report.accounting["values read"] == 4


def _out_of_range_message(data: bytes, name: str) -> str:
    result = load_bytes(data, name)
    return next(f for f in result.report.findings if f.code == "out_of_range").message


def test_rows_after_blank_lines_keep_their_spreadsheet_numbers():
    # header = row 1, blank rows 2 and 4: the 14 is on row 5 as a spreadsheet shows the file
    csv = b"patient_id,visit,outcome,value\n\nP1,baseline,pain_nrs,7\n\nP1,m6,pain_nrs,14\n"
    assert 'row 5, column value ("14")' in _out_of_range_message(csv, "gaps.csv")
    book = _workbook(
        [
            ["patient_id", "visit", "outcome", "value"],
            [None, None, None, None],
            ["P1", "baseline", "pain_nrs", 7],
            [None, None, None, None],
            ["P1", "m6", "pain_nrs", 14],
        ]
    )
    assert 'row 5, column value ("14")' in _out_of_range_message(book, "gaps.xlsx")


def test_rows_after_a_ragged_row_keep_their_spreadsheet_numbers():
    # row 2 spans two lines inside quotes, row 3 has an extra field and is set aside
    csv = (
        b'patient_id,visit,outcome,value,note\nP1,baseline,pain_nrs,7,"two\nlines"\n'
        b"P1,m3,pain_nrs,5,x,extra\nP1,m6,pain_nrs,14,\n"
    )
    result = load_bytes(csv, "ragged.csv")
    ragged = next(f for f in result.report.findings if f.code == "ragged_rows")
    assert "row 3" in ragged.message
    assert 'row 4, column value ("14")' in _out_of_range_message(csv, "ragged.csv")


def test_wide_rows_after_a_blank_line_keep_their_numbers():
    csv = b"patient_id,pain_nrs__baseline,pain_nrs__m6\nP1,7,3\n\nP2,6,11\n"
    assert 'row 4, column pain_nrs__m6 ("11")' in _out_of_range_message(csv, "wide.csv")


def test_excel_error_cells_are_reported_with_their_row_and_column():
    # Both XLSX readers return error cells as empty: the loader reads them back from the XML.
    result = load_bytes(WORKBOOKS["wide_with_typed_cells"], "errors.xlsx")
    text = next(f for f in result.report.findings if f.code == "non_numeric").message
    assert 'row 6, column pain_nrs__m6 ("#DIV/0!")' in text
    assert 'row 7, column pain_nrs__baseline ("#N/A")' in text
    assert result.report.accounting["left out: not a number"] == 2
    assert result.report.accounting["blank (not recorded)"] == 1


def test_excel_error_cells_are_looked_for_on_the_chosen_sheet_only():
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["patient_id", "pain_nrs__baseline", "pain_nrs__m6"])
    book.active.append(["P1", 7, 3])
    scores = book.create_sheet("Scores")
    for row in (["patient_id", "pain_nrs__baseline", "pain_nrs__m6"], ["P1", 7, 3], ["P2", 6, 0]):
        scores.append(row)
    scores["C3"].value, scores["C3"].data_type = "#VALUE!", "e"
    scores["AB2"].value, scores["AB2"].data_type = "#N/A", "e"  # past Z: AB is column 27
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert sorted(error_cells(archive, "Scores")) == [(2, 27, "#N/A"), (3, 2, "#VALUE!")]
        assert error_cells(archive, "Notes") == []
        assert error_cells(archive, "Missing") == []
    assert loading.XLSX_ENGINE == "calamine"
    notes = load_bytes(buffer.getvalue(), "two.xlsx")
    assert not any(f.code == "non_numeric" for f in notes.report.findings)


def test_a_table_below_empty_rows_is_found_and_keeps_its_row_numbers():
    result = load_bytes(WORKBOOKS["table_below_empty_rows"], "offset.xlsx")
    assert result.dataset.source_format.startswith("XLSX (sheet 'Sheet', header on row 3)")
    assert 'row 4, column pain_nrs__m6 ("14")' in _out_of_range_message(
        WORKBOOKS["table_below_empty_rows"], "offset.xlsx"
    )
    assert list(result.dataset.attributes.columns) == ["dose", "dose.1"]


@pytest.mark.parametrize(
    "name, data",
    [
        ("blank.csv", b"patient_id,,pain_nrs__baseline,,pain_nrs__m6\nP1,,7,,3\nP2,x,6,,2\n"),
        ("blank.xlsx", WORKBOOKS["two_blank_headers"]),
    ],
)
def test_columns_without_a_header_are_kept_by_their_letter_or_dropped_when_empty(name, data):
    # CSV: column B has a value, D is empty. XLSX: B is empty, D has a value.
    result = load_bytes(data, name)
    expected = "column B (no header)" if name.endswith(".csv") else "column D (no header)"
    assert list(result.dataset.attributes.columns) == [expected]
    assert result.dataset.attributes[expected].tolist()[1 if name.endswith(".csv") else 0] == "x"


def test_an_empty_sheet_says_so():
    result = load_bytes(_workbook([]), "empty.xlsx")
    assert (
        result.report.errors[0].message
        == "empty.xlsx: sheet 'Sheet' is empty: there is nothing to load."
    )


def test_a_reader_failure_is_a_message_not_a_traceback(monkeypatch):
    import analysis.ingest.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(analysis.ingest.pipeline, "read_table", broken)
    result = load_bytes(b"patient_id,visit\n", "x.csv")
    assert result.dataset is None
    assert result.report.errors[0].code == "unexpected"
    assert "RuntimeError: boom" in result.report.errors[0].message
