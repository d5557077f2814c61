"""Loading a cohort: the five ingest stages, called in this order by ``run_pipeline``.

==========  ============================================  ================================
stage       what it does                                  entry function
==========  ============================================  ================================
read        bytes (or a database table) → raw table       ``read.read_table``
adapt       REDCap and ADaM layouts → long layout         ``adapt.adapt``
guard       PHI: refuse identifiers, apply the user's     ``guard.guard``
            drops and dates → days
tidy        → canonical long table, values parsed         ``tidy.tidy``
validate    ranges, duplicates, visits, attributes,       ``validate.validate``
            order and baseline → ``Dataset``
==========  ============================================  ================================

A file's bytes pass each stage once. Nothing here raises on bad input: problems come back in
``LoadResult.report`` (an error stops the stages; warnings and notes do not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import pandas as pd

from analysis.ingest import phi
from analysis.ingest.adapt import adapt
from analysis.ingest.dataset import Dataset
from analysis.ingest.findings import ValidationReport, describe_locations
from analysis.ingest.guard import guard
from analysis.ingest.read import LoadError, RawTable, read_table, typed_table
from analysis.ingest.tidy import tidy
from analysis.ingest.validate import validate

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEMO_PATH = DATA_DIR / "demo_cohort.csv"
DEMO_NAME = "Demo cohort (synthetic)"

Source: TypeAlias = bytes | pd.DataFrame | RawTable  # what stage 1 reads


@dataclass
class LoadOptions:
    """The user's choices for one load (all optional)."""

    sheet: str | None = None  # workbook sheet (default: the first)
    drop_columns: Sequence[str] | None = None  # columns to drop before the PHI guard
    convert_dates: bool = False  # calendar dates -> days since the treatment date
    event_map: Mapping[str, str] | None = None  # REDCap event -> visit
    visit_map: Mapping[str, str] | None = None  # visit label in the file -> visit
    synthetic: bool = False  # the data is synthetic (the demo)


@dataclass
class LoadResult:
    """What a load gives: the dataset (None when unusable), the report and the file's sheets."""

    dataset: Dataset | None
    report: ValidationReport
    sheets: list[str] = field(default_factory=list)

    def _identifiers(self) -> pd.DataFrame | None:
        for finding in self.report.errors:
            if finding.code == "identifiers" and finding.locations is not None:
                return finding.locations
        return None

    @property
    def identifier_columns(self) -> list[str]:
        """Columns the PHI guard refused (drop them to load the file)."""
        found = self._identifiers()
        return [] if found is None else list(found["column"])

    @property
    def date_columns(self) -> list[str]:
        """Flagged columns that hold calendar dates (these can become days since treatment)."""
        found = self._identifiers()
        return [] if found is None else list(found.loc[found["is_date"], "column"])

    @property
    def can_convert_dates(self) -> bool:
        """Whether the flagged dates include a treatment date to count days from."""
        return phi.treatment_date_column(self.date_columns) is not None


def run_pipeline(
    source: Source, source_name: str, options: LoadOptions | None = None
) -> LoadResult:
    """Read → adapt → guard → tidy → validate, once each; never raises on bad input."""
    options = options or LoadOptions()
    try:
        raw = _read_source(source, source_name, options.sheet)
    except LoadError as exc:
        report = ValidationReport()
        report.add("error", "unreadable", str(exc))
        return LoadResult(None, report)
    except Exception as exc:  # a last guard: a user sees a message, not a traceback
        return LoadResult(None, _unexpected(source_name, exc))
    report = ValidationReport()
    try:
        frame = _rows_read(raw, report)
        if frame is None:
            return LoadResult(None, report, raw.sheets)
        adapted = adapt(frame, options.event_map, raw.row_numbers())
        for note in adapted.notes:
            report.add("note", f"{adapted.kind}_source", note)
        guarded = guard(
            adapted.frame,
            report,
            drop_columns=options.drop_columns,
            convert_dates=options.convert_dates,
        )
        if guarded is None:
            return LoadResult(None, report, raw.sheets)
        table = tidy(
            guarded, report, decimal_comma=raw.decimal_comma, source_rows=raw.row_numbers()
        )
        if table is None:
            return LoadResult(None, report, raw.sheets)
        dataset = validate(
            table,
            report,
            source=raw,
            adapted=adapted,
            visit_map=options.visit_map,
            synthetic=options.synthetic,
        )
    except Exception as exc:  # a last guard, as above
        return LoadResult(None, _unexpected(source_name, exc), raw.sheets)
    return LoadResult(dataset, report, raw.sheets)


def _read_source(source: Source, source_name: str, sheet: str | None) -> RawTable:
    """Stage 1: the raw table of a file's bytes or of a table already in memory."""
    if isinstance(source, RawTable):
        return source
    if isinstance(source, pd.DataFrame):
        return typed_table(source.copy(), source_name, "SQL table")
    return read_table(source, source_name, sheet=sheet)


def _rows_read(raw: RawTable, report: ValidationReport) -> pd.DataFrame | None:
    """The raw table's cells, with what reading set aside reported; None without data rows."""
    frame = raw.frame.copy(deep=False)  # copy-on-write: columns are copied only if changed
    unnamed_blank = [c for c in frame.columns if c == "" and frame[c].astype(str).eq("").all()]
    if unnamed_blank:
        frame = frame.drop(columns=unnamed_blank)
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
        return None
    return frame


def _unexpected(source_name: str, exc: Exception) -> ValidationReport:
    """A report with the one error of a failure nobody foresaw."""
    report = ValidationReport()
    report.add(
        "error",
        "unexpected",
        f"{source_name} could not be processed ({type(exc).__name__}: {exc}). "
        "Please report this with a de-identified copy of the file's layout.",
    )
    return report


def build_dataset(
    raw: RawTable,
    *,
    drop_columns: Sequence[str] | None = None,
    convert_dates: bool = False,
    event_map: Mapping[str, str] | None = None,
    visit_map: Mapping[str, str] | None = None,
    synthetic: bool = False,
) -> tuple[Dataset | None, ValidationReport]:
    """``run_pipeline`` on a table already read (the benchmark times reading apart)."""
    options = LoadOptions(None, drop_columns, convert_dates, event_map, visit_map, synthetic)
    result = run_pipeline(raw, raw.source_name, options)
    return result.dataset, result.report


def load_bytes(
    data: bytes,
    source_name: str,
    *,
    sheet: str | None = None,
    drop_columns: Sequence[str] | None = None,
    convert_dates: bool = False,
    event_map: Mapping[str, str] | None = None,
    visit_map: Mapping[str, str] | None = None,
    synthetic: bool = False,
) -> LoadResult:
    """Read and validate a file's content. Problems come back in the report, never as exceptions."""
    options = LoadOptions(sheet, drop_columns, convert_dates, event_map, visit_map, synthetic)
    return run_pipeline(data, source_name, options)


def load_path(path: str | Path, *, sheet: str | None = None) -> LoadResult:
    """A file on disk (the demo cohort is marked synthetic)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        report = ValidationReport()
        report.add("error", "unreadable", f"Cannot open {path}: {exc.strerror or exc}.")
        return LoadResult(None, report)
    synthetic = path.resolve() == DEMO_PATH
    return load_bytes(data, DEMO_NAME if synthetic else path.name, sheet=sheet, synthetic=synthetic)


def load_demo() -> LoadResult:
    """The synthetic demo cohort."""
    return load_path(DEMO_PATH)


def load_frame(
    frame: pd.DataFrame,
    source_name: str,
    *,
    drop_columns: Sequence[str] | None = None,
    convert_dates: bool = False,
    event_map: Mapping[str, str] | None = None,
    visit_map: Mapping[str, str] | None = None,
    synthetic: bool = False,
) -> LoadResult:
    """A table already in memory (e.g. from a database), read as if it were a file's cells."""
    if frame.empty and len(frame.columns) == 0:
        report = ValidationReport()
        report.add("error", "unreadable", f"{source_name} returned no columns.")
        return LoadResult(None, report)
    options = LoadOptions(None, drop_columns, convert_dates, event_map, visit_map, synthetic)
    return run_pipeline(frame, source_name, options)


def load_sql(url: str, table: str | None = None, query: str | None = None) -> LoadResult:
    """A table or read-only query from a database URL (sqlite:///file.db, postgresql://...)."""
    from analysis.ingest import sql

    name = f"{table or 'query'} in {url.split('@')[-1]}"
    try:
        frame = sql.read_sql_source(sql.engine_for(url), table=table, query=query)
    except sql.QueryRefused as exc:
        report = ValidationReport()
        report.add("error", "query_refused", str(exc))
        return LoadResult(None, report)
    except Exception as exc:  # driver errors: connection refused, unknown table, bad SQL
        report = ValidationReport()
        report.add("error", "database", f"The database could not be read: {exc}".split("\n")[0])
        return LoadResult(None, report)
    return load_frame(frame, name)
