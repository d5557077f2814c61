"""From a raw table (long or wide) to the canonical long table, validating as it goes.

Canonical long table, one row per usable value:
``patient_id`` (text), ``visit`` (label), ``day`` (days since treatment, may be missing),
``outcome`` (code), ``value`` (number), ``source_row`` and ``source_column`` (where it came
from). Per-patient attributes live in a separate table indexed by ``patient_id``.
Every value read is accounted for: used, blank, or left out with a reported reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.ingest import adapt as adapters
from analysis.ingest import phi
from analysis.ingest.codes import (
    as_categorical,
    combined_key,
    duplicated_keys,
    label_codes,
    map_labels,
    map_values,
    strip_labels,
)
from analysis.ingest.dataset import Dataset
from analysis.ingest.findings import Severity, ValidationReport, describe_locations
from analysis.ingest.read import RawTable
from analysis.ingest.visits import detect_baseline, normalise_label, order_visits
from analysis.instruments import lookup

_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "patient_id",
        "patientid",
        "patient",
        "subject_id",
        "subjectid",
        "subject",
        "participant_id",
        "participant",
        "pid",
        "study_id",
    ),
    "visit": ("visit", "visit_label", "timepoint", "time_point", "visit_name"),
    "outcome": ("outcome", "measure", "parameter", "instrument", "score_name"),
    "value": ("value", "score", "result"),
    "day": ("day", "days", "study_day", "days_since_treatment"),
}
LONG_COLUMNS = ["patient_id", "visit", "day", "outcome", "value", "source_row", "source_column"]
MISSING_MARKERS = frozenset(
    {"na", "n/a", "n.a.", "nan", "null", "none", "missing", "-", "--", ".", "nd", "nr", "?"}
)


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip()).casefold()


def _find(columns: list[str], role: str) -> str | None:
    keys = {_key(c): c for c in columns}
    for alias in _ALIASES[role]:
        if alias in keys:
            return keys[alias]
    return None


_STATUSES = ["ok", "blank", "marker", "text"]


def _status(codes: np.ndarray, index: pd.Index) -> pd.Series:
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
            return values, _status(np.zeros(len(cells), dtype=np.int8), cells.index)
        codes = np.where(np.isnan(array), 1, np.where(finite, 0, 3)).astype(np.int8)
        return values.where(finite), _status(codes, cells.index)
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
        _status(status[codes], cells.index),
    )


def _keep(records: pd.DataFrame, mask: pd.Series | np.ndarray) -> pd.DataFrame:
    """``records`` where ``mask`` holds; the same frame (no copy) when it holds everywhere."""
    mask = np.asarray(mask, dtype=bool)
    return records if mask.all() else records.loc[mask]


def build_dataset(
    raw: RawTable,
    *,
    drop_columns: list[str] | None = None,
    convert_dates: bool = False,
    event_map: dict[str, str] | None = None,
    synthetic: bool = False,
) -> tuple[Dataset | None, ValidationReport]:
    """Validate and reshape ``raw``. Returns (dataset or None when unusable, report).

    ``drop_columns`` and ``convert_dates`` are the user's answers to the PHI guard."""
    report = ValidationReport()
    frame = raw.frame.copy(deep=False)  # copy-on-write: columns are copied only if changed
    unnamed_blank = [c for c in frame.columns if c == "" and frame[c].astype(str).eq("").all()]
    if unnamed_blank:
        frame = frame.drop(columns=unnamed_blank)
    if drop_columns:
        frame = frame.drop(columns=[c for c in drop_columns if c in frame.columns])
        report.add(
            "note",
            "columns_dropped",
            "Dropped at your request before loading: " + ", ".join(drop_columns) + ".",
        )
    if raw.skipped_lines is not None and len(raw.skipped_lines):
        report.add(
            "warning",
            "ragged_rows",
            f"{len(raw.skipped_lines)} row(s) have a different number of fields than the "
            f"header and were left out: {describe_locations(raw.skipped_lines)}.",
            raw.skipped_lines,
        )
    if len(frame) == 0:
        report.add("error", "no_rows", f"{raw.source_name} has column names but no data rows.")
        return None, report
    adapted = adapters.adapt(frame, event_map, raw.row_numbers())
    if adapted.kind:
        frame = adapted.frame
        for note in adapted.notes:
            report.add("note", f"{adapted.kind}_source", note)
    id_column = _find(list(frame.columns), "patient_id")
    frame = _guard_identifiers(frame, id_column, convert_dates, report)
    if frame is None:
        return None, report
    if id_column is None:
        report.add(
            "error",
            "no_patient_id",
            "No patient ID column was found. Name it 'patient_id' (pseudonymous, e.g. 'P007'). "
            "Columns found: " + ", ".join(repr(c) for c in frame.columns[:20]) + ".",
        )
        return None, report

    visit_col, outcome_col, value_col = (
        _find(list(frame.columns), role) for role in ("visit", "outcome", "value")
    )
    wide_columns = [c for c in frame.columns if _split_wide(c) is not None]
    if visit_col and outcome_col and value_col:
        records, attributes = _from_long(frame, raw, id_column, visit_col, outcome_col, value_col)
        shape = "long"
    elif wide_columns:
        records, attributes = _from_wide(frame, id_column, wide_columns, raw.row_numbers())
        shape = "wide"
    else:
        report.add(
            "error",
            "no_scores",
            "No score columns were recognised. Use either the long format (columns patient_id, "
            "visit, outcome, value) or the wide format (patient_id plus one column per score "
            "named <outcome>__<visit>, e.g. pain_nrs__baseline, pain_nrs__m6).",
        )
        return None, report

    records = _drop_missing_keys(records, report)
    values, status = parse_numbers(records["raw_value"], raw.decimal_comma)
    records.insert(records.columns.get_loc("raw_value"), "value", values)
    accounting = {"values read": len(records) + int(records.attrs.get("missing_keys", 0))}
    accounting["left out: row without patient ID, visit or outcome"] = int(
        records.attrs.get("missing_keys", 0)
    )
    accounting["blank (not recorded)"] = int((status == "blank").sum())
    _report_cells(report, records, status == "marker", "note", "missing_marker", _marker_message)
    _report_cells(report, records, status == "text", "warning", "non_numeric", _text_message)
    accounting["recorded as missing (n/a, -, ...)"] = int((status == "marker").sum())
    accounting["left out: not a number"] = int((status == "text").sum())
    records = _keep(records, status == "ok").copy(deep=False)

    records = _merge_visit_spellings(records, report)
    records["outcome"] = map_labels(records["outcome"], _key)
    out_of_range = _out_of_range(records)
    if out_of_range.any():
        _report_out_of_range(report, records.loc[out_of_range])
    accounting["left out: outside the instrument's valid range"] = int(out_of_range.sum())
    records = _keep(records, ~out_of_range)
    records, n_identical, n_conflicting = _resolve_duplicates(records, report)
    accounting["merged: exact duplicate rows"] = n_identical
    accounting["left out: conflicting duplicates"] = n_conflicting
    accounting["values used"] = len(records)
    report.accounting = accounting
    if records.empty:
        report.add("error", "no_values", "No usable numeric scores are left in the file.")
        return None, report

    attributes = _clean_attributes(attributes, raw.decimal_comma, report)
    long = records.drop(columns="raw_value").reset_index(drop=True)
    if list(long.columns) != LONG_COLUMNS:
        long = long[LONG_COLUMNS]
    has_days = bool(long["day"].notna().any())
    median_day = (
        long.groupby("visit", sort=False, observed=True)["day"].median().to_dict()
        if has_days
        else {}
    )
    visits, rule = order_visits(list(long["visit"].unique()), median_day if has_days else None)
    baseline = detect_baseline(visits, median_day if has_days else None)
    if adapted.visit_order and set(adapted.visit_order) >= set(visits) and not has_days:
        visits = [v for v in adapted.visit_order if v in set(visits)]
        rule = "by the analysis visit number (AVISITN)"
    if adapted.baseline in visits:
        baseline = adapted.baseline
    dataset = Dataset(
        long=long,
        attributes=attributes,
        visits=visits,
        visit_order_rule=rule,
        baseline=baseline,
        source_name=raw.source_name,
        source_format=f"{raw.describe()}, {adapted.kind or shape} layout",
        report=report,
        synthetic=synthetic,
        event_map=adapted.event_map,
    )
    _post_checks(dataset, report)
    return dataset, report


def _guard_identifiers(
    frame: pd.DataFrame, id_column: str | None, convert_dates: bool, report: ValidationReport
) -> pd.DataFrame | None:
    """Refuse identifiers (None) unless the user's choices removed them; flag record-number IDs."""
    flags = phi.scan(frame, id_column)
    dates = [f.column for f in flags if f.is_date]
    if convert_dates and dates and id_column is not None:
        treatment = phi.treatment_date_column(dates)
        if treatment is not None:
            frame, notes = phi.dates_to_days(frame, id_column, dates, treatment)
            report.add("note", "dates_converted", "Dates turned into days: " + "; ".join(notes))
            flags = [f for f in flags if not f.is_date]
    if flags:
        report.add(
            "error",
            "identifiers",
            "The file was not loaded because some columns look like direct identifiers: "
            + "; ".join(f"{f.column!r} ({f.reason})" for f in flags)
            + ". This dashboard takes de-identified data only: drop these columns (or turn "
            "calendar dates into days since treatment) and use pseudonymous patient IDs.",
            pd.DataFrame(
                {
                    "row": 1,
                    "column": [f.column for f in flags],
                    "value": [f.reason for f in flags],
                    "is_date": [f.is_date for f in flags],
                }
            ),
        )
        return None
    if id_column is not None:
        suspicious = phi.record_number_ids(frame[id_column])
        if suspicious:
            report.add(
                "warning",
                "record_number_ids",
                f"{suspicious} patient ID(s) look like real record numbers (7 or more digits, "
                "or the shape of a social security or phone number). Use pseudonymous study "
                "IDs that cannot be traced back outside the study.",
            )
    return frame


def _split_wide(column: str) -> tuple[str, str] | None:
    if "__" not in str(column):
        return None
    outcome, _, visit = str(column).rpartition("__")
    if not outcome.strip() or not visit.strip():
        return None
    return outcome.strip(), visit.strip()


def _from_long(
    frame: pd.DataFrame,
    raw: RawTable,
    id_column: str,
    visit_col: str,
    outcome_col: str,
    value_col: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    day_col = _find(list(frame.columns), "day")
    # Columns assigned one at a time: pandas keeps them as separate blocks instead of
    # stacking same-typed columns into a new 2-D array (a full copy at registry scale).
    records = pd.DataFrame(index=frame.index)
    records["patient_id"] = strip_labels(frame[id_column])
    records["visit"] = map_labels(frame[visit_col], str)
    if day_col is not None:
        records["day"] = parse_numbers(frame[day_col], raw.decimal_comma)[0]
    else:
        records["day"] = np.full(len(frame), np.nan)
    records["outcome"] = map_labels(frame[outcome_col], lambda t: str(t).strip())
    records["raw_value"] = frame[value_col]
    records["source_row"] = (
        frame["_source_row"].to_numpy() if "_source_row" in frame else raw.row_numbers()
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
    ids = frame[id_column].astype(str).str.strip()
    parts = []
    for column in wide_columns:
        outcome, visit = _split_wide(column)  # type: ignore[misc]
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


def _drop_missing_keys(records: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    def blank(text: object) -> bool:
        return str(text).strip() == ""

    codes, ids = label_codes(records["patient_id"])
    stripped = pd.Series(ids, dtype=object).astype(str).str.strip()
    no_id = (stripped.eq("") | stripped.str.casefold().isin({"nan", "none"})).to_numpy()
    blank_visit = [blank(label) for label in label_codes(records["visit"])[1]]
    blank_outcome = [blank(label) for label in label_codes(records["outcome"])[1]]
    if not (no_id.any() or any(blank_visit) or any(blank_outcome)):
        records.attrs["missing_keys"] = 0
        return records  # every row has all three keys: nothing to look at row by row
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
    kept = _keep(records, ~missing).copy(deep=False)
    kept.attrs["missing_keys"] = int(lost.sum())
    return kept


def _locations(records: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": records.loc[mask, "source_row"].to_numpy(),
            "column": records.loc[mask, "source_column"].to_numpy(),
            "value": records.loc[mask, "raw_value"].astype(str).to_numpy(),
        }
    )


def _marker_message(n: int, where: str) -> str:
    return (
        f"{n} cell(s) say the value is missing (such as 'n/a') and were treated as missing: "
        f"{where}."
    )


def _text_message(n: int, where: str) -> str:
    return f"{n} cell(s) are not numbers and were left out: {where}."


def _report_cells(
    report: ValidationReport,
    records: pd.DataFrame,
    mask: pd.Series,
    severity: Severity,
    code: str,
    message: Callable[[int, str], str],
) -> None:
    if mask.any():
        locations = _locations(records, mask)
        where = describe_locations(locations)
        report.add(severity, code, message(int(mask.sum()), where), locations)


def _merge_visit_spellings(records: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Labels that differ only in case or spaces become the spelling seen first in the file."""
    stripped = strip_labels(records["visit"])
    codes = stripped.cat.codes.to_numpy()
    spellings = list(stripped.cat.categories)
    by_key: dict[str, list[int]] = {}
    for i, spelling in enumerate(spellings):
        by_key.setdefault(normalise_label(spelling), []).append(i)
    canonical = list(range(len(spellings)))
    merged = []
    for group in by_key.values():
        if len(group) > 1:
            group = sorted(group, key=lambda i: int(np.argmax(codes == i)))  # file order
            canonical = [group[0] if c in group else c for c in canonical]
            merged.append(group)
    if merged:
        described = "; ".join(
            f"{', '.join(repr(spellings[i]) for i in g)} → {spellings[g[0]]!r}" for g in merged
        )
        report.add(
            "warning",
            "visit_spellings",
            "Visit labels that differ only in case or spaces were treated as one visit: "
            + described
            + ".",
        )
        stripped = map_labels(stripped, lambda t: spellings[canonical[spellings.index(t)]])
    records["visit"] = stripped
    return records


def _out_of_range(records: pd.DataFrame) -> pd.Series:
    low = map_values(records["outcome"], lambda c: lookup(c).low, float)
    high = map_values(records["outcome"], lambda c: lookup(c).high, float)
    values = records["value"].to_numpy()
    return pd.Series((values < low) | (values > high), index=records.index)


def _report_out_of_range(report: ValidationReport, bad: pd.DataFrame) -> None:
    for code, group in bad.groupby("outcome", sort=False, observed=True):
        inst = lookup(code)
        locations = _locations(group, pd.Series(True, index=group.index))
        report.add(
            "warning",
            "out_of_range",
            f"{len(group)} {inst.short_label} value(s) are outside the valid range "
            f"{inst.range_text()} and were left out of the analysis: "
            f"{describe_locations(locations)}.",
            locations,
        )


def _resolve_duplicates(
    records: pd.DataFrame, report: ValidationReport
) -> tuple[pd.DataFrame, int, int]:
    keys = ["patient_id", "visit", "outcome"]
    dup = duplicated_keys(combined_key(records, keys))
    if not dup.any():
        return records, 0, 0
    repeated = records.loc[dup]  # usually a handful of rows: plain pandas from here
    spread = repeated.groupby(keys, observed=True)["value"].transform("nunique")
    conflicting_mask = pd.Series(False, index=records.index)
    conflicting_mask.loc[spread.index] = (spread > 1).to_numpy()
    identical_extra = pd.Series(False, index=records.index)
    identical_extra.loc[repeated.index] = repeated.duplicated(keys, keep="first").to_numpy()
    identical_extra &= ~conflicting_mask
    if identical_extra.any():
        locations = _locations(records, identical_extra)
        report.add(
            "warning",
            "duplicate_identical",
            f"{int(identical_extra.sum())} row(s) repeat a patient × visit × outcome with the "
            f"same value; one copy was kept: {describe_locations(locations)}.",
            locations,
        )
    if conflicting_mask.any():
        locations = _locations(records, conflicting_mask)
        locations["patient_id"] = records.loc[conflicting_mask, "patient_id"].astype(str).to_numpy()
        report.add(
            "warning",
            "duplicate_conflicting",
            f"{int(conflicting_mask.sum())} values belong to a patient × visit × outcome that "
            "appears more than once with different values. Choosing one would be a guess, so "
            f"none of them was used: {describe_locations(locations)}.",
            locations,
        )
    keep = ~identical_extra & ~conflicting_mask
    return records.loc[keep], int(identical_extra.sum()), int(conflicting_mask.sum())


def _clean_attributes(
    attributes: pd.DataFrame, decimal_comma: bool, report: ValidationReport
) -> pd.DataFrame:
    """One row per patient (in order of first appearance): each attribute's first recorded
    value, with a warning for attributes that vary within a patient. Vectorised over rows
    with integer patient codes (a long file repeats each attribute on every row)."""
    codes, labels = label_codes(strip_labels(attributes["patient_id"]))
    labels = np.asarray(labels, dtype=object)
    n_rows = len(codes)
    has_id = (labels != "")[codes]
    first_row = np.full(len(labels), n_rows)
    np.minimum.at(first_row, codes[has_id], np.flatnonzero(has_id))
    seen = np.flatnonzero(first_row < n_rows)
    patients = seen[np.argsort(first_row[seen], kind="stable")]
    index = pd.Index(labels[patients].astype(str), dtype="str", name="patient_id")
    result = pd.DataFrame(index=index)
    columns = [c for c in attributes.columns if c not in ("patient_id", "source_row") and c]
    for column in columns:
        values, status = parse_numbers(attributes[column], decimal_comma)
        numeric = bool((status != "text").all() and (status == "ok").any())
        if numeric:
            cells = values.to_numpy(dtype=float)
            present = ~np.isnan(cells) & has_id
        else:
            cells, cell_labels = label_codes(strip_labels(attributes[column]))
            present = (np.array(cell_labels, dtype=object) != "")[cells] & has_id
        reference, varying = _first_and_varying(codes, cells, present, first_row, len(labels))
        varying_ids = [str(label) for label in labels[patients[varying[patients]]]]
        if varying_ids:
            shown = ", ".join(varying_ids[:10]) + (
                f" and {len(varying_ids) - 10} more" if len(varying_ids) > 10 else ""
            )
            report.add(
                "warning",
                "attribute_varies",
                f"Attribute {column!r} should be constant within a patient but varies for "
                f"{len(varying_ids)} patient(s) ({shown}); the first value recorded was used.",
                pd.DataFrame({"column": column, "value": "", "patient_id": varying_ids}),
            )
        chosen = reference[patients]
        if numeric:
            result[column] = chosen
        else:
            lookup_labels = np.array([*cell_labels, np.nan], dtype=object)
            result[column] = pd.Series(lookup_labels[chosen], index=index, dtype=object)
    return result


def _first_and_varying(
    patient: np.ndarray, cells: np.ndarray, present: np.ndarray, first_row: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per patient code: the first present cell (NaN, or code -1 for text, when none) and
    whether any present cell differs from it."""
    is_float = cells.dtype.kind == "f"
    missing = np.nan if is_float else -1
    reference = np.full(n, missing, dtype=float if is_float else np.int64)
    n_rows = len(patient)
    have_first = first_row < n_rows
    first_cells = np.full(n, missing, dtype=reference.dtype)
    first_present = np.zeros(n, dtype=bool)
    first_present[have_first] = present[first_row[have_first]]
    first_cells[have_first] = cells[first_row[have_first]]
    reference[first_present] = first_cells[first_present]
    # Patients whose first row is blank for this attribute: find their first present row.
    late = present & ~first_present[patient]
    if late.any():
        first_late = np.full(n, n_rows)
        np.minimum.at(first_late, patient[late], np.flatnonzero(late))
        found = first_late < n_rows
        reference[found] = cells[first_late[found]]
    if not is_float:
        reference = reference.astype(np.int64)
        reference[reference < 0] = -1
    differs = present & (cells != reference[patient])
    varying = np.bincount(patient[differs], minlength=n) > 0
    return reference, varying


def _post_checks(dataset: Dataset, report: ValidationReport) -> None:
    without = dataset.patients_without_visit(dataset.baseline)
    if without:
        shown = ", ".join(without[:10]) + (
            f" and {len(without) - 10} more" if len(without) > 10 else ""
        )
        report.add(
            "warning",
            "no_baseline",
            f"{len(without)} patient(s) have no value at the baseline visit "
            f"{dataset.baseline!r}: {shown}. They cannot be compared with baseline.",
            pd.DataFrame({"patient_id": without}),
        )
    unknown = [c for c in dataset.outcomes if not lookup(c).known]
    if unknown:
        report.add(
            "note",
            "unknown_outcomes",
            f"{len(unknown)} outcome(s) not in the instrument registry: "
            + ", ".join(repr(c) for c in unknown[:10])
            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
            + ". Their direction is unknown until you set it; changes are shown as increases "
            "or decreases, never as improvement or worsening.",
        )
    report.add(
        "note",
        "visit_order",
        f"Visits ordered {dataset.visit_order_rule}: {', '.join(dataset.visits)}. "
        f"Baseline: {dataset.baseline!r}.",
    )
