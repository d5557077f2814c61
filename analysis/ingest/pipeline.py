"""Loading a cohort from bytes or a path: read, validate, reshape. Never raises on bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.ingest import phi
from analysis.ingest.dataset import Dataset
from analysis.ingest.findings import ValidationReport
from analysis.ingest.read import LoadError, read_table, typed_table
from analysis.ingest.tidy import build_dataset

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEMO_PATH = DATA_DIR / "demo_cohort.csv"
DEMO_NAME = "Demo cohort (synthetic)"


@dataclass
class LoadResult:
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
        found = self._identifiers()
        return [] if found is None else list(found["column"])

    @property
    def date_columns(self) -> list[str]:
        """Flagged columns that hold calendar dates (these can become days since treatment)."""
        found = self._identifiers()
        return [] if found is None else list(found.loc[found["is_date"], "column"])

    @property
    def can_convert_dates(self) -> bool:
        return phi.treatment_date_column(self.date_columns) is not None


def load_bytes(
    data: bytes,
    source_name: str,
    *,
    sheet: str | None = None,
    drop_columns: list[str] | None = None,
    convert_dates: bool = False,
    event_map: dict[str, str] | None = None,
    synthetic: bool = False,
) -> LoadResult:
    """Read and validate a file's content. Problems come back in the report, never as exceptions."""
    try:
        raw = read_table(data, source_name, sheet=sheet)
    except LoadError as exc:
        report = ValidationReport()
        report.add("error", "unreadable", str(exc))
        return LoadResult(None, report)
    except Exception as exc:  # a last guard, as below
        return LoadResult(None, _unexpected(source_name, exc))
    try:
        dataset, report = build_dataset(
            raw,
            drop_columns=drop_columns,
            convert_dates=convert_dates,
            event_map=event_map,
            synthetic=synthetic,
        )
    except Exception as exc:  # a last guard: a user sees a message, not a traceback
        return LoadResult(None, _unexpected(source_name, exc), raw.sheets)
    return LoadResult(dataset, report, raw.sheets)


def _unexpected(source_name: str, exc: Exception) -> ValidationReport:
    report = ValidationReport()
    report.add(
        "error",
        "unexpected",
        f"{source_name} could not be processed ({type(exc).__name__}: {exc}). "
        "Please report this with a de-identified copy of the file's layout.",
    )
    return report


def load_path(path: str | Path, *, sheet: str | None = None) -> LoadResult:
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
    return load_path(DEMO_PATH)


def load_frame(frame, source_name: str, **options) -> LoadResult:
    """A table already in memory (e.g. from a database), read as if it were a file's cells."""
    if frame.empty and len(frame.columns) == 0:
        report = ValidationReport()
        report.add("error", "unreadable", f"{source_name} returned no columns.")
        return LoadResult(None, report)
    raw = typed_table(frame.copy(), source_name, "SQL table")
    try:
        dataset, report = build_dataset(raw, **options)
    except Exception as exc:
        report = ValidationReport()
        report.add("error", "unexpected", f"{source_name} could not be processed ({exc}).")
        return LoadResult(None, report)
    return LoadResult(dataset, report)


def load_sql(url: str, table: str | None = None, query: str | None = None) -> LoadResult:
    """A table or read-only query from a database URL (sqlite:///file.db, postgresql://...)."""
    from analysis.ingest.sql import QueryRefused, engine_for, read_table

    name = f"{table or 'query'} in {url.split('@')[-1]}"
    try:
        frame = read_table(engine_for(url), table=table, query=query)
    except QueryRefused as exc:
        report = ValidationReport()
        report.add("error", "query_refused", str(exc))
        return LoadResult(None, report)
    except Exception as exc:  # driver errors: connection refused, unknown table, bad SQL
        report = ValidationReport()
        report.add("error", "database", f"The database could not be read: {exc}".split("\n")[0])
        return LoadResult(None, report)
    return load_frame(frame, name)
