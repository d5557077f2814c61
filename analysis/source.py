"""Loading a cohort from bytes or a path: read, validate, reshape. Never raises on bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import phi
from analysis.dataset import Dataset
from analysis.loading import LoadError, read_table
from analysis.tidy import build_dataset
from analysis.validation import ValidationReport

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
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
    synthetic: bool = False,
) -> LoadResult:
    """Read and validate a file's content. Problems come back in the report, never as exceptions."""
    try:
        raw = read_table(data, source_name, sheet=sheet)
    except LoadError as exc:
        report = ValidationReport()
        report.add("error", "unreadable", str(exc))
        return LoadResult(None, report)
    try:
        dataset, report = build_dataset(
            raw, drop_columns=drop_columns, convert_dates=convert_dates, synthetic=synthetic
        )
    except Exception as exc:  # a last guard: a user sees a message, not a traceback
        report = ValidationReport()
        report.add(
            "error",
            "unexpected",
            f"{source_name} could not be processed ({type(exc).__name__}: {exc}). "
            "Please report this with a de-identified copy of the file's layout.",
        )
        return LoadResult(None, report, raw.sheets)
    return LoadResult(dataset, report, raw.sheets)


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
