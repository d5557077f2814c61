"""Exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import io
import re

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Text a spreadsheet reads as a plain number ("-0.308", "+1", "1e-5"): left as it is.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The one neutraliser for every CSV and XLSX export (OWASP CSV injection): text that a
    spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return,
    after any spaces) gets a leading apostrophe. Numbers are left as numbers, whether stored as
    numbers or as text that reads as one ("-0.308", "-1"). Idempotent: neutralised text starts
    with the apostrophe and is not changed again. Each distinct text is checked once."""
    safe = frame.copy()
    safe.columns = [neutralise_text(str(c)) for c in safe.columns]
    for i in range(safe.shape[1]):
        column = safe.iloc[:, i]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = column.cat.categories
            renamed = [neutralise_text(c) if isinstance(c, str) else c for c in categories]
            if list(renamed) != list(categories) and len(set(renamed)) == len(renamed):
                safe.isetitem(i, column.cat.rename_categories(renamed))
            elif list(renamed) != list(categories):
                safe.isetitem(i, _neutralise_values(column.astype(object)))
            continue
        safe.isetitem(i, _neutralise_values(column))
    return safe


def _neutralise_values(column: pd.Series) -> pd.Series:
    values = column.astype(object)
    changed = {
        u: neutralise_text(u)
        for u in pd.unique(values.to_numpy())
        if isinstance(u, str) and neutralise_text(u) != u
    }
    if not changed:
        return column
    hit = values.isin(list(changed)).to_numpy()
    result = values.copy()
    result[hit] = values[hit].map(changed)
    return result


def neutralise_text(text: str) -> str:
    """One cell's text, with an apostrophe in front when a spreadsheet would run it."""
    stripped = text.lstrip(" \u00a0")
    if stripped.startswith(_FORMULA_START) and not _NUMBER.fullmatch(stripped.strip()):
        return "'" + text
    return text


# The name used before; kept for callers that import it.
_neutralise = neutralise_text


def cleaned_long_table(dataset, limit: int | None = None) -> pd.DataFrame:
    """The canonical long table with each patient's attributes, as the Data page offers it
    (the first ``limit`` rows only, for a preview)."""
    long = dataset.long if limit is None else dataset.long.head(limit)
    table = long.merge(dataset.attributes, left_on="patient_id", right_index=True, how="left")
    return neutralise_formulas(table)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV bytes, formulas neutralised (again, harmlessly, if the caller already did)."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8")


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "table") -> bytes:
    """One sheet, formulas neutralised, via openpyxl."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_formulas(frame).to_excel(writer, sheet_name=sheet[:31] or "table", index=False)
    return buffer.getvalue()


# -- Numbers as numbers, with provenance (issue #18) ---------------------------------------------
# Appended: the functions above are not changed. A numeric export has one value per column
# (analysis.present.numeric_tables); the readable table goes with it, labelled, and so does the
# provenance record (analysis.present.provenance).

FORMATTED_LABEL = (
    "Formatted for reading, as shown on the page: numbers here are text. "
    "The numbers to compute with are on the sheet 'data'."
)
_ZIP_README = """\
Files in this zip:

- {stem}.csv: {what}
{formatted}- {stem}.provenance.json: where the numbers come from: the data source and its SHA-256,
  the cohort filter (in words and as the page link's query), baseline and visits, arms,
  estimand, software and library versions, and the date and time (UTC).
"""
_NUMBERS = (
    "the numbers, one value per column (estimate, ci_low, ci_high, p_value with the test\n"
    "  named in 'test', n, unit), unformatted; pandas.read_csv or any spreadsheet reads them\n"
    "  as numbers."
)
_AS_SHOWN = "the table as shown on the page."
_FORMATTED_LINE = (
    "- {stem}.formatted.csv: the table as shown on the page, formatted for reading (numbers\n"
    "  there are text).\n"
)
_P_FORMAT = "[<0.0001]0.00E+00;0.0000"
_RATE_FORMAT = "0.0"
_FLOAT_FORMAT = "0.0000"
_INT_FORMAT = "0"


def ascii_minus(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells and column names with the typographic minus (U+2212) as ASCII '-'."""
    out = frame.copy()
    out.columns = [str(c).replace("\u2212", "-") for c in out.columns]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        out.isetitem(i, column.map(lambda v: v.replace("\u2212", "-") if isinstance(v, str) else v))
    return out


def numeric_csv(frame: pd.DataFrame) -> bytes:
    """A numeric table as CSV bytes: numbers unformatted (full precision, ASCII minus, empty
    where undefined), text neutralised for spreadsheets, UTF-8, '\\n' line ends. No comment
    lines: the provenance goes beside the CSV (``provenance_json`` in
    analysis.present.provenance, or both in one zip with ``csv_zip_bytes``), so that any
    reader, ``pandas.read_csv`` without options included, gets the numbers back as numbers."""
    text = neutralise_formulas(ascii_minus(frame)).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def csv_zip_bytes(
    numeric: pd.DataFrame,
    formatted: pd.DataFrame | None = None,
    provenance=None,
    stem: str = "table",
) -> bytes:
    """A zip of ``<stem>.csv`` (the numbers), ``<stem>.formatted.csv`` (the readable table,
    when given), ``<stem>.provenance.json`` and a README.txt saying which is which."""
    import zipfile

    from analysis.present.provenance import provenance_json, with_time

    record = with_time(provenance or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.csv", numeric_csv(numeric))
        if formatted is not None:
            archive.writestr(f"{stem}.formatted.csv", to_csv_bytes(formatted))
        archive.writestr(f"{stem}.provenance.json", provenance_json(record))
        readme = _ZIP_README.format(
            stem=stem,
            what=_NUMBERS if formatted is not None else _AS_SHOWN,
            formatted=_FORMATTED_LINE.format(stem=stem) if formatted is not None else "",
        )
        archive.writestr("README.txt", readme)
    return buffer.getvalue()


def _number_format(name: str, column: pd.Series) -> str:
    lowered = name.lower()
    if pd.api.types.is_integer_dtype(column):
        return _INT_FORMAT
    if lowered.startswith(("p_value", "p-value")) or lowered in {"p", "shapiro_p"}:
        return _P_FORMAT
    if lowered.startswith(("pct_", "rate")) or lowered.endswith("%"):
        return _RATE_FORMAT
    return _FLOAT_FORMAT


def _fit_columns(sheet, frame: pd.DataFrame, first_row: int = 1) -> None:
    from openpyxl.utils import get_column_letter

    for i, column in enumerate(frame.columns, start=1):
        values = frame.iloc[:200, i - 1]
        longest = max([len(str(column))] + [len(str(v)) for v in values], default=8)
        sheet.column_dimensions[get_column_letter(i)].width = min(60, max(8, longest + 2))
    sheet.freeze_panes = sheet.cell(row=first_row + 1, column=1)


def export_xlsx_bytes(
    numeric: pd.DataFrame,
    formatted: pd.DataFrame | None = None,
    provenance=None,
) -> bytes:
    """One workbook: sheet 'data' (the numbers as numeric cells, each numeric column with a
    number format), sheet 'formatted' (the readable table, labelled in its first row, when
    given) and sheet 'provenance' (key, value rows). Text is neutralised for spreadsheets."""
    from analysis.present.provenance import provenance_frame, with_time

    data = neutralise_formulas(ascii_minus(numeric))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        data.to_excel(writer, sheet_name="data", index=False)
        sheet = writer.sheets["data"]
        for i, column in enumerate(data.columns):
            values = data.iloc[:, i]
            if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
                continue
            fmt = _number_format(str(column), values)
            for row in range(2, len(data) + 2):
                sheet.cell(row=row, column=i + 1).number_format = fmt
        _fit_columns(sheet, data)
        if formatted is not None:
            shown = neutralise_formulas(formatted)
            shown.to_excel(writer, sheet_name="formatted", index=False, startrow=2)
            label = writer.sheets["formatted"]
            label.cell(row=1, column=1, value=FORMATTED_LABEL)
            _fit_columns(label, shown, first_row=3)
        record = provenance_frame(with_time(provenance or {}))
        neutralise_formulas(record).to_excel(writer, sheet_name="provenance", index=False)
        _fit_columns(writer.sheets["provenance"], record)
    return buffer.getvalue()
