"""Stage 4 of ingest: a guarded table (long or wide) reshaped into the canonical long table.

Canonical long table, one row per usable value:
``patient_id`` (text), ``visit`` (label, trimmed), ``day`` (days since treatment, may be
missing), ``outcome`` (code), ``value`` (number), ``source_row`` and ``source_column`` (where
it came from). Per-patient attributes are kept row by row beside it (one patient per row is
the validate stage's job). Every value read is accounted for: used, blank, or left out with a
reported reason.

Layout: long when the table has patient, visit, outcome and value columns (by the names in
``codes.COLUMN_ALIASES``), wide when it has ``<outcome>__<visit>`` columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.ingest.codes import (
    as_categorical,
    column_key,
    find_column,
    keep_rows,
    label_codes,
    map_labels,
    map_values,
    strip_labels,
)
from analysis.ingest.findings import Severity, ValidationReport, cell_locations, describe_locations

LONG_COLUMNS = ["patient_id", "visit", "day", "outcome", "value", "source_row", "source_column"]
MISSING_MARKERS = frozenset(
    {"na", "n/a", "n.a.", "nan", "null", "none", "missing", "-", "--", ".", "nd", "nr", "?"}
)
_STATUSES = ["ok", "blank", "marker", "text"]
_BLOCK_ROWS = 1 << 16


@dataclass
class TidyTable:
    """The canonical long table before validation, with what tidying counted."""

    records: pd.DataFrame  # LONG_COLUMNS plus raw_value (the cell as read); numbers only
    attributes: pd.DataFrame  # one row per source row: patient_id, attributes..., source_row
    layout: str  # "long" or "wide"
    accounting: dict[str, int]  # values read, blank, left out (and why) so far
    visit_labels: pd.Series  # every row's visit label, rows with blank values too
    visit_column: str | None  # the column holding visit labels (None: in wide column names)

    def first_appearance(self, labels: Iterable[str]) -> list[str]:
        """``labels`` in the order they first appear in the file (rows with blank values too);
        reads the rows in blocks until every label is seen (usually the first block)."""
        codes, categories = label_codes(self.visit_labels)
        position = {str(c): i for i, c in enumerate(categories)}
        wanted = {position[label] for label in labels if label in position}
        first: dict[int, int] = {}
        for start in range(0, len(codes), _BLOCK_ROWS):
            block = codes[start : start + _BLOCK_ROWS]
            for code in set(np.unique(block).tolist()) - first.keys():
                first[code] = start + int(np.argmax(block == code))
            if wanted <= first.keys():
                break
        never = len(codes)
        return sorted(labels, key=lambda label: first.get(position.get(label, -1), never))


def tidy(
    frame: pd.DataFrame,
    report: ValidationReport,
    *,
    decimal_comma: bool,
    source_rows: np.ndarray,
) -> TidyTable | None:
    """The canonical long table of ``frame``, or None (an error in the report) when it has no
    patient ID or no score columns; ``source_rows`` is each row's spreadsheet row."""
    id_column = find_column(frame.columns, "patient_id")
    if id_column is None:
        report.add(
            "error",
            "no_patient_id",
            "No patient ID column was found. Name it 'patient_id' (pseudonymous, e.g. 'P007'). "
            "Columns found: " + ", ".join(repr(c) for c in frame.columns[:20]) + ".",
        )
        return None
    visit_col, outcome_col, value_col = (
        find_column(frame.columns, role) for role in ("visit", "outcome", "value")
    )
    wide_columns = [c for c in frame.columns if _split_wide(c) is not None]
    if visit_col and outcome_col and value_col:
        records, attributes = _from_long(
            frame, id_column, (visit_col, outcome_col, value_col), decimal_comma, source_rows
        )
        layout = "long"
    elif wide_columns:
        records, attributes = _from_wide(frame, id_column, wide_columns, source_rows)
        layout = "wide"
    else:
        report.add(
            "error",
            "no_scores",
            "No score columns were recognised. Use either the long format (columns patient_id, "
            "visit, outcome, value) or the wide format (patient_id plus one column per score "
            "named <outcome>__<visit>, e.g. pain_nrs__baseline, pain_nrs__m6).",
        )
        return None

    records, n_missing_keys = _drop_missing_keys(records, report)
    records["visit"] = strip_labels(records["visit"])
    visit_labels = records["visit"]
    values, status = parse_numbers(records["raw_value"], decimal_comma)
    records.insert(records.columns.get_loc("raw_value"), "value", values)
    accounting = {
        "values read": len(records) + n_missing_keys,
        "left out: row without patient ID, visit or outcome": n_missing_keys,
        "blank (not recorded)": int((status == "blank").sum()),
    }
    _report_cells(report, records, status == "marker", "note", "missing_marker", _marker_message)
    _report_cells(report, records, status == "text", "warning", "non_numeric", _text_message)
    accounting["recorded as missing (n/a, -, ...)"] = int((status == "marker").sum())
    accounting["left out: not a number"] = int((status == "text").sum())
    records = keep_rows(records, status == "ok").copy(deep=False)
    records["outcome"] = map_labels(records["outcome"], column_key)
    visit_column = visit_col if layout == "long" else None
    return TidyTable(records, attributes, layout, accounting, visit_labels, visit_column)


def _number_status(codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Per cell, one of ``_STATUSES`` from its integer code."""
    return pd.Series(pd.Categorical.from_codes(codes, categories=_STATUSES), index=index)


def parse_numbers(cells: pd.Series, decimal_comma: bool) -> tuple[pd.Series, pd.Series]:
    """Numbers from text cells. Returns (values, status) where status is one of 'ok', 'blank',
    'marker' (n/a, missing, ...) or 'text' (not a number). Text is parsed once per distinct
    cell and reaches the rows through integer codes."""
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        values = cells.astype(float)
        array = values.to_numpy()
        finite = np.isfinite(array)
        if finite.all():
            return values, _number_status(np.zeros(len(cells), dtype=np.int8), cells.index)
        codes = np.where(np.isnan(array), 1, np.where(finite, 0, 3)).astype(np.int8)
        return values.where(finite), _number_status(codes, cells.index)
    codes, labels = label_codes(cells)
    text = pd.Series(labels, dtype=object).astype(str).str.strip()
    blank = text.eq("").to_numpy()
    marker = text.str.casefold().isin(MISSING_MARKERS).to_numpy()
    if decimal_comma:
        text = text.str.replace(r"^([+-]?\d*),(\d+)$", r"\1.\2", regex=True)
    numbers = pd.to_numeric(text, errors="coerce").astype(float).to_numpy()
    numbers = np.where(np.isfinite(numbers), numbers, np.nan)
    status = np.select([blank, marker, np.isnan(numbers)], [1, 2, 3], 0).astype(np.int8)
    return (
        pd.Series(numbers[codes], index=cells.index, name=cells.name),
        _number_status(status[codes], cells.index),
    )


def _split_wide(column: object) -> tuple[str, str] | None:
    """(outcome, visit) of a wide score column named ``<outcome>__<visit>``, else None."""
    if "__" not in str(column):
        return None
    outcome, _, visit = str(column).rpartition("__")
    if not outcome.strip() or not visit.strip():
        return None
    return outcome.strip(), visit.strip()


def _from_long(
    frame: pd.DataFrame,
    id_column: str,
    roles: tuple[str, str, str],
    decimal_comma: bool,
    source_rows: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records and row-wise attributes of a long table (visit, outcome and value columns)."""
    visit_col, outcome_col, value_col = roles
    day_col = find_column(frame.columns, "day")
    # Columns assigned one at a time: pandas keeps them as separate blocks instead of
    # stacking same-typed columns into a new 2-D array (a full copy at registry scale).
    records = pd.DataFrame(index=frame.index)
    records["patient_id"] = strip_labels(frame[id_column])
    records["visit"] = map_labels(frame[visit_col], str)
    if day_col is not None:
        records["day"] = parse_numbers(frame[day_col], decimal_comma)[0]
    else:
        records["day"] = np.full(len(frame), np.nan)
    records["outcome"] = map_labels(frame[outcome_col], lambda t: str(t).strip())
    records["raw_value"] = frame[value_col]
    records["source_row"] = (
        frame["_source_row"].to_numpy() if "_source_row" in frame else source_rows
    )
    records["source_column"] = (
        map_labels(frame["_source_column"], str)
        if "_source_column" in frame
        else pd.Categorical.from_codes(np.zeros(len(frame), np.int8), [value_col])
    )
    used = {id_column, visit_col, outcome_col, value_col, day_col, "_source_row", "_source_column"}
    used |= {"patient_id", "source_row"}  # written below, from the records
    attribute_columns = [c for c in frame.columns if c not in used]
    attributes = frame[attribute_columns].assign(
        patient_id=records["patient_id"], source_row=records["source_row"]
    )
    return records, attributes[["patient_id", *attribute_columns, "source_row"]]


def _from_wide(
    frame: pd.DataFrame, id_column: str, wide_columns: list[str], source_rows: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records and row-wise attributes of a wide table (one column per outcome and visit)."""
    ids = frame[id_column].astype(str).str.strip()
    parts = []
    for column in wide_columns:
        outcome, visit = _split_wide(column) or ("", "")
        parts.append(
            pd.DataFrame(
                {
                    "patient_id": ids,
                    "visit": visit,
                    "outcome": outcome,
                    "raw_value": frame[column],
                    "source_row": source_rows,
                    "source_column": column,
                }
            )
        )
    records = pd.concat(parts, ignore_index=True)
    for column in ("patient_id", "visit", "outcome", "source_column"):
        records[column] = as_categorical(records[column])
    records["day"] = np.nan
    attribute_columns = [c for c in frame.columns if c != id_column and c not in wide_columns]
    attributes = frame[attribute_columns].copy()
    attributes.insert(0, "patient_id", ids)
    attributes["source_row"] = source_rows
    return records, attributes


def _drop_missing_keys(records: pd.DataFrame, report: ValidationReport) -> tuple[pd.DataFrame, int]:
    """Records that have a patient ID, visit and outcome; values lost without one are reported
    and counted (the count is returned)."""

    def blank(text: object) -> bool:
        """Whether a key cell is empty."""
        return str(text).strip() == ""

    codes, ids = label_codes(records["patient_id"])
    stripped = pd.Series(ids, dtype=object).astype(str).str.strip()
    no_id = (stripped.eq("") | stripped.str.casefold().isin({"nan", "none"})).to_numpy()
    blank_visit = [blank(label) for label in label_codes(records["visit"])[1]]
    blank_outcome = [blank(label) for label in label_codes(records["outcome"])[1]]
    if not (no_id.any() or any(blank_visit) or any(blank_outcome)):
        return records, 0  # every row has all three keys: nothing to look at row by row
    missing = (
        no_id[codes]
        | map_values(records["visit"], blank, bool)
        | map_values(records["outcome"], blank, bool)
    )  # fmt: skip
    raw = records["raw_value"]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        has_value = raw.notna().to_numpy()
    else:
        has_value = ~map_values(raw, blank, bool)
    lost = missing & has_value
    if lost.any():
        locations = pd.DataFrame(
            {
                "row": records.loc[lost, "source_row"],
                "column": records.loc[lost, "source_column"],
                "value": records.loc[lost, "raw_value"].astype(str),
            }
        )
        report.add(
            "warning",
            "missing_key",
            f"{int(lost.sum())} score(s) have no patient ID, visit or outcome and were left out: "
            f"{describe_locations(locations)}.",
            locations,
        )
    return keep_rows(records, ~missing).copy(deep=False), int(lost.sum())


def _marker_message(n: int, where: str) -> str:
    """The finding for cells that say the value is missing."""
    return (
        f"{n} cell(s) say the value is missing (such as 'n/a') and were treated as missing: "
        f"{where}."
    )


def _text_message(n: int, where: str) -> str:
    """The finding for cells that are not numbers."""
    return f"{n} cell(s) are not numbers and were left out: {where}."


def _report_cells(
    report: ValidationReport,
    records: pd.DataFrame,
    mask: pd.Series,
    severity: Severity,
    code: str,
    message: Callable[[int, str], str],
) -> None:
    """One finding listing every cell where ``mask`` holds (none when it holds nowhere)."""
    if mask.any():
        locations = cell_locations(records, mask)
        where = describe_locations(locations)
        report.add(severity, code, message(int(mask.sum()), where), locations)
