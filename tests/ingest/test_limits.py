"""Decompression bombs and oversized tables are refused before they are read (small bombs are
built in memory, or the limits lowered), with a plain message; the error-cell scan streams the
sheet. Also: the one CSV/XLSX neutraliser leaves numbers (and text that reads as a number)
alone and quotes everything a spreadsheet would run."""

import io
import re
import time
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.ingest import excel_errors, limits
from analysis.ingest.pipeline import load_bytes
from analysis.ingest.read import LoadError, read_table
from analysis.present.export import neutralise_formulas, to_csv_bytes

ROOT = Path(__file__).resolve().parents[2]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
TAIL = "</sheetData></worksheet>"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
        'name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _book(sheet_xml: str | bytes, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml, compress_type=method)
    return buffer.getvalue()


def _rows(n: int) -> str:
    cells = '<row r="1"><c r="A1" t="inlineStr"><is><t>patient_id</t></is></c><c r="B1" ' \
        't="inlineStr"><is><t>pain_nrs__baseline</t></is></c></row>'  # fmt: skip
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>P{r}</t></is></c><c r="B{r}"><v>5</v></c>'
        "</row>"
        for r in range(2, n + 2)
    )
    return HEAD + cells + body + TAIL


def test_the_upload_limit_is_the_one_streamlit_is_configured_with():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == limits.UPLOAD_LIMIT_MB


def test_a_small_workbook_still_loads():
    raw = read_table(_book(_rows(20)), "ok.xlsx")
    assert raw.frame.shape == (20, 2)


def test_a_highly_compressible_sheet_is_refused_quickly():
    """About 200 MB of sheet XML (mostly zeros in a comment) compressed to about 200 KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((HEAD + "<!--").encode())
            zeros = b"0" * (1 << 20)
            for _ in range(200):
                sheet.write(zeros)
            sheet.write(("-->" + TAIL).encode())
    data = buffer.getvalue()
    assert len(data) < 1_000_000
    start = time.perf_counter()
    with pytest.raises(LoadError, match="expands more than 100 times"):
        read_table(data, "bomb.xlsx")
    assert time.perf_counter() - start < 5


def test_a_workbook_over_the_decompressed_limit_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_XLSX_BYTES", 200_000)
    data = _book(_rows(5_000))  # ~500 KB of XML, compressing about 15 times
    with pytest.raises(LoadError, match="expands to more than"):
        read_table(data, "big.xlsx")
    result = load_bytes(data, "big.xlsx")
    assert result.dataset is None and result.report.errors[0].code == "unreadable"


def test_sizes_an_archive_declares_are_not_trusted():
    data = bytearray(_book(_rows(200), method=zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    real = info.file_size
    # Rewrite the declared uncompressed size (central directory and local header) to 100.
    for at in [m.start() for m in re.finditer(rb"PK\x01\x02", bytes(data))]:
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length] == b"xl/worksheets/sheet1.xml":
            data[at + 24 : at + 28] = (100).to_bytes(4, "little")
    offset = info.header_offset
    data[offset + 22 : offset + 26] = (100).to_bytes(4, "little")
    with pytest.raises(LoadError, match=f"expands to {real:,} bytes but declares 100"):
        read_table(bytes(data), "liar.xlsx")


def test_a_sparse_sheet_spanning_the_whole_grid_is_refused_before_reading():
    """Two cells, A1 and XFD1048576: 1.5 KB that the reader would expand to 17 billion cells
    (python-calamine aborts the process trying)."""
    sheet = (
        HEAD + '<row r="1"><c r="A1" t="inlineStr"><is><t>patient_id</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>' + TAIL
    )
    with pytest.raises(LoadError, match="spans 1,048,576 rows x 16,384 columns"):
        read_table(_book(sheet), "sparse.xlsx")


@pytest.mark.parametrize(
    "cells",
    [
        '<c r="A1"><v>1</v></c><c r="B1" r ="XFD3"><v>2</v></c>',  # a repeated, spaced r
        "<c r='A1'><v>1</v></c><c\tr='xfd3'><v>2</v></c>",  # quotes, tab, lower case
        '<c r="A1"><v>1</v></c>' + "<c><v>2</v></c>" * 20_000,  # no references: one after another
    ],
)
def test_every_way_of_writing_a_far_cell_counts(cells, monkeypatch):
    monkeypatch.setattr(limits, "MAX_XLSX_CELLS", 10_000)
    with pytest.raises(LoadError, match=r"spans|reaches column"):
        read_table(_book(HEAD + f'<row r="1">{cells}</row>' + TAIL), "far.xlsx")


def test_prefixed_element_names_count():
    sheet = (
        f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v>'
        '</x:c><x:c r="XFD1048576"><x:v>2</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    with pytest.raises(LoadError, match="spans"):
        read_table(_book(sheet), "prefixed.xlsx")


def test_the_error_cell_scan_streams_the_sheet_in_chunks(monkeypatch):
    """Chunks of 64 bytes: error cells cut across chunk boundaries are still found whole."""
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>P{r}</t></is></c>'
        + (f'<c r="B{r}" t="e"><v>#DIV/0!</v></c>' if r % 7 == 0 else f'<c r="B{r}"><v>3</v></c>')
        + "</row>"
        for r in range(1, 400)
    )
    data = _book(HEAD + body + TAIL)
    reads = []
    original = zipfile.ZipExtFile.read

    def counted(self, n=-1):
        reads.append(n)
        return original(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    monkeypatch.setattr(excel_errors, "_CHUNK", 64)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        scan = excel_errors.scan_sheet(archive, "Sheet1")
    assert scan.errors == [(r, 1, "#DIV/0!") for r in range(7, 400, 7)]
    assert (scan.extent.rows, scan.extent.columns) == (399, 2)
    assert reads.count(64) > 100  # the sheet, 64 bytes at a time
    assert reads.count(-1) <= 2  # only the small workbook.xml and its relationships whole


def test_too_many_archive_parts_are_refused_before_the_directory_is_read(monkeypatch):
    monkeypatch.setattr(limits, "MAX_ZIP_ENTRIES", 4)
    with pytest.raises(LoadError, match="ZIP archive of 5 parts"):
        read_table(_book(_rows(3)), "parts.xlsx")


def test_a_compression_method_excel_does_not_write_is_refused():
    with pytest.raises(LoadError, match="compression method"):
        read_table(_book(_rows(3), method=zipfile.ZIP_BZIP2), "bzip.xlsx")


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def test_a_parquet_file_of_many_constant_rows_is_refused_from_its_footer(monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 100_000)
    data = _parquet(pa.table({"patient_id": pa.array(["P1"] * 200_000), "value": [0.0] * 200_000}))
    assert len(data) < 20_000
    with pytest.raises(LoadError, match="has 200,000 rows; this dashboard reads at most 100,000"):
        read_table(data, "constant.parquet")


def test_a_parquet_file_that_would_expand_past_its_budget_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "TABLE_FLOOR_BYTES", 1_000_000)
    data = _parquet(pa.table({"note": pa.array(["same text"] * 200_000)}))
    with pytest.raises(LoadError, match=r"would take about .* in memory"):
        read_table(data, "expanding.parquet")


def test_an_ordinary_parquet_file_still_loads():
    frame = pd.DataFrame({"patient_id": ["P1", "P2"] * 50, "pain_nrs__baseline": range(100)})
    assert read_table(_parquet(pa.Table.from_pandas(frame)), "ok.parquet").frame.shape == (100, 2)


def test_a_header_of_a_million_fields_gets_its_own_message():
    header = ",".join(f"c{i}" for i in range(1_000_000))
    result = load_bytes((header + "\n" + "1," * 999_999 + "1\n").encode(), "wide.csv")
    message = result.report.errors[0].message
    assert "columns; this dashboard reads at most 16,384" in message
    assert "Please report this" not in message


def test_too_many_csv_rows_are_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 10)
    text = "patient_id,visit,outcome,value\n" + "P1,baseline,pain_nrs,5\n" * 20
    with pytest.raises(LoadError, match="rows; this dashboard reads at most 10"):
        read_table(text.encode(), "long.csv")


# ---- the CSV/XLSX neutraliser --------------------------------------------------------------


def test_formulas_are_quoted_and_numbers_are_kept():
    frame = pd.DataFrame(
        {
            "text": ['=HYPERLINK("http://x")', "-0.308", "-1", "+cmd", "@SUM(A1)", " =1+1",
                     "\tx", "-2+3", "plain", None],
            "smd": [-0.308, -1.0, 2.5, 0.0, -3.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "n": range(-5, 5),
        }
    )  # fmt: skip
    safe = neutralise_formulas(frame)
    assert safe["text"].tolist()[:-1] == [
        "'=HYPERLINK(\"http://x\")", "-0.308", "-1", "'+cmd", "'@SUM(A1)", "' =1+1", "'\tx",
        "'-2+3", "plain",
    ]  # fmt: skip
    assert pd.isna(safe["text"].iloc[-1])
    assert safe["smd"].tolist() == frame["smd"].tolist()
    assert safe["n"].tolist() == list(range(-5, 5))
    assert neutralise_formulas(safe).equals(safe)  # idempotent


def test_csv_bytes_write_negative_numbers_as_numbers():
    frame = pd.DataFrame({"variable": ["age", "=cmd"], "SMD": ["-0.308", "0.120"]})
    text = to_csv_bytes(frame).decode()
    assert text.splitlines() == ["variable,SMD", "age,-0.308", "'=cmd,0.120"]


def test_categorical_columns_are_neutralised_by_category():
    frame = pd.DataFrame({"site": pd.Categorical(["=A", "-0.5", "=A"])})
    assert neutralise_formulas(frame)["site"].tolist() == ["'=A", "-0.5", "'=A"]
