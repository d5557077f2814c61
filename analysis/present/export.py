"""Exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import io

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote (OWASP CSV
    injection). Numbers, including negative ones, are left as numbers."""
    safe = frame.copy()
    safe.columns = [_neutralise(str(c)) for c in safe.columns]
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: _neutralise(v) if isinstance(v, str) else v)
    return safe


def _neutralise(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def cleaned_long_table(dataset, limit: int | None = None) -> pd.DataFrame:
    """The canonical long table with each patient's attributes, as the Data page offers it
    (the first ``limit`` rows only, for a preview)."""
    long = dataset.long if limit is None else dataset.long.head(limit)
    table = long.merge(dataset.attributes, left_on="patient_id", right_index=True, how="left")
    return neutralise_formulas(table)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "table") -> bytes:
    """One sheet, formulas neutralised, via openpyxl."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_formulas(frame).to_excel(writer, sheet_name=sheet[:31] or "table", index=False)
    return buffer.getvalue()
