"""Loading: every format, encoding and delimiter, sniffed from content; IDs stay text."""

import pandas as pd
import pytest
from conftest import LONG_CSV, WIDE_CSV, excel_bytes, load_text, parquet_bytes

from analysis.ingest.pipeline import load_bytes, load_demo
from analysis.stats.compare import compare_visits


def _pain_m3(result) -> tuple[int, float]:
    comparison = compare_visits(result.dataset, "pain_nrs", "baseline", "m3")
    return comparison.stats.n_pairs, comparison.stats.mean_change


def test_hand_written_long_csv_loads_and_compares():
    result = load_text(LONG_CSV)
    assert result.report.usable
    ds = result.dataset
    assert ds.visits == ["baseline", "m3", "m6"]
    assert ds.baseline == "baseline"
    assert "long layout" in ds.source_format
    # baseline->m3 changes: 007: -3, 7: 0, 012: -3
    assert _pain_m3(result) == (3, pytest.approx(-2.0))


def test_leading_zeros_keep_patients_apart():
    ds = load_text(LONG_CSV).dataset
    assert ds.patients == ["007", "7", "012"]
    assert ds.attributes.loc["007", "cell_source"] == "umbilical cord"
    assert ds.attributes.loc["7", "cell_source"] == "autologous bone marrow"


def test_hand_written_wide_csv_loads_and_compares():
    result = load_text(WIDE_CSV)
    assert result.report.usable
    ds = result.dataset
    assert "wide layout" in ds.source_format
    assert ds.outcomes == ["pain_nrs", "tcss"]
    assert ds.visits == ["baseline", "m3", "m6"]
    assert _pain_m3(result) == (3, pytest.approx(-2.0))
    tcss = compare_visits(ds, "tcss", "baseline", "m6")
    assert tcss.stats.n_pairs == 2
    assert tcss.excluded.to_dict("records") == [{"patient_id": "012", "reason": "no value at m6"}]
    assert ds.report.accounting["blank (not recorded)"] == 2


@pytest.mark.parametrize(("delimiter", "label"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_other_delimiters(delimiter, label):
    result = load_text(LONG_CSV.replace(",", delimiter))
    assert f"{label}-delimited" in result.dataset.source_format
    assert _pain_m3(result) == (3, pytest.approx(-2.0))


def test_european_decimal_commas():
    text = (
        "patient_id;visit;outcome;value\n"
        "A1;baseline;hba1c;8,4\nA1;m6;hba1c;7,9\n"
        "A2;baseline;hba1c;7,2\nA2;m6;hba1c;7,0\n"
    )
    result = load_text(text)
    assert "decimal commas" in result.dataset.source_format
    comparison = compare_visits(result.dataset, "hba1c", "baseline", "m6")
    assert comparison.stats.mean_before == pytest.approx(7.8)
    assert comparison.stats.mean_change == pytest.approx(-0.35)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8-sig", "UTF-8 with BOM"),
        ("utf-16", "UTF-16"),  # what Excel writes as "Unicode text" (with BOM)
        ("latin-1", "Windows-1252/Latin-1"),
        ("cp1252", "Windows-1252/Latin-1"),
    ],
)
def test_encodings(encoding, expected):
    text = LONG_CSV.replace("umbilical cord", "cordón umbilical")
    if encoding == "utf-16":
        text = text.replace(",", "\t")
    result = load_text(text, encoding=encoding)
    assert result.report.usable
    assert expected in result.dataset.source_format
    assert result.dataset.attributes.loc["007", "cell_source"] == "cordón umbilical"
    assert result.dataset.patients[0] == "007"  # no BOM glued to the first header or ID


def test_utf16_without_bom():
    data = LONG_CSV.encode("utf-16-le")
    result = load_bytes(data, "nobom.csv")
    assert "UTF-16 (no BOM)" in result.dataset.source_format
    assert _pain_m3(result)[0] == 3


def test_xlsx_first_and_named_sheet():
    long = pd.read_csv(pd.io.common.StringIO(LONG_CSV), dtype=str)
    other = long.assign(value="1")
    data = excel_bytes({"Outcomes": long, "Other": other})
    first = load_bytes(data, "clinic.xlsx")
    assert first.sheets == ["Outcomes", "Other"]
    assert "sheet 'Outcomes' of 2" in first.dataset.source_format
    assert _pain_m3(first) == (3, pytest.approx(-2.0))
    named = load_bytes(data, "clinic.xlsx", sheet="Other")
    assert _pain_m3(named) == (3, pytest.approx(0.0))
    missing = load_bytes(data, "clinic.xlsx", sheet="Nope")
    assert "no sheet named 'Nope'" in missing.report.errors[0].message


def test_xlsx_numeric_cells():
    frame = pd.DataFrame(
        {"patient_id": ["P1", "P2"], "pain_nrs__baseline": [7, 6.5], "pain_nrs__m6": [4, 6]}
    )
    result = load_bytes(excel_bytes({"Sheet1": frame}), "numbers.xlsx")
    comparison = compare_visits(result.dataset, "pain_nrs", "baseline", "m6")
    assert comparison.stats.mean_before == pytest.approx(6.75)


def test_parquet():
    frame = pd.read_csv(pd.io.common.StringIO(LONG_CSV), dtype={"patient_id": str})
    result = load_bytes(parquet_bytes(frame), "cohort.parquet")
    assert result.dataset.source_format.startswith("Parquet")
    assert result.dataset.patients == ["007", "7", "012"]
    assert _pain_m3(result) == (3, pytest.approx(-2.0))


@pytest.mark.parametrize("misleading_name", ["data.xlsx", "data.parquet", "data.txt", "data"])
def test_format_is_sniffed_not_taken_from_the_name(misleading_name):
    result = load_text(LONG_CSV, name=misleading_name)
    assert result.dataset.source_format.startswith("CSV")


def test_parquet_named_csv_is_read_as_parquet():
    frame = pd.read_csv(pd.io.common.StringIO(WIDE_CSV), dtype={"patient_id": str})
    result = load_bytes(parquet_bytes(frame), "export.csv")
    assert result.dataset.source_format.startswith("Parquet")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"patient_id,visit,outcome,value\n", "no data rows"),
        (bytes(range(256)) * 40, "does not look like a table"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old-style Excel"),
        (b"PK\x03\x04" + b"\x00" * 100, "damaged"),
        (b"just_one_column\n1\n2\n", "only one column"),
        (b"patient_id,age\nP1,50\n", "No score columns"),
        (b"visit,outcome,value\nbaseline,pain_nrs,5\n", "No patient ID column"),
    ],
)
def test_unusable_files_get_a_clear_message(data, message):
    result = load_bytes(data, "bad.csv")
    assert result.dataset is None
    assert not result.report.usable
    assert message in result.report.errors[0].message


def test_zip_that_is_not_a_workbook():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    result = load_bytes(buffer.getvalue(), "archive.xlsx")
    assert "not an Excel workbook" in result.report.errors[0].message


def test_demo_cohort_is_synthetic_and_complete():
    result = load_demo()
    ds = result.dataset
    assert ds.synthetic
    assert ds.n_patients == 150
    assert ds.visits == ["baseline", "m1", "m3", "m6", "m12"]
    assert result.report.warnings == []
    assert "SYNTHETIC" in ds.attributes["data_origin"].iloc[0]


def test_the_stages_run_once_each_in_order(monkeypatch):
    """read → adapt → guard → tidy → validate, each called once by run_pipeline."""
    import analysis.ingest.pipeline as pipeline

    calls = []
    for name in ("read_table", "adapt", "guard", "tidy", "validate"):
        stage = getattr(pipeline, name)

        def recorded(*args, _stage=stage, _name=name, **kwargs):
            calls.append(_name)
            return _stage(*args, **kwargs)

        monkeypatch.setattr(pipeline, name, recorded)
    result = load_text(LONG_CSV)
    assert result.dataset is not None
    assert calls == ["read_table", "adapt", "guard", "tidy", "validate"]
    calls.clear()
    refused = load_text("patient_id,name,visit,outcome,value\nP1,Jane Roe,baseline,pain_nrs,7\n")
    assert refused.dataset is None and refused.identifier_columns == ["name"]
    assert calls == ["read_table", "adapt", "guard"]  # refused: nothing after the guard
